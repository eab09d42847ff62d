//! Every valid fixture validates, compiles deterministically, matches its
//! snapshots under `snapshots/templates/`, and passes cfn-lint in its region.

use crate::common;

use std::path::PathBuf;

fn valid_fixtures() -> Vec<PathBuf> {
    let dir = common::root().join("tests/fixtures/valid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn valid_fixtures_compile_to_snapshotted_lint_clean_templates() {
    let out_root = common::scratch();
    let mut lint = Vec::new();
    for spec in valid_fixtures() {
        let stem = spec.file_stem().unwrap().to_string_lossy().to_string();
        let out = out_root.path().join(&stem);
        let o = common::run(
            &[
                "-f",
                spec.to_str().unwrap(),
                "build",
                "--out",
                out.to_str().unwrap(),
            ],
            &common::root(),
        );
        assert!(
            o.status.success(),
            "{stem}: build failed:\n{}",
            common::text(&o.stderr)
        );
        let manifest: mailinfra::build::Manifest =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        assert!(!manifest.stacks.is_empty(), "{stem}: no stacks");
        for s in &manifest.stacks {
            let path = out.join(&s.template);
            let body = std::fs::read_to_string(&path).unwrap();
            common::snapshot_settings("templates").bind(|| {
                insta::assert_snapshot!(format!("{stem}__{}", s.name), body);
            });
            lint.push((path, s.region.clone()));
        }
    }
    common::cfn_lint(&lint);
}

#[test]
fn builds_are_byte_identical() {
    let a = common::scratch();
    let b = common::scratch();
    for spec in valid_fixtures() {
        for dir in [&a, &b] {
            let o = common::run(
                &[
                    "-f",
                    spec.to_str().unwrap(),
                    "build",
                    "--out",
                    dir.path().to_str().unwrap(),
                ],
                &common::root(),
            );
            assert!(o.status.success());
        }
        let mut names: Vec<_> = std::fs::read_dir(a.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for n in names {
            assert_eq!(
                std::fs::read(a.path().join(&n)).unwrap(),
                std::fs::read(b.path().join(&n)).unwrap(),
                "{n:?} differs"
            );
        }
    }
}

#[test]
fn stateful_resources_are_retained() {
    for spec in valid_fixtures() {
        let out = common::scratch();
        let o = common::run(
            &[
                "-f",
                spec.to_str().unwrap(),
                "build",
                "--out",
                out.path().to_str().unwrap(),
            ],
            &common::root(),
        );
        assert!(o.status.success());
        for entry in std::fs::read_dir(out.path()).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".template.json") {
                continue;
            }
            let t: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for (id, r) in t["Resources"].as_object().unwrap() {
                let ty = r["Type"].as_str().unwrap();
                if mailinfra::diff::is_stateful(ty) {
                    let at = format!("{}: {id}", spec.display());
                    assert_eq!(r["DeletionPolicy"], "Retain", "{at}");
                    assert_eq!(r["UpdateReplacePolicy"], "Retain", "{at}");
                }
            }
        }
    }
}
