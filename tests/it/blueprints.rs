//! Every blueprint renders with its defaults, validates with no errors, builds,
//! matches its snapshots under `snapshots/blueprints/`, and passes cfn-lint.

use crate::common;

use mailinfra::exit;

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
        let o = common::run(
            &["init", "--blueprint", name, "--out", spec.to_str().unwrap()],
            dir.path(),
        );
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
        for d in report["diagnostics"].as_array().unwrap() {
            let code = d["code"].as_str().unwrap();
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
    let o = common::run(
        &[
            "init",
            "--blueprint",
            "journaling",
            "--set",
            "journal_sources=198.51.100.0/24, 192.0.2.0/28",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let text = std::fs::read_to_string(dir.path().join("mailinfra.yaml")).unwrap();
    assert!(
        text.contains("sender_ip: [198.51.100.0/24, 192.0.2.0/28]"),
        "{text}"
    );
    let o = common::run(&["validate"], dir.path());
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let o = common::run(
        &[
            "init",
            "--blueprint",
            "journaling",
            "--force",
            "--set",
            "journal_sources=198.51.100.0/24, 192.0.2.1/28",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(common::text(&o.stderr).contains("did you mean `192.0.2.0/28`"));
}

#[test]
fn init_never_overwrites_without_force() {
    let dir = common::scratch();
    std::fs::write(dir.path().join("mailinfra.yaml"), "mine\n").unwrap();
    let o = common::run(&["init", "--blueprint", "identity-basics"], dir.path());
    assert_eq!(o.status.code(), Some(exit::USAGE));
    assert!(common::text(&o.stderr).contains("already exists; pass `--force`"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mailinfra.yaml")).unwrap(),
        "mine\n"
    );
    let o = common::run(
        &["init", "--blueprint", "identity-basics", "--force"],
        dir.path(),
    );
    assert!(o.status.success());
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
        (
            "domain=a.com\n  evil: 1",
            "is not allowed in a blueprint value",
        ),
        ("project={{project}}", "is not allowed in a blueprint value"),
        ("region=us-east-7", "is not an AWS region"),
        ("nope=1", "has no variable `nope`"),
    ] {
        let o = common::run(
            &["init", "--blueprint", "identity-basics", "--set", set],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(exit::USAGE), "{set}");
        assert!(
            common::text(&o.stderr).contains(why),
            "{set}: {}",
            common::text(&o.stderr)
        );
        assert!(!dir.path().join("mailinfra.yaml").exists());
    }
}
