//! Check: semantic rules over the resolved model.
//!
//! Input: a [`Model`]. Output: diagnostics, never an `Err`. Each rule is a small
//! function in the `RULES` table with its code; rules locate findings by spec
//! pointer and the pipeline maps pointers to source spans. Values inside
//! strings (domains, addresses, CIDRs, …) are judged by [`crate::values`].
//!
//! `check` runs before compile and never runs the compiler. The rules that
//! need the compiled templates (overrides) are `crate::compiled_check`, a
//! stage of its own that the pipeline runs after compile.

use std::collections::BTreeMap;

mod names;

use crate::diag::{Code, Diagnostic};
use crate::ids;
use crate::model::Model;
use crate::values::{self, domain_problem};

mod authentication;
mod classic;
mod iam;
mod keys;
mod lints;
pub(crate) mod placeholders;
mod reach;
mod receiving;
mod secrets;
mod sending;
mod ses_access;

type Rule = fn(&Model, &mut Vec<Diagnostic>);

/// Every semantic rule, in the order they run.
pub(crate) const RULES: &[(&str, Rule)] = &[
    ("regions_exist", regions_exist),
    ("domains_valid", domains_valid),
    ("names_in_zones", names_in_zones),
    ("mail_from_is_subdomain", mail_from_is_subdomain),
    ("dmarc_addresses", dmarc_addresses),
    ("tags_valid", tags_valid),
    ("logical_ids_unique", logical_ids_unique),
    ("archive_names", names::archive_names),
    ("arn_partitions", names::arn_partitions),
    ("sending", sending::check_sending),
    ("authentication", authentication::check),
    ("iam", iam::check),
    ("receiving", receiving::check),
    ("lints", lints::check),
    ("reachability", reach::check),
    ("secrets", secrets::check),
];

pub(crate) fn check(model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (_, rule) in RULES {
        rule(model, &mut out);
    }
    out
}

pub(crate) fn region_diag(region: &str, ptr: &str) -> Option<Diagnostic> {
    values::region_problem(region).map(|help| {
        Diagnostic::error(Code::MI3001, format!("`{region}` is not an AWS region"))
            .path(ptr)
            .help(help)
    })
}

fn regions_exist(m: &Model, out: &mut Vec<Diagnostic>) {
    out.extend(region_diag(&m.primary, "/regions/primary"));
}

fn domains_valid(m: &Model, out: &mut Vec<Diagnostic>) {
    for z in &m.zones {
        if let Some(why) = domain_problem(&z.apex) {
            out.push(
                Diagnostic::error(
                    Code::MI3003,
                    format!("`{}` is not a valid zone name", z.apex),
                )
                .key_path(&z.ptr)
                .help(why),
            );
        }
    }
    for id in m.identities.iter().filter(|i| !i.is_email) {
        if let Some(why) = domain_problem(&id.domain) {
            out.push(
                Diagnostic::error(
                    Code::MI3003,
                    format!("`{}` is not a valid domain name", id.domain),
                )
                .key_path(&id.ptr)
                .help(why),
            );
        }
        for (domain, _, ptr) in id.mail_from.iter().flat_map(|mf| mf.written()) {
            if let Some(why) = domain_problem(domain) {
                out.push(
                    Diagnostic::error(
                        Code::MI3003,
                        format!("`{domain}` is not a valid domain name"),
                    )
                    .path(ptr)
                    .help(why),
                );
            }
        }
    }
}

pub(crate) fn zone_help(m: &Model, name: &str) -> String {
    let apex = name
        .split_once('.')
        .map(|x| x.1)
        .filter(|rest| rest.contains('.'))
        .unwrap_or(name);
    let declared = if m.zones.is_empty() {
        "no zones are declared".to_string()
    } else {
        format!(
            "declared zones: {}",
            m.zones
                .iter()
                .map(|z| format!("`{}`", z.apex))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "declare its zone under `dns:`, e.g. `{apex}: {{ route53_zone_id: Z… }}` to deploy the records, or `{apex}: external` to publish them yourself ({declared})"
    )
}

fn names_in_zones(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in &m.identities {
        if id.is_email || domain_problem(&id.domain).is_some() {
            continue;
        }
        if id.zone.is_none() {
            out.push(
                Diagnostic::error(
                    Code::MI3002,
                    format!("the identity `{}` is in no declared DNS zone", id.domain),
                )
                .key_path(&id.ptr)
                .help(zone_help(m, &id.domain)),
            );
            continue;
        }
        for (domain, zone, ptr) in id.mail_from.iter().flat_map(|mf| mf.written()) {
            if zone.is_none() && domain_problem(domain).is_none() {
                out.push(
                    Diagnostic::error(
                        Code::MI3002,
                        format!("the MAIL FROM domain `{domain}` is in no declared DNS zone"),
                    )
                    .path(ptr)
                    .help(zone_help(m, domain)),
                );
            }
        }
    }
}

fn mail_from_is_subdomain(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in m.identities.iter().filter(|i| !i.is_email) {
        let Some(mf) = &id.mail_from else { continue };
        for (domain, _, ptr) in mf.written() {
            if !domain.ends_with(&format!(".{}", id.domain)) {
                out.push(
                    Diagnostic::error(
                        Code::MI3004,
                        format!(
                            "the MAIL FROM domain `{domain}` is not a subdomain of `{}`",
                            id.domain
                        ),
                    )
                    .path(ptr)
                    .help(format!(
                        "use a subdomain that receives no mail, e.g. `bounce.{}`",
                        id.domain
                    )),
                );
            }
        }
        secondary_mail_from(m, mf, out);
    }
}

/// A written `mail_from.secondary` needs a secondary region, and a domain of
/// its own: one MAIL FROM domain has one MX value, one region's feedback
/// endpoint.
fn secondary_mail_from(m: &Model, mf: &crate::model::MailFromDomain, out: &mut Vec<Diagnostic>) {
    if let Some(ptr) = &mf.stray_secondary {
        out.push(
            Diagnostic::error(
                Code::MI3327,
                "`mail_from.secondary` is set, but the spec has no secondary region",
            )
            .path(ptr)
            .help("remove it, or add `regions.secondary`"),
        );
    }
    if let Some(s) = mf.secondary.as_ref().filter(|s| s.domain == mf.domain) {
        out.push(
            Diagnostic::error(
                Code::MI3327,
                format!(
                    "`{}` cannot be the MAIL FROM domain in both {} and {}",
                    s.domain, m.primary, s.region
                ),
            )
            .path(&s.ptr)
            .help(format!(
                "SES expects one MX value for a MAIL FROM domain, `feedback-smtp.<region>.amazonses.com` of the region that sends, and bounces go back to it: use another subdomain here, e.g. `{}.{}` (the default when `secondary` is left out)",
                s.region, mf.domain
            )),
        );
    }
}

fn dmarc_addresses(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in &m.identities {
        let Some(d) = &id.dmarc else { continue };
        for (key, list) in [("rua", &d.spec.rua), ("ruf", &d.spec.ruf)] {
            for (i, uri) in list.as_slice().iter().enumerate() {
                let ok = uri
                    .strip_prefix("mailto:")
                    .is_some_and(|addr| values::email_problem(addr).is_none());
                if !ok {
                    let ptr = match list {
                        crate::spec::OneOrMany::One(_) => format!("{}/{key}", d.ptr),
                        crate::spec::OneOrMany::Many(_) => format!("{}/{key}/{i}", d.ptr),
                    };
                    out.push(
                        Diagnostic::error(
                            Code::MI3005,
                            format!("`{uri}` is not a DMARC report address"),
                        )
                        .path(ptr)
                        .help("write a `mailto:` URI, e.g. `mailto:dmarc-reports@example.com`"),
                    );
                }
            }
        }
    }
}

/// Most tags a Mail Manager resource takes (`Tags` `maxItems` in its schema).
const MAX_MAIL_MANAGER_TAGS: usize = 200;

fn tags_valid(m: &Model, out: &mut Vec<Diagnostic>) {
    let uses_mail_manager = !(m.archives.is_empty() && m.mail_manager.is_empty());
    if uses_mail_manager && m.tags.len() > MAX_MAIL_MANAGER_TAGS {
        out.push(
            Diagnostic::error(Code::MI3006, format!("`tags` has {} entries", m.tags.len()))
                .key_path("/tags")
                .help(format!(
                    "Mail Manager resources take at most {MAX_MAIL_MANAGER_TAGS} tags; remove some"
                )),
        );
    }
    let mail_manager_safe = |v: &str| {
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.:@-".contains(c))
    };
    for (k, v) in &m.tags {
        let ptr = format!("/tags/{}", crate::load::escape_pointer(k));
        let problem = if k.is_empty() || k.chars().count() > 128 {
            Some("tag keys are 1 to 128 characters long".to_string())
        } else if k.to_ascii_lowercase().starts_with("aws:") {
            Some("the `aws:` prefix is reserved by AWS".to_string())
        } else if v.chars().count() > 256 {
            Some("tag values are at most 256 characters long".to_string())
        } else if uses_mail_manager && !mail_manager_safe(k) {
            Some("Mail Manager resources accept only letters, digits and `/_+=.:@-` in tag keys (no spaces)".to_string())
        } else if uses_mail_manager && !mail_manager_safe(v) {
            Some(format!(
                "Mail Manager resources accept only letters, digits and `/_+=.:@-` in tag values (no spaces): `{v}`"
            ))
        } else {
            None
        };
        if let Some(why) = problem {
            out.push(
                Diagnostic::error(Code::MI3006, format!("the tag `{k}` cannot be applied"))
                    .key_path(ptr)
                    .help(why),
            );
        }
    }
}

fn logical_ids_unique(m: &Model, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    let elements = m
        .identities
        .iter()
        .map(|i| (ids::identity(&i.domain), i.domain.as_str(), i.ptr.as_str()))
        .chain(
            m.archives
                .iter()
                .map(|a| (ids::archive(&a.name), a.name.as_str(), a.ptr.as_str())),
        );
    for (id, name, ptr) in elements {
        if let Some((first_name, first_ptr)) = seen.get(&id) {
            out.push(
                Diagnostic::error(Code::MI2002, format!("`{name}` and `{first_name}` both become the logical id `{id}`"))
                    .key_path(ptr)
                    .related_path(*first_ptr, format!("`{first_name}` is declared here"))
                    .help("rename one of them: logical ids are letters and digits only, so `.`, `-` and `_` do not tell names apart"),
            );
        } else {
            seen.insert(id, (name, ptr));
        }
    }
}
