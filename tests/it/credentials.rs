//! Credentials a person can act on, through the binary: every command that
//! talks to AWS asks who the credentials belong to first, and a mistyped
//! profile, a missing SSO sign-in, no credentials, rejected keys or an
//! unreachable endpoint each stop it with what to do, its exit code, no SDK
//! `Debug` dump, and no retry storm (the attempts are counted, not timed).

use std::process::Output;

use crate::common;
use crate::local_aws::{self, Sts};

use mailinfra::exit;

const SPEC: &str = "version: 1\nproject: creds\nregions: { primary: us-east-1 }\nmail_manager:\n  archives:\n    journal: { retention: 1 year }\n";

/// A temp HOME with `~/.aws/config` (two key profiles and an SSO one whose
/// token cache does not exist) and a workspace with a spec.
struct Home {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
}

fn home() -> Home {
    let home = common::scratch();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile dev]\nregion = us-east-1\n\n[profile prod]\nregion = us-east-1\n\n\
         [profile work]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Admin\n\n\
         [sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        "[ci]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n",
    )
    .unwrap();
    let work = common::scratch();
    std::fs::write(work.path().join("mailinfra.yaml"), SPEC).unwrap();
    Home { home, work }
}

/// The binary in `h`'s workspace, with no credentials but those `env` gives
/// and no instance metadata to wait for.
fn run(h: &Home, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = common::mailinfra();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
        "MAILINFRA_ROLE_ARN",
        "MAILINFRA_LOG",
    ] {
        c.env_remove(var);
    }
    c.env("HOME", h.home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("MAILINFRA_POLL_MS", "5")
        .envs(env.iter().copied())
        .args(args)
        .current_dir(h.work.path())
        .output()
        .expect("mailinfra runs")
}

const KEYS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
];

/// Whatever went wrong, the user never reads the SDK's `Debug` structures.
fn no_debug_dump(err: &str) {
    for dump in [
        "DispatchFailure {",
        "ConnectorError {",
        "ServiceError {",
        "source: Some(",
    ] {
        assert!(!err.contains(dump), "{dump} in:\n{err}");
    }
}

#[test]
fn an_unknown_profile_lists_the_profiles_and_suggests_one() {
    let h = home();
    for command in [
        &["plan"][..],
        &["status"],
        &["check", "--live"],
        &["dns", "--live"],
    ] {
        let args = [command, &["--profile", "prdo"]].concat();
        let o = run(&h, &args, &[]);
        let err = common::text(&o.stderr);
        assert_eq!(o.status.code(), Some(exit::USAGE), "{command:?}: {err}");
        assert!(err.contains("AWS profile `prdo` does not exist"), "{err}");
        assert!(err.contains("did you mean `prod`?"), "{err}");
        // Both files are read: `ci` is only in ~/.aws/credentials.
        assert!(
            err.contains("the profiles found: ci, dev, prod, work"),
            "{err}"
        );
        no_debug_dump(&err);
    }
}

#[test]
fn an_sso_profile_without_a_sign_in_says_aws_sso_login() {
    let h = home();
    let o = run(&h, &["plan", "--profile", "work"], &[]);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::FAILED), "{err}");
    assert!(
        err.contains("run `aws sso login --profile work` and try again"),
        "{err}"
    );
    no_debug_dump(&err);
}

#[test]
fn no_credentials_at_all_names_every_way_to_give_them() {
    let h = home();
    for command in [&["status"][..], &["apply", "--yes"]] {
        let o = run(&h, command, &[]);
        let err = common::text(&o.stderr);
        assert_eq!(o.status.code(), Some(exit::FAILED), "{command:?}: {err}");
        for says in [
            "no AWS credentials found",
            "`AWS_ACCESS_KEY_ID`",
            "`aws configure`",
            "`aws sso login --profile NAME`",
        ] {
            assert!(err.contains(says), "{says} in:\n{err}");
        }
        no_debug_dump(&err);
    }
    // The apply records why it ended, for `status`, and leaves no lock.
    let journal = std::fs::read_to_string(h.work.path().join(".mailinfra-journal.jsonl")).unwrap();
    let end: serde_json::Value = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
    assert_eq!(
        (&end["step"], &end["outcome"]),
        (&"ended".into(), &"error".into())
    );
    assert!(
        end["detail"]
            .as_str()
            .unwrap()
            .contains("no AWS credentials found"),
        "{end}"
    );
    assert!(!h.work.path().join(".mailinfra-apply.lock").exists());
}

/// STS answers `ExpiredToken` once: one attempt, nothing else is called,
/// and the message says to sign in again.
#[test]
fn expired_credentials_stop_after_one_call_with_how_to_renew_them() {
    let h = home();
    let aws = local_aws::start(Sts::Error("ExpiredToken"));
    let o = run(&h, &["plan", "--endpoint-url", &aws.url], KEYS);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::FAILED), "{err}");
    assert!(err.contains("the AWS credentials have expired"), "{err}");
    assert!(err.contains("aws sso login"), "{err}");
    assert!(err.contains("(ExpiredToken)"), "{err}");
    assert_eq!(aws.sts_calls(), 1, "an expired token is not retried");
    assert_eq!(
        aws.other_calls(),
        0,
        "nothing is planned with bad credentials"
    );
    no_debug_dump(&err);
}

#[test]
fn unknown_or_mismatched_keys_say_which_setting_to_check() {
    let h = home();
    for (code, says) in [
        (
            "InvalidClientTokenId",
            "AWS does not know the access key id",
        ),
        ("SignatureDoesNotMatch", "`AWS_SECRET_ACCESS_KEY`"),
    ] {
        let aws = local_aws::start(Sts::Error(code));
        let o = run(&h, &["status", "--endpoint-url", &aws.url], KEYS);
        let err = common::text(&o.stderr);
        assert_eq!(o.status.code(), Some(exit::FAILED), "{code}: {err}");
        assert!(err.contains(says), "{code}: {err}");
        assert!(err.contains(&format!("({code})")), "{err}");
        assert_eq!(aws.sts_calls(), 1, "{code}");
        assert_eq!(aws.other_calls(), 0, "{code}");
    }
}

/// A failing STS is tried [`identity::ATTEMPTS`] times, not the deploy's seven.
#[test]
fn a_failing_sts_is_tried_twice_not_seven_times() {
    let h = home();
    let aws = local_aws::start(Sts::Broken);
    let o = run(&h, &["check", "--live", "--endpoint-url", &aws.url], KEYS);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::FAILED), "{err}");
    assert_eq!(
        aws.sts_calls(),
        mailinfra::aws::identity::ATTEMPTS as usize,
        "{err}"
    );
    assert_eq!(mailinfra::aws::identity::ATTEMPTS, 2);
    assert!(err.contains("try again"), "{err}");
    no_debug_dump(&err);
}

#[test]
fn an_unreachable_endpoint_is_named_without_the_sdks_debug_form() {
    let h = home();
    // Nothing listens on port 9 of this machine: the connection is refused at once.
    let o = run(&h, &["plan", "--endpoint-url", "http://127.0.0.1:9"], KEYS);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::FAILED), "{err}");
    assert!(
        err.contains("cannot reach AWS STS at http://127.0.0.1:9"),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    no_debug_dump(&err);
}

/// With credentials that work, plan says which account, regions and role it
/// acts for before it plans; the rest of the run (every call fails with a
/// 503 here) never prints an SDK structure either.
#[test]
fn plan_shows_the_account_regions_and_role_before_planning() {
    let h = home();
    let aws = local_aws::start(Sts::Identity);
    let role = "arn:aws:iam::123456789012:role/mailinfra-deploy";
    let o = run(
        &h,
        &["plan", "--endpoint-url", &aws.url, "--role-arn", role],
        KEYS,
    );
    let err = common::text(&o.stderr);
    assert!(
        err.contains(&format!(
            "AWS account 123456789012 as arn:aws:iam::123456789012:user/ci; region(s): us-east-1; \
             CloudFormation service role: {role}"
        )),
        "{err}"
    );
    assert_eq!(aws.sts_calls(), 1);
    assert!(aws.other_calls() > 0, "planning went on after the identity");
    assert_eq!(o.status.code(), Some(exit::FAILED), "{err}");
    no_debug_dump(&err);
}

/// `--debug` logs the SDK's requests to stderr, never the credentials.
#[test]
fn debug_logs_requests_but_never_credentials() {
    let h = home();
    let aws = local_aws::start(Sts::Error("ExpiredToken"));
    let session = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";
    let env = [KEYS, &[("AWS_SESSION_TOKEN", session)]].concat();
    let o = run(&h, &["--debug", "plan", "--endpoint-url", &aws.url], &env);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(exit::FAILED), "{err}");
    assert!(err.contains("DEBUG"), "no request-level log:\n{err}");
    for secret in [KEYS[0].1, KEYS[1].1, session] {
        assert!(!err.contains(secret), "{secret} logged:\n{err}");
    }
    // The environment variable turns it on too.
    let o = run(
        &h,
        &["plan", "--endpoint-url", &aws.url],
        &[env.as_slice(), &[("MAILINFRA_LOG", "debug")]].concat(),
    );
    let err = common::text(&o.stderr);
    assert!(err.contains("DEBUG"), "{err}");
    for secret in [KEYS[0].1, KEYS[1].1, session] {
        assert!(!err.contains(secret), "{secret} logged:\n{err}");
    }
}
