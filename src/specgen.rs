//! Spec generators for benchmarks and scale tests: deterministic spec text
//! of a given size, no randomness, no I/O.

use std::fmt::Write as _;

/// A valid spec with `n` sending identities spread over 10 external zones,
/// each with a MAIL FROM domain and a DMARC policy (about 8 nodes each).
pub fn domains_spec(n: usize) -> String {
    let mut s = String::with_capacity(n * 120 + 256);
    s.push_str("version: 1\nproject: bench\nregions:\n  primary: eu-west-1\ndns:\n");
    for z in 0..10 {
        let _ = writeln!(s, "  zone{z}.example: external");
    }
    s.push_str("identities:\n");
    for i in 0..n {
        let z = i % 10;
        let _ = writeln!(
            s,
            "  d{i}.zone{z}.example:\n    mail_from: bounce.d{i}.zone{z}.example\n    dmarc: {{ policy: reject, rua: mailto:dmarc@zone{z}.example }}"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_spec_is_valid() {
        let text = super::domains_spec(30);
        let doc = crate::load::Document::parse("gen.yaml", text).expect("parses");
        let checked = crate::pipeline::check_document(doc, crate::pipeline::Judge::default());
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        assert_eq!(checked.model.map(|m| m.identities.len()), Some(30));
    }
}
