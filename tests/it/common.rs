//! Shared test harness: the CLI binary, snapshot settings, cfn-lint, and the
//! CloudFormation-compatible server (`moto_server`) that `scripts/test` starts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `mailinfra` binary under test.
pub fn mailinfra() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailinfra"));
    c.env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("MAILINFRA_ENDPOINT_URL");
    c
}

pub fn run(args: &[&str], cwd: &Path) -> Output {
    mailinfra()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("mailinfra runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// insta settings: snapshots live in `snapshots/<group>/`.
pub fn snapshot_settings(group: &str) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(group));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.add_filter(r"\b\d{12}\b", "[ACCOUNT]");
    s.add_filter(
        r"arn:aws:cloudformation:[a-z0-9-]+:[^\s\x22]+",
        "[STACK-OR-CHANGE-SET-ARN]",
    );
    s
}

/// Path of the `cfn-lint` to use: `$MAILINFRA_CFN_LINT`, else `.venv/bin/cfn-lint`.
pub fn cfn_lint_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MAILINFRA_CFN_LINT") {
        return PathBuf::from(p);
    }
    let p = root().join(".venv/bin/cfn-lint");
    assert!(
        p.exists(),
        "cfn-lint not found: run the tests with scripts/test (it installs cfn-lint into .venv)"
    );
    p
}

/// Lints templates with cfn-lint in one process per region (it takes seconds to
/// start); panics with cfn-lint's output when any template has an error.
pub fn cfn_lint(templates: &[(PathBuf, String)]) {
    let mut by_region: std::collections::BTreeMap<&str, Vec<&Path>> = Default::default();
    for (path, region) in templates {
        by_region.entry(region.as_str()).or_default().push(path);
    }
    for (region, paths) in by_region {
        let out = Command::new(cfn_lint_bin())
            .arg("--regions")
            .arg(region)
            .arg("--format")
            .arg("parseable")
            .arg("--")
            .args(&paths)
            .output()
            .expect("cfn-lint runs");
        let stdout = text(&out.stdout);
        // Exit code bits: 2 = error, 4 = warning, 8 = informational. Only errors fail.
        let errors: Vec<&str> = stdout.lines().filter(|l| l.contains(":E")).collect();
        assert!(
            out.status.code() != Some(2)
                && (out.status.code().unwrap_or(0) & 2) == 0
                && errors.is_empty(),
            "cfn-lint found errors in {region}:\n{stdout}\n{}",
            text(&out.stderr)
        );
    }
}

/// The CloudFormation-compatible endpoint: `$MAILINFRA_TEST_ENDPOINT` (set by
/// scripts/test), else a `moto_server` from `.venv` started for this process.
pub fn cfn_endpoint() -> String {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            if let Ok(e) = std::env::var("MAILINFRA_TEST_ENDPOINT") {
                return e;
            }
            let bin = root().join(".venv/bin/moto_server");
            assert!(
                bin.exists(),
                "no CloudFormation test server: run the tests with scripts/test"
            );
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("moto_server starts");
            // Left running for this test process; it exits with the process group.
            std::mem::forget(child);
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            url
        })
        .clone()
}

/// Environment for a CLI run against the test server with dummy credentials.
pub fn with_test_aws(c: &mut Command) -> &mut Command {
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("MAILINFRA_POLL_MS", "50")
        .env("MAILINFRA_ENDPOINT_URL", cfn_endpoint())
}

/// Runs the binary in `dir` against the test server, with dummy credentials.
pub fn run_aws(args: &[&str], dir: &Path) -> Output {
    let mut c = mailinfra();
    with_test_aws(&mut c);
    c.args(args)
        .current_dir(dir)
        .output()
        .expect("mailinfra runs")
}

/// A fresh scratch directory.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The Python of `.venv` (it has boto3, which moto depends on).
pub fn venv_python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(p.exists(), "no .venv: run the tests with scripts/test");
    p
}

/// Runs a boto3 snippet against the test server; `client(name)` is predefined.
/// Returns its stdout, trimmed.
pub fn boto3(code: &str) -> String {
    let prelude = format!(
        "import boto3, json\n\
         def client(name, region='us-east-1'):\n    \
         return boto3.client(name, endpoint_url='{}', region_name=region, aws_access_key_id='testing', aws_secret_access_key='testing')\n",
        cfn_endpoint()
    );
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(format!("{prelude}{code}"))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "boto3 snippet failed:\n{}",
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_string()
}
