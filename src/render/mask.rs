//! Masking: what of the spec is never printed. Diagnostics show source lines
//! and quote values in their messages; a spec may hold a private key or a
//! password written by mistake, and diagnostics end up in terminals and CI
//! logs. So, in every rendering:
//!
//! - every line of a PEM block (`-----BEGIN …-----` to `-----END …-----`) is
//!   shown as `-----BEGIN LABEL----- … (masked)` or `… (masked)`;
//! - the value of a `private_key:` or `password:` key (inline, quoted, or a
//!   block scalar's lines) is shown as `… (masked)`, and that value, quoted in
//!   a message, as `` `(masked)` ``;
//! - any long base64 run (key material) is shown as `… (masked)`.
//!
//! The scan is textual, so it also holds for a file that is not valid YAML.

use std::borrow::Cow;

use crate::values::long_base64_run;

/// What stands for a masked value.
pub(crate) const MASKED: &str = "… (masked)";

/// Keys whose scalar value is a secret whatever it looks like.
const SECRET_KEYS: &[&str] = &["private_key", "password"];

/// The masked form of one source: per line, the text to show instead (when
/// the line holds something secret), and the secret values found, for
/// masking messages.
#[derive(Debug, Default)]
pub(crate) struct Masker {
    lines: Vec<Option<String>>,
    values: Vec<String>,
}

impl Masker {
    pub(crate) fn new(text: &str) -> Masker {
        let mut m = Masker::default();
        let mut in_pem = false;
        // Indentation of a `private_key: |` key whose block lines follow.
        let mut block: Option<usize> = None;
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            if let Some(key_indent) = block {
                if line.trim().is_empty() || indent > key_indent {
                    m.lines.push(Some(format!("{}{MASKED}", &line[..indent])));
                    continue;
                }
                block = None;
            }
            if in_pem {
                in_pem = !line.contains("-----END");
                m.lines.push(Some(format!("{}{MASKED}", &line[..indent])));
                continue;
            }
            let (shown, opens_block) = m.mask_line(line);
            if let Some(at) = line.find("-----BEGIN") {
                in_pem = !line[at..].contains("-----END");
            }
            if opens_block {
                block = Some(indent);
            }
            m.lines.push(shown);
        }
        m
    }

    /// One line outside a PEM block or a secret block scalar: masked from a
    /// PEM header on, its secret keys' values and its base64 runs masked.
    /// Also says whether the line opens a secret block scalar.
    fn mask_line(&mut self, line: &str) -> (Option<String>, bool) {
        let mut out = line.to_string();
        let mut opens_block = false;
        if let Some(at) = out.find("-----BEGIN") {
            out = format!("{}{}", &out[..at], pem_header(&out[at..]));
        }
        for key in SECRET_KEYS {
            let mut from = 0;
            while let Some(found) = out[from..].find(&format!("{key}:")) {
                let start = from + found;
                let value_at = start + key.len() + 1;
                let before = out[..start].chars().last();
                if before.is_some_and(|c| !(c.is_whitespace() || "{,-".contains(c))) {
                    from = value_at;
                    continue;
                }
                let rest = &out[value_at..];
                let lead = rest.len() - rest.trim_start().len();
                let (len, value) = scalar(rest.trim_start());
                let shown = value.trim();
                if shown.starts_with('|') || shown.starts_with('>') {
                    opens_block = true;
                } else if !shown.is_empty() && shown != "generate" && !shown.contains(MASKED) {
                    self.values.push(unquote(shown).to_string());
                    out.replace_range(value_at + lead..value_at + lead + len, MASKED);
                }
                from = value_at;
            }
        }
        while let Some(run) = long_base64_run(&out) {
            out.replace_range(run, MASKED);
        }
        ((out != line).then_some(out), opens_block)
    }

    /// Source line `index` (0-based) as it may be shown.
    pub(crate) fn line<'a>(&self, index: usize, original: &'a str) -> Cow<'a, str> {
        match self.lines.get(index) {
            Some(Some(masked)) => Cow::Owned(masked.clone()),
            _ => Cow::Borrowed(original),
        }
    }

    /// A message, help or note with secrets masked: PEM blocks, base64 runs,
    /// and the values found under secret keys where the text quotes them.
    pub(crate) fn text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(s);
        if let Some(at) = out.find("-----BEGIN") {
            let end = out[at..]
                .find("-----END")
                .and_then(|e| {
                    let tail = &out[at + e + 8..];
                    tail.find("-----").map(|x| at + e + 8 + x + 5)
                })
                .unwrap_or(out.len());
            // A header alone (`-----BEGIN CERTIFICATE-----…` in help text) is
            // no secret: mask only a block with a body.
            let body = out[at..end]
                .strip_prefix("-----BEGIN ")
                .and_then(|l| l.find("-----").map(|e| &l[e + 5..]))
                .unwrap_or_default()
                .trim_start_matches(['\\', 'n', '\n', '\r', '"', ' ']);
            if !body.is_empty() && !body.starts_with('…') {
                let header = pem_header(&out[at..end]);
                out = Cow::Owned(format!("{}{header}{}", &out[..at], &out[end..]));
            }
        }
        while let Some(run) = long_base64_run(&out) {
            out.to_mut().replace_range(run, MASKED);
        }
        for v in &self.values {
            let quoted = format!("`{v}`");
            if out.contains(&quoted) {
                out = Cow::Owned(out.replace(&quoted, "`(masked)`"));
            }
        }
        out
    }
}

/// `-----BEGIN LABEL----- … (masked)` for text that starts with a PEM header.
fn pem_header(from_begin: &str) -> String {
    let label = from_begin
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.find("-----").map(|e| &l[..e]))
        .filter(|l| {
            l.chars()
                .all(|c| c.is_ascii_uppercase() || c == ' ' || c.is_ascii_digit())
        });
    match label {
        Some(l) => format!("-----BEGIN {l}----- {MASKED}"),
        None => format!("-----BEGIN {MASKED}"),
    }
}

/// The scalar at the start of `s` (after a key's colon): a quoted string to
/// its closing quote, or plain text to a flow separator or a comment. Returns
/// its length in bytes and its text.
fn scalar(s: &str) -> (usize, &str) {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            let mut escaped = false;
            for (i, c) in chars {
                if q == '"' && c == '\\' && !escaped {
                    escaped = true;
                    continue;
                }
                if c == q && !escaped {
                    return (i + 1, &s[..=i]);
                }
                escaped = false;
            }
            (s.len(), s)
        }
        Some((_, '{' | '[')) => (0, ""),
        _ => {
            let end = s
                .find([',', '}'])
                .into_iter()
                .chain(s.find(" #"))
                .min()
                .unwrap_or(s.len());
            let v = s[..end].trim_end();
            (v.len(), v)
        }
    }
}

fn unquote(s: &str) -> &str {
    let t = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return inner;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";

    fn shown(text: &str) -> Vec<String> {
        let m = Masker::new(text);
        text.lines()
            .enumerate()
            .map(|(i, l)| m.line(i, l).into_owned())
            .collect()
    }

    #[test]
    fn pem_blocks_are_masked_line_by_line() {
        let text = format!(
            "ca: |\n  -----BEGIN PRIVATE KEY-----\n  {BODY}\n  -----END PRIVATE KEY-----\nnext: 1\n"
        );
        let lines = shown(&text);
        assert_eq!(lines[0], "ca: |");
        assert_eq!(lines[1], "  -----BEGIN PRIVATE KEY----- … (masked)");
        assert_eq!(lines[2], "  … (masked)");
        assert_eq!(lines[3], "  … (masked)");
        assert_eq!(lines[4], "next: 1");
    }

    #[test]
    fn secret_keys_are_masked_inline_quoted_and_as_blocks() {
        let text = "a: { selector: s1, private_key: \"hunter2,x\" }\npassword: 'pw'\nb:\n  private_key: |\n    line one\n    line two\n  selector: s1\npassword: generate\n";
        let lines = shown(text);
        assert_eq!(lines[0], "a: { selector: s1, private_key: … (masked) }");
        assert_eq!(lines[1], "password: … (masked)");
        assert_eq!(lines[3], "  private_key: |");
        assert_eq!(lines[4], "    … (masked)");
        assert_eq!(lines[5], "    … (masked)");
        assert_eq!(lines[6], "  selector: s1");
        assert_eq!(lines[7], "password: generate");
        let m = Masker::new(text);
        assert_eq!(
            m.text("`password` cannot be the string `pw`"),
            "`password` cannot be the string `(masked)`"
        );
        assert_eq!(m.text("`hunter2,x` is bad"), "`(masked)` is bad");
    }

    #[test]
    fn key_material_in_messages_is_masked() {
        let m = Masker::default();
        let msg = format!(
            "the string `-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END RSA PRIVATE KEY-----` is bad"
        );
        assert_eq!(
            m.text(&msg),
            "the string `-----BEGIN RSA PRIVATE KEY----- … (masked)` is bad"
        );
        assert_eq!(m.text(&format!("x {BODY} y")), "x … (masked) y");
        assert_eq!(m.text("nothing secret"), "nothing secret");
        let hint = "add `trust_store: { ca: \"-----BEGIN CERTIFICATE-----…\" }`";
        assert_eq!(m.text(hint), hint);
    }

    #[test]
    fn an_inline_pem_with_escapes_is_masked_from_its_header() {
        let text = format!(
            "    secret: \"-----BEGIN PRIVATE KEY-----\\n{BODY}\\n-----END PRIVATE KEY-----\"\n"
        );
        let lines = shown(&text);
        assert_eq!(
            lines[0],
            "    secret: \"-----BEGIN PRIVATE KEY----- … (masked)"
        );
        let m = Masker::new(&format!("{text}next: 1\n"));
        assert_eq!(m.line(1, "next: 1"), "next: 1");
    }
}
