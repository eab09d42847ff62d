//! The command line as a user meets it: exit codes, messages, help.

use crate::common;

use mailinfra::exit;

fn write(dir: &std::path::Path, text: &str) {
    std::fs::write(dir.join("mailinfra.yaml"), text).unwrap();
}

#[test]
fn misspelt_key_is_located_and_a_fix_suggested() {
    let dir = common::scratch();
    write(
        dir.path(),
        "version: 1\nproject: demo\nregions: { primary: us-east-1 }\nmail_manager:\n  archives:\n    journal:\n      retenion: 1 year\n",
    );
    let o = common::run(&["validate"], dir.path());
    assert_eq!(o.status.code(), Some(exit::INVALID));
    let err = common::text(&o.stderr);
    assert!(
        err.contains("mailinfra.yaml:7:7: error[MI1101]: unknown key `retenion`"),
        "{err}"
    );
    assert!(err.contains("did you mean `retention`?"), "{err}");
}

#[test]
fn valid_spec_exits_zero() {
    let o = common::run(
        &["-f", "tests/fixtures/valid/002-minimal.yaml", "validate"],
        &common::root(),
    );
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
}

#[test]
fn missing_file_is_a_diagnostic_not_a_crash() {
    let dir = common::scratch();
    let o = common::run(&["validate"], dir.path());
    assert_eq!(o.status.code(), Some(exit::INVALID));
    let err = common::text(&o.stderr);
    assert!(
        err.contains("error[MI1001]: `mailinfra.yaml` does not exist"),
        "{err}"
    );
}

#[test]
fn usage_errors_have_their_own_exit_code() {
    let o = common::run(&["plan", "--no-such-flag"], &common::root());
    assert_eq!(o.status.code(), Some(exit::USAGE));
    let o = common::run(&["frobnicate"], &common::root());
    assert_eq!(o.status.code(), Some(exit::USAGE));
}

#[test]
fn offline_plan_needs_no_aws_and_reports_changes() {
    let dir = common::scratch();
    let spec = common::root().join("tests/fixtures/valid/001-quickstart.yaml");
    std::fs::copy(&spec, dir.path().join("mailinfra.yaml")).unwrap();
    // No build yet: everything is new.
    let o = common::mailinfra()
        .args(["plan", "--offline", "--detailed-exitcode"])
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(exit::CHANGES),
        "{}",
        common::text(&o.stderr)
    );
    let plan = common::text(&o.stdout);
    assert!(plan.contains("+ ArchiveJournal"), "{plan}");
    assert!(
        plan.contains("Plan: 10 to add, 0 to change, 0 to replace, 0 to remove"),
        "{plan}"
    );
    assert!(
        common::text(&o.stderr).contains("no earlier build in `mailinfra.out` to compare with"),
        "{}",
        common::text(&o.stderr)
    );
    // After a build, the same spec plans no changes.
    assert!(common::run(&["build"], dir.path()).status.success());
    let o = common::run(&["plan", "--offline", "--detailed-exitcode"], dir.path());
    assert_eq!(o.status.code(), Some(exit::SUCCESS));
    assert!(!common::text(&o.stderr).contains("no earlier build"));
    // A KMS key on an archive replaces it, which CloudFormation cannot do
    // under the archive's own name: the plan says so and exits 3.
    let text = std::fs::read_to_string(dir.path().join("mailinfra.yaml")).unwrap().replace(
        "journal: { retention: permanent }",
        "journal: { retention: permanent, kms_key: \"arn:aws:kms:us-east-1:111122223333:key/abc\" }",
    );
    write(dir.path(), &text);
    let o = common::run(&["plan", "--offline", "--format", "json"], dir.path());
    assert_eq!(o.status.code(), Some(exit::REFUSED));
    assert!(
        common::text(&o.stderr).contains("custom name"),
        "{}",
        common::text(&o.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["summary"]["replace"], 1);
    assert_eq!(plan["summary"]["destructive"], 1);
    let stacks = plan["stacks"].as_array().unwrap();
    let mm = stacks
        .iter()
        .find(|s| s["stack"] == "nutrition-us-east-1-mail-manager")
        .unwrap();
    assert_eq!(mm["status"], "update");
    let change = &mm["changes"][0];
    assert_eq!(change["logical_id"], "ArchiveJournal");
    assert_eq!(change["replacement"], "always");
    assert_eq!(change["properties"][0], "KmsKeyArn");
}

#[test]
fn explain_prints_the_long_form() {
    let o = common::run(&["explain", "MI1101"], &common::root());
    assert!(o.status.success());
    assert!(common::text(&o.stdout).starts_with("MI1101 (error): unknown key"));
    let o = common::run(&["explain", "MI9999"], &common::root());
    assert_eq!(o.status.code(), Some(exit::USAGE));
}

/// Every subcommand the parser knows (so none is forgotten) has a help text,
/// snapshotted.
#[test]
fn every_command_has_help() {
    use clap::CommandFactory as _;
    let names: Vec<String> = mailinfra::commands::args::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect();
    assert!(names.len() >= 14, "{names:?}");
    for cmd in &names {
        let o = common::run(&[cmd, "--help"], &common::root());
        assert!(o.status.success(), "{cmd}");
        let help = common::text(&o.stdout);
        common::snapshot_settings("help")
            .bind(|| insta::assert_snapshot!(format!("help-{cmd}"), help));
    }
}

/// A resource whose logical id changed (here: the last build named it
/// differently) but whose name in AWS did not is marked as a rename.
#[test]
fn a_logical_id_change_under_the_same_name_is_marked_as_a_rename() {
    let dir = common::scratch();
    let spec = common::root().join("tests/fixtures/valid/001-quickstart.yaml");
    std::fs::copy(&spec, dir.path().join("mailinfra.yaml")).unwrap();
    assert!(common::run(&["build"], dir.path()).status.success());
    let out = dir.path().join("mailinfra.out");
    let sending = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-sending.template.json"))
        .expect("a sending stack");
    let text = std::fs::read_to_string(&sending).unwrap();
    let template: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, r)| r["Type"] == "AWS::SES::EmailIdentity")
        .map(|(id, _)| id.clone())
        .expect("an identity");
    std::fs::write(
        &sending,
        text.replace(&format!("\"{id}\""), "\"IdentityFromAnOlderScheme\""),
    )
    .unwrap();
    let o = common::run(&["plan", "--offline"], dir.path());
    let plan = common::text(&o.stdout);
    assert!(
        plan.contains(&format!("+ {id}"))
            && plan.contains("!! RENAMED FROM `IdentityFromAnOlderScheme`"),
        "{plan}"
    );
    assert!(
        plan.contains("1 resource(s) move to a new logical id"),
        "{plan}"
    );
}

#[test]
fn an_import_of_an_unknown_logical_id_is_an_error() {
    let dir = common::scratch();
    let spec = common::root().join("tests/fixtures/valid/001-quickstart.yaml");
    std::fs::copy(&spec, dir.path().join("mailinfra.yaml")).unwrap();
    let o = common::run(
        &["plan", "--offline", "--import", "IdentityNope"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(
        common::text(&o.stderr).contains(
            "`--import IdentityNope`: no stack of the spec has a resource with this logical id"
        ),
        "{}",
        common::text(&o.stderr)
    );
}

/// Every apply that starts records how it ended, even when it stops before
/// AWS is asked anything, so `status` never mistakes it for a killed one.
#[test]
fn an_apply_that_stops_early_still_records_its_end() {
    let dir = common::scratch();
    let spec = common::root().join("tests/fixtures/valid/001-quickstart.yaml");
    std::fs::copy(&spec, dir.path().join("mailinfra.yaml")).unwrap();
    let last = |dir: &std::path::Path| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join(".mailinfra-journal.jsonl")).unwrap();
        serde_json::from_str(text.lines().last().unwrap()).unwrap()
    };
    // No terminal to confirm on, no --yes: a usage error.
    let o = common::run(&["apply"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(exit::USAGE),
        "{}",
        common::text(&o.stderr)
    );
    let end = last(dir.path());
    assert_eq!(end["step"], "ended");
    assert_eq!(end["outcome"], "error");
    assert!(end["detail"].as_str().unwrap().contains("--yes"), "{end}");
    // A damaged plan file: refused by a gate.
    std::fs::write(dir.path().join("plan.json"), "{ not a plan").unwrap();
    let o = common::run(&["apply", "plan.json", "--yes"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(exit::REFUSED),
        "{}",
        common::text(&o.stderr)
    );
    let end = last(dir.path());
    assert_eq!(
        (&end["step"], &end["outcome"]),
        (&"ended".into(), &"refused".into())
    );
    assert_ne!(
        end["apply"],
        serde_json::Value::Null,
        "the record names its apply"
    );
    assert!(
        !dir.path().join(".mailinfra-apply.lock").exists(),
        "the workspace lock is released"
    );
}

/// A region the spec does not deploy to is a typo, not an empty plan.
#[test]
fn an_unknown_region_is_a_usage_error_with_a_suggestion() {
    let dir = common::scratch();
    let spec = common::root().join("tests/fixtures/valid/100-sending-two-regions.yaml");
    std::fs::copy(&spec, dir.path().join("mailinfra.yaml")).unwrap();
    let o = common::run(
        &[
            "plan",
            "--offline",
            "--detailed-exitcode",
            "--region",
            "us-east1",
        ],
        dir.path(),
    );
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::USAGE), "{err}");
    assert!(
        err.contains("`--region us-east1`") && err.contains("did you mean `us-east-1`?"),
        "{err}"
    );
    let o = common::run(&["plan", "--offline", "--region", "us-east-1"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let out = common::text(&o.stdout);
    // Stack headers read `NAME  REGION  STATUS`.
    assert!(
        out.contains("  us-east-1  ") && !out.contains("  us-west-2  "),
        "{out}"
    );
}

/// A reader that stops early (`| head -1`) is not a crash.
#[test]
fn output_to_a_closed_pipe_is_not_a_panic() {
    use std::process::Stdio;
    for args in [&["schema"][..], &["completions", "bash"][..]] {
        let mut child = common::mailinfra()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end at once: every write meets a broken pipe.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = common::text(&o.stderr);
        assert_eq!(o.status.code(), Some(exit::SUCCESS), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn auto_approve_is_yes() {
    let help = common::text(&common::run(&["apply", "--help"], &common::root()).stdout);
    assert!(
        help.contains("--yes") && help.contains("auto-approve"),
        "{help}"
    );
}

/// `build --check` passes on a fresh build, and on a stale one prints the
/// template diff and exits 2, writing nothing.
#[test]
fn build_check_shows_what_a_committed_build_lacks() {
    let dir = common::scratch();
    let spec = common::root().join("tests/fixtures/valid/001-quickstart.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(dir.path().join("mailinfra.yaml"), &text).unwrap();
    let o = common::run(&["build", "--check"], dir.path());
    assert_eq!(o.status.code(), Some(exit::CHANGES));
    assert!(common::text(&o.stdout).contains("missing: mailinfra.out/"));
    assert!(
        !dir.path().join("mailinfra.out").exists(),
        "--check writes nothing"
    );
    let o = common::run(&["build"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let o = common::run(&["build", "--check"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    assert!(common::text(&o.stderr).contains("up to date"));
    // A DMARC policy change shows in the template diff.
    assert!(
        text.contains("policy: quarantine"),
        "the fixture sets a DMARC policy"
    );
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        text.replacen("policy: quarantine", "policy: reject", 1),
    )
    .unwrap();
    let o = common::run(&["build", "--check"], dir.path());
    let out = common::text(&o.stdout);
    assert_eq!(o.status.code(), Some(exit::CHANGES), "{out}");
    assert!(out.contains("--- a/") && out.contains("p=reject"), "{out}");
}

/// `-C DIR` runs as if started there: the spec and everything beside it.
#[test]
fn dash_c_runs_in_another_directory() {
    let dir = common::scratch();
    let work = dir.path().join("infra");
    std::fs::create_dir(&work).unwrap();
    let spec = common::root().join("tests/fixtures/valid/001-quickstart.yaml");
    std::fs::copy(&spec, work.join("mailinfra.yaml")).unwrap();
    let o = common::run(&["-C", "infra", "build"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    assert!(work.join("mailinfra.out/manifest.json").exists());
    assert!(!dir.path().join("mailinfra.out").exists());
    let o = common::run(&["-C", "nowhere", "validate"], dir.path());
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(common::text(&o.stderr).contains("-C nowhere"));
}

/// `check --live` that cannot read the stacks says so: an unreadable stack
/// is an error, never an empty inventory that passes for "ready".
#[test]
fn check_live_without_aws_is_an_error_not_ready() {
    let dir = common::scratch();
    let spec = common::root().join("tests/fixtures/valid/100-sending-two-regions.yaml");
    std::fs::copy(&spec, dir.path().join("mailinfra.yaml")).unwrap();
    // The credentials are accepted; every CloudFormation and SES call fails.
    let aws = crate::local_aws::start(crate::local_aws::Sts::Identity);
    let o = common::mailinfra()
        .args(["check", "--live", "--endpoint-url", &aws.url])
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("MAILINFRA_POLL_MS", "1")
        .output()
        .unwrap();
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::INVALID), "{err}");
    assert!(err.contains("error[MI5003]: cannot read stack `"), "{err}");
    assert!(!err.contains("valid, deployed stacks checked"), "{err}");
    assert!(
        aws.other_calls() > 0,
        "the stacks were read after the identity"
    );
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    let o = common::run(&["--version"], &common::root());
    assert!(o.status.success());
    let v = common::text(&o.stdout);
    let rest = v
        .trim()
        .strip_prefix(&format!("mailinfra {} (commit ", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{v}"));
    let (commit, date) = rest
        .strip_suffix(')')
        .and_then(|r| r.split_once(", built "))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{v}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(common::root())
        .output();
    if let Ok(h) = head
        && h.status.success()
    {
        assert_eq!(commit, common::text(&h.stdout).trim(), "{v}");
    }
    let parts: Vec<&str> = date.split('-').collect();
    assert_eq!(parts.len(), 3, "{v}");
    assert!(
        parts[0].len() == 4 && parts[1].len() == 2 && parts[2].len() == 2,
        "{v}"
    );
    assert!(date.bytes().all(|b| b.is_ascii_digit() || b == b'-'), "{v}");
}

#[test]
fn completions_offer_the_blueprint_names() {
    for shell in ["bash", "zsh"] {
        let o = common::run(&["completions", shell], &common::root());
        assert!(o.status.success(), "{shell}");
        let script = common::text(&o.stdout);
        for (name, _, _) in mailinfra::blueprint::BLUEPRINTS {
            assert!(script.contains(name), "{shell}: `{name}` is not offered");
        }
    }
    let o = common::run(&["init", "--blueprint", "identity-basic"], &common::root());
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(common::text(&o.stderr).contains("identity-basics"));
}

#[test]
fn a_documentation_placeholder_warns_unless_allowed() {
    let dir = common::scratch();
    let spec = "version: 1\nproject: demo\nregions: { primary: us-east-1 }\ndns:\n  example.com: external{}\n";
    write(dir.path(), &spec.replace("{}", ""));
    let o = common::run(&["validate"], dir.path());
    assert_eq!(o.status.code(), Some(exit::SUCCESS));
    let err = common::text(&o.stderr);
    assert!(
        err.contains(
            "mailinfra.yaml:5:3: warning[MI4011]: `example.com` is a documentation domain"
        ),
        "{err}"
    );
    write(
        dir.path(),
        &spec.replace("{}", "  # mailinfra: allow MI4011"),
    );
    let o = common::run(&["validate"], dir.path());
    let err = common::text(&o.stderr);
    assert!(o.status.success() && !err.contains("MI4011"), "{err}");
}
