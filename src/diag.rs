//! Diagnostics: what every stage says about the user's spec.
//!
//! Input: findings from load, schema, resolve and check. Output: one sorted list,
//! rendered once at the edge as human text (with a source snippet), JSON, or
//! GitHub workflow annotations. A diagnostic is data, never an `Err`: stages
//! accumulate them and the pipeline decides whether to go on.
//!
//! This module depends on no other part of mailinfra: the code table
//! ([`Code`]) lives here, and diagnostics located by spec pointer are placed
//! through the `Locate` trait, which the loaded document implements.

use serde::Serialize;

pub(crate) mod code;

pub use code::{Code, Info, Witness};

/// A position in the source: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A half-open range of source positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub(crate) fn at(line: u32, col: u32) -> Span {
        let p = Pos { line, col };
        Span { start: p, end: p }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One finding about the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code such as `MI1101` (it compares equal to its text).
    pub code: Code,
    pub severity: Severity,
    /// Where it is; `None` only for problems with the file as a whole.
    pub span: Option<Span>,
    /// The spec path (`/identities/example.com/dmarc`), empty for the file.
    pub path: String,
    /// Lowercase, names in backticks, no trailing period.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Further places involved (the first definition of a duplicate key, say).
    pub related: Vec<(Span, String)>,
    /// Whether `path` names a mapping entry whose key (not value) is at fault.
    pub at_key: bool,
    /// Related places given by spec pointer (key), resolved into `related` by `locate`.
    pub related_paths: Vec<(String, String)>,
}

impl Diagnostic {
    /// A diagnostic with `code` and the code's default severity (an error,
    /// warning or info, whatever the name says).
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            span: None,
            path: String::new(),
            message: message.into(),
            help: None,
            related: Vec::new(),
            at_key: false,
            related_paths: Vec::new(),
        }
    }

    /// Names a related place by the spec pointer of its mapping entry.
    pub(crate) fn related_path(
        mut self,
        path: impl Into<String>,
        note: impl Into<String>,
    ) -> Diagnostic {
        self.related_paths.push((path.into(), note.into()));
        self
    }

    /// Places the diagnostic at the key of the mapping entry `path` names.
    pub(crate) fn key_path(mut self, path: impl Into<String>) -> Diagnostic {
        self.path = path.into();
        self.at_key = true;
        self
    }

    pub(crate) fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Diagnostic {
        self.path = path.into();
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn related(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.related.push((span, note.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// What maps spec pointers (`/identities/example.com`) to source spans: the
/// loaded document.
pub(crate) trait Locate {
    /// The span of the value the pointer names (or of its nearest ancestor).
    fn span_of(&self, pointer: &str) -> Span;
    /// The span of the key of the mapping entry the pointer names (or of its value).
    fn key_span_of(&self, pointer: &str) -> Span;
}

/// Gives every diagnostic located by spec pointer its source span.
pub(crate) fn locate(diags: &mut [Diagnostic], doc: &impl Locate) {
    for d in diags {
        if d.span.is_none() && !d.path.is_empty() {
            d.span = Some(if d.at_key {
                doc.key_span_of(&d.path)
            } else {
                doc.span_of(&d.path)
            });
        }
        for (path, note) in std::mem::take(&mut d.related_paths) {
            d.related.push((doc.key_span_of(&path), note));
        }
    }
}

/// Sorts diagnostics by position (file-level ones first), then by code, and drops exact repeats.
pub(crate) fn sort(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (a.span.map(|s| s.start), a.code, &a.path, &a.message).cmp(&(
            b.span.map(|s| s.start),
            b.code,
            &b.path,
            &b.message,
        ))
    });
    diags.dedup();
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let keys = ["retention", "kms_key", "tags"];
        assert_eq!(suggest("retenion", keys), Some("retention"));
        assert_eq!(suggest("zzz", keys), None);
    }
}
