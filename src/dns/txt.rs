//! TXT record values: text → the quoted strings Route 53 wants, and back.
//!
//! A TXT record holds one or more `<character-string>`s of at most 255 octets
//! each (RFC 1035 §3.3, §3.3.14: one length octet); a resolver hands DKIM, SPF
//! and DMARC the strings joined with nothing between them (RFC 7208 §3.3,
//! RFC 6376 §3.6.2.2). Route 53 takes a value as quoted strings separated by
//! spaces, each of at most 255 characters, with `\"` for a quote and octets
//! outside printable ASCII as `\` and three octal digits (Route 53 Developer
//! Guide, "Supported DNS record types", TXT). A BIND zone file writes the same
//! strings with `\DDD` in decimal (RFC 1035 §5.1). Invariant: for every text,
//! [`strings`] of [`value`] is a list of strings of at most [`MAX_STRING`]
//! octets whose concatenation is the text's octets.

/// The most octets one string of a TXT record holds.
pub(crate) const MAX_STRING: usize = 255;

/// How a string escapes an octet that is not printable ASCII.
#[derive(Clone, Copy)]
enum Numeric {
    /// Route 53: `\ooo`, octal.
    Octal,
    /// Zone files: `\DDD`, decimal.
    Decimal,
}

/// `text` as a Route 53 TXT value: quoted strings of at most 255 octets,
/// separated by single spaces (one string when it fits).
pub(crate) fn value(text: &str) -> String {
    quote(&split(text.as_bytes()), Numeric::Octal)
}

/// A TXT value (Route 53's form, as [`value`] writes it or Route 53 returns
/// it) in zone-file form: the same strings, numeric escapes in decimal.
/// A value that does not read as TXT strings is returned unchanged.
pub(crate) fn zone_value(presented: &str) -> String {
    match strings(presented) {
        Some(s) => quote(&s, Numeric::Decimal),
        None => presented.to_string(),
    }
}

/// TXT strings as Route 53 writes them: quoted, `\ooo` for octets outside
/// printable ASCII, separated by single spaces.
pub(crate) fn quoted(strings: &[Vec<u8>]) -> String {
    quote(strings, Numeric::Octal)
}

fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    if bytes.is_empty() {
        return vec![Vec::new()];
    }
    bytes.chunks(MAX_STRING).map(<[u8]>::to_vec).collect()
}

fn quote(strings: &[Vec<u8>], numeric: Numeric) -> String {
    let mut out = String::new();
    for (i, s) in strings.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push('"');
        for &b in s {
            match b {
                b'"' | b'\\' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x20..=0x7e => out.push(b as char),
                _ => match numeric {
                    Numeric::Octal => out.push_str(&format!("\\{b:03o}")),
                    Numeric::Decimal => out.push_str(&format!("\\{b:03}")),
                },
            }
        }
        out.push('"');
    }
    out
}

/// The strings of a TXT value in Route 53's form, unescaped: quoted strings
/// (`\"`, `\\`, `\ooo` octal) or unquoted runs without spaces, separated by
/// spaces. `None` for an unterminated string or a dangling escape.
pub(crate) fn strings(presented: &str) -> Option<Vec<Vec<u8>>> {
    let b = presented.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let quoted = b[i] == b'"';
        if quoted {
            i += 1;
        }
        let mut s = Vec::new();
        loop {
            match b.get(i) {
                None if quoted => return None,
                None => break,
                Some(b'"') if quoted => {
                    i += 1;
                    break;
                }
                Some(b' ' | b'\t') if !quoted => break,
                Some(b'\\') => {
                    let (octet, len) = unescape(&b[i + 1..])?;
                    s.push(octet);
                    i += 1 + len;
                }
                Some(&c) => {
                    s.push(c);
                    i += 1;
                }
            }
        }
        out.push(s);
    }
    Some(out)
}

/// The octet an escape stands for (after its `\`) and how many bytes it took.
fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    match rest {
        [a, b, c, ..] if [a, b, c].iter().all(|d| (b'0'..=b'7').contains(d)) => {
            let n = u32::from(a - b'0') * 64 + u32::from(b - b'0') * 8 + u32::from(c - b'0');
            u8::try_from(n).ok().map(|o| (o, 3))
        }
        [c, ..] if !c.is_ascii_digit() => Some((*c, 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The strings of a zone-file TXT value: RFC 1035 §5.1, `\DDD` in decimal.
    fn zone_strings(v: &str) -> Vec<Vec<u8>> {
        let b = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            assert_eq!(b[i], b'"', "{v}");
            i += 1;
            let mut s = Vec::new();
            while b[i] != b'"' {
                if b[i] == b'\\' && b[i + 1].is_ascii_digit() {
                    let d = std::str::from_utf8(&b[i + 1..i + 4]).unwrap();
                    s.push(d.parse::<u8>().unwrap());
                    i += 4;
                } else if b[i] == b'\\' {
                    s.push(b[i + 1]);
                    i += 2;
                } else {
                    s.push(b[i]);
                    i += 1;
                }
            }
            out.push(s);
            i += 1;
            if i < b.len() {
                assert_eq!(b[i], b' ');
                i += 1;
            }
        }
        out
    }

    #[test]
    fn short_text_is_one_quoted_string() {
        assert_eq!(
            value("v=spf1 include:amazonses.com ~all"),
            "\"v=spf1 include:amazonses.com ~all\""
        );
        assert_eq!(value(""), "\"\"");
    }

    #[test]
    fn a_2048_bit_dkim_key_becomes_two_strings() {
        let key = format!(
            "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{}",
            "x".repeat(348)
        );
        assert_eq!(key.len(), 394);
        let v = value(&key);
        let parts = strings(&v).unwrap();
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![255, 139]
        );
        assert_eq!(v, format!("\"{}\" \"{}\"", &key[..255], &key[255..]));
        assert_eq!(strings(&v).unwrap().concat(), key.as_bytes());
    }

    #[test]
    fn quotes_backslashes_and_non_ascii_are_escaped_for_route53_and_zone_files() {
        let v = value("a\"b\\c\u{e4}\n");
        // ä is two octets, 0xc3 0xa4: octal 303 244 for Route 53, decimal 195 164 in a zone file.
        assert_eq!(v, "\"a\\\"b\\\\c\\303\\244\\012\"");
        assert_eq!(zone_value(&v), "\"a\\\"b\\\\c\\195\\164\\010\"");
        assert_eq!(strings(&v).unwrap().concat(), "a\"b\\c\u{e4}\n".as_bytes());
    }

    #[test]
    fn the_limit_counts_octets_not_escapes() {
        // 255 quotes fill one string although they take 510 characters escaped.
        let v = value(&"\"".repeat(256));
        let parts = strings(&v).unwrap();
        assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), vec![255, 1]);
    }

    #[test]
    fn strings_read_quoted_and_bare_runs_and_refuse_broken_ones() {
        let read = |v: &str| strings(v).map(|s| s.concat());
        assert_eq!(read("\"abc\" \"def\""), Some(b"abcdef".to_vec()));
        assert_eq!(read("\"abc\"\"def\""), Some(b"abcdef".to_vec()));
        assert_eq!(read("abc def"), Some(b"abcdef".to_vec()));
        assert_eq!(read("\"a\\\"b\\101\""), Some(b"a\"bA".to_vec()));
        assert_eq!(strings("\"open"), None);
        assert_eq!(strings("\"dangling\\"), None);
    }

    proptest! {
        #[test]
        fn every_string_fits_and_the_strings_join_to_the_text(text in ".{0,1200}") {
            let v = value(&text);
            let parts = strings(&v).expect("reads back");
            prop_assert!(parts.iter().all(|s| s.len() <= MAX_STRING));
            prop_assert!(!parts.is_empty());
            prop_assert_eq!(parts.concat(), text.as_bytes().to_vec());
            prop_assert_eq!(zone_strings(&zone_value(&v)), parts);
        }

        #[test]
        fn ascii_lengths_split_into_full_strings_and_a_rest(n in 0usize..2000) {
            let text = "k".repeat(n);
            let parts = strings(&value(&text)).unwrap();
            prop_assert_eq!(parts.len(), n.div_ceil(MAX_STRING).max(1));
            prop_assert!(parts[..parts.len() - 1].iter().all(|s| s.len() == MAX_STRING));
            prop_assert_eq!(parts.concat(), text.into_bytes());
        }
    }
}
