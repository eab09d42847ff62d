//! Reachability: the messages worth tracing to answer "can some message…?".
//!
//! A condition only tells values apart at the values the spec names, so the
//! candidates are built from them: for each field a condition reads, one
//! value per operator and value that satisfies it, one that satisfies them
//! all at once where that can be written, and one that satisfies none; for
//! sender IPs, one address inside each named range and one outside every
//! range (the sender nobody allow-listed). The candidates are the product of
//! those values, in a fixed order, up to [`LIMIT`]; [`Space::complete`] says
//! whether every combination was seen, which a claim about all messages
//! needs and a claim about one message (an example) does not.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::Model;
use crate::model::receiving::TrafficPolicy;
use crate::spec::{
    AnalysisTest, AuthVerdict, DmarcValue, IngressTls, IpTest, PolicyCondition, Rule,
    RuleCondition, StringTest, TlsTest,
};
use crate::values::{Family, parse_cidr};

use super::{Message, Tls};

/// Most candidates traced for one question.
pub(crate) const LIMIT: u64 = 20_000;

/// Addresses for "someone on the internet" that no spec is likely to name
/// (documentation ranges, RFC 5737 and RFC 3849).
const OUTSIDERS: &[&str] = &[
    "198.51.100.25",
    "203.0.113.25",
    "192.0.2.25",
    "100.64.7.25",
    "2001:db8::25",
    "2001:db8:ffff::25",
];

/// A domain outside every spec (RFC 2606).
pub(crate) const OUTSIDE: &str = "outside.example";

/// The values each field takes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Space {
    ips: Vec<IpAddr>,
    tls: Vec<Tls>,
    rcpts: Vec<String>,
    mail_from: Vec<Option<String>>,
    helo: Vec<Option<String>>,
    headers: Vec<(String, Vec<Option<String>>)>,
    spf: Vec<Option<AuthVerdict>>,
    dkim: Vec<Option<AuthVerdict>>,
    dmarc: Vec<Option<DmarcValue>>,
    size: Vec<Option<u64>>,
    read_receipt: Vec<Option<bool>>,
    tls_wrapped: Vec<Option<bool>>,
    addons: Vec<(String, Vec<String>)>,
}

/// Which senders to consider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Senders {
    /// Only addresses outside every named range.
    Outsiders,
    /// Also one address inside each named range.
    All,
}

/// The domains that are the spec's own: identities, zones, MX domains.
#[derive(Clone, Debug, Default)]
pub(crate) struct Own(BTreeSet<String>);

impl Own {
    pub(crate) fn of(m: &Model) -> Own {
        let mut s = BTreeSet::new();
        for id in m.identities.iter().filter(|i| !i.is_email) {
            s.insert(id.domain.to_ascii_lowercase());
        }
        for z in &m.zones {
            s.insert(z.apex.to_ascii_lowercase());
        }
        for i in &m.mail_manager.ingress {
            for mx in &i.mx {
                s.insert(mx.domain.to_ascii_lowercase());
            }
        }
        Own(s)
    }
    /// Whether the address's domain is one of ours or under one.
    pub(crate) fn has(&self, address: &str) -> bool {
        let domain = address
            .rsplit('@')
            .next()
            .unwrap_or(address)
            .to_ascii_lowercase();
        let mut d = domain.as_str();
        loop {
            if self.0.contains(d) {
                return true;
            }
            match d.split_once('.') {
                Some((_, rest)) => d = rest,
                None => return false,
            }
        }
    }
    fn sample(&self) -> impl Iterator<Item = &String> {
        self.0.iter().take(3)
    }
}

/// Values that make a string test on an address hold (and one that does not).
fn address_values(t: &StringTest, out: &mut Vec<String>) {
    let mut combo = (String::new(), String::new(), String::new());
    for (op, values) in t.operators() {
        for v in values {
            let made = match op {
                "EQUALS" | "NOT_EQUALS" => vec![v.clone()],
                "STARTS_WITH" if v.contains('@') => vec![format!("{v}{OUTSIDE}")],
                "STARTS_WITH" => vec![format!("{v}@{OUTSIDE}")],
                "ENDS_WITH" if v.starts_with('@') => vec![format!("someone{v}")],
                "ENDS_WITH" if v.contains('@') => vec![v.clone()],
                "ENDS_WITH" if v.starts_with('.') => vec![format!("someone@mail{v}")],
                "ENDS_WITH" => vec![format!("someone@{v}"), format!("someone@x{v}")],
                _ if v.contains('@') => vec![format!("x{v}.{OUTSIDE}")],
                _ => vec![format!("someone@{v}.{OUTSIDE}")],
            };
            out.extend(made);
        }
        if let Some(v) = values.first() {
            match op {
                "STARTS_WITH" => combo.0 = v.clone(),
                "CONTAINS" => combo.1 = v.clone(),
                "ENDS_WITH" => combo.2 = v.clone(),
                _ => {}
            }
        }
    }
    if !(combo.0.is_empty() && combo.1.is_empty() && combo.2.is_empty()) {
        out.push(format!("{}{}{}", combo.0, combo.1, combo.2));
    }
}

/// Values that make a string test on any text hold (and one that does not).
fn text_values(t: &StringTest, out: &mut Vec<Option<String>>) {
    let mut combo = (String::new(), String::new(), String::new());
    for (op, values) in t.operators() {
        for v in values {
            out.push(Some(match op {
                "EQUALS" | "NOT_EQUALS" => v.clone(),
                "STARTS_WITH" => format!("{v}x"),
                "ENDS_WITH" => format!("x{v}"),
                _ => format!("x{v}x"),
            }));
            match op {
                "STARTS_WITH" if combo.0.is_empty() => combo.0 = v.clone(),
                "CONTAINS" if combo.1.is_empty() => combo.1 = v.clone(),
                "ENDS_WITH" if combo.2.is_empty() => combo.2 = v.clone(),
                _ => {}
            }
        }
    }
    out.push(Some(format!("{}{}{}", combo.0, combo.1, combo.2)));
}

fn dedup<T: Ord + Clone>(v: &mut Vec<T>) {
    let mut seen = BTreeSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

#[derive(Default)]
struct Collect {
    ranges: Vec<ipnet::IpNet>,
    rcpt_tested: bool,
    rcpts: Vec<String>,
    /// The first `starts_with`, `contains` and `ends_with` values of every
    /// recipient test, to build one address that meets them all.
    rcpt_parts: [Option<String>; 3],
    mail_from: Option<Vec<Option<String>>>,
    helo: Option<Vec<Option<String>>>,
    headers: BTreeMap<String, Vec<Option<String>>>,
    tls: bool,
    spf: bool,
    dkim: bool,
    dmarc: bool,
    sizes: Option<Vec<Option<u64>>>,
    read_receipt: bool,
    tls_wrapped: bool,
    addons: BTreeMap<String, Vec<String>>,
}

impl Collect {
    fn recipient(&mut self, t: &StringTest) {
        self.rcpt_tested = true;
        address_values(t, &mut self.rcpts);
        for (op, values) in t.operators() {
            let slot = match op {
                "STARTS_WITH" => 0,
                "CONTAINS" => 1,
                "ENDS_WITH" => 2,
                _ => continue,
            };
            if self.rcpt_parts[slot].is_none() {
                self.rcpt_parts[slot] = values.first().cloned();
            }
        }
    }
    /// One address meeting every recipient test's first value at once.
    fn combined_recipient(&self) -> Option<String> {
        let [a, b, c] = &self.rcpt_parts;
        if a.is_none() && b.is_none() && c.is_none() {
            return None;
        }
        let mut out = a.clone().unwrap_or_default();
        for part in [b, c].into_iter().flatten() {
            if out.ends_with('@') && part.starts_with('@') {
                out.pop();
            }
            out.push_str(part);
        }
        if !out.contains('@') {
            out = format!("someone@{}", out.trim_start_matches('.'));
        }
        if out.ends_with('@') {
            out.push_str(OUTSIDE);
        }
        Some(out)
    }
    fn ip(&mut self, t: &IpTest) {
        let (_, ranges) = t.parts();
        self.ranges.extend(
            ranges
                .iter()
                .filter_map(|r| parse_cidr(r, Family::Any).ok()),
        );
    }
    fn header(&mut self, name: &str, t: &StringTest) {
        let e = self
            .headers
            .entry(name.to_string())
            .or_insert_with(|| vec![None]);
        text_values(t, e);
    }
    fn analysis(&mut self, t: &AnalysisTest) {
        let e = self.addons.entry(t.addon.clone()).or_default();
        e.extend(["true", "false", "pass", "fail", "gray", "processing_failed"].map(String::from));
        let mut v = Vec::new();
        text_values(&t.string_test(), &mut v);
        e.extend(v.into_iter().flatten());
    }
    fn policy(&mut self, c: &PolicyCondition) {
        match c {
            PolicyCondition::Recipient(t) => self.recipient(t),
            PolicyCondition::SenderIp(t) | PolicyCondition::SenderIpv6(t) => self.ip(t),
            PolicyCondition::Tls(TlsTest { .. }) => self.tls = true,
            PolicyCondition::Analysis(t) => self.analysis(t),
            PolicyCondition::AddressList(_) => {}
        }
    }
    fn rule(&mut self, c: &RuleCondition) {
        use RuleCondition as C;
        match c {
            C::MailFrom(t) => {
                let e = self
                    .mail_from
                    .get_or_insert_with(|| vec![Some(format!("sender@{OUTSIDE}"))]);
                text_values(t, e);
                let mut a = Vec::new();
                address_values(t, &mut a);
                e.extend(a.into_iter().map(Some));
            }
            C::Helo(t) => text_values(
                t,
                self.helo
                    .get_or_insert_with(|| vec![Some(format!("mail.{OUTSIDE}"))]),
            ),
            C::Recipient(t) => self.recipient(t),
            C::Sender(t) => self.header("Sender", t),
            C::From(t) => self.header("From", t),
            C::Subject(t) => self.header("Subject", t),
            C::To(t) => self.header("To", t),
            C::Cc(t) => self.header("Cc", t),
            C::MimeHeader(h) => self.header(&h.name, &h.test()),
            C::Spf(_) => self.spf = true,
            C::Dkim(_) => self.dkim = true,
            C::Dmarc(_) => self.dmarc = true,
            C::SourceIp(t) => self.ip(t),
            C::Tls(_) => self.tls = true,
            C::TlsWrapped(_) => self.tls_wrapped = true,
            C::ReadReceipt(_) => self.read_receipt = true,
            C::MessageSize(t) => {
                let e = self.sizes.get_or_insert_with(|| vec![Some(1_000)]);
                for (_, _, s) in t.operators() {
                    if let Ok(b) = s.bytes() {
                        e.extend([b.saturating_sub(1), b, b.saturating_add(1)].map(Some));
                    }
                }
            }
            C::Analysis(t) => self.analysis(t),
            C::AddressList(_) | C::ClientCertificate(_) => {}
        }
    }
}

fn bools(tested: bool) -> Vec<Option<bool>> {
    if tested {
        vec![Some(false), Some(true)]
    } else {
        vec![None]
    }
}

impl Space {
    /// The candidates for a traffic policy (optional) and rules, with the
    /// ingress's TLS setting and the spec's own domains.
    pub(crate) fn new(
        tp: Option<&TrafficPolicy>,
        rules: &[&Rule],
        ingress_tls: Option<IngressTls>,
        own: &Own,
        senders: Senders,
    ) -> Space {
        let mut c = Collect::default();
        for st in tp.iter().flat_map(|t| t.statements.iter()) {
            st.conditions().iter().for_each(|x| c.policy(x));
        }
        for r in rules {
            r.when.iter().chain(&r.unless).for_each(|x| c.rule(x));
        }
        let outsider = |v6: bool| {
            OUTSIDERS
                .iter()
                .filter_map(|a| a.parse::<IpAddr>().ok())
                .filter(|a| a.is_ipv6() == v6)
                .find(|a| !c.ranges.iter().any(|n| n.prefix_len() > 0 && n.contains(a)))
        };
        let mut ips: Vec<IpAddr> = outsider(false).into_iter().collect();
        if c.ranges.iter().any(|n| matches!(n, ipnet::IpNet::V6(_))) {
            ips.extend(outsider(true));
        }
        if senders == Senders::All {
            ips.extend(c.ranges.iter().map(|n| match n.hosts().next() {
                Some(h) => h,
                None => n.addr(),
            }));
        }
        dedup(&mut ips);
        let mut rcpts = vec![format!("someone@{OUTSIDE}")];
        rcpts.extend(own.sample().map(|d| format!("someone@{d}")));
        rcpts.extend(c.combined_recipient());
        rcpts.append(&mut c.rcpts);
        dedup(&mut rcpts);
        let mut tls = vec![Tls::V13];
        if c.tls {
            tls = vec![Tls::None, Tls::V12, Tls::V13];
        }
        if matches!(ingress_tls, Some(IngressTls::Required | IngressTls::Fips)) {
            tls.retain(|t| *t != Tls::None);
        }
        let verdicts = |t: bool| {
            if t {
                [
                    AuthVerdict::Pass,
                    AuthVerdict::Fail,
                    AuthVerdict::Gray,
                    AuthVerdict::ProcessingFailed,
                ]
                .map(Some)
                .to_vec()
            } else {
                vec![None]
            }
        };
        let finish = |v: Option<Vec<Option<String>>>| {
            let mut v = v.unwrap_or_else(|| vec![None]);
            dedup(&mut v);
            v
        };
        let mail_from = finish(c.mail_from.take());
        let helo = finish(c.helo.take());
        Space {
            ips,
            tls,
            rcpts,
            mail_from,
            helo,
            headers: c
                .headers
                .into_iter()
                .map(|(k, mut v)| {
                    dedup(&mut v);
                    (k, v)
                })
                .collect(),
            spf: verdicts(c.spf),
            dkim: verdicts(c.dkim),
            dmarc: if c.dmarc {
                [DmarcValue::None, DmarcValue::Quarantine, DmarcValue::Reject]
                    .map(Some)
                    .to_vec()
            } else {
                vec![None]
            },
            size: c.sizes.map_or(vec![None], |mut v| {
                dedup(&mut v);
                v
            }),
            read_receipt: bools(c.read_receipt),
            tls_wrapped: bools(c.tls_wrapped),
            addons: c
                .addons
                .into_iter()
                .map(|(k, mut v)| {
                    dedup(&mut v);
                    (k, v)
                })
                .collect(),
        }
    }

    fn radices(&self) -> Vec<usize> {
        let mut r = vec![
            self.rcpts.len(),
            self.ips.len(),
            self.tls.len(),
            self.mail_from.len(),
            self.helo.len(),
            self.spf.len(),
            self.dkim.len(),
            self.dmarc.len(),
            self.size.len(),
            self.read_receipt.len(),
            self.tls_wrapped.len(),
        ];
        r.extend(self.headers.iter().map(|(_, v)| v.len()));
        r.extend(self.addons.iter().map(|(_, v)| v.len()));
        r
    }

    /// How many combinations there are.
    pub(crate) fn total(&self) -> u64 {
        self.radices()
            .iter()
            .fold(1u64, |a, r| a.saturating_mul(*r as u64))
    }

    /// Whether [`Space::messages`] yields every combination.
    pub(crate) fn complete(&self) -> bool {
        self.total() <= LIMIT
    }

    /// The candidates, each with one envelope recipient, at most [`LIMIT`].
    pub(crate) fn messages(&self) -> impl Iterator<Item = Message> + '_ {
        let radices = self.radices();
        let total = self.total().min(LIMIT);
        (0..total).map(move |mut n| {
            let mut digit = |radix: usize| {
                let d = (n % radix.max(1) as u64) as usize;
                n /= radix.max(1) as u64;
                d
            };
            let d: Vec<usize> = radices.iter().map(|r| digit(*r)).collect();
            let mut headers = Vec::new();
            for (i, (name, values)) in self.headers.iter().enumerate() {
                if let Some(v) = &values[d[11 + i]] {
                    headers.push((name.clone(), v.clone()));
                }
            }
            let base = 11 + self.headers.len();
            Message {
                sender_ip: self.ips.get(d[1]).copied(),
                tls: self.tls.get(d[2]).copied(),
                tls_wrapped: self.tls_wrapped[d[10]],
                helo: self.helo[d[4]].clone(),
                mail_from: self.mail_from[d[3]].clone(),
                rcpt: self.rcpts.get(d[0]).cloned().into_iter().collect(),
                headers,
                spf: self.spf[d[5]],
                dkim: self.dkim[d[6]],
                dmarc: self.dmarc[d[7]],
                size: self.size[d[8]],
                read_receipt: self.read_receipt[d[9]],
                addons: self
                    .addons
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| (k.clone(), v[d[base + i]].clone()))
                    .collect(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::OneOrMany;

    #[test]
    fn own_domains_include_subdomains_and_nothing_else() {
        let own = Own(["example.com".to_string()].into());
        assert!(own.has("a@example.com"));
        assert!(own.has("a@mail.example.com"));
        assert!(!own.has("a@xexample.com"));
        assert!(!own.has("a@example.com.outside.example"));
    }

    #[test]
    fn address_candidates_include_lookalikes_outside_the_domain() {
        let t = StringTest {
            ends_with: Some(OneOrMany::One("example.com".into())),
            ..Default::default()
        };
        let mut v = Vec::new();
        address_values(&t, &mut v);
        assert!(v.contains(&"someone@xexample.com".to_string()), "{v:?}");
        let t = StringTest {
            contains: Some(OneOrMany::One("@example.com".into())),
            ..Default::default()
        };
        let mut v = Vec::new();
        address_values(&t, &mut v);
        assert!(
            v.contains(&"x@example.com.outside.example".to_string()),
            "{v:?}"
        );
    }

    #[test]
    fn the_product_is_bounded_and_says_so() {
        let s = Space {
            rcpts: vec!["a@b.c".into()],
            ips: vec!["192.0.2.1".parse().unwrap()],
            tls: vec![Tls::V13],
            mail_from: vec![None],
            helo: vec![None],
            spf: vec![None],
            dkim: vec![None],
            dmarc: vec![None],
            size: vec![None],
            read_receipt: vec![None],
            tls_wrapped: vec![None],
            headers: (0..20)
                .map(|i| (format!("X-{i}"), vec![None, Some("v".into())]))
                .collect(),
            addons: Vec::new(),
        };
        assert!(!s.complete());
        assert_eq!(s.messages().count() as u64, LIMIT);
    }
}
