//! Shared test harness: the CLI binary, snapshot settings, cfn-lint, and the
//! CloudFormation-compatible server (`moto_server`) that `scripts/test` starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `mailinfra` binary under test.
pub(crate) fn mailinfra() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailinfra"));
    c.env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("MAILINFRA_ENDPOINT_URL");
    c
}

pub(crate) fn run(args: &[&str], cwd: &Path) -> Output {
    mailinfra()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("mailinfra runs")
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// insta settings: snapshots live in `snapshots/<group>/`.
pub(crate) fn snapshot_settings(group: &str) -> insta::Settings {
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

/// Path of the `cfn-lint` to use: `$MAILINFRA_CFN_LINT` (scripts/test sets it),
/// else `.venv/bin/cfn-lint`. Without either the test fails: templates are
/// never left unlinted silently.
pub(crate) fn cfn_lint_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MAILINFRA_CFN_LINT") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "MAILINFRA_CFN_LINT is {}, which is not a file",
            p.display()
        );
        return p;
    }
    let p = root().join(".venv/bin/cfn-lint");
    assert!(
        p.exists(),
        "cfn-lint not found: MAILINFRA_CFN_LINT is unset and there is no {}; \
         run the tests with scripts/test (it installs cfn-lint into .venv)",
        p.display()
    );
    p
}

/// What one cfn-lint run says about its templates.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LintVerdict {
    /// No error: nothing found, or warnings and informational findings only.
    Clean,
    /// Errors in the templates: cfn-lint's error lines.
    Errors(Vec<String>),
    /// cfn-lint itself failed (it crashed, was misused or killed, or printed
    /// something that is not a finding), so the templates were not checked: why.
    Broken(String),
}

/// cfn-lint's exit code is a bitmask of what it found: 2 an error, 4 a warning,
/// 8 an informational finding; 0 nothing. Any other code is cfn-lint failing:
/// 1 for an uncaught exception or a bad configuration, for instance.
const LINT_ERROR: i32 = 2;
const LINT_WARNING: i32 = 4;
const LINT_INFO: i32 = 8;

/// The level bit of a finding in cfn-lint's `parseable` format,
/// `file:line:column:end line:end column:rule:message` (the rule is `E`, `W` or
/// `I` and four digits), or `None` when `line` is not one.
fn finding_level(line: &str) -> Option<i32> {
    let parts: Vec<&str> = line.split(':').collect();
    // The file name may hold colons itself: find the four numbers and the rule.
    (1..parts.len().saturating_sub(5)).find_map(|i| {
        let numbers = &parts[i..i + 4];
        let digits = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !numbers.iter().all(digits) {
            return None;
        }
        let rule = parts[i + 4];
        let (level, number) = rule.split_at_checked(1)?;
        if number.len() != 4 || !digits(&number) {
            return None;
        }
        match level {
            "E" => Some(LINT_ERROR),
            "W" => Some(LINT_WARNING),
            "I" => Some(LINT_INFO),
            _ => None,
        }
    })
}

/// Judges one cfn-lint run by its exit code (`None`: killed by a signal) and
/// output. Only a run that exits with a combination of 0, 2, 4 and 8, prints no
/// Python traceback, and prints only findings (one for every level its exit
/// code names) checked the templates.
pub(crate) fn classify_cfn_lint(code: Option<i32>, stdout: &str, stderr: &str) -> LintVerdict {
    let Some(code) = code else {
        return LintVerdict::Broken("cfn-lint was killed by a signal".into());
    };
    if code & !(LINT_ERROR | LINT_WARNING | LINT_INFO) != 0 {
        return LintVerdict::Broken(format!(
            "cfn-lint exited with {code}, which is no combination of its finding codes 2, 4 and 8"
        ));
    }
    if stderr.contains("Traceback (most recent call last)") {
        return LintVerdict::Broken("cfn-lint raised an exception".into());
    }
    let mut found = 0;
    let mut errors = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let Some(level) = finding_level(line) else {
            return LintVerdict::Broken(format!(
                "cfn-lint printed a line that is not a finding: `{line}`"
            ));
        };
        found |= level;
        if level == LINT_ERROR {
            errors.push(line.to_string());
        }
    }
    // A usage error exits 2 as well, but prints no finding.
    if code & !found != 0 {
        return LintVerdict::Broken(format!(
            "cfn-lint exited with {code}, but printed no finding of that level"
        ));
    }
    if errors.is_empty() {
        LintVerdict::Clean
    } else {
        LintVerdict::Errors(errors)
    }
}

/// Lints templates with the cfn-lint at `bin`, in one process per region (it
/// takes seconds to start). Returns why the templates fail: cfn-lint found an
/// error, or cfn-lint itself failed (with its output, stderr included); `None`
/// when every run is clean.
pub(crate) fn cfn_lint_failure(bin: &Path, templates: &[(PathBuf, String)]) -> Option<String> {
    let mut by_region: std::collections::BTreeMap<&str, Vec<&Path>> = Default::default();
    for (path, region) in templates {
        by_region.entry(region.as_str()).or_default().push(path);
    }
    let mut failures = Vec::new();
    for (region, paths) in by_region {
        let out = Command::new(bin)
            .arg("--regions")
            .arg(region)
            .arg("--format")
            .arg("parseable")
            .arg("--")
            .args(&paths)
            .output()
            .unwrap_or_else(|e| panic!("cfn-lint ({}) does not run: {e}", bin.display()));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        match classify_cfn_lint(out.status.code(), &stdout, &stderr) {
            LintVerdict::Clean => {}
            LintVerdict::Errors(_) => {
                failures.push(format!(
                    "cfn-lint found errors in {region}:\n{stdout}\n{stderr}"
                ));
            }
            LintVerdict::Broken(why) => failures.push(format!(
                "cfn-lint itself failed in {region}, so the templates were not checked: {why} ({}, {})\n\
                 stderr:\n{stderr}\nstdout:\n{stdout}",
                bin.display(),
                out.status
            )),
        }
    }
    (!failures.is_empty()).then(|| failures.join("\n"))
}

/// Lints templates with cfn-lint ([`cfn_lint_bin`]); panics with cfn-lint's
/// output when any template has an error, or when cfn-lint itself fails.
pub(crate) fn cfn_lint(templates: &[(PathBuf, String)]) {
    if let Some(failure) = cfn_lint_failure(&cfn_lint_bin(), templates) {
        panic!("{failure}");
    }
}

/// The CloudFormation-compatible endpoint: `$MAILINFRA_TEST_ENDPOINT` (set by
/// scripts/test), else a `moto_server` from `.venv` started for this process.
pub(crate) fn cfn_endpoint() -> String {
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
pub(crate) fn with_test_aws(c: &mut Command) -> &mut Command {
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("MAILINFRA_POLL_MS", "50")
        .env("MAILINFRA_ENDPOINT_URL", cfn_endpoint())
}

/// Runs the binary in `dir` against the test server, with dummy credentials.
pub(crate) fn run_aws(args: &[&str], dir: &Path) -> Output {
    let mut c = mailinfra();
    with_test_aws(&mut c);
    c.args(args)
        .current_dir(dir)
        .output()
        .expect("mailinfra runs")
}

/// A fresh scratch directory.
pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The Python of `.venv` (it has boto3, which moto depends on).
pub(crate) fn venv_python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(p.exists(), "no .venv: run the tests with scripts/test");
    p
}

/// Runs a boto3 snippet against the test server; `client(name)` is predefined.
/// Returns its stdout, trimmed.
pub(crate) fn boto3(code: &str) -> String {
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

/// The first retry backoff of mocked SDK clients. They get the real retry
/// policy (`mailinfra::aws::WithRetryPolicy`: the same attempts and
/// classifier), only faster.
pub(crate) const MOCK_BACKOFF: std::time::Duration = std::time::Duration::from_millis(1);

/// A retry quota of its own for one mocked SDK client. The SDK's standard
/// mode bounds retries with a token bucket that every client of a service in
/// the process shares; the tests run in parallel threads of one process, and
/// would otherwise spend each other's quota and see fewer attempts than the
/// policy allows. (The bucket is the same kind the real clients get.)
pub(crate) fn own_retry_quota() -> aws_sdk_cloudformation::config::retry::RetryPartition {
    aws_sdk_cloudformation::config::retry::RetryPartition::custom("mocked").build()
}

/// The cfn-lint helper tells lint errors, clean runs and cfn-lint failing apart.
mod tests {
    use std::path::{Path, PathBuf};

    use super::{LintVerdict, cfn_lint_failure, classify_cfn_lint, scratch};

    const WARNING: &str = "/t/a.template.json:4:7:4:19:W3005:Obsolete DependsOn on resource (Role)";
    const ERROR: &str = "/t/a.template.json:9:5:9:13:E3012:{'Ref': 'X'} is not of type 'string'";
    const TRACEBACK: &str = "Traceback (most recent call last):\n  File \"/v/bin/cfn-lint\", line 8, in <module>\n    sys.exit(main())\nKeyError: 'boom'\n";

    #[test]
    fn findings_decide_between_clean_and_errors() {
        assert_eq!(classify_cfn_lint(Some(0), "", ""), LintVerdict::Clean);
        assert_eq!(
            classify_cfn_lint(Some(4), &format!("{WARNING}\n"), ""),
            LintVerdict::Clean
        );
        assert_eq!(
            classify_cfn_lint(Some(6), &format!("{WARNING}\n{ERROR}\n"), ""),
            LintVerdict::Errors(vec![ERROR.to_string()])
        );
        // A file name with colons in it.
        let odd = "/t/x:y.json:1:1:1:2:I3042:ARN has a hardcoded partition";
        assert_eq!(classify_cfn_lint(Some(8), odd, ""), LintVerdict::Clean);
        // Log lines on stderr beside findings are fine.
        assert_eq!(
            classify_cfn_lint(Some(0), "", "WARNING: a deprecated option\n"),
            LintVerdict::Clean
        );
    }

    #[test]
    fn cfn_lint_failing_is_never_clean() {
        let broken = |code, stdout: &str, stderr: &str| {
            matches!(
                classify_cfn_lint(code, stdout, stderr),
                LintVerdict::Broken(_)
            )
        };
        // A crash: exit 1 and a traceback.
        assert!(broken(Some(1), "", TRACEBACK));
        // A traceback whatever the exit code.
        assert!(broken(Some(0), "", TRACEBACK));
        assert!(broken(Some(2), ERROR, TRACEBACK));
        // Codes that are no combination of 2, 4 and 8.
        assert!(broken(Some(1), "", ""));
        assert!(broken(Some(3), ERROR, ""));
        assert!(broken(Some(32), "", ""));
        assert!(broken(Some(127), "", "cfn-lint: not found"));
        // Killed by a signal.
        assert!(broken(None, "", ""));
        // A usage error exits 2 too, but with no finding printed.
        assert!(broken(
            Some(2),
            "",
            "usage: cfn-lint [-h] ...\ncfn-lint: error: unrecognized arguments: --bogus\n"
        ));
        // An exit code naming findings it does not print.
        assert!(broken(Some(4), "", ""));
        assert!(broken(Some(6), ERROR, ""));
        // Output that is not findings.
        assert!(broken(Some(0), "Segmentation fault\n", ""));
        assert!(broken(Some(2), &format!("{ERROR}\nsomething else\n"), ""));
    }

    /// An executable `cfn-lint` script in `dir` with `body` after the shebang.
    /// The script is written through a `cp` child, so that no descriptor open
    /// for writing on it ever exists in this process: one inherited by a child
    /// another test forks meanwhile would make running it fail with "text file
    /// busy".
    fn fake_cfn_lint(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let source = dir.join("cfn-lint.txt");
        std::fs::write(&source, format!("#!/bin/sh\n{body}\n")).expect("write");
        let bin = dir.join("cfn-lint");
        let copied = std::process::Command::new("cp")
            .arg(&source)
            .arg(&bin)
            .status()
            .expect("cp runs");
        assert!(copied.success());
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        bin
    }

    fn one_template(dir: &Path) -> Vec<(PathBuf, String)> {
        let t = dir.join("a.template.json");
        std::fs::write(&t, "{\"Resources\": {}}").expect("write");
        vec![(t, "us-east-1".to_string())]
    }

    #[test]
    fn a_crashing_cfn_lint_fails_the_lint_with_its_stderr() {
        let dir = scratch();
        let bin = fake_cfn_lint(
            dir.path(),
            &format!("cat >&2 <<'EOF'\n{TRACEBACK}EOF\nexit 1"),
        );
        let failure = cfn_lint_failure(&bin, &one_template(dir.path())).expect("a failure");
        assert!(
            failure.starts_with("cfn-lint itself failed in us-east-1"),
            "{failure}"
        );
        assert!(failure.contains("KeyError: 'boom'"), "{failure}");
        assert!(failure.contains("exit status: 1"), "{failure}");
    }

    #[test]
    fn a_fake_cfn_lint_is_judged_by_its_findings() {
        let dir = scratch();
        // Errors: the test fails with them.
        let bin = fake_cfn_lint(dir.path(), &format!("echo \"{ERROR}\"\nexit 2"));
        let failure = cfn_lint_failure(&bin, &one_template(dir.path())).expect("a failure");
        assert!(
            failure.starts_with("cfn-lint found errors in us-east-1") && failure.contains("E3012"),
            "{failure}"
        );
        // Warnings only: clean. The arguments are the region and the templates.
        let dir = scratch();
        let bin = fake_cfn_lint(
            dir.path(),
            &format!(
                "[ \"$1 $2 $3 $4 $5\" = \"--regions us-east-1 --format parseable --\" ] || exit 99\n\
                 [ -f \"$6\" ] || exit 98\necho \"{WARNING}\"\nexit 4"
            ),
        );
        assert_eq!(cfn_lint_failure(&bin, &one_template(dir.path())), None);
    }
}
