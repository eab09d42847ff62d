//! lookup: live DNS reads behind one narrow trait, [`Resolve`], with the real
//! resolver (`hickory-resolver`, on tokio).
//!
//! Input: a name and a record type. Output: the resolver's [`Answer`] — the
//! records, NXDOMAIN, or a failure that says why (a timeout is a failure,
//! never "no record"). The resolver is the system's (`/etc/resolv.conf`) or
//! one given as `IP[:PORT]`; it never reads `/etc/hosts`, so what it answers
//! is what DNS publishes.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

use futures_util::StreamExt as _;

use crate::diag::Diagnostic;
use crate::dns::conform::{self, Answer, Finding, Needed, Rdata, Status};

/// How long one query waits for an answer, and how often it is tried.
const TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPTS: usize = 2;

/// How many lookups are in flight at once.
const CONCURRENCY: usize = 16;

/// The DNS reads `check --dns` makes.
pub(crate) trait Resolve: Sync {
    /// The records of type `rtype` (`CNAME`, `MX`, `TXT`, `SOA`) at `name`.
    fn lookup(&self, name: &str, rtype: &str) -> impl Future<Output = Answer> + Send;
}

/// The real resolver.
pub(crate) struct Hickory {
    resolver: TokioResolver,
}

/// `192.0.2.1`, `192.0.2.1:5353`, `[2001:db8::1]:53` or `2001:db8::1`.
pub(crate) fn parse_server(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("`{s}` is not IP[:PORT] (e.g. `192.0.2.53` or `127.0.0.1:5353`)"))
}

impl Hickory {
    /// A resolver asking `server`, or the system's resolvers when `None`.
    pub(crate) fn new(server: Option<SocketAddr>) -> anyhow::Result<Hickory> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    provider,
                )
            }
            None => TokioResolver::builder(provider).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the system's resolver configuration: {e}; name one with `--dns-server IP[:PORT]`"
                )
            })?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = TIMEOUT;
        opts.attempts = ATTEMPTS;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        let resolver = builder
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the DNS resolver: {e}"))?;
        Ok(Hickory { resolver })
    }
}

fn record_type(rtype: &str) -> RecordType {
    match rtype {
        "CNAME" => RecordType::CNAME,
        "MX" => RecordType::MX,
        "SOA" => RecordType::SOA,
        _ => RecordType::TXT,
    }
}

fn rdata(r: &RData) -> Rdata {
    match r {
        RData::CNAME(c) => Rdata::Cname(c.0.to_ascii()),
        RData::MX(mx) => Rdata::Mx(mx.preference, mx.exchange.to_ascii()),
        RData::TXT(t) => Rdata::Txt(t.txt_data.iter().map(|s| s.to_vec()).collect()),
        other => Rdata::Other(other.record_type().to_string(), other.to_string()),
    }
}

/// What a failed lookup means: no such name, no such record, or no answer.
pub(crate) fn answer_of_error(e: &NetError) -> Answer {
    if e.is_nx_domain() {
        Answer::NxDomain
    } else if e.is_no_records_found() {
        Answer::Records(Vec::new())
    } else {
        Answer::Failed(match e {
            NetError::Timeout => "the resolver did not answer in time".to_string(),
            other => other.to_string(),
        })
    }
}

impl Resolve for Hickory {
    async fn lookup(&self, name: &str, rtype: &str) -> Answer {
        // Fully qualified: no search domain is ever appended.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self
            .resolver
            .lookup(fqdn.as_str(), record_type(rtype))
            .await
        {
            Ok(l) => Answer::Records(
                l.answers()
                    .iter()
                    .map(|r| (r.name.to_ascii(), rdata(&r.data)))
                    .collect(),
            ),
            Err(e) => answer_of_error(&e),
        }
    }
}

/// The answer for one needed record. When a TXT or MX lookup finds nothing,
/// the name is asked for a CNAME too: a resolver that follows a CNAME to a
/// name that does not exist answers NXDOMAIN and drops the CNAME it went
/// through, and that CNAME is the finding.
async fn lookup_needed(resolver: &impl Resolve, n: &Needed) -> Answer {
    let answer = resolver.lookup(&n.name, n.rtype).await;
    let nothing = match &answer {
        Answer::NxDomain => true,
        Answer::Records(r) => r.is_empty(),
        Answer::Failed(_) => false,
    };
    if nothing
        && n.rtype != "CNAME"
        && let Answer::Records(c) = resolver.lookup(&n.name, "CNAME").await
        && !c.is_empty()
    {
        return Answer::Records(c);
    }
    answer
}

/// Looks up every needed record and judges it, in the order of `needed`.
/// Each zone's apex is asked for its SOA first: a zone that does not exist
/// (NXDOMAIN) is one MI5017, and its records are `no zone` without a
/// diagnostic each. Records known only after deploy are not looked up.
pub(crate) async fn check(
    resolver: &impl Resolve,
    needed: Vec<Needed>,
) -> (Vec<Finding>, Vec<Diagnostic>) {
    let mut zones: Vec<(&str, &str, bool)> = needed
        .iter()
        .map(|n| (n.zone.as_str(), n.zone_ptr.as_str(), n.deployed))
        .collect();
    zones.sort_unstable();
    zones.dedup();
    let mut missing = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    for (apex, ptr, deployed) in zones {
        if resolver.lookup(apex, "SOA").await == Answer::NxDomain {
            missing.insert(apex.to_string());
            found.push(conform::zone_missing(apex, ptr, deployed));
        }
    }
    let mut answers: Vec<(usize, Answer)> = futures_util::stream::iter(needed.iter().enumerate())
        .map(|(i, n)| {
            let skip = n.unknown || missing.contains(&n.zone);
            async move {
                if skip {
                    (i, Answer::Records(Vec::new()))
                } else {
                    (i, lookup_needed(resolver, n).await)
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    answers.sort_by_key(|(i, _)| *i);
    let mut findings = Vec::new();
    for (n, (_, answer)) in needed.into_iter().zip(answers) {
        let f = if missing.contains(&n.zone) && !n.unknown {
            Finding {
                needed: n,
                published: Vec::new(),
                status: Status::NoZone,
                detail: "the zone does not exist".into(),
                ses: None,
            }
        } else {
            conform::judge(n, &answer)
        };
        if f.status != Status::Unknown {
            found.extend(conform::diagnostic(&f));
        }
        findings.push(f);
    }
    // One note per element and region for what cannot be checked offline.
    let mut groups: Vec<((&str, &str), Vec<&Finding>)> = Vec::new();
    for f in findings.iter().filter(|f| f.status == Status::Unknown) {
        let key = (f.needed.owner.as_str(), f.needed.region.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(f),
            None => groups.push((key, vec![f])),
        }
    }
    found.extend(groups.iter().filter_map(|(_, g)| conform::unknown_group(g)));
    (findings, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_an_ip_with_an_optional_port() {
        assert_eq!(parse_server("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(parse_server("192.0.2.53").unwrap().port(), 53);
        assert_eq!(parse_server("[::1]:5300").unwrap().port(), 5300);
        assert_eq!(parse_server("::1").unwrap().port(), 53);
        assert!(
            parse_server("ns1.example.com")
                .unwrap_err()
                .contains("is not IP[:PORT]")
        );
    }

    #[test]
    fn a_timeout_is_a_failure_not_a_missing_record() {
        assert_eq!(
            answer_of_error(&NetError::Timeout),
            Answer::Failed("the resolver did not answer in time".into())
        );
        assert!(matches!(
            answer_of_error(&NetError::Msg("connection refused".into())),
            Answer::Failed(_)
        ));
    }
}
