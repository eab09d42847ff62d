//! DMARC reports sent to another domain (RFC 7489 §7.1): a receiver sends
//! aggregate (`rua`) and failure (`ruf`) reports for `example.com` to an
//! address at `reports.example.net` only when that domain publishes
//! `example.com._report._dmarc.reports.example.net` TXT `v=DMARC1`. Without
//! it the reports are silently not sent.

use super::{Record, Text, txt};
use crate::ids;
use crate::model::{DomainIdentity, Model, zone_of};

/// Where one report address of an identity's DMARC policy goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReportHost {
    /// The domain of the address.
    pub host: String,
    /// The declared zone that holds it, if any (`model.zones`).
    pub zone: Option<usize>,
}

/// The report destinations of `id` outside its own organisation (its own
/// domain, a parent or child of it, or a domain of the same zone), once each.
pub(crate) fn external_hosts(model: &Model, id: &DomainIdentity) -> Vec<ReportHost> {
    let Some(dmarc) = &id.dmarc else {
        return Vec::new();
    };
    let mut out: Vec<ReportHost> = Vec::new();
    for uri in dmarc
        .spec
        .rua
        .as_slice()
        .iter()
        .chain(dmarc.spec.ruf.as_slice())
    {
        let Some(host) = host_of(uri) else { continue };
        let related = host == id.domain
            || id.domain.ends_with(&format!(".{host}"))
            || host.ends_with(&format!(".{}", id.domain));
        let zone = zone_of(&model.zones, &host);
        let same_zone = zone.is_some() && zone == id.zone;
        if related || same_zone || out.iter().any(|h| h.host == host) {
            continue;
        }
        out.push(ReportHost { host, zone });
    }
    out
}

/// The domain of a `mailto:` report URI (`mailto:d@example.net!10m`).
fn host_of(uri: &str) -> Option<String> {
    let addr = uri.strip_prefix("mailto:")?;
    let addr = addr.split('!').next()?;
    let (_, host) = addr.rsplit_once('@')?;
    // An address that is no address is the schema's and the checks' to report.
    Some(host.trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| crate::values::domain_problem(h).is_none())
}

/// The authorisation record a report domain of a declared zone publishes for
/// identity `index` (deployed in a Route 53 zone, listed for an external one).
pub(super) fn authorization_records(
    model: &Model,
    index: usize,
    id: &DomainIdentity,
    out: &mut Vec<Record>,
) {
    let Some(dmarc) = &id.dmarc else {
        return;
    };
    for h in external_hosts(model, id) {
        let Some(zone) = h.zone else { continue };
        out.push(Record {
            logical_id: ids::record("DmarcReport", &format!("{}.{}", id.domain, h.host)),
            name: Text::Literal(format!("{}._report._dmarc.{}", id.domain, h.host)),
            rtype: "TXT",
            values: vec![Text::Literal(txt::value("v=DMARC1"))],
            ttl: model.zones[zone].ttl,
            zone,
            purpose: "DMARC report authorization".into(),
            owner: dmarc.ptr.clone(),
            region: model.primary.clone(),
            identity: Some(index),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(yaml: &str) -> Model {
        let doc = crate::load::Document::parse("t.yaml", yaml.to_string()).expect("parses");
        crate::model::resolve(&crate::schema::check(&doc).expect("schema-valid"))
    }

    /// A report domain of a declared zone gets the authorisation record (in
    /// its own zone); the identity's own domain and its parent do not.
    #[test]
    fn a_report_domain_of_the_spec_publishes_the_authorisation() {
        let m = model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\n\
             dns: { example.com: { route53_zone_id: Z1 }, example.org: external }\n\
             identities:\n  news.example.com:\n    dmarc: { policy: none, rua: [\"mailto:d@example.com\", \"mailto:d@reports.example.org\"], ruf: \"mailto:f@reports.example.org\" }\n",
        );
        let auth: Vec<_> = crate::dns::records(&m)
            .into_iter()
            .filter(|r| r.purpose == "DMARC report authorization")
            .collect();
        assert_eq!(auth.len(), 1, "{auth:?}");
        assert_eq!(
            auth[0].name.shown(),
            "news.example.com._report._dmarc.reports.example.org"
        );
        assert_eq!(auth[0].values[0].shown(), "\"v=DMARC1\"");
        assert_eq!(m.zones[auth[0].zone].apex, "example.org");
    }

    #[test]
    fn report_uris_name_their_domain() {
        assert_eq!(
            host_of("mailto:d@Reports.Example.net").as_deref(),
            Some("reports.example.net")
        );
        assert_eq!(
            host_of("mailto:d@example.net!10m").as_deref(),
            Some("example.net")
        );
        assert_eq!(host_of("https://example.net/r"), None);
        assert_eq!(host_of("mailto:nobody"), None);
        assert_eq!(host_of("mailto:d@example..com"), None);
    }
}
