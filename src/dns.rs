//! DNS: every record the topology needs, in one place.
//!
//! Input: the model. Output: records with their zone, purpose and owner. The
//! compiler turns the records of Route 53 zones into `AWS::Route53::RecordSet`
//! resources; records of `external` zones are only ever listed. Values known only
//! after deploy (Easy DKIM tokens) are [`Text::Deferred`] attributes of a resource.

use crate::ids;
use crate::model::{Dkim, Model};
use crate::spec::{Alignment, DmarcPolicy};

/// A value that is either known now or read from a deployed resource's attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    Literal(String),
    /// `Fn::GetAtt [logical_id, attribute]`, shown offline as `placeholder`.
    Deferred {
        logical_id: String,
        attribute: String,
        placeholder: String,
    },
}

impl Text {
    pub fn shown(&self) -> &str {
        match self {
            Text::Literal(s) => s,
            Text::Deferred { placeholder, .. } => placeholder,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Record {
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
}

/// The TXT value SES wants for a custom MAIL FROM domain.
pub const SPF_AMAZONSES: &str = "\"v=spf1 include:amazonses.com ~all\"";

/// All records, in a stable order (by owner, then purpose).
pub fn records(model: &Model) -> Vec<Record> {
    let mut out = Vec::new();
    for id in &model.identities {
        let identity_id = ids::identity(&id.domain);
        if let (Dkim::Easy { .. }, Some(zone)) = (&id.dkim, id.zone) {
            for n in 1..=3 {
                out.push(Record {
                    logical_id: format!("{}{n}", ids::record("Dkim", &id.domain)),
                    name: Text::Deferred {
                        logical_id: identity_id.clone(),
                        attribute: format!("DkimDNSTokenName{n}"),
                        placeholder: format!("<dkim-token-{n}>._domainkey.{}", id.domain),
                    },
                    rtype: "CNAME",
                    values: vec![Text::Deferred {
                        logical_id: identity_id.clone(),
                        attribute: format!("DkimDNSTokenValue{n}"),
                        placeholder: format!("<dkim-token-{n}>.dkim.amazonses.com"),
                    }],
                    ttl: model.zones[zone].ttl,
                    zone,
                    purpose: format!("Easy DKIM {n} of 3"),
                    owner: id.ptr.clone(),
                });
            }
        }
        if let Some(mf) = &id.mail_from
            && let Some(zone) = mf.zone
        {
            out.push(Record {
                logical_id: ids::record("MailFromMx", &id.domain),
                name: Text::Literal(mf.domain.clone()),
                rtype: "MX",
                values: vec![Text::Literal(format!(
                    "10 feedback-smtp.{}.amazonses.com",
                    model.primary
                ))],
                ttl: model.zones[zone].ttl,
                zone,
                purpose: "custom MAIL FROM".into(),
                owner: mf.ptr.clone(),
            });
            out.push(Record {
                logical_id: ids::record("MailFromSpf", &id.domain),
                name: Text::Literal(mf.domain.clone()),
                rtype: "TXT",
                values: vec![Text::Literal(SPF_AMAZONSES.into())],
                ttl: model.zones[zone].ttl,
                zone,
                purpose: "custom MAIL FROM SPF".into(),
                owner: mf.ptr.clone(),
            });
        }
        if let Some(dmarc) = &id.dmarc
            && let Some(zone) = dmarc.zone
        {
            out.push(Record {
                logical_id: ids::record("Dmarc", &id.domain),
                name: Text::Literal(format!("_dmarc.{}", id.domain)),
                rtype: "TXT",
                values: vec![Text::Literal(format!("\"{}\"", dmarc_value(&dmarc.spec)))],
                ttl: model.zones[zone].ttl,
                zone,
                purpose: "DMARC".into(),
                owner: dmarc.ptr.clone(),
            });
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
pub fn dmarc_value(d: &crate::spec::Dmarc) -> String {
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
