//! DNS: every record the topology needs, in one place.
//!
//! Input: the model. Output: records with their zone, purpose and owner. The
//! compiler turns the records of Route 53 zones into `AWS::Route53::RecordSet`
//! resources; records of `external` zones are only ever listed. Values known only
//! after deploy (Easy DKIM tokens, ingress endpoints' `ARecord`) are
//! [`Text::Deferred`] attributes of a resource. TXT values are quoted strings of
//! at most 255 octets ([`txt`]); each inbound domain has one MX record set
//! ([`receiving_records`]).

pub(crate) mod conform;
pub(crate) mod report;
pub(crate) mod txt;

use crate::ids;
use crate::model::{Dkim, DomainIdentity, Model};
use crate::spec::{Alignment, DmarcPolicy};

/// A value that is either known now or read from a deployed resource's attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Text {
    Literal(String),
    /// `prefix` and then `Fn::GetAtt [logical_id, attribute]`, shown offline
    /// as `placeholder`.
    Deferred {
        logical_id: String,
        attribute: String,
        /// What comes before the attribute's value (an MX preference, `10 `).
        prefix: String,
        /// The region of the stack that holds the resource when it is not the
        /// record's own stack: the value is passed in as a parameter.
        region: Option<String>,
        placeholder: String,
    },
}

/// The stack output that carries a deferred value: `<logical id><attribute>`.
pub(crate) fn output_key(logical_id: &str, attribute: &str) -> String {
    format!("{logical_id}{attribute}")
}

/// An Easy DKIM identity's token attributes, in the order of its one output.
pub(crate) const DKIM_TOKENS: [&str; 6] = [
    "DkimDNSTokenName1",
    "DkimDNSTokenValue1",
    "DkimDNSTokenName2",
    "DkimDNSTokenValue2",
    "DkimDNSTokenName3",
    "DkimDNSTokenValue3",
];

/// The output holding an identity's [`DKIM_TOKENS`], space-separated (one
/// output per identity keeps a shard of 160 identities within 200 outputs).
pub(crate) fn dkim_output_key(identity_logical_id: &str) -> String {
    format!("{identity_logical_id}DkimTokens")
}

/// A deployed output as `(output key, value)` pairs keyed like [`output_key`]:
/// a DKIM tokens output becomes its six attributes, anything else stays as is.
pub(crate) fn expand_output(key: &str, value: &str) -> Vec<(String, String)> {
    if let Some(lid) = key.strip_suffix("DkimTokens") {
        let parts: Vec<&str> = value.split(' ').collect();
        if parts.len() == DKIM_TOKENS.len() {
            return DKIM_TOKENS
                .iter()
                .zip(parts)
                .map(|(attr, v)| (output_key(lid, attr), v.to_string()))
                .collect();
        }
    }
    vec![(key.to_string(), value.to_string())]
}

impl Text {
    pub(crate) fn shown(&self) -> &str {
        match self {
            Text::Literal(s) => s,
            Text::Deferred { placeholder, .. } => placeholder,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Record {
    /// Logical id of the record set, when deployed.
    pub logical_id: String,
    pub name: Text,
    pub rtype: &'static str,
    pub values: Vec<Text>,
    pub ttl: u32,
    /// Index into `model.zones`; records outside every zone are rejected by `check`.
    pub zone: usize,
    /// What it is for, in words (`Easy DKIM 1 of 3`).
    pub purpose: String,
    /// Spec pointer of the element that needs it.
    pub owner: String,
    /// The region whose stack deploys it (its values may come from that stack).
    pub region: String,
    /// Index into `model.identities` of the identity it belongs to (its
    /// resources and this record always share a stack).
    pub identity: Option<usize>,
}

/// The SPF text SES wants for a custom MAIL FROM domain.
pub(crate) const SPF_AMAZONSES: &str = "v=spf1 include:amazonses.com ~all";

/// All records, in a stable order (by owner, then purpose).
pub(crate) fn records(model: &Model) -> Vec<Record> {
    let mut out = Vec::new();
    for (index, id) in model.identities.iter().enumerate() {
        easy_dkim_records(model, index, id, &mut out);
        byodkim_record(model, index, id, &mut out);
        mail_from_records(model, index, id, &mut out);
        dmarc_record(model, index, id, &mut out);
        report::authorization_records(model, index, id, &mut out);
    }
    out.extend(receiving_records(model).into_iter().map(|p| p.record));
    merge_same_name(out)
}

/// The three Easy DKIM CNAMEs of identity `index`, once for the primary region
/// and once more for the secondary when the identity is replicated
/// `independent` (it signs with keys of its own there).
fn easy_dkim_records(model: &Model, index: usize, id: &DomainIdentity, out: &mut Vec<Record>) {
    let (Dkim::Easy { .. }, Some(zone)) = (&id.dkim, id.zone) else {
        return;
    };
    let identity_id = ids::identity(&id.domain);
    let independent = model
        .secondary
        .iter()
        .filter(|_| id.replication == crate::spec::Replication::Independent);
    for (i, region) in std::iter::once(&model.primary)
        .chain(independent)
        .enumerate()
    {
        let suffix = if i == 0 {
            String::new()
        } else {
            format!(" ({region})")
        };
        for n in 1..=3 {
            out.push(Record {
                logical_id: format!("{}{n}", ids::record("Dkim", &id.domain)),
                name: Text::Deferred {
                    logical_id: identity_id.clone(),
                    attribute: format!("DkimDNSTokenName{n}"),
                    prefix: String::new(),
                    region: None,
                    placeholder: format!(
                        "<dkim-token-{n}{}>._domainkey.{}",
                        if i == 0 { "" } else { "-secondary" },
                        id.domain
                    ),
                },
                rtype: "CNAME",
                values: vec![Text::Deferred {
                    logical_id: identity_id.clone(),
                    attribute: format!("DkimDNSTokenValue{n}"),
                    prefix: String::new(),
                    region: None,
                    placeholder: format!(
                        "<dkim-token-{n}{}>.dkim.amazonses.com",
                        if i == 0 { "" } else { "-secondary" }
                    ),
                }],
                ttl: model.zones[zone].ttl,
                zone,
                purpose: format!("Easy DKIM {n} of 3{suffix}"),
                owner: id.ptr.clone(),
                region: region.clone(),
                identity: Some(index),
            });
        }
    }
}

/// The public key TXT record of a BYODKIM identity `index`.
fn byodkim_record(model: &Model, index: usize, id: &DomainIdentity, out: &mut Vec<Record>) {
    let (
        Dkim::Byodkim {
            selector,
            public_key,
            ptr,
            ..
        },
        Some(zone),
    ) = (&id.dkim, id.zone)
    else {
        return;
    };
    out.push(Record {
        logical_id: ids::record("Byodkim", &id.domain),
        name: Text::Literal(format!("{selector}._domainkey.{}", id.domain)),
        rtype: "TXT",
        // A 2048-bit key is about 400 characters: more than one TXT string holds.
        values: vec![Text::Literal(txt::value(&format!(
            "p={}",
            public_key.as_deref().unwrap_or("<public-key>")
        )))],
        ttl: model.zones[zone].ttl,
        zone,
        purpose: "BYODKIM".into(),
        owner: ptr.clone(),
        region: model.primary.clone(),
        identity: Some(index),
    });
}

/// The MX and SPF records of identity `index`'s custom MAIL FROM domains: in
/// each sending region its own domain, whose one MX value is that region's
/// feedback endpoint (see [`crate::model::MailFromDomain`]). All are deployed
/// with the identity, in the primary stack: their values are literals.
fn mail_from_records(model: &Model, index: usize, id: &DomainIdentity, out: &mut Vec<Record>) {
    let Some(mf) = &id.mail_from else {
        return;
    };
    for (i, (region, domain, zone, ptr)) in mf.regional(&model.primary).enumerate() {
        let Some(zone) = zone else { continue };
        // The primary's ids are the ones deployed before a secondary had its own.
        let suffix = if i == 0 { "" } else { "Secondary" };
        let record = |kind: &str, rtype, value: String, purpose: &str| Record {
            logical_id: ids::record(&format!("{kind}{suffix}"), &id.domain),
            name: Text::Literal(domain.to_string()),
            rtype,
            values: vec![Text::Literal(value)],
            ttl: model.zones[zone].ttl,
            zone,
            purpose: match &model.secondary {
                Some(_) => format!("{purpose} ({region})"),
                None => purpose.to_string(),
            },
            owner: ptr.to_string(),
            region: model.primary.clone(),
            identity: Some(index),
        };
        out.push(record(
            "MailFromMx",
            "MX",
            format!("10 feedback-smtp.{region}.amazonses.com"),
            "custom MAIL FROM",
        ));
        out.push(record(
            "MailFromSpf",
            "TXT",
            txt::value(SPF_AMAZONSES),
            "custom MAIL FROM SPF",
        ));
    }
}

/// The `_dmarc` TXT record of identity `index`.
fn dmarc_record(model: &Model, index: usize, id: &DomainIdentity, out: &mut Vec<Record>) {
    let Some(dmarc) = &id.dmarc else {
        return;
    };
    let Some(zone) = dmarc.zone else {
        return;
    };
    out.push(Record {
        logical_id: ids::record("Dmarc", &id.domain),
        name: Text::Literal(format!("_dmarc.{}", id.domain)),
        rtype: "TXT",
        values: vec![Text::Literal(txt::value(&dmarc_value(&dmarc.spec)))],
        ttl: model.zones[zone].ttl,
        zone,
        purpose: "DMARC".into(),
        owner: dmarc.ptr.clone(),
        region: model.primary.clone(),
        identity: Some(index),
    });
}

/// Records with one name and type in one zone and region: MX values are
/// merged into one record set, identical records into one (the first owner
/// keeps it); differing records of other types are left for `check` to reject
/// ([`duplicates`]).
fn merge_same_name(records: Vec<Record>) -> Vec<Record> {
    use std::collections::HashMap;
    let mut out: Vec<Record> = Vec::new();
    // (type, zone, region, name) → indices in `out`: linear time for thousands of domains.
    let mut by_name: HashMap<(&'static str, usize, String, String), Vec<usize>> = HashMap::new();
    for r in records {
        let key = (r.rtype, r.zone, r.region.clone(), name_key(&r.name));
        let same = by_name.entry(key).or_default();
        if let Some(&i) = same
            .iter()
            .find(|&&i| r.rtype == "MX" || out[i].values == r.values)
        {
            let first = &mut out[i];
            for v in r.values {
                if !first.values.contains(&v) {
                    first.values.push(v);
                }
            }
            continue;
        }
        same.push(out.len());
        out.push(r);
    }
    out
}

fn name_key(t: &Text) -> String {
    match t {
        Text::Literal(s) => format!("={s}"),
        Text::Deferred {
            logical_id,
            attribute,
            ..
        } => format!("@{logical_id}.{attribute}"),
    }
}

/// Pairs of records (later, earlier) with the same literal name and type.
pub(crate) fn duplicates(records: &[Record]) -> Vec<(&Record, &Record)> {
    let mut first: std::collections::HashMap<(&str, &str), &Record> = Default::default();
    let mut out = Vec::new();
    for r in records {
        if let Text::Literal(name) = &r.name {
            match first.get(&(r.rtype, name.as_str())) {
                Some(f) => out.push((r, *f)),
                None => {
                    first.insert((r.rtype, name.as_str()), r);
                }
            }
        }
    }
    out
}

fn policy(p: DmarcPolicy) -> &'static str {
    match p {
        DmarcPolicy::None => "none",
        DmarcPolicy::Quarantine => "quarantine",
        DmarcPolicy::Reject => "reject",
    }
}

fn alignment(a: Alignment) -> &'static str {
    match a {
        Alignment::Relaxed => "r",
        Alignment::Strict => "s",
    }
}

/// `v=DMARC1; p=quarantine; rua=mailto:…` with tags in RFC 7489 order, defaults omitted.
pub(crate) fn dmarc_value(d: &crate::spec::Dmarc) -> String {
    let mut tags = vec!["v=DMARC1".to_string(), format!("p={}", policy(d.policy))];
    if let Some(sp) = d.subdomain_policy {
        tags.push(format!("sp={}", policy(sp)));
    }
    if let Some(pct) = d.percentage.filter(|p| *p != 100) {
        tags.push(format!("pct={pct}"));
    }
    if let Some(a) = d.dkim_alignment {
        tags.push(format!("adkim={}", alignment(a)));
    }
    if let Some(a) = d.spf_alignment {
        tags.push(format!("aspf={}", alignment(a)));
    }
    if !d.rua.is_empty() {
        tags.push(format!("rua={}", d.rua.as_slice().join(",")));
    }
    if !d.ruf.is_empty() {
        tags.push(format!("ruf={}", d.ruf.as_slice().join(",")));
    }
    tags.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Dmarc, OneOrMany};

    #[test]
    fn dkim_tokens_output_expands_to_the_attribute_keys() {
        let key = dkim_output_key("IdentityExampleCom");
        let v = expand_output(
            &key,
            "a._domainkey.example.com a.dkim.amazonses.com b._domainkey.example.com b.dkim.amazonses.com c._domainkey.example.com c.dkim.amazonses.com",
        );
        assert_eq!(v.len(), 6);
        assert_eq!(
            v[3],
            (
                "IdentityExampleComDkimDNSTokenValue2".to_string(),
                "b.dkim.amazonses.com".to_string()
            )
        );
        // Other outputs (and the six separate outputs of older builds) stay as they are.
        assert_eq!(
            expand_output("IdentityExampleComDkimDNSTokenName1", "x"),
            vec![(
                "IdentityExampleComDkimDNSTokenName1".to_string(),
                "x".to_string()
            )]
        );
    }

    #[test]
    fn dmarc_record_text() {
        let d = Dmarc {
            policy: DmarcPolicy::Quarantine,
            subdomain_policy: None,
            rua: OneOrMany::One("mailto:d@example.com".into()),
            ruf: OneOrMany::default(),
            percentage: Some(50),
            dkim_alignment: Some(Alignment::Strict),
            spf_alignment: None,
        };
        assert_eq!(
            dmarc_value(&d),
            "v=DMARC1; p=quarantine; pct=50; adkim=s; rua=mailto:d@example.com"
        );
    }
}

/// A receiving MX record with the stack that holds it.
#[derive(Clone, Debug)]
pub(crate) struct Placed {
    pub record: Record,
    pub region: String,
    /// `mail-manager` or `receiving`.
    pub concern: &'static str,
}

/// Whether a record is deployed by the receiving stacks rather than the sending stack.
pub(crate) fn placed_elsewhere(r: &Record) -> bool {
    r.owner.starts_with("/mail_manager/") || r.owner.starts_with("/receiving")
}

/// The stack that holds a domain's MX record set, and what the record has so far.
struct Inbound {
    zone: usize,
    owner: String,
    home: (String, &'static str),
    values: Vec<(u16, Text)>,
}

/// The MX records of Mail Manager ingress endpoints and classic receiving:
/// one record set per domain with every value, most preferred first.
///
/// Route 53 answers a simple record set with all its values, and senders try
/// the lowest preference first (RFC 5321 §5.1), so one set gives failover
/// across regions; weighted sets would answer with one region each, and a
/// name and type cannot have a simple set beside weighted ones (Route 53
/// Developer Guide, "Choosing a routing policy"). The set lives in the stack
/// of the first region of `mail_manager.regions` when an ingress endpoint
/// receives for the domain (other regions' endpoint names arrive as
/// parameters), else in the classic receiving stack.
pub(crate) fn receiving_records(model: &Model) -> Vec<Placed> {
    use std::collections::BTreeMap;
    let mut by_domain: BTreeMap<String, Inbound> = BTreeMap::new();
    let mm = &model.mail_manager;
    let first = mm
        .regions
        .first()
        .map(|(r, _)| r.clone())
        .unwrap_or_default();
    for (index, (region, _)) in mm.regions.iter().enumerate() {
        for i in &mm.ingress {
            let priority = i.mx_priorities.get(index).copied().unwrap_or_default();
            for mx in &i.mx {
                let Some(zone) = mx.zone else { continue };
                let d = by_domain
                    .entry(mx.domain.clone())
                    .or_insert_with(|| Inbound {
                        zone,
                        owner: mx.ptr.clone(),
                        home: (first.clone(), "mail-manager"),
                        values: Vec::new(),
                    });
                d.values.push((
                    priority,
                    Text::Deferred {
                        logical_id: ids::ingress(&i.name),
                        attribute: "ARecord".into(),
                        prefix: format!("{priority} "),
                        region: (*region != first).then(|| region.clone()),
                        placeholder: format!(
                            "{priority} <a-record-of-ingress-{}-{region}>",
                            i.name
                        ),
                    },
                ));
            }
        }
    }
    if let Some(c) = &model.receiving {
        for mx in &c.mx {
            let Some(zone) = mx.zone else { continue };
            let d = by_domain
                .entry(mx.domain.clone())
                .or_insert_with(|| Inbound {
                    zone,
                    owner: mx.ptr.clone(),
                    home: (c.region.clone(), "receiving"),
                    values: Vec::new(),
                });
            d.values.push((
                mx.priority,
                Text::Literal(format!(
                    "{} inbound-smtp.{}.amazonaws.com",
                    mx.priority, c.region
                )),
            ));
        }
    }
    by_domain
        .into_iter()
        .map(|(domain, mut d)| {
            d.values.sort_by_key(|(p, _)| *p);
            let (region, concern) = d.home;
            Placed {
                record: Record {
                    logical_id: ids::record("Mx", &domain),
                    name: Text::Literal(domain),
                    rtype: "MX",
                    values: d.values.into_iter().map(|(_, v)| v).collect(),
                    ttl: model.zones[d.zone].ttl,
                    zone: d.zone,
                    purpose: "inbound mail".into(),
                    owner: d.owner,
                    region: region.clone(),
                    identity: None,
                },
                region,
                concern,
            }
        })
        .collect()
}
