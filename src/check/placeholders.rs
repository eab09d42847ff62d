//! MI4011: documentation placeholders left in a spec. A scan over every key
//! and string value of the document's JSON form (so it sees names wherever
//! the spec allows them), reporting each at its own place.
//!
//! Placeholders are the names reserved for documentation: `example.com`,
//! `example.net`, `example.org` and their subdomains and the `example` TLD
//! (RFC 2606 §2–3, RFC 6761 §6.5), also inside addresses and `mailto:` URIs;
//! the hosted zone id `Z0123456789ABCDEFGHIJ` the docs use; and the AWS
//! documentation account `123456789012`, alone or in an ARN. The names RFC
//! 2606 reserves for testing (`.test`, `.invalid`, `.localhost`) are not
//! placeholders: a spec that is only a test or a fixture should use them.

use serde_json::Value;

use crate::diag::{Code, Diagnostic};

/// The zone id AWS and this project's documentation show.
const DOC_ZONE_ID: &str = "Z0123456789ABCDEFGHIJ";
/// The account id AWS documentation shows.
const DOC_ACCOUNT: &str = "123456789012";

/// What kind of placeholder `text` is, if it is one.
pub(crate) fn placeholder(text: &str) -> Option<&'static str> {
    let t = text.trim();
    if t == DOC_ZONE_ID {
        return Some("the documentation hosted zone id");
    }
    if t == DOC_ACCOUNT {
        return Some("the AWS documentation account id");
    }
    if t.starts_with("arn:") && t.split(':').nth(4) == Some(DOC_ACCOUNT) {
        return Some("an ARN in the AWS documentation account");
    }
    let t = t.strip_prefix("mailto:").unwrap_or(t);
    let host = t.rsplit_once('@').map_or(t, |(_, h)| h);
    let host = host.trim_start_matches("*.").trim_start_matches('.');
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return None;
    }
    let documentation = ["example.com", "example.net", "example.org", "example"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")));
    documentation.then_some(if t.contains('@') {
        "an address at a documentation domain"
    } else {
        "a documentation domain"
    })
}

/// JSON pointer escaping of one reference token (RFC 6901).
fn token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Every placeholder in `json`, in document order.
pub(crate) fn scan(json: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), json)];
    let mut found: Vec<(String, bool, String, &'static str)> = Vec::new();
    while let Some((ptr, v)) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some(kind) = placeholder(s) {
                    found.push((ptr, false, s.clone(), kind));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((format!("{ptr}/{i}"), item));
                }
            }
            Value::Object(map) => {
                for (k, item) in map.iter().rev() {
                    let p = format!("{ptr}/{}", token(k));
                    if let Some(kind) = placeholder(k) {
                        found.push((p.clone(), true, k.clone(), kind));
                    }
                    stack.push((p, item));
                }
            }
            _ => {}
        }
    }
    for (ptr, at_key, value, kind) in found {
        let d = Diagnostic::error(
            Code::MI4011,
            format!("`{value}` is {kind}, a placeholder rather than a value of yours"),
        )
        .help(if kind.contains("domain") {
            "replace it with your own domain; a spec that is only an example or a test should use a name under `.test` or `.invalid` (reserved for testing), or carry `# mailinfra: allow MI4011`"
        } else {
            "replace it with your own: the hosted zone id Route 53 shows for your domain, or your AWS account id; or silence it with `# mailinfra: allow MI4011`"
        });
        out.push(if at_key { d.key_path(ptr) } else { d.path(ptr) });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_values_are_placeholders_and_test_names_are_not() {
        for p in [
            "example.com",
            "Mail.Example.COM.",
            "bounce.example.net",
            "example.org",
            "shop.example",
            "*.example.com",
            "@example.com",
            ".example.com",
            "dmarc@example.com",
            "mailto:dmarc@example.org",
            "Z0123456789ABCDEFGHIJ",
            "123456789012",
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:kms:us-east-1:123456789012:key/abc",
        ] {
            assert!(placeholder(p).is_some(), "{p}");
        }
        for p in [
            "acme.test",
            "mail.example.test",
            "x.invalid",
            "example.com.au",
            "myexample.com",
            "notexample.com.evil.io",
            "ops@acme-corp.io",
            "Z04471931ABCDEFGH",
            "210987654321",
            "arn:aws:kms:us-east-1:111122223333:key/abc",
            "1 year",
            "see https://example.com/x",
        ] {
            assert!(placeholder(p).is_none(), "{p}");
        }
    }

    #[test]
    fn each_place_is_named_by_its_pointer_key_or_value() {
        let json = serde_json::json!({
            "dns": { "example.com": { "route53_zone_id": "Z0123456789ABCDEFGHIJ" } },
            "identities": { "acme.test": { "dmarc": { "rua": ["mailto:d@example.org"] } } },
        });
        let found = scan(&json);
        let places: Vec<(&str, bool)> = found.iter().map(|d| (d.path.as_str(), d.at_key)).collect();
        assert_eq!(
            places,
            [
                ("/dns/example.com", true),
                ("/dns/example.com/route53_zone_id", false),
                ("/identities/acme.test/dmarc/rua/0", false),
            ]
        );
        assert!(found.iter().all(|d| d.code == Code::MI4011));
        assert!(found[2].message.contains("`mailto:d@example.org`"));
    }
}
