//! `mailinfra trace` on the blueprints and fixtures: one message each, the
//! human and JSON renderings snapshotted (snapshots/trace/), and the usage
//! errors a bad flag gets.

use std::path::{Path, PathBuf};

use crate::common;

/// Renders a blueprint into `dir` with the values its snapshots use.
fn blueprint(name: &str, dir: &Path) -> PathBuf {
    let spec = dir.join(format!("{name}.yaml"));
    let mut args = vec!["init", "--blueprint", name, "--out", spec.to_str().unwrap()];
    let sets = crate::blueprints::sets(name);
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    let o = common::run(&args, dir);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    spec
}

fn trace(spec: &Path, args: &[&str], cwd: &Path) -> (String, String) {
    let mut all = vec!["-f", spec.to_str().unwrap(), "trace"];
    all.extend_from_slice(args);
    let human = common::run(&all, cwd);
    assert!(human.status.success(), "{}", common::text(&human.stderr));
    all.extend_from_slice(&["--format", "json"]);
    let json = common::run(&all, cwd);
    assert!(json.status.success(), "{}", common::text(&json.stderr));
    (common::text(&human.stdout), common::text(&json.stdout))
}

fn snapshot(name: &str, (human, json): (String, String)) -> serde_json::Value {
    common::snapshot_settings("trace").bind(|| {
        insta::assert_snapshot!(format!("{name}.human"), human);
        insta::assert_snapshot!(format!("{name}.json"), json);
    });
    serde_json::from_str(&json).unwrap()
}

#[test]
fn a_legitimate_message_is_archived_and_relayed_to_its_mailbox_provider() {
    let dir = common::scratch();
    let spec = blueprint("gateway-workspace-m365", dir.path());
    let args = [
        "--ingress",
        "inbound",
        "--sender-ip",
        "198.51.100.7",
        "--tls",
        "1.3",
        "--mail-from",
        "orders@supplier.example",
        "--rcpt",
        "ana@sales.test.example.com",
        "--spf",
        "pass",
        "--dkim",
        "pass",
    ];
    let v = snapshot("gateway-to-m365", trace(&spec, &args, dir.path()));
    let kinds: Vec<_> = v["recipients"][0]["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["archived", "relayed"]);
    assert_eq!(v["version"], 1);
}

#[test]
fn mail_for_another_domain_is_denied_by_the_policy() {
    let dir = common::scratch();
    let spec = blueprint("gateway-workspace-m365", dir.path());
    let args = [
        "--ingress",
        "inbound",
        "--sender-ip",
        "198.51.100.7",
        "--tls",
        "1.2",
        "--rcpt",
        "victim@outside.example",
    ];
    let v = snapshot("gateway-denied", trace(&spec, &args, dir.path()));
    let r = &v["recipients"][0];
    assert_eq!(r["policy"]["decision"]["verdict"], "no");
    assert!(r["outcomes"].as_array().unwrap().is_empty());
}

#[test]
fn an_open_relay_relays_anyones_mail_onward() {
    let root = common::root();
    let spec = root.join("tests/fixtures/invalid/300-echospoofing.yaml");
    let args = [
        "--ingress",
        "inbound",
        "--sender-ip",
        "198.51.100.7",
        "--tls",
        "none",
        "--mail-from",
        "ceo@nutrition.co",
        "--rcpt",
        "victim@outside.example",
    ];
    let v = snapshot("open-relay", trace(&spec, &args, &root));
    let o = &v["recipients"][0]["outcomes"][0];
    assert_eq!(o["kind"], "relayed");
    assert_eq!(o["certain"], true);
}

#[test]
fn an_addon_result_not_given_is_unknown_and_said() {
    let dir = common::scratch();
    let spec = blueprint("department-controls", dir.path());
    let args = [
        "--ingress",
        "finance",
        "--sender-ip",
        "10.1.2.3",
        "--tls",
        "1.3",
        "--rcpt",
        "cfo@example.net",
        "--spf",
        "pass",
        "--dkim",
        "pass",
    ];
    let v = snapshot("addon-unknown", trace(&spec, &args, dir.path()));
    let r = &v["recipients"][0];
    assert_eq!(r["policy"]["decision"]["verdict"], "unknown");
    assert!(
        r["fate"]
            .as_str()
            .unwrap()
            .starts_with("if the traffic policy accepts it")
    );
    // Given, it decides.
    let args = [
        "--ingress",
        "finance",
        "--sender-ip",
        "10.1.2.3",
        "--tls",
        "1.3",
        "--rcpt",
        "cfo@example.net",
        "--addon",
        "spamhaus=true",
    ];
    let (_, json) = trace(&spec, &args, dir.path());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["recipients"][0]["policy"]["decision"]["verdict"], "no");
}

#[test]
fn bad_flags_name_the_flag_and_the_valid_values() {
    let dir = common::scratch();
    let spec = blueprint("gateway-workspace-m365", dir.path());
    let f = spec.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--ingress", "inbound", "--rcpt", "a@b.c", "--tls", "1.1"],
            "[possible values: none, 1.2, 1.3]",
        ),
        (
            &["--ingress", "inbound", "--rcpt", "a@b.c", "--spf", "ok"],
            "pass, fail, gray, processing-failed",
        ),
        (
            &[
                "--ingress",
                "inbound",
                "--rcpt",
                "a@b.c",
                "--sender-ip",
                "300.1.1.1",
            ],
            "--sender-ip",
        ),
        (
            &[
                "--ingress",
                "inbound",
                "--rcpt",
                "a@b.c",
                "--header",
                "no colon",
            ],
            "write `Name: value`",
        ),
        (
            &["--ingress", "nope", "--rcpt", "a@b.c"],
            "ingress endpoints: `inbound`",
        ),
        (
            &[
                "--ingress",
                "inbound",
                "--rcpt",
                "a@b.c",
                "--addon",
                "scan=true",
            ],
            "the spec has no add-on `scan`",
        ),
        (&["--ingress", "inbound"], "--rcpt"),
    ];
    for (args, want) in cases {
        let mut all = vec!["-f", f, "trace"];
        all.extend_from_slice(args);
        let o = common::run(&all, dir.path());
        assert_eq!(o.status.code(), Some(mailinfra::exit::USAGE), "{args:?}");
        let err = common::text(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
