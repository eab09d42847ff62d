//! Generated specs of any size, for the integration tests and the benches
//! (both include this file): deterministic spec text, no randomness, no I/O.
//!
//! [`isv_spec`] is the topology of an ISV or email provider: its own domain,
//! and `n` tenant domains in the compact group form, half of them subdomains of
//! the provider's Route 53 zone (DKIM, MAIL FROM and DMARC records deployed: 8
//! resources per domain in the primary region) and half of them in an external
//! zone the tenants publish themselves (the identity and its DEED policy), all
//! DEED-replicated into a secondary region when there is one. [`domains_spec`]
//! lists `n` identities explicitly.

#![allow(dead_code)] // each includer uses some of these

use std::fmt::Write as _;

/// The `i`-th tenant domain of [`isv_spec`].
pub(crate) fn tenant(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("t{i:05}.mail.isv.io")
    } else {
        format!("c{i:05}.customers.test")
    }
}

/// The first `n` tenant domains.
pub(crate) fn tenants(n: usize) -> Vec<String> {
    (0..n).map(tenant).collect()
}

/// An ISV spec with `n` tenant domains, in one region or two.
pub(crate) fn isv_spec(n: usize, two_regions: bool) -> String {
    isv_spec_with(&tenants(n), two_regions)
}

/// An ISV spec with exactly these tenant domains (subdomains of `mail.isv.io`
/// get Route 53 records, others must lie in `customers.test`).
pub(crate) fn isv_spec_with(domains: &[String], two_regions: bool) -> String {
    let mut s = String::with_capacity(200 + domains.len() * 32);
    s.push_str("version: 1\nproject: isv\n");
    if two_regions {
        s.push_str("regions: { primary: us-east-1, secondary: eu-west-1 }\n");
    } else {
        s.push_str("regions: { primary: us-east-1 }\n");
    }
    s.push_str(
        "dns:\n  isv.io: { route53_zone_id: Z0ABCDEFGHIJKLMNOPQRS, ttl: 600 }\n  customers.test: external\n",
    );
    s.push_str("identities:\n");
    s.push_str(
        "  isv.io:\n    mail_from: bounce.isv.io\n    dmarc: { policy: reject, rua: \"mailto:dmarc@isv.io\" }\n    configuration_set: transactional\n",
    );
    let (hosted, external): (Vec<&String>, Vec<&String>) =
        domains.iter().partition(|d| d.ends_with(".isv.io"));
    if !hosted.is_empty() {
        s.push_str("  hosted:\n    domains:\n");
        for d in &hosted {
            let _ = writeln!(s, "      - {d}");
        }
        s.push_str(
            "    mail_from: \"bounce.{domain}\"\n    dmarc: { policy: quarantine, rua: \"mailto:dmarc@isv.io\" }\n    configuration_set: tenants\n",
        );
    }
    if !external.is_empty() {
        // The customers publish their domains' MAIL FROM and DMARC records.
        s.push_str("  external:  # mailinfra: allow MI4020\n    domains:\n");
        for d in &external {
            let _ = writeln!(s, "      - {d}");
        }
        s.push_str("    configuration_set: tenants\n");
    }
    s.push_str(
        "configuration_sets:\n  transactional: { tls: require }\n  tenants: { tls: optional, reputation_metrics: true }\n",
    );
    s.push_str(
        "iam:\n  roles:\n    worker: { trust: { service: lambda }, allow: [send, send_bulk], identities: \"*\" }\n    own: { trust: { service: ecs_tasks }, allow: [send], identities: [isv.io] }\n",
    );
    s
}

/// A valid spec with `n` sending identities spread over 10 external zones,
/// each with a MAIL FROM domain and a DMARC policy (about 8 nodes each).
pub(crate) fn domains_spec(n: usize) -> String {
    let mut s = String::with_capacity(n * 120 + 256);
    s.push_str("version: 1\nproject: bench\nregions:\n  primary: eu-west-1\ndns:\n");
    for z in 0..10 {
        let _ = writeln!(s, "  zone{z}.test: external");
    }
    s.push_str("identities:\n");
    for i in 0..n {
        let z = i % 10;
        let _ = writeln!(
            s,
            "  d{i}.zone{z}.test:\n    mail_from: bounce.d{i}.zone{z}.test\n    dmarc: {{ policy: reject, rua: mailto:dmarc@zone{z}.test }}"
        );
    }
    s
}

/// [`isv_spec`] with one more sending role, `everyone`, allowed to `send`;
/// `identities` is its scope as written (`""`: none written, so every
/// declared identity, each named in every region).
pub(crate) fn isv_spec_with_role(n: usize, two_regions: bool, identities: &str) -> String {
    let mut s = isv_spec(n, two_regions);
    let scope = if identities.is_empty() {
        String::new()
    } else {
        format!(", identities: {identities}")
    };
    let _ = writeln!(
        s,
        "    everyone: {{ trust: {{ service: lambda }}, allow: [send]{scope} }}"
    );
    s
}
