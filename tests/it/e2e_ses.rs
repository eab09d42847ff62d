//! `check --live` end to end through the real AWS SDK against the test server
//! (`moto_server`, started by scripts/test): the identities of the spec are
//! read from SESv2 in their region and judged by what SES says.
//!
//! moto skips the SES resource types in CloudFormation, so `apply` deploys the
//! stack without creating the identities; the test creates the ones it wants
//! present through moto's SESv2 API. moto reports every identity as not
//! verified for sending (verification status SUCCESS), with DKIM signing off
//! (an identity created with DKIM signing attributes cannot be read: moto
//! writes its key timestamp as a string where SESv2 has epoch seconds).

use crate::common;

use std::path::Path;

use mailinfra::exit;

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    common::run_aws(args, dir)
}

#[test]
fn check_live_judges_identities_by_their_ses_state() {
    // Unique per run: the server may be shared with earlier runs.
    let p = &format!("e2e-ses-{}", std::process::id());
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        format!(
            "version: 1\nproject: {p}\nregions: {{ primary: us-east-1 }}\ndns: {{ {p}.example: external }}\nidentities:\n  \
             present.{p}.example: {{ dkim: none }}\n  \
             unsigned.{p}.example: {{ dkim: easy }}\n  \
             missing.{p}.example: {{ dkim: none }}\n"
        ),
    )
    .unwrap();
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    common::boto3(&format!(
        "ses = client('sesv2')\n\
         ses.create_email_identity(EmailIdentity='present.{p}.example')\n\
         ses.create_email_identity(EmailIdentity='unsigned.{p}.example')"
    ));

    let o = cli(dir.path(), &["check", "--live"]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::INVALID), "{err}");
    let findings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("[MI5005]") || l.contains("[MI5006]"))
        .collect();
    assert_eq!(
        findings,
        [
            format!(
                "mailinfra.yaml:6:3: error[MI5005]: identity `present.{p}.example` is not verified for sending in us-east-1 (verification status SUCCESS)"
            ),
            format!(
                "mailinfra.yaml:7:3: error[MI5005]: identity `unsigned.{p}.example` is not verified for sending in us-east-1 (verification status SUCCESS)"
            ),
            format!(
                "mailinfra.yaml:7:3: error[MI5006]: DKIM signing is turned off for identity `unsigned.{p}.example` in us-east-1"
            ),
            format!(
                "mailinfra.yaml:8:3: error[MI5005]: identity `missing.{p}.example` does not exist in SES in us-east-1"
            ),
        ],
        "{err}"
    );
    assert!(
        err.contains("  help: run `mailinfra apply` to create it\n"),
        "{err}"
    );

    // `--region` limits the SES reads to that region: none of the spec's here.
    let o = cli(dir.path(), &["check", "--live", "--region", "eu-west-1"]);
    let err = common::text(&o.stderr);
    assert!(!err.contains("[MI5005]"), "{err}");
}

/// An identity made by hand before the stack (row 39): the plan marks it,
/// apply refuses before creating anything, and applies once it is gone.
#[test]
fn an_identity_that_exists_outside_the_stack_is_refused_not_adopted() {
    let p = &format!("e2e-pre-{}", std::process::id());
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("mailinfra.yaml"),
        format!(
            "version: 1\nproject: {p}\nregions: {{ primary: us-east-1 }}\ndns: {{ {p}.example: external }}\nidentities:\n  \
             byhand.{p}.example: {{ dkim: none }}\n  \
             fresh.{p}.example: {{ dkim: none }}\n"
        ),
    )
    .unwrap();
    common::boto3(&format!(
        "client('sesv2').create_email_identity(EmailIdentity='byhand.{p}.example')"
    ));

    let o = cli(dir.path(), &["plan"]);
    let out = common::text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
    let marked: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("EXISTS OUTSIDE THE STACK:"))
        .collect();
    assert_eq!(marked.len(), 1, "{out}");
    assert!(
        marked[0].contains(&format!("SES identity `byhand.{p}.example` in us-east-1")),
        "{out}"
    );

    let o = cli(dir.path(), &["apply", "--yes"]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::REFUSED), "{err}");
    assert!(
        err.contains("resources the plan adds already exist outside any stack"),
        "{err}"
    );
    assert!(
        err.contains(&format!("`byhand.{p}.example` in us-east-1")),
        "{err}"
    );
    assert!(err.contains("--import LOGICAL_ID"), "{err}");
    let o = cli(dir.path(), &["status", "--format", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        status["stacks"][0]["status"].is_null(),
        "the refused apply created the stack: {status}"
    );

    common::boto3(&format!(
        "client('sesv2').delete_email_identity(EmailIdentity='byhand.{p}.example')"
    ));
    let o = cli(dir.path(), &["apply", "--yes"]);
    assert_eq!(
        o.status.code(),
        Some(exit::SUCCESS),
        "{}",
        common::text(&o.stderr)
    );
}
