//! The generated documentation is current, and shell completions work.

use crate::common;

#[test]
fn committed_spec_reference_is_current() {
    let path = common::root().join(mailinfra::spec_doc::PATH);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = mailinfra::spec_doc::markdown(mailinfra::schema::schema());
    if committed != generated {
        let diff = similar::TextDiff::from_lines(&committed, &generated);
        panic!(
            "{} is stale; regenerate it with\n    cargo run -q -- schema --markdown > {}\n\n{}",
            mailinfra::spec_doc::PATH,
            mailinfra::spec_doc::PATH,
            diff.unified_diff()
                .context_radius(2)
                .header("committed", "generated")
        );
    }
    let o = common::run(&["schema", "--markdown"], &common::root());
    assert!(o.status.success());
    assert_eq!(common::text(&o.stdout), generated);
}

#[test]
fn completions_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let o = common::run(&["completions", shell], &common::root());
        assert!(o.status.success(), "{shell}");
        let script = common::text(&o.stdout);
        for cmd in ["validate", "build", "plan", "apply", "init", "blueprints"] {
            assert!(script.contains(cmd), "{shell}: no `{cmd}`");
        }
        assert!(script.contains("detailed-exitcode"), "{shell}");
    }
    let o = common::run(&["completions", "tcsh"], &common::root());
    assert_eq!(o.status.code(), Some(mailinfra::exit::USAGE));
}

#[test]
fn readme_lists_every_blueprint_as_the_command_does() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let o = common::run(&["blueprints"], &common::root());
    assert!(o.status.success());
    for line in common::text(&o.stdout).lines() {
        assert!(readme.contains(line), "README lacks `{line}`");
        let name = line.split_whitespace().next().unwrap();
        assert!(readme.contains(&format!("| `{name}` |")), "{name}");
    }
    assert!(readme.contains("](docs/spec-reference.md)"));
    assert!(readme.contains("](docs/ci/github-actions.yml)"));
}
