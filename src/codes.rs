//! The diagnostic code registry as users see it: `mailinfra explain CODE`
//! ([`lookup`]) and `docs/diagnostic-codes.md` (`markdown`), both generated
//! from the code table in `src/diag/code.rs`.
//!
//! The tests here hold the table to the truth: the doc is not stale, and every
//! code is emitted by a real input, an invalid fixture or a named test (see
//! [`Witness`]). A code only mentioned in the sources counts for nothing.

#[cfg(test)]
pub(crate) use crate::diag::code::{CODES, RETIRED};
pub use crate::diag::{Code, Info, Witness};

/// The table row of a code written as `code` (case-insensitive).
pub fn lookup(code: &str) -> Option<&'static Info> {
    Code::parse(code).map(Code::info)
}

/// The code list as Markdown: what `docs/diagnostic-codes.md` holds (written
/// and checked by the tests).
#[cfg(test)]
pub(crate) fn markdown() -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\n\
         Generated from `src/diag/code.rs` (a test fails when this file is stale; \
         `UPDATE_DOCS=1 cargo test --lib codes` rewrites it). `mailinfra explain CODE` \
         prints the same explanation. `MI1xxx` load and schema, `MI2xxx` references, \
         `MI3xxx` semantics, `MI4xxx` lints, `MI5xxx` live checks. Warnings and infos can be \
         silenced where they occur with `# mailinfra: allow CODE` on their line or on the \
         line above; `--deny-warnings` turns the others into errors.\n\n\
         | code | severity | meaning | explanation |\n| --- | --- | --- | --- |\n",
    );
    for c in CODES {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.code,
            c.severity.as_str(),
            c.title,
            c.explain.replace('|', "\\|")
        ));
    }
    out.push_str(&format!(
        "\nRetired codes, never emitted and not reused: {}.\n",
        RETIRED.join(", ")
    ));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use super::*;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn docs_list_every_code() {
        let path = root().join("docs/diagnostic-codes.md");
        let want = markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want).expect("write docs");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/diagnostic-codes.md is stale; run `UPDATE_DOCS=1 cargo test --lib codes`:\n{}",
            similar::TextDiff::from_lines(&have, &want).unified_diff()
        );
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap_or_default();
        assert!(
            readme.contains("docs/diagnostic-codes.md"),
            "the README links the code list"
        );
    }

    #[test]
    fn codes_are_sorted_well_formed_and_looked_up() {
        for pair in CODES.windows(2) {
            assert!(
                pair[0].code.as_str() < pair[1].code.as_str(),
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for (i, c) in CODES.iter().enumerate() {
            let s = c.code.as_str();
            assert!(
                s.len() == 6 && s.starts_with("MI") && s[2..].bytes().all(|b| b.is_ascii_digit()),
                "{s}"
            );
            assert_eq!(c.code as usize, i, "{s} is not at its index");
            assert!(!c.title.ends_with('.'), "{s}");
            assert!(!RETIRED.contains(&s), "{s} is retired and cannot be reused");
            assert_eq!(
                lookup(&s.to_ascii_lowercase()).map(|i| i.code),
                Some(c.code)
            );
        }
        for r in RETIRED {
            assert!(lookup(r).is_none(), "{r}");
        }
        assert!(lookup("MI9999").is_none());
    }

    /// The codes in the expected diagnostics of the invalid corpus: code →
    /// fixtures. A snapshot counts only while its fixture exists (the
    /// `diagnostics` test compares each fixture's output with its snapshot).
    fn codes_in_fixture_snapshots() -> BTreeMap<String, Vec<String>> {
        let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let dir = root().join("snapshots/diagnostics");
        for e in std::fs::read_dir(&dir).expect("snapshot dir").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".json.snap") else {
                continue;
            };
            let fixture = root().join(format!("tests/fixtures/invalid/{stem}.yaml"));
            if !fixture.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).expect("snapshot is text");
            // An insta snapshot: a `---` header block, then the JSON output.
            let body = text.splitn(3, "---\n").nth(2).unwrap_or_default();
            let json: serde_json::Value = serde_json::from_str(body)
                .unwrap_or_else(|e| panic!("{name}: not JSON after the header: {e}"));
            for d in json["diagnostics"].as_array().into_iter().flatten() {
                if let Some(code) = d["code"].as_str() {
                    found
                        .entry(code.to_string())
                        .or_default()
                        .push(stem.to_string());
                }
            }
        }
        found
    }

    /// Every `.rs` file under `src/` and `tests/`.
    fn rust_files() -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![root().join("src"), root().join("tests")];
        while let Some(dir) = todo.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    todo.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The body of the test function `name` (marked `#[test]` or
    /// `#[tokio::test]`) in `text`, if there is one.
    fn test_body<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        for (at, _) in text.match_indices(&format!("fn {name}(")) {
            let before = &text[..at];
            let attr = before.rfind("#[").map(|i| &before[i..]).unwrap_or("");
            let is_test = (attr.starts_with("#[test]") || attr.starts_with("#[tokio::test"))
                && !attr.contains("\n\n")
                && !attr.contains('}');
            if !is_test {
                continue;
            }
            let open = at + text[at..].find('{')?;
            return Some(&text[open..open + block_len(&text[open..])]);
        }
        None
    }

    /// The length of the block `text` starts with (at its `{`), skipping
    /// string and character literals and comments.
    fn block_len(text: &str) -> usize {
        let b = text.as_bytes();
        let (mut depth, mut i) = (0usize, 0usize);
        while i < b.len() {
            match b[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    i += text[i..].find('\n').unwrap_or(text.len() - i);
                }
                b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                    && !b[i.saturating_sub(1)].is_ascii_alphanumeric() =>
                {
                    let hashes = text[i + 1..].bytes().take_while(|c| *c == b'#').count();
                    let close = format!("\"{}", "#".repeat(hashes));
                    let start = i + 2 + hashes;
                    i = start + text[start..].find(&close).unwrap_or(0) + close.len() - 1;
                }
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'\'' if b.get(i + 2) == Some(&b'\'') => i += 2,
                b'\'' if b.get(i + 1) == Some(&b'\\') => {
                    i += text[i + 1..].find('\'').map_or(0, |n| n + 1);
                }
                _ => {}
            }
            i += 1;
        }
        b.len()
    }

    /// A documented code that no input emits fails here. A code counts as
    /// emitted when an invalid fixture's expected diagnostics contain it, or,
    /// for a code its table row gives a named test as witness, when that test
    /// exists and checks the code. Text that merely names a code in the sources
    /// counts for nothing.
    #[test]
    fn every_code_is_emitted_by_a_real_input() {
        let fixtures = codes_in_fixture_snapshots();
        let sources: Vec<(PathBuf, String)> = rust_files()
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                (p, text)
            })
            .collect();
        let mut problems = Vec::new();
        for c in CODES {
            let code = c.code.as_str();
            match c.witness {
                Witness::Fixture if !fixtures.contains_key(code) => problems.push(format!(
                    "{code}: no invalid fixture's expected diagnostics contain it; add \
                     tests/fixtures/invalid/NNN-name.yaml and its snapshots, or name the \
                     test that emits it as the code's witness"
                )),
                Witness::Fixture => {}
                Witness::Test(name) => {
                    let bodies: Vec<&str> = sources
                        .iter()
                        .filter_map(|(_, text)| test_body(text, name))
                        .collect();
                    if bodies.is_empty() {
                        problems.push(format!("{code}: there is no test `{name}`"));
                    } else if !bodies.iter().any(|b| b.contains(code)) {
                        problems.push(format!("{code}: the test `{name}` does not check it"));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // The corpus names no code the table lacks (a stale snapshot would).
        let known: BTreeSet<&str> = CODES.iter().map(|c| c.code.as_str()).collect();
        for (code, stems) in &fixtures {
            assert!(known.contains(code.as_str()), "{code} in {stems:?}");
        }
    }

    #[test]
    fn the_test_finder_reads_bodies_and_skips_literals() {
        let text = "#[test]\nfn a() {\n    let s = \"}\";\n    let r = r#\"}\"#;\n    let c = '}';\n    // }\n    assert!(x.contains(\"MI1\"));\n}\n\nfn b() { MI2 }\n";
        let body = test_body(text, "a").unwrap();
        assert!(body.ends_with("MI1\"));\n}"), "{body}");
        assert_eq!(test_body(text, "b"), None, "not a test");
        assert_eq!(test_body(text, "c"), None);
    }

    /// Every code mentioned in the sources and docs (a message's `mailinfra
    /// explain MI3113`, a doc comment) is in the table; the ends of a range
    /// are not codes. This is about stale references only: a mention never
    /// counts as an emission.
    #[test]
    fn every_mentioned_code_exists() {
        let mut files = rust_files();
        for dir in ["docs", "examples", "blueprints"] {
            let mut todo = vec![root().join(dir)];
            while let Some(d) = todo.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        todo.push(p);
                    } else {
                        files.push(p);
                    }
                }
            }
        }
        files.push(root().join("README.md"));
        // The table itself, and what is generated from it.
        let skip = [
            "src/codes.rs",
            "src/diag/code.rs",
            "docs/diagnostic-codes.md",
        ]
        .map(|p| root().join(p));
        for p in files.iter().filter(|p| !skip.contains(p)) {
            let Ok(text) = std::fs::read_to_string(p) else {
                continue;
            };
            for (i, _) in text.match_indices("MI") {
                let Some(word) = text.get(i..i + 6) else {
                    continue;
                };
                // Not part of a longer word, nor an end of a range (`MI3300–MI3499`).
                let bounded = !text[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '–')
                    && !text[i + word.len()..]
                        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '–');
                if word[2..].bytes().all(|b| b.is_ascii_digit()) && bounded {
                    assert!(
                        lookup(word).is_some() || word == "MI9999",
                        "{}: `{word}` is not a diagnostic code",
                        p.display()
                    );
                }
            }
        }
    }

    /// Witness of MI5002: `check --live` on a stack that is not deployed.
    #[tokio::test]
    async fn a_stack_that_is_not_deployed_is_mi5002() {
        use aws_sdk_cloudformation::Client;
        use aws_sdk_cloudformation::config::retry::RetryConfig;
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        let none =
            mock!(Client::describe_stacks).then_output(|| DescribeStacksOutput::builder().build());
        let api = crate::aws::SdkStackApi::from_client(mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            &[&none],
            |c| c.retry_config(RetryConfig::disabled())
        ));
        let timing = crate::deploy::Timing::fast(std::time::Duration::from_millis(1));
        let found = crate::deploy::live::drift(&api, "p-us-east-1-sending", &timing).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, Code::MI5002);
        assert_eq!(
            found[0].message,
            "stack `p-us-east-1-sending` is not deployed"
        );
    }
}
