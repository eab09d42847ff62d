//! Authentication completeness: every sending domain should end with DKIM,
//! a custom MAIL FROM domain (SPF aligned with the From domain) and DMARC,
//! which the large mailbox providers require of bulk senders; and a DMARC
//! policy must be one the domain's mail can pass.
//!
//! DMARC passes when SPF or DKIM passes *aligned* with the From domain
//! (RFC 7489 §3.1, §4.2): DKIM aligns through the identity's own signature;
//! SPF aligns only through a custom MAIL FROM domain (SES's default MAIL FROM
//! is a subdomain of `amazonses.com`), and only with relaxed SPF alignment,
//! since a MAIL FROM domain is always a subdomain of the identity (strict
//! alignment wants the exact domain). A domain's DMARC record is its own
//! `_dmarc` record or, failing that, its organizational domain's, whose `sp=`
//! (or `p=`) then applies (RFC 7489 §6.6.3). Only records the spec publishes
//! are known here.
//!
//! - MI4020 (warning): a domain without DKIM, a custom MAIL FROM or a DMARC
//!   record of its own or of a parent identity, naming what is missing.
//! - MI3328 (error): no way to pass DMARC (`dkim: none` and no SPF alignment)
//!   under a `quarantine` or `reject` policy: every message fails DMARC.
//! - MI4021 (warning): strict SPF alignment with a MAIL FROM subdomain: SPF
//!   never aligns.
//! - MI4022 (warning): DMARC reports go to a domain of no declared zone,
//!   which must authorise them (RFC 7489 §7.1) or they are never sent; for a
//!   declared zone the authorisation record is one of the topology's records.

use crate::diag::{Code, Diagnostic};
use crate::model::{Dkim, Dmarc, DomainIdentity, Model};
use crate::spec::{Alignment, DmarcPolicy};

pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in m.identities.iter().filter(|i| !i.is_email) {
        report_destinations(m, id, out);
        let dmarc = dmarc_of(m, id);
        completeness(id, dmarc.map(|(d, _)| d), out);
        let Some((d, own)) = dmarc else { continue };
        let strict_spf = d.spec.spf_alignment == Some(Alignment::Strict);
        if strict_spf && id.mail_from.is_some() && own {
            out.push(
                Diagnostic::error(
                    Code::MI4021,
                    format!("SPF never aligns for `{}` with strict SPF alignment", id.domain),
                )
                .path(format!("{}/spf_alignment", d.ptr))
                .help("a MAIL FROM domain is a subdomain of the identity, and strict alignment (`aspf=s`) wants the From domain itself: leave `spf_alignment` out (relaxed), or rely on DKIM alone"),
            );
        }
        let policy = effective_policy(d, own);
        let dkim = !matches!(id.dkim, Dkim::None);
        let spf = id.mail_from.is_some() && !strict_spf;
        if !dkim && !spf && policy != DmarcPolicy::None {
            let why = if id.mail_from.is_some() {
                "its MAIL FROM domain cannot align under strict SPF alignment"
            } else {
                "SES's default MAIL FROM is `amazonses.com`'s"
            };
            let at = if own {
                format!("{}/policy", d.ptr)
            } else {
                id.settings_ptr.clone()
            };
            out.push(
                Diagnostic::error(
                    Code::MI3328,
                    format!(
                        "every message from `{}` fails DMARC, whose policy is `{}`",
                        id.domain,
                        policy_name(policy)
                    ),
                )
                .path(&at)
                .help(format!(
                    "DMARC passes only on aligned DKIM or SPF: the identity has `dkim: none`, and {why}; sign with DKIM (`dkim: easy`), or add a `mail_from` subdomain with relaxed SPF alignment, or publish `policy: none`"
                )),
            );
        }
    }
}

/// Report addresses at a domain of no declared zone: that domain must publish
/// the authorisation record, which mailinfra cannot.
fn report_destinations(m: &Model, id: &DomainIdentity, out: &mut Vec<Diagnostic>) {
    let Some(d) = &id.dmarc else { return };
    for h in crate::dns::report::external_hosts(m, id)
        .into_iter()
        .filter(|h| h.zone.is_none())
    {
        out.push(
            Diagnostic::error(
                Code::MI4022,
                format!(
                    "DMARC reports for `{}` go to `{}`, which must authorise them",
                    id.domain, h.host
                ),
            )
            .path(&d.ptr)
            .help(format!(
                "receivers send reports to another domain only when it publishes TXT `{}._report._dmarc.{}` = `v=DMARC1` (RFC 7489 §7.1); report services usually do: check that it resolves, declare `{}` under `dns:` for mailinfra to publish it, or silence this with `# mailinfra: allow MI4022`",
                id.domain, h.host, h.host
            )),
        );
    }
}

/// The DMARC record that governs `id`: its own (`true`), or that of the
/// nearest identity of the spec that is a parent domain (`false`).
fn dmarc_of<'a>(m: &'a Model, id: &'a DomainIdentity) -> Option<(&'a Dmarc, bool)> {
    if let Some(d) = &id.dmarc {
        return Some((d, true));
    }
    m.identities
        .iter()
        .filter(|p| !p.is_email && id.domain.ends_with(&format!(".{}", p.domain)))
        .filter_map(|p| p.dmarc.as_ref().map(|d| (p.domain.len(), d)))
        .max_by_key(|(len, _)| *len)
        .map(|(_, d)| (d, false))
}

/// `p=` for the domain itself, `sp=` (else `p=`) for a subdomain.
fn effective_policy(d: &Dmarc, own: bool) -> DmarcPolicy {
    if own {
        d.spec.policy
    } else {
        d.spec.subdomain_policy.unwrap_or(d.spec.policy)
    }
}

fn policy_name(p: DmarcPolicy) -> &'static str {
    match p {
        DmarcPolicy::None => "none",
        DmarcPolicy::Quarantine => "quarantine",
        DmarcPolicy::Reject => "reject",
    }
}

/// One warning per domain naming every missing part and what it costs.
fn completeness(id: &DomainIdentity, dmarc: Option<&Dmarc>, out: &mut Vec<Diagnostic>) {
    let mut missing = Vec::new();
    if matches!(id.dkim, Dkim::None) {
        missing.push((
            "DKIM",
            "no DKIM signature, so DMARC can pass only through SPF",
        ));
    }
    if id.mail_from.is_none() {
        missing.push((
            "a custom MAIL FROM domain",
            "SPF passes for `amazonses.com`, not for this domain, so it never aligns for DMARC",
        ));
    }
    if dmarc.is_none() {
        missing.push((
            "DMARC",
            "no `_dmarc` record here or at a parent identity of the spec, so receivers apply their own policy and send no reports",
        ));
    }
    if missing.is_empty() {
        return;
    }
    let names: Vec<&str> = missing.iter().map(|(n, _)| *n).collect();
    let costs: Vec<&str> = missing.iter().map(|(_, c)| *c).collect();
    out.push(
        Diagnostic::error(
            Code::MI4020,
            format!(
                "`{}` sends without {}",
                id.domain,
                join_and(&names)
            ),
        )
        .key_path(&id.ptr)
        .help(format!(
            "{}. Large mailbox providers require SPF, DKIM and DMARC of bulk senders (more than 5,000 messages a day to Gmail); add `dkim: easy` (the default), `mail_from: bounce.{}` and `dmarc: {{ policy: none, rua: … }}`, or silence this with `# mailinfra: allow MI4020` when the records are published outside mailinfra",
            capitalize(&costs.join("; ")),
            id.domain
        )),
    );
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;

    fn findings(identities: &str) -> Vec<crate::diag::Diagnostic> {
        let yaml = format!(
            "version: 1\nproject: p\nregions: {{ primary: us-east-1 }}\ndns: {{ example.com: external }}\nidentities:\n{identities}"
        );
        let doc = crate::load::Document::parse("t.yaml", yaml).expect("parses");
        let m = crate::model::resolve(&crate::schema::check(&doc).expect("schema-valid"));
        let mut out = Vec::new();
        super::check(&m, &mut out);
        out
    }

    fn codes(out: &[crate::diag::Diagnostic]) -> Vec<Code> {
        out.iter().map(|d| d.code).collect()
    }

    #[test]
    fn a_complete_domain_and_its_subdomains_under_its_dmarc_are_silent() {
        let out = findings(
            "  example.com: { mail_from: bounce.example.com, dmarc: { policy: reject, rua: \"mailto:d@example.com\" } }\n  \
             news.example.com: { mail_from: bounce.news.example.com }\n",
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn one_warning_names_every_missing_part() {
        let out = findings("  example.com: { dkim: none }\n");
        assert_eq!(codes(&out), [Code::MI4020]);
        assert_eq!(
            out[0].message,
            "`example.com` sends without DKIM, a custom MAIL FROM domain and DMARC"
        );
        let out = findings("  example.com: { dmarc: { policy: none } }\n");
        assert_eq!(
            out[0].message,
            "`example.com` sends without a custom MAIL FROM domain"
        );
    }

    #[test]
    fn no_dkim_and_no_aligned_spf_under_quarantine_is_an_error() {
        let out = findings("  example.com: { dkim: none, dmarc: { policy: quarantine } }\n");
        assert_eq!(codes(&out), [Code::MI4020, Code::MI3328]);
        assert_eq!(
            out[1].message,
            "every message from `example.com` fails DMARC, whose policy is `quarantine`"
        );
        assert_eq!(out[1].path, "/identities/example.com/dmarc/policy");
        // A custom MAIL FROM with relaxed alignment passes through SPF.
        let out = findings(
            "  example.com: { dkim: none, mail_from: bounce.example.com, dmarc: { policy: reject } }\n",
        );
        assert_eq!(codes(&out), [Code::MI4020], "{out:?}");
        // A subdomain is judged by its parent's `sp=`.
        let out = findings(
            "  example.com: { mail_from: bounce.example.com, dmarc: { policy: none, subdomain_policy: reject } }\n  \
             news.example.com: { dkim: none }\n",
        );
        assert!(codes(&out).contains(&Code::MI3328), "{out:?}");
        let out = findings(
            "  example.com: { mail_from: bounce.example.com, dmarc: { policy: reject, subdomain_policy: none } }\n  \
             news.example.com: { dkim: none }\n",
        );
        assert!(!codes(&out).contains(&Code::MI3328), "{out:?}");
    }

    #[test]
    fn reports_to_another_domain_need_its_authorisation() {
        // Same domain, a parent, a child: no authorisation needed.
        let out = findings(
            "  example.com: { mail_from: bounce.example.com, dmarc: { policy: none, rua: [\"mailto:d@example.com\", \"mailto:d@r.example.com\"] } }\n",
        );
        assert!(!codes(&out).contains(&Code::MI4022), "{out:?}");
        let out = findings(
            "  example.com: { mail_from: bounce.example.com, dmarc: { policy: none, rua: \"mailto:d@reports.example.org\" } }\n",
        );
        assert_eq!(codes(&out), [Code::MI4022], "{out:?}");
        assert!(
            out[0]
                .help
                .as_deref()
                .unwrap_or_default()
                .contains("`example.com._report._dmarc.reports.example.org` = `v=DMARC1`")
        );
    }

    #[test]
    fn strict_spf_alignment_with_a_mail_from_subdomain_never_aligns() {
        let out = findings(
            "  example.com: { mail_from: bounce.example.com, dmarc: { policy: none, spf_alignment: strict } }\n",
        );
        assert_eq!(codes(&out), [Code::MI4021]);
        let out = findings(
            "  example.com: { dkim: none, mail_from: bounce.example.com, dmarc: { policy: reject, spf_alignment: strict } }\n",
        );
        assert_eq!(
            codes(&out),
            [Code::MI4020, Code::MI4021, Code::MI3328],
            "{out:?}"
        );
    }
}
