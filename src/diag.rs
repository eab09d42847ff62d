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

use std::fmt::Write as _;

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

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col: error[CODE]: message`, a source snippet and help.
    Human,
    /// One JSON document: `{"diagnostics": [...]}` with stable field names.
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…,col=…::…`).
    Github,
}

/// What a renderer needs besides the diagnostics.
pub struct Source<'a> {
    /// The file name as the user gave it.
    pub file: &'a str,
    /// The text, when it could be read.
    pub text: Option<&'a str>,
}

/// The JSON form: these field names are a stable interface. Fields are
/// declared in sorted order: serialised in declaration order, the keys come
/// out sorted whatever `serde_json`'s map order is.
#[derive(Serialize)]
struct JsonDiags<'a> {
    diagnostics: Vec<JsonDiag<'a>>,
}

#[derive(Serialize)]
struct JsonDiag<'a> {
    code: &'a str,
    column: Option<u32>,
    end_column: Option<u32>,
    end_line: Option<u32>,
    file: &'a str,
    help: Option<&'a str>,
    line: Option<u32>,
    message: &'a str,
    path: &'a str,
    related: Vec<JsonRelated<'a>>,
    severity: Severity,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    column: u32,
    line: u32,
    message: &'a str,
}

pub fn render(diags: &[Diagnostic], src: &Source<'_>, format: Format, color: bool) -> String {
    match format {
        Format::Human => render_human(diags, src, color),
        Format::Json => render_json(diags, src),
        Format::Github => render_github(diags, src),
    }
}

fn render_json(diags: &[Diagnostic], src: &Source<'_>) -> String {
    let items: Vec<JsonDiag<'_>> = diags
        .iter()
        .map(|d| JsonDiag {
            code: d.code.as_str(),
            severity: d.severity,
            file: src.file,
            line: d.span.map(|s| s.start.line),
            column: d.span.map(|s| s.start.col),
            end_line: d.span.map(|s| s.end.line),
            end_column: d.span.map(|s| s.end.col),
            path: &d.path,
            message: &d.message,
            help: d.help.as_deref(),
            related: d
                .related
                .iter()
                .map(|(s, m)| JsonRelated {
                    line: s.start.line,
                    column: s.start.col,
                    message: m,
                })
                .collect(),
        })
        .collect();
    let mut out =
        serde_json::to_string_pretty(&JsonDiags { diagnostics: items }).unwrap_or_default();
    out.push('\n');
    out
}

/// Escapes a value for a GitHub workflow command (data or property).
fn gh_escape(s: &str, property: bool) -> String {
    let mut out = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

fn render_github(diags: &[Diagnostic], src: &Source<'_>) -> String {
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = format!("file={}", gh_escape(src.file, true));
        if let Some(span) = d.span {
            let _ = write!(props, ",line={},col={}", span.start.line, span.start.col);
            if span.end.line == span.start.line && span.end.col > span.start.col {
                let _ = write!(props, ",endColumn={}", span.end.col);
            }
        }
        let _ = write!(props, ",title={}", gh_escape(d.code.as_str(), true));
        let mut text = d.message.clone();
        if let Some(help) = &d.help {
            let _ = write!(text, "\nhelp: {help}");
        }
        let _ = writeln!(out, "::{level} {props}::{}", gh_escape(&text, false));
    }
    out
}

/// ANSI colour for terminal output, or plain text when off.
pub(crate) struct Paint {
    pub(crate) on: bool,
}

impl Paint {
    pub(crate) fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn render_human(diags: &[Diagnostic], src: &Source<'_>, color: bool) -> String {
    let paint = Paint { on: color };
    let lines: Vec<&str> = src.text.map(|t| t.lines().collect()).unwrap_or_default();
    let mut out = String::new();
    for d in diags {
        let loc = match d.span {
            Some(s) => format!("{}:{}:{}", src.file, s.start.line, s.start.col),
            None => src.file.to_string(),
        };
        let sev_color = match d.severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        let _ = writeln!(
            out,
            "{}: {}: {}",
            paint.wrap("1", &loc),
            paint.wrap(sev_color, &format!("{}[{}]", d.severity.as_str(), d.code)),
            d.message
        );
        if let Some(span) = d.span {
            snippet(&mut out, &lines, span, &paint, sev_color, '^');
        }
        for (span, note) in &d.related {
            let _ = writeln!(
                out,
                "  {} {}:{}:{}: {note}",
                paint.wrap("1;34", "note:"),
                src.file,
                span.start.line,
                span.start.col
            );
            snippet(&mut out, &lines, *span, &paint, "1;34", '-');
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  {} {help}", paint.wrap("1;32", "help:"));
        }
        out.push('\n');
    }
    out
}

/// Longest part of a source line shown in a snippet (minified input stays readable).
const SNIPPET_CHARS: usize = 160;

/// The source line with a caret line under `span` (to the end of the line when
/// the span runs onto later lines). Columns count characters; a tab shows as
/// one space so the caret stays aligned.
fn snippet(out: &mut String, lines: &[&str], span: Span, paint: &Paint, color: &str, mark: char) {
    let Some(text) = (span.start.line as usize)
        .checked_sub(1)
        .and_then(|i| lines.get(i))
    else {
        return;
    };
    let text = text.trim_end_matches('\r');
    let shown: String = text
        .chars()
        .take(SNIPPET_CHARS)
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let len = shown.chars().count();
    let gutter = span.start.line.to_string();
    let pad = " ".repeat(gutter.len());
    let start = (span.start.col.saturating_sub(1) as usize).min(len);
    let end = if span.end.line == span.start.line && span.end.col > span.start.col {
        span.end.col.saturating_sub(1) as usize
    } else if span.end.line > span.start.line {
        text.trim_end().chars().count()
    } else {
        start + 1
    };
    let width = end.min(len).saturating_sub(start).max(1);
    let _ = writeln!(out, "{pad} {}", paint.wrap("1;34", "|"));
    let _ = writeln!(
        out,
        "{} {} {shown}",
        paint.wrap("1;34", &gutter),
        paint.wrap("1;34", "|")
    );
    let _ = writeln!(
        out,
        "{pad} {} {}{}",
        paint.wrap("1;34", "|"),
        " ".repeat(start),
        paint.wrap(color, &mark.to_string().repeat(width))
    );
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

    #[test]
    fn caret_covers_the_span_and_stops_at_the_line_end() {
        let src = Source {
            file: "t.yaml",
            text: Some("a:\n  dkim: eazy\n\tb: 1\n"),
        };
        let d = Diagnostic::error(Code::MI1104, "x").at(Span {
            start: Pos { line: 2, col: 9 },
            end: Pos { line: 2, col: 13 },
        });
        let out = render_human(&[d], &src, false);
        assert!(
            out.contains("2 |   dkim: eazy\n  |         ^^^^\n"),
            "{out}"
        );
        let d = Diagnostic::error(Code::MI1104, "x").at(Span {
            start: Pos { line: 1, col: 1 },
            end: Pos { line: 3, col: 2 },
        });
        let out = render_human(&[d], &src, false);
        assert!(out.contains("1 | a:\n  | ^^\n"), "{out}");
        let d = Diagnostic::error(Code::MI1004, "x").at(Span::at(3, 1));
        let out = render_human(&[d], &src, false);
        assert!(out.contains("3 |  b: 1\n  | ^\n"), "{out}");
    }

    #[test]
    fn related_places_get_a_snippet() {
        let src = Source {
            file: "t.yaml",
            text: Some("a: 1\na: 2\n"),
        };
        let d = Diagnostic::error(Code::MI1008, "duplicate key `a`")
            .at(Span {
                start: Pos { line: 2, col: 1 },
                end: Pos { line: 2, col: 2 },
            })
            .related(
                Span {
                    start: Pos { line: 1, col: 1 },
                    end: Pos { line: 1, col: 2 },
                },
                "first here",
            );
        let out = render_human(&[d], &src, false);
        assert!(
            out.contains("note: t.yaml:1:1: first here\n  |\n1 | a: 1\n  | -\n"),
            "{out}"
        );
        let json = render_json(
            &[Diagnostic::error(Code::MI1008, "m")
                .at(Span::at(2, 1))
                .related(Span::at(1, 1), "n")],
            &src,
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["diagnostics"][0]["related"][0]["line"], 1);
        for key in [
            "code", "severity", "file", "line", "column", "path", "message", "help",
        ] {
            assert!(v["diagnostics"][0].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn github_escapes_properties_and_data() {
        let d = Diagnostic::error(Code::MI1101, "bad: thing\nsecond")
            .at(Span::at(3, 5))
            .help("fix it");
        let out = render_github(
            &[d],
            &Source {
                file: "a,b.yaml",
                text: None,
            },
        );
        assert_eq!(
            out,
            "::error file=a%2Cb.yaml,line=3,col=5,title=MI1101::bad: thing%0Asecond%0Ahelp: fix it\n"
        );
    }
}
