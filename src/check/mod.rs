//! Check: semantic rules over the resolved model.
//!
//! Input: a [`Model`]. Output: diagnostics, never an `Err`. Each rule is a small
//! function in the [`RULES`] table with its code; rules locate findings by spec
//! pointer and the pipeline maps pointers to source spans.

use std::collections::BTreeMap;

use crate::cfn_data;
use crate::diag::{Diagnostic, suggest};
use crate::ids;
use crate::model::Model;

mod lints;
mod receiving;
pub mod sending;

type Rule = fn(&Model, &mut Vec<Diagnostic>);

/// Every semantic rule, in the order they run.
pub const RULES: &[(&str, Rule)] = &[
    ("regions_exist", regions_exist),
    ("domains_valid", domains_valid),
    ("names_in_zones", names_in_zones),
    ("mail_from_is_subdomain", mail_from_is_subdomain),
    ("dmarc_addresses", dmarc_addresses),
    ("tags_valid", tags_valid),
    ("logical_ids_unique", logical_ids_unique),
    ("sending", sending::check_sending),
    ("receiving", receiving::check),
    ("lints", lints::check),
];

pub fn check(model: &Model) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (_, rule) in RULES {
        rule(model, &mut out);
    }
    out
}

pub(crate) fn region_diag(region: &str, ptr: &str) -> Option<Diagnostic> {
    if cfn_data::is_region(region) {
        return None;
    }
    let regions = &cfn_data::data().regions;
    let normalised = region.replace('_', "-").to_ascii_lowercase();
    let help = if cfn_data::is_region(&normalised) {
        format!("did you mean `{normalised}`?")
    } else {
        match suggest(region, regions.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "use an AWS region code such as `us-east-1` or `eu-west-1`".into(),
        }
    };
    Some(
        Diagnostic::error("MI3001", format!("`{region}` is not an AWS region"))
            .path(ptr)
            .help(help),
    )
}

fn regions_exist(m: &Model, out: &mut Vec<Diagnostic>) {
    out.extend(region_diag(&m.primary, "/regions/primary"));
}

/// Why `name` is not a valid DNS domain name, if it is not.
pub fn domain_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if !name.is_ascii() {
        return Some("the name has non-ASCII characters; write an internationalised name as its A-label (`xn--…`)".into());
    }
    if name.len() > 253 {
        return Some(format!(
            "the name is {} characters long; at most 253 are allowed",
            name.len()
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(
            "domain names are written in lowercase here: `{}`",
            name.to_ascii_lowercase()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Some("a domain needs at least two labels, e.g. `example.com`".into());
    }
    for label in labels {
        if label.is_empty() {
            return Some(
                "the name has an empty label (two dots in a row, or a leading dot)".into(),
            );
        }
        if label.len() > 63 {
            return Some(format!(
                "the label `{label}` is {} characters long; at most 63 are allowed",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("the label `{label}` starts or ends with a hyphen"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!(
                "the label `{label}` holds `{c}`; only letters, digits and hyphens are allowed"
            ));
        }
    }
    None
}

fn domains_valid(m: &Model, out: &mut Vec<Diagnostic>) {
    for z in &m.zones {
        if let Some(why) = domain_problem(&z.apex) {
            out.push(
                Diagnostic::error("MI3003", format!("`{}` is not a valid zone name", z.apex))
                    .key_path(&z.ptr)
                    .help(why),
            );
        }
    }
    for id in m.identities.iter().filter(|i| !i.is_email) {
        if let Some(why) = domain_problem(&id.domain) {
            out.push(
                Diagnostic::error(
                    "MI3003",
                    format!("`{}` is not a valid domain name", id.domain),
                )
                .key_path(&id.ptr)
                .help(why),
            );
        }
        if let Some(mf) = &id.mail_from
            && let Some(why) = domain_problem(&mf.domain)
        {
            out.push(
                Diagnostic::error(
                    "MI3003",
                    format!("`{}` is not a valid domain name", mf.domain),
                )
                .path(&mf.ptr)
                .help(why),
            );
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
                    "MI3002",
                    format!("the identity `{}` is in no declared DNS zone", id.domain),
                )
                .key_path(&id.ptr)
                .help(zone_help(m, &id.domain)),
            );
            continue;
        }
        if let Some(mf) = &id.mail_from
            && mf.zone.is_none()
            && domain_problem(&mf.domain).is_none()
        {
            out.push(
                Diagnostic::error(
                    "MI3002",
                    format!(
                        "the MAIL FROM domain `{}` is in no declared DNS zone",
                        mf.domain
                    ),
                )
                .path(&mf.ptr)
                .help(zone_help(m, &mf.domain)),
            );
        }
    }
}

fn mail_from_is_subdomain(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in m.identities.iter().filter(|i| !i.is_email) {
        let Some(mf) = &id.mail_from else { continue };
        if !mf.domain.ends_with(&format!(".{}", id.domain)) {
            out.push(
                Diagnostic::error(
                    "MI3004",
                    format!(
                        "the MAIL FROM domain `{}` is not a subdomain of `{}`",
                        mf.domain, id.domain
                    ),
                )
                .path(&mf.ptr)
                .help(format!(
                    "use a subdomain that receives no mail, e.g. `bounce.{}`",
                    id.domain
                )),
            );
        }
    }
}

fn dmarc_addresses(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in &m.identities {
        let Some(d) = &id.dmarc else { continue };
        for (key, list) in [("rua", &d.spec.rua), ("ruf", &d.spec.ruf)] {
            for (i, uri) in list.as_slice().iter().enumerate() {
                let ok = uri.strip_prefix("mailto:").is_some_and(|addr| {
                    addr.split_once('@')
                        .is_some_and(|(l, dom)| !l.is_empty() && domain_problem(dom).is_none())
                });
                if !ok {
                    let ptr = match list {
                        crate::spec::OneOrMany::One(_) => format!("{}/{key}", d.ptr),
                        crate::spec::OneOrMany::Many(_) => format!("{}/{key}/{i}", d.ptr),
                    };
                    out.push(
                        Diagnostic::error(
                            "MI3005",
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

fn tags_valid(m: &Model, out: &mut Vec<Diagnostic>) {
    let mail_manager_safe = |v: &str| {
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.:@-".contains(c))
    };
    for (k, v) in &m.tags {
        let ptr = format!("/tags/{}", crate::load::escape_pointer(k));
        let safe_for_mail_manager = mail_manager_safe(k) && mail_manager_safe(v);
        let problem = if k.is_empty() || k.chars().count() > 128 {
            Some("tag keys are 1 to 128 characters long".to_string())
        } else if k.to_ascii_lowercase().starts_with("aws:") {
            Some("the `aws:` prefix is reserved by AWS".to_string())
        } else if v.chars().count() > 256 {
            Some("tag values are at most 256 characters long".to_string())
        } else if !(safe_for_mail_manager || m.archives.is_empty() && m.mail_manager.is_empty()) {
            Some("Mail Manager resources accept only letters, digits and `/_+=.:@-` in tags (no spaces)".to_string())
        } else {
            None
        };
        if let Some(why) = problem {
            out.push(
                Diagnostic::error("MI3006", format!("the tag `{k}` cannot be applied"))
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
                Diagnostic::error("MI2002", format!("`{name}` and `{first_name}` both become the logical id `{id}`"))
                    .key_path(ptr)
                    .related_path(*first_ptr, format!("`{first_name}` is declared here"))
                    .help("rename one of them: logical ids are letters and digits only, so `.`, `-` and `_` do not tell names apart"),
            );
        } else {
            seen.insert(id, (name, ptr));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_rules() {
        assert_eq!(domain_problem("example.com"), None);
        assert!(
            domain_problem("example..com")
                .unwrap()
                .contains("empty label")
        );
        assert!(domain_problem("com").unwrap().contains("two labels"));
        assert!(domain_problem("Example.com").unwrap().contains("lowercase"));
        assert!(domain_problem("exаmple.com").unwrap().contains("A-label"));
        assert!(
            domain_problem(&format!("{}.com", "a".repeat(64)))
                .unwrap()
                .contains("63")
        );
        assert!(domain_problem("-a.com").unwrap().contains("hyphen"));
    }
}
