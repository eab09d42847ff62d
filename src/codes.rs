//! The diagnostic code registry as users see it: `mailinfra explain CODE`
//! ([`lookup`]) and `docs/diagnostic-codes.md` ([`markdown`]), both generated
//! from the code table in `src/diag/code.rs`.

pub use crate::diag::code::{CODES, Code, Info, RETIRED};

/// The table row of a code written as `code` (case-insensitive).
pub fn lookup(code: &str) -> Option<&'static Info> {
    Code::parse(code).map(Code::info)
}

/// The code list as Markdown: what `docs/diagnostic-codes.md` holds.
pub fn markdown() -> String {
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
    use std::path::Path;

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
}
