//! Every blueprint renders with the values only a user can choose (given as
//! `--set`), validates with no errors, builds, matches its snapshots under
//! `snapshots/blueprints/`, and passes cfn-lint. `init` quotes what it writes,
//! validates before writing, and names every value it is missing.

use crate::common;

use mailinfra::exit;

/// The `--set` values each blueprint is rendered with here (the documentation
/// values its snapshots were made with).
pub(crate) fn sets(name: &str) -> Vec<String> {
    let common = ["project=acme", "zone_id=Z0123456789ABCDEFGHIJ"];
    let own: &[&str] = match name {
        "classic-receiving" => &[
            "domain=inbound.example.com",
            "iot_function=arn:aws:lambda:us-east-1:111122223333:function:iot-attachments",
        ],
        "department-controls" => &[
            "domain=example.com",
            "partner_cidrs=203.0.113.0/24",
            "partner_bucket=acme-partner-inbound",
            "kms_key=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ],
        "gateway-workspace-m365" => &[
            "domain=test.example.com",
            "m365_domain=sales.test.example.com",
            "m365_tenant=example.com",
        ],
        "inbound-archive-relay" => &["domain=example.com", "mail_server=mail.example.com"],
        "journaling" => &[
            "journal_domain=journal.example.com",
            "journal_sources=198.51.100.0/24",
        ],
        "sending-roles" => &[
            "domain=example.com",
            "partner_account=210987654321",
            "partner_role=mailer",
            "partner_external_id=acme-mail-7f3a9c",
        ],
        "third-party-relay" => &[
            "domain=example.com",
            "relay_host=outbound.relay.example.net",
            "relay_secret=arn:aws:secretsmanager:us-east-1:111122223333:secret:acme/relay-AbCdEf",
        ],
        _ => &["domain=example.com"],
    };
    let mut all: Vec<&str> = common.to_vec();
    if name == "third-party-relay" {
        all.retain(|s| !s.starts_with("zone_id="));
    }
    all.extend(own);
    all.iter().map(|s| (*s).to_string()).collect()
}

/// `init` arguments for `name` with every value only the user can choose.
fn init_args(name: &str) -> Vec<String> {
    let mut args = vec!["init".to_string(), "--blueprint".into(), name.to_string()];
    for s in sets(name) {
        args.push("--set".into());
        args.push(s);
    }
    args
}

fn run_owned(args: &[String], dir: &std::path::Path) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::run(&args, dir)
}

#[test]
fn every_blueprint_renders_validates_builds_and_lints() {
    let list = common::run(&["blueprints"], &common::root());
    assert!(list.status.success());
    let names: Vec<String> = common::text(&list.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), mailinfra::blueprint::BLUEPRINTS.len());
    let dir = common::scratch();
    let mut lint = Vec::new();
    for name in &names {
        let spec = dir.path().join(format!("{name}.yaml"));
        let mut args = init_args(name);
        args.extend(["--out".to_string(), spec.to_str().unwrap().to_string()]);
        let o = run_owned(&args, dir.path());
        assert!(o.status.success(), "{name}: {}", common::text(&o.stderr));
        let text = std::fs::read_to_string(&spec).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{name}: no schema modeline"
        );
        let o = common::run(
            &["-f", spec.to_str().unwrap(), "validate", "--format", "json"],
            dir.path(),
        );
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let errors: Vec<_> = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        // Any other diagnostic is one the scenario deserves: the blueprint explains it.
        let template = std::fs::read_to_string(
            common::root().join(format!("blueprints/{name}/mailinfra.yaml.hbs")),
        )
        .unwrap();
        // MI4011 is for the documentation values these renderings use on
        // purpose (see `sets`); the blueprints themselves hold none.
        for d in report["diagnostics"].as_array().unwrap() {
            let code = d["code"].as_str().unwrap();
            if code == "MI4011" {
                continue;
            }
            assert!(
                template.contains(code),
                "{name}: {code} is reported but the blueprint does not explain it"
            );
        }
        let out = dir.path().join(format!("{name}.out"));
        let o = common::run(
            &[
                "-f",
                spec.to_str().unwrap(),
                "build",
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{name}: {}", common::text(&o.stderr));
        let manifest: mailinfra::build::Manifest =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        for s in &manifest.stacks {
            let path = out.join(&s.template);
            let body = std::fs::read_to_string(&path).unwrap();
            common::snapshot_settings("blueprints")
                .bind(|| insta::assert_snapshot!(format!("{name}__{}", s.name), body));
            lint.push((path, s.region.clone()));
        }
    }
    common::cfn_lint(&lint);
}

#[test]
fn list_values_render_as_sequences() {
    let dir = common::scratch();
    let mut args = init_args("journaling");
    args.extend([
        "--set".to_string(),
        "journal_sources=198.51.100.0/24, 192.0.2.0/28".to_string(),
    ]);
    let o = run_owned(&args, dir.path());
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let text = std::fs::read_to_string(dir.path().join("mailinfra.yaml")).unwrap();
    assert!(
        text.contains(r#"sender_ip: ["198.51.100.0/24", "192.0.2.0/28"]"#),
        "{text}"
    );
    let o = common::run(&["validate"], dir.path());
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let mut args = init_args("journaling");
    args.extend([
        "--force".to_string(),
        "--set".to_string(),
        "journal_sources=198.51.100.0/24, 192.0.2.1/28".to_string(),
    ]);
    let o = run_owned(&args, dir.path());
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(common::text(&o.stderr).contains("did you mean `192.0.2.0/28`"));
}

#[test]
fn init_never_overwrites_without_force() {
    let dir = common::scratch();
    std::fs::write(dir.path().join("mailinfra.yaml"), "mine\n").unwrap();
    let o = run_owned(&init_args("identity-basics"), dir.path());
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(common::text(&o.stderr).contains("already exists; pass `--force`"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mailinfra.yaml")).unwrap(),
        "mine\n"
    );
    let mut args = init_args("identity-basics");
    args.push("--force".into());
    let o = run_owned(&args, dir.path());
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    assert_ne!(
        std::fs::read_to_string(dir.path().join("mailinfra.yaml")).unwrap(),
        "mine\n"
    );
}

#[test]
fn values_are_validated_before_rendering() {
    let dir = common::scratch();
    for (set, why) in [
        ("domain=exa mple.com", "not a valid domain value"),
        ("domain=a.com\n  evil: 1", "control character"),
        ("project={{project}}", "not a valid name value"),
        ("region=us-east-7", "is not an AWS region"),
        ("nope=1", "has no variable `nope`"),
    ] {
        let mut args = init_args("identity-basics");
        args.extend(["--set".to_string(), set.to_string()]);
        let o = run_owned(&args, dir.path());
        assert_eq!(o.status.code(), Some(exit::USAGE), "{set}");
        assert!(
            common::text(&o.stderr).contains(why),
            "{set}: {}",
            common::text(&o.stderr)
        );
        assert!(!dir.path().join("mailinfra.yaml").exists());
    }
}

#[test]
fn a_rendered_spec_that_does_not_validate_is_not_written() {
    let dir = common::scratch();
    let mut args = init_args("inbound-archive-relay");
    args.extend(["--set".to_string(), "retention=@x".to_string()]);
    let o = run_owned(&args, dir.path());
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::INVALID), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(err.contains("mailinfra.yaml:"), "{err}");
    assert!(!dir.path().join("mailinfra.yaml").exists());
}

#[test]
fn text_values_are_written_as_quoted_strings() {
    let dir = common::scratch();
    for value in [
        "@x", "null", "true", "~", "'a: b'", "*x", "&x", "!x", "%x", "`x", "a: b",
    ] {
        let mut args = init_args("sending-roles");
        args.extend([
            "--force".to_string(),
            "--set".to_string(),
            format!("partner_external_id={value}"),
        ]);
        let o = run_owned(&args, dir.path());
        // The value must stay this exact string whether or not the spec
        // accepts it as an external ID.
        let err = common::text(&o.stderr);
        let path = dir.path().join("mailinfra.yaml");
        if o.status.success() {
            let text = std::fs::read_to_string(&path).unwrap();
            let doc = mailinfra::load::Document::parse("mailinfra.yaml", text)
                .unwrap_or_else(|_| panic!("{value}: not YAML"));
            let got = &doc.json["iam"]["roles"]["partner-app"]["trust"]["external_id"];
            assert_eq!(got, &serde_json::json!(value), "{value}");
        } else {
            assert_eq!(o.status.code(), Some(exit::INVALID), "{value}: {err}");
            assert!(!err.contains("MI10"), "{value}: the YAML broke: {err}");
        }
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn off_a_terminal_init_names_every_missing_value() {
    let dir = common::scratch();
    let o = common::run(&["init", "--blueprint", "sending-roles"], dir.path());
    assert_eq!(o.status.code(), Some(exit::USAGE));
    let err = common::text(&o.stderr);
    common::snapshot_settings("help").bind(|| insta::assert_snapshot!("init-missing-values", err));
    assert!(!dir.path().join("mailinfra.yaml").exists());
}

#[test]
fn a_blueprints_variables_are_listed_as_a_table_and_as_json() {
    let o = common::run(&["blueprints", "identity-basics"], &common::root());
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let table = common::text(&o.stdout);
    assert!(table.contains("derived from `dmarc@{{domain}}`"), "{table}");
    common::snapshot_settings("help")
        .bind(|| insta::assert_snapshot!("blueprints-identity-basics", table));
    let o = common::run(
        &["blueprints", "identity-basics", "--format", "json"],
        &common::root(),
    );
    assert!(o.status.success());
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["variables"][0]["name"], "project");
    assert_eq!(json["variables"][0]["required"], true);
    common::snapshot_settings("help").bind(|| {
        insta::assert_snapshot!("blueprints-identity-basics-json", common::text(&o.stdout))
    });
    let o = common::run(&["blueprints", "nope"], &common::root());
    assert_eq!(o.status.code(), Some(exit::USAGE));
}
