//! The committed schema is the one the code generates.

use crate::common;

#[test]
fn committed_schema_is_current() {
    let path = common::root().join("schemas/mailinfra.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = mailinfra::schema::schema_text();
    if committed != generated {
        let diff = similar::TextDiff::from_lines(&committed, &generated);
        panic!(
            "schemas/mailinfra.schema.json is stale; regenerate it with\n    cargo run -q -- schema > schemas/mailinfra.schema.json\n\n{}",
            diff.unified_diff()
                .context_radius(2)
                .header("committed", "generated")
        );
    }
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = common::run(&["schema"], &common::root());
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    assert_eq!(printed, *mailinfra::schema::schema());
    assert_eq!(printed["title"], "mailinfra spec");
}
