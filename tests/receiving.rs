//! Receiving side end to end: every receiving fixture validates and compiles to
//! templates cfn-lint accepts; the EchoSpoofing pattern is reported with its code.

mod common;

use std::path::PathBuf;

fn fixtures(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::root().join("tests/fixtures").join(dir))
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn receiving_fixtures_build_and_lint_clean() {
    let out = common::scratch();
    let mut templates = Vec::new();
    for (i, f) in fixtures("valid", "3").iter().enumerate() {
        let dir = out.path().join(i.to_string());
        let o = common::run(
            &[
                "-f",
                f.to_str().unwrap(),
                "build",
                "--out",
                dir.to_str().unwrap(),
            ],
            &common::root(),
        );
        assert!(
            o.status.success(),
            "{}: {}",
            f.display(),
            common::text(&o.stderr)
        );
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(".template.json") {
                templates.push((p, "us-east-1".to_string()));
            }
        }
    }
    assert!(templates.len() >= 2);
    common::cfn_lint(&templates);
}

#[test]
fn echospoofing_is_reported_and_promotable() {
    let f = common::root().join("tests/fixtures/invalid/300-echospoofing.yaml");
    let o = common::run(&["-f", f.to_str().unwrap(), "validate"], &common::root());
    let text = common::text(&o.stdout) + &common::text(&o.stderr);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("warning[MI4001]"), "{text}");
    assert!(text.contains("sender_ip"), "{text}");
    let o = common::run(
        &["-f", f.to_str().unwrap(), "--deny-warnings", "validate"],
        &common::root(),
    );
    assert!(!o.status.success());
    assert!(
        common::text(&o.stderr).contains("error[MI4001]")
            || common::text(&o.stdout).contains("error[MI4001]")
    );
}
