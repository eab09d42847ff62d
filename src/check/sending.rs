//! Checks, sending side: regions and the global endpoint, identity forms
//! (addresses, BYODKIM, replication), references to configuration sets and
//! identities, IAM trust, physical names and DNS record clashes. Overrides
//! are judged against the compiled templates, after compile (see
//! [`super::compiled`]).

use std::collections::BTreeMap;

use super::region_diag;
use crate::cfn_data;
use crate::diag::{Code, Diagnostic, suggest};
use crate::dns;
use crate::ids;
use crate::model::sending::{NamedRef, RoleScope};
use crate::model::{Dkim, Model};
use crate::spec::Replication;
use crate::values::{self, domain_problem};

/// Every sending rule, in order.
pub(crate) fn check_sending(m: &Model, out: &mut Vec<Diagnostic>) {
    secondary_region(m, out);
    global_endpoint(m, out);
    identity_forms(m, out);
    references(m, out);
    roles(m, out);
    physical_names(m, out);
    event_destinations(m, out);
    sending_ids_unique(m, out);
    dns_clashes(m, out);
}

fn secondary_region(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(s) = &m.secondary else { return };
    if let Some(d) = region_diag(s, "/regions/secondary") {
        out.push(d);
    } else if *s == m.primary {
        out.push(
            Diagnostic::error(
                Code::MI3101,
                format!("the secondary region `{s}` is the primary region"),
            )
            .path("/regions/secondary")
            .help("name another region, or remove `secondary` for a single-region setup"),
        );
    }
}

fn global_endpoint(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(g) = &m.sending.global_endpoint else {
        return;
    };
    if m.secondary.is_none() {
        out.push(
            Diagnostic::error(
                Code::MI3102,
                format!("the global endpoint `{}` needs a secondary region", g.name),
            )
            .key_path(&g.ptr)
            .help("add `secondary: <region>` under `regions:`; a global endpoint routes between the primary and the secondary"),
        );
    }
    let facts = cfn_data::type_facts("AWS::SES::MultiRegionEndpoint");
    if facts.is_some_and(|f| !f.regions.contains(&m.primary)) {
        out.push(
            Diagnostic::error(
                Code::MI3102,
                format!("global endpoints are not available in `{}`", m.primary),
            )
            .path("/regions/primary")
            .help("use a primary region where SES global endpoints exist, e.g. `us-east-1`"),
        );
    }
}

fn identity_forms(m: &Model, out: &mut Vec<Diagnostic>) {
    for id in &m.identities {
        if id.is_email {
            if let Some(why) = values::email_problem(&id.domain) {
                out.push(
                    Diagnostic::error(
                        Code::MI3314,
                        format!("`{}` is not a valid email address", id.domain),
                    )
                    .key_path(&id.ptr)
                    .help(why),
                );
            }
            let domain_only = [
                (id.mail_from.as_ref().map(|x| x.ptr.clone()), "mail_from"),
                (id.dmarc.as_ref().map(|x| x.ptr.clone()), "dmarc"),
                (id.plain_key.clone(), "byodkim"),
            ];
            for (ptr, what) in domain_only {
                if let Some(ptr) = ptr {
                    out.push(
                        Diagnostic::error(
                            Code::MI3103,
                            format!("`{what}` does not apply to the email address `{}`", id.domain),
                        )
                        .path(ptr)
                        .help("DKIM, MAIL FROM and DMARC belong to the address's domain: declare the domain as an identity and set them there"),
                    );
                }
            }
            continue;
        }
        if let Some(ptr) = &id.plain_key {
            out.push(
                Diagnostic::error(
                    Code::MI3104,
                    format!("the BYODKIM private key of `{}` is written inline", id.domain),
                )
                .path(ptr)
                .help("store the key in AWS Secrets Manager and write `private_key: { secret: NAME_OR_ARN, json_key: FIELD }`; secrets never go into the spec"),
            );
        }
        if let Dkim::Byodkim { selector, ptr, .. } = &id.dkim {
            if selector.is_empty() {
                out.push(
                    Diagnostic::error(
                        Code::MI3105,
                        format!("`{}` uses `dkim: byodkim` without a `byodkim:` key", id.domain),
                    )
                    .path(format!("{}/dkim", id.settings_ptr))
                    .help("add `byodkim: { selector: s1, private_key: { secret: NAME } , public_key: MIIB… }`"),
                );
            } else if let Some(why) =
                domain_problem(&format!("{selector}._domainkey.{}", id.domain))
            {
                out.push(
                    Diagnostic::error(
                        Code::MI3105,
                        format!("`{selector}` is not a usable DKIM selector"),
                    )
                    .path(format!("{ptr}/selector"))
                    .help(why),
                );
            }
            if m.secondary.is_some()
                && id.replication_written
                && id.replication == Replication::Deed
            {
                out.push(
                    Diagnostic::error(
                        Code::MI3106,
                        format!("the BYODKIM identity `{}` cannot be a DEED parent", id.domain),
                    )
                    .path(format!("{}/replication", id.settings_ptr))
                    .help("DEED replicates Easy DKIM keys only; remove `replication` (the secondary identity then signs with the same BYODKIM key) or use `dkim: easy`"),
                );
            }
        }
    }
}

fn dangling(r: &NamedRef, kind: &str, names: &[&str], out: &mut Vec<Diagnostic>) {
    if r.index.is_some() {
        return;
    }
    let help = match suggest(&r.name, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if names.is_empty() => format!("no {kind}s are declared"),
        None => format!(
            "declared {kind}s: {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    out.push(
        Diagnostic::error(Code::MI2001, format!("there is no {kind} `{}`", r.name))
            .path(&r.ptr)
            .help(help),
    );
}

fn references(m: &Model, out: &mut Vec<Diagnostic>) {
    let sets: Vec<&str> = m
        .sending
        .config_sets
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let idents: Vec<&str> = m.identities.iter().map(|i| i.domain.as_str()).collect();
    let mut seen = std::collections::BTreeSet::new();
    for id in &m.identities {
        if let Some(c) = &id.configuration_set {
            // Group members share one reference: report it once.
            if seen.insert(c.ptr.clone()) {
                dangling(c, "configuration set", &sets, out);
            }
        }
    }
    for r in &m.sending.roles {
        if let Some(c) = &r.configuration_set {
            dangling(c, "configuration set", &sets, out);
        }
        if let RoleScope::Listed(l) = &r.scope {
            for i in l {
                dangling(i, "identity", &idents, out);
            }
        }
    }
}

fn roles(m: &Model, out: &mut Vec<Diagnostic>) {
    for r in &m.sending.roles {
        if r.principal.is_none() {
            out.push(
                Diagnostic::error(
                    Code::MI3107,
                    format!("the role `{}` must be trusted by one service or one account", r.name),
                )
                .path(format!("{}/trust", r.ptr))
                .help("write `trust: { service: ec2 }` (or `lambda`, `ecs_tasks`) or `trust: { account: \"123456789012\" }`"),
            );
        }
        if r.scope == RoleScope::All && m.identities.is_empty() {
            out.push(
                Diagnostic::error(
                    Code::MI3107,
                    format!("the role `{}` may send as no identity: none is declared", r.name),
                )
                .key_path(&r.ptr)
                .help("declare identities under `identities:`, or write `identities: \"*\"` to allow any resource"),
            );
        }
    }
}

fn physical_names(m: &Model, out: &mut Vec<Diagnostic>) {
    let ok = |s: &str| {
        s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let named = m
        .sending
        .config_sets
        .iter()
        .map(|c| (&c.name, &c.ptr, "configuration set"))
        .chain(
            m.sending
                .templates
                .iter()
                .map(|t| (&t.name, &t.ptr, "template")),
        )
        .chain(m.sending.roles.iter().map(|r| (&r.name, &r.ptr, "role")));
    for (name, ptr, kind) in named {
        let full = format!("{}-{name}", m.project);
        if !ok(&full) {
            out.push(
                Diagnostic::error(
                    Code::MI3108,
                    format!("the {kind} name `{full}` is not accepted by SES or IAM"),
                )
                .key_path(ptr)
                .help("names are letters, digits, `-` and `_`, and with the project prefix at most 64 characters"),
            );
        }
    }
}

fn event_destinations(m: &Model, out: &mut Vec<Diagnostic>) {
    for c in &m.sending.config_sets {
        for (name, d) in &c.spec.events {
            let targets = [
                d.sns.is_some(),
                d.eventbridge.is_some(),
                d.firehose.is_some(),
                d.cloudwatch.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if targets != 1 {
                out.push(
                    Diagnostic::error(
                        Code::MI3109,
                        format!("the event destination `{name}` has {targets} targets"),
                    )
                    .key_path(format!("{}/events/{}", c.ptr, crate::load::escape_pointer(name)))
                    .help("give exactly one of `sns`, `eventbridge`, `firehose` or `cloudwatch`; declare one destination per target"),
                );
            }
        }
    }
}

fn sending_ids_unique(m: &Model, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<String, (&str, &str)> = BTreeMap::new();
    let elements = m
        .sending
        .config_sets
        .iter()
        .map(|c| (ids::config_set(&c.name), c.name.as_str(), c.ptr.as_str()))
        .chain(m.sending.templates.iter().map(|t| {
            (
                ids::email_template(&t.name),
                t.name.as_str(),
                t.ptr.as_str(),
            )
        }))
        .chain(
            m.sending
                .roles
                .iter()
                .map(|r| (ids::role(&r.name), r.name.as_str(), r.ptr.as_str())),
        );
    for (id, name, ptr) in elements {
        if let Some((first, first_ptr)) = seen.get(&id) {
            out.push(
                Diagnostic::error(Code::MI2002, format!("`{name}` and `{first}` both become the logical id `{id}`"))
                    .key_path(ptr)
                    .related_path(*first_ptr, format!("`{first}` is declared here"))
                    .help("rename one of them: logical ids are letters and digits only, so `.`, `-` and `_` do not tell names apart"),
            );
        } else {
            seen.insert(id, (name, ptr));
        }
    }
}

fn dns_clashes(m: &Model, out: &mut Vec<Diagnostic>) {
    let records = dns::records(m);
    for (r, first) in dns::duplicates(&records) {
        out.push(
            Diagnostic::error(
                Code::MI3110,
                format!(
                    "two {} records named `{}` ({} and {})",
                    r.rtype,
                    r.name.shown(),
                    first.purpose,
                    r.purpose
                ),
            )
            .path(&r.owner)
            .related_path(&first.owner, format!("the {} record comes from here", first.purpose))
            .help("a name holds one record set per type: change one of the names (e.g. another MAIL FROM subdomain)"),
        );
    }
}
