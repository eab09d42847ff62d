//! Property test over generated YAML-ish text: the front end never panics, and
//! either yields a model or at least one diagnostic with a position in the file.

use mailinfra::load::Document;
use mailinfra::pipeline::{self, Judge};
use proptest::prelude::*;

/// Fragments that exercise YAML's corners and the spec's keys.
const PIECES: &[&str] = &[
    "version: 1\n",
    "project: demo\n",
    "regions:\n",
    "  primary: eu-west-1\n",
    "identities:\n",
    "  example.com:\n",
    "    dkim: easy\n",
    "    dmarc: { policy: reject }\n",
    "dns:\n",
    "  example.com: external\n",
    "tags: {a: b}\n",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ": ",
    ", ",
    "\n",
    "  ",
    "\t",
    "&a ",
    "*a",
    "!Ref ",
    "? ",
    "'",
    "\"",
    "#",
    "---\n",
    "...\n",
    "|\n",
    ">\n",
    "no",
    "0755",
    "1.10",
    "~",
    "\u{feff}",
    "\r\n",
    "bücher",
    "ex\u{0430}mple",
    "%YAML 1.2\n",
    "<<: *a\n",
];

fn spec_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(PIECES).prop_map(str::to_string),
            1 => "[ -~]{0,8}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn front_end_never_panics(text in spec_text()) {
        let lines = text.lines().count().max(1) as u32;
        let diags = match Document::parse("fuzz.yaml", text.clone()) {
            Err(diags) => diags,
            Ok(doc) => {
                let checked = pipeline::check_document(doc, Judge::default());
                if checked.model.is_some() {
                    return Ok(());
                }
                checked.diagnostics
            }
        };
        prop_assert!(!diags.is_empty(), "no model and no diagnostic for {text:?}");
        for d in &diags {
            let span = d.span.expect("positioned");
            prop_assert!(span.start.line >= 1 && span.start.line <= lines + 1,
                "{} at line {} of {lines}: {text:?}", d.code, span.start.line);
            prop_assert!(span.start.col >= 1);
        }
    }
}
