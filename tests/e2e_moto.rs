//! End to end through the real AWS SDK against a CloudFormation-compatible
//! server (`moto_server`, started by scripts/test): apply creates the stacks, a
//! second plan is empty, an edited spec plans a modification, and apply carries it out.
//!
//! moto does not implement the SES resource types (it skips them), so these
//! tests check the deployer's plumbing and the Route 53 records; the SES
//! templates themselves are checked by cfn-lint in `tests/templates.rs`.

mod common;

use std::path::Path;

use mailinfra::exit;

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut c = common::mailinfra();
    common::with_test_aws(&mut c);
    c.args(args)
        .current_dir(dir)
        .output()
        .expect("mailinfra runs")
}

fn spec(project: &str, zone_id: &str, policy: &str) -> String {
    format!(
        "version: 1\nproject: {project}\nregions: {{ primary: us-east-1 }}\ndns:\n  {project}.example: {{ route53_zone_id: {zone_id} }}\n\
         identities:\n  {project}.example:\n    dkim: none\n    mail_from: bounce.{project}.example\n    dmarc: {{ policy: {policy}, rua: \"mailto:d@{project}.example\" }}\n\
         mail_manager:\n  archives:\n    journal: {{ retention: 1 year }}\n"
    )
}

fn dmarc_value(zone_id: &str, project: &str) -> String {
    common::boto3(&format!(
        "rs = client('route53').list_resource_record_sets(HostedZoneId='{zone_id}')['ResourceRecordSets']\n\
         print([r['ResourceRecords'][0]['Value'] for r in rs if r['Name'].rstrip('.') == '_dmarc.{project}.example'][0])"
    ))
}

#[test]
fn apply_replan_modify_apply() {
    // Unique per run: the server may be shared with earlier runs.
    let project = &format!("e2e-{}", std::process::id());
    let zone_id = common::boto3(&format!(
        "print(client('route53').create_hosted_zone(Name='{project}.example', CallerReference='{project}')['HostedZone']['Id'].split('/')[-1])"
    ));
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        spec(project, &zone_id, "none"),
    )
    .unwrap();

    // A speculative plan shows the creation and leaves nothing behind.
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(exit::CHANGES),
        "{}",
        common::text(&o.stderr)
    );
    assert!(
        common::text(&o.stdout)
            .contains(&format!("{project}-us-east-1-sending  us-east-1  create"))
    );
    let live = common::boto3(&format!(
        "print(sorted(s['StackStatus'] for s in client('cloudformation').list_stacks()['StackSummaries'] if s['StackName'].startswith('{project}-') and s['StackStatus'] != 'DELETE_COMPLETE'))"
    ));
    assert_eq!(live, "[]", "a speculative plan left stacks behind");

    // apply creates both stacks.
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}\n{}",
        common::text(&o.stdout),
        common::text(&o.stderr)
    );
    assert!(
        common::text(&o.stderr).contains(&format!("{project}-us-east-1-sending: CREATE_COMPLETE"))
    );
    let status = common::boto3(&format!(
        "print(client('cloudformation').describe_stacks(StackName='{project}-us-east-1-mail-manager')['Stacks'][0]['StackStatus'])"
    ));
    assert_eq!(status, "CREATE_COMPLETE");
    assert_eq!(
        dmarc_value(&zone_id, project),
        format!("\"v=DMARC1; p=none; rua=mailto:d@{project}.example\"")
    );

    // Nothing changed: exit 0 with --detailed-exitcode.
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}\n{}",
        common::text(&o.stdout),
        common::text(&o.stderr)
    );
    assert!(common::text(&o.stdout).contains("(2 of 2 stacks unchanged)"));

    // An edited spec plans exactly one modification.
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        spec(project, &zone_id, "reject"),
    )
    .unwrap();
    let o = cli(
        dir.path(),
        &["plan", "--detailed-exitcode", "--format", "json"],
    );
    assert_eq!(
        o.status.code(),
        Some(exit::CHANGES),
        "{}",
        common::text(&o.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["summary"]["modify"], 1, "{plan}");
    assert_eq!(plan["summary"]["add"], 0);
    let sending = plan["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"] == format!("{project}-us-east-1-sending").as_str())
        .unwrap();
    assert_eq!(sending["status"], "update");
    assert_eq!(
        sending["changes"][0]["logical_id"],
        mailinfra::ids::record("Dmarc", &format!("{project}.example"))
    );
    assert_eq!(sending["changes"][0]["action"], "modify");

    // apply carries it out, and the record really changed.
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    assert!(
        common::text(&o.stderr).contains(&format!("{project}-us-east-1-sending: UPDATE_COMPLETE"))
    );
    assert_eq!(
        dmarc_value(&zone_id, project),
        format!("\"v=DMARC1; p=reject; rua=mailto:d@{project}.example\"")
    );
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(exit::SUCCESS));
}

#[test]
fn apply_refuses_without_confirmation_when_not_on_a_terminal() {
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        spec("e2e-confirm", "Z1D633PJN98FT9", "none"),
    )
    .unwrap();
    let o = cli(dir.path(), &["apply"]);
    assert_eq!(o.status.code(), Some(exit::FAILURE));
    assert!(
        common::text(&o.stderr).contains("pass `--yes`"),
        "{}",
        common::text(&o.stderr)
    );
}

#[test]
fn removing_an_archive_is_refused_unless_allowed_by_name() {
    let project = &format!("e2e-destroy-{}", std::process::id());
    let dir = common::scratch();
    let two = format!(
        "version: 1\nproject: {project}\nregions: {{ primary: us-east-1 }}\nmail_manager:\n  archives:\n    journal: {{ retention: 1 year }}\n    legal: {{ retention: permanent }}\n"
    );
    std::fs::write(dir.path().join("mailinfra.yaml"), &two).unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );

    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        two.replace("    legal: { retention: permanent }\n", ""),
    )
    .unwrap();
    let o = cli(dir.path(), &["plan", "--format", "markdown"]);
    let md = common::text(&o.stdout);
    assert!(
        md.contains(
            "| `-` | `ArchiveLegal` | `AWS::SES::MailManagerArchive` |  |  :warning: stateful |"
        ),
        "{md}"
    );

    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::REFUSED),
        "{}",
        common::text(&o.stderr)
    );
    let err = common::text(&o.stderr);
    assert!(
        err.contains("ArchiveLegal (AWS::SES::MailManagerArchive) would be removed from the stack"),
        "{err}"
    );
    assert!(
        err.contains("apply again with --allow-destroy ArchiveLegal"),
        "{err}"
    );

    // Naming another resource does not help; naming this one does.
    let o = cli(
        dir.path(),
        &["apply", "--yes", "--allow-destroy", "ArchiveJournal"],
    );
    assert_eq!(o.status.code(), Some(exit::REFUSED));
    let o = cli(
        dir.path(),
        &["apply", "--yes", "--allow-destroy", "ArchiveLegal"],
    );
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let o = cli(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(exit::SUCCESS));
}
