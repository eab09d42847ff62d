//! Diagnostics for people (`file:line:col: error[CODE]: message`, a source
//! snippet with carets, help), for tools (JSON with stable field names) and
//! for GitHub Actions (workflow commands that annotate the changed lines).
//! Secrets in the source are masked in every one of them (see [`super::mask`]).

use std::fmt::Write as _;

use serde::Serialize;

use super::mask::Masker;
use super::paint::Paint;
use crate::diag::{Diagnostic, Severity, Span};

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
    help: Option<String>,
    line: Option<u32>,
    message: String,
    path: &'a str,
    related: Vec<JsonRelated>,
    severity: Severity,
}

#[derive(Serialize)]
struct JsonRelated {
    column: u32,
    line: u32,
    message: String,
}

pub fn render(diags: &[Diagnostic], src: &Source<'_>, format: Format, color: bool) -> String {
    match format {
        Format::Human => render_human(diags, src, color),
        Format::Json => render_json(diags, src),
        Format::Github => render_github(diags, src),
    }
}

fn render_json(diags: &[Diagnostic], src: &Source<'_>) -> String {
    let mask = Masker::new(src.text.unwrap_or_default());
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
            message: mask.text(&d.message).into_owned(),
            help: d.help.as_deref().map(|h| mask.text(h).into_owned()),
            related: d
                .related
                .iter()
                .map(|(s, m)| JsonRelated {
                    line: s.start.line,
                    column: s.start.col,
                    message: mask.text(m).into_owned(),
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
    let mask = Masker::new(src.text.unwrap_or_default());
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
        let mut text = mask.text(&d.message).into_owned();
        if let Some(help) = &d.help {
            let _ = write!(text, "\nhelp: {}", mask.text(help));
        }
        let _ = writeln!(out, "::{level} {props}::{}", gh_escape(&text, false));
    }
    out
}

fn render_human(diags: &[Diagnostic], src: &Source<'_>, color: bool) -> String {
    let paint = Paint { on: color };
    let lines: Vec<&str> = src.text.map(|t| t.lines().collect()).unwrap_or_default();
    let mask = Masker::new(src.text.unwrap_or_default());
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
            mask.text(&d.message)
        );
        if let Some(span) = d.span {
            snippet(&mut out, &lines, &mask, span, (&paint, sev_color), '^');
        }
        for (span, note) in &d.related {
            let _ = writeln!(
                out,
                "  {} {}:{}:{}: {note}",
                paint.wrap("1;34", "note:"),
                src.file,
                span.start.line,
                span.start.col,
                note = mask.text(note)
            );
            snippet(&mut out, &lines, &mask, *span, (&paint, "1;34"), '-');
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  {} {}", paint.wrap("1;32", "help:"), mask.text(help));
        }
        out.push('\n');
    }
    out
}

/// Longest part of a source line shown in a snippet (minified input stays readable).
const SNIPPET_CHARS: usize = 160;

/// The source line with a caret line under `span` (to the end of the line when
/// the span runs onto later lines). Columns count characters; a tab shows as
/// one space so the caret stays aligned. A line that holds a secret is shown
/// masked, the caret kept within it.
fn snippet(
    out: &mut String,
    lines: &[&str],
    mask: &Masker,
    span: Span,
    (paint, color): (&Paint, &str),
    mark: char,
) {
    let Some((index, text)) = (span.start.line as usize)
        .checked_sub(1)
        .and_then(|i| lines.get(i).map(|l| (i, l)))
    else {
        return;
    };
    let masked = mask.line(index, text);
    let text = masked.trim_end_matches('\r');
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Diagnostic, Pos, Span};

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
