//! DNS conformance: what a resolver publishes for each record the topology
//! needs, compared with what is needed.
//!
//! Input: the needed records ([`Needed`], names and values resolved as far as
//! deployed values allow) and, for each, the resolver's [`Answer`]. Output: a
//! [`Finding`] per record with its [`Status`], and the diagnostics
//! (MI5012–MI5019) of the findings that are not `ok`. Pure: the lookups are
//! made elsewhere (`crate::lookup`), so every comparison is tested without a
//! network.
//!
//! The rules, each with its source in `docs/aws-behaviours.md`: a TXT record's
//! strings are joined with nothing between them before they are read (RFC 7208
//! §3.3, RFC 6376 §3.6.2.2); a name with more than one SPF record
//! (`v=spf1 …`) is a permanent error for every receiver (RFC 7208 §3.2, §4.5);
//! more than one DMARC record at `_dmarc` means no DMARC policy at all (RFC
//! 7489 §6.6.3); records at `_dmarc` that do not start with `v=DMARC1` are
//! not DMARC records and are ignored. A custom MAIL FROM domain works once SES
//! finds its MX record naming the region's feedback endpoint; an SPF record
//! there authorises SES when it includes `amazonses.com`. A resolver follows a
//! CNAME at a name asked for TXT or MX, so a CNAME whose target holds the
//! right value works; one that does not is a finding of its own. A lookup
//! that fails says so: the record's state is unknown, not missing.

use crate::diag::{Code, Diagnostic};
use crate::dns::txt;

/// One record the topology needs.
#[derive(Clone, Debug)]
pub(crate) struct Needed {
    /// The zone's apex and spec pointer.
    pub zone: String,
    pub zone_ptr: String,
    /// Whether mailinfra deploys it (a Route 53 zone) or you publish it.
    pub deployed: bool,
    pub name: String,
    pub rtype: &'static str,
    /// As `mailinfra dns` shows them: a CNAME target, `10 host` for MX, TXT
    /// in Route 53's quoted form.
    pub values: Vec<String>,
    pub purpose: String,
    /// Spec pointer of the element that needs it.
    pub owner: String,
    pub region: String,
    /// Index into `model.identities`, when it belongs to an identity.
    pub identity: Option<usize>,
    /// Whether the name or a value is known only after deploy (a placeholder).
    pub unknown: bool,
}

/// The data of one published record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rdata {
    Cname(String),
    Mx(u16, String),
    /// The record's strings, as published.
    Txt(Vec<Vec<u8>>),
    /// Any other type, as presented.
    Other(String, String),
}

/// What the resolver said for one name and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The name exists; the records of the answer (those of the type asked
    /// for, and the CNAMEs the resolver followed), each with its owner name.
    /// Empty: the name has no record of that type.
    Records(Vec<(String, Rdata)>),
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// No answer: a timeout, SERVFAIL, REFUSED, a network error.
    Failed(String),
}

/// The verdict on one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Missing,
    Differs,
    DuplicateSpf,
    DuplicateDmarc,
    Cname,
    NoZone,
    LookupFailed,
    Unknown,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Differs => "differs",
            Status::DuplicateSpf => "duplicate SPF",
            Status::DuplicateDmarc => "duplicate DMARC",
            Status::Cname => "CNAME instead",
            Status::NoZone => "no zone",
            Status::LookupFailed => "lookup failed",
            Status::Unknown => "not checked",
        }
    }

    /// The name JSON uses: `ok`, `missing`, `duplicate_spf`, …
    pub(crate) fn key(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Differs => "differs",
            Status::DuplicateSpf => "duplicate_spf",
            Status::DuplicateDmarc => "duplicate_dmarc",
            Status::Cname => "cname",
            Status::NoZone => "no_zone",
            Status::LookupFailed => "lookup_failed",
            Status::Unknown => "unknown",
        }
    }
}

/// One needed record, what is published, and the verdict.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub needed: Needed,
    /// The published values, shown like [`Needed::values`].
    pub published: Vec<String>,
    pub status: Status,
    /// Why, in words (empty when `ok` needs no words).
    pub detail: String,
    /// SES's own status of what the record is for (DKIM or MAIL FROM), in
    /// the record's region, when SES was read.
    pub ses: Option<String>,
}

/// `Example.COM.` → `example.com`.
pub(crate) fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn show(r: &Rdata) -> String {
    match r {
        Rdata::Cname(t) => norm(t),
        Rdata::Mx(p, h) => format!("{p} {}", norm(h)),
        Rdata::Txt(s) => txt::quoted(s),
        Rdata::Other(t, v) => format!("{t} {v}"),
    }
}

/// What a TXT record's strings say, joined (RFC 7208 §3.3).
fn joined(strings: &[Vec<u8>]) -> String {
    String::from_utf8_lossy(&strings.concat()).into_owned()
}

/// The text a needed TXT value stands for.
fn text_of(value: &str) -> String {
    txt::strings(value).map_or_else(|| value.to_string(), |s| joined(&s))
}

fn is_spf(text: &str) -> bool {
    // RFC 7208 §4.5: exactly `v=spf1`, then a space or the end, any case.
    let t = text.trim_start();
    t.len() >= 6
        && t[..6].eq_ignore_ascii_case("v=spf1")
        && t[6..].chars().next().is_none_or(|c| c == ' ')
}

fn is_dmarc(text: &str) -> bool {
    // RFC 7489 §6.6.3: records that do not start with `v=DMARC1` are discarded.
    let t = text.trim_start();
    t.strip_prefix('v')
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('='))
        .map(str::trim_start)
        .is_some_and(|r| r.starts_with("DMARC1"))
}

/// `tag=value` pairs of a DKIM or DMARC record, tags lowercased, values
/// trimmed, in order.
fn tags(text: &str) -> Vec<(String, String)> {
    text.split(';')
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// The verdict on one record from the resolver's answer.
pub(crate) fn judge(needed: Needed, answer: &Answer) -> Finding {
    let finding = |published, status, detail: String| Finding {
        needed: needed.clone(),
        published,
        status,
        detail,
        ses: None,
    };
    if needed.unknown {
        return finding(
            Vec::new(),
            Status::Unknown,
            "known only after deploy".into(),
        );
    }
    let records = match answer {
        Answer::Failed(why) => return finding(Vec::new(), Status::LookupFailed, why.clone()),
        Answer::NxDomain => {
            return finding(
                Vec::new(),
                Status::Missing,
                "the name does not exist (NXDOMAIN)".into(),
            );
        }
        Answer::Records(r) => r,
    };
    let name = norm(&needed.name);
    // The CNAME at the name itself, when the resolver followed one.
    let alias = records.iter().find_map(|(owner, r)| match r {
        Rdata::Cname(t) if norm(owner) == name => Some(norm(t)),
        _ => None,
    });
    let (status, published, detail) = match needed.rtype {
        "CNAME" => judge_cname(&needed, records),
        "MX" => judge_mx(&needed, records),
        "TXT" => judge_txt(&needed, records),
        _ => judge_plain(&needed, records),
    };
    let (status, detail) = match (&alias, status) {
        (Some(target), Status::Ok) if needed.rtype != "CNAME" => {
            (Status::Ok, format!("through a CNAME to `{target}`"))
        }
        (Some(target), Status::Missing | Status::Differs) if needed.rtype != "CNAME" => (
            Status::Cname,
            format!(
                "a CNAME to `{target}`, which has no matching {}",
                needed.rtype
            ),
        ),
        (_, s) => (s, detail),
    };
    let published = match (&alias, published.is_empty()) {
        (Some(target), true) if needed.rtype != "CNAME" => vec![format!("CNAME {target}")],
        _ => published,
    };
    finding(published, status, detail)
}

type Verdict = (Status, Vec<String>, String);

fn of_type<'a>(
    records: &'a [(String, Rdata)],
    name: &str,
    pick: impl Fn(&Rdata) -> bool + 'a,
) -> impl Iterator<Item = &'a Rdata> + 'a {
    let name = name.to_string();
    records.iter().filter_map(move |(owner, r)| {
        // Records of the CNAME's target answer for the name; any other owner
        // is the resolver's business.
        (pick(r) && (norm(owner) == name || !matches!(r, Rdata::Cname(_)))).then_some(r)
    })
}

fn judge_cname(needed: &Needed, records: &[(String, Rdata)]) -> Verdict {
    let name = norm(&needed.name);
    let have: Vec<String> = records
        .iter()
        .filter(|(owner, r)| matches!(r, Rdata::Cname(_)) && norm(owner) == name)
        .map(|(_, r)| show(r))
        .collect();
    let want: Vec<String> = needed.values.iter().map(|v| norm(v)).collect();
    if have.is_empty() {
        let other: Vec<String> = records.iter().map(|(_, r)| show(r)).collect();
        let detail = if other.is_empty() {
            "no CNAME record at the name".to_string()
        } else {
            "no CNAME record at the name, other records instead".to_string()
        };
        return (Status::Missing, other, detail);
    }
    if have == want {
        (Status::Ok, have, String::new())
    } else {
        let detail = format!("points to `{}`", have.join("`, `"));
        (Status::Differs, have, detail)
    }
}

fn parse_mx(v: &str) -> Option<(u16, String)> {
    let (p, h) = v.split_once(' ')?;
    Some((p.trim().parse().ok()?, norm(h.trim())))
}

fn judge_mx(needed: &Needed, records: &[(String, Rdata)]) -> Verdict {
    let mut have: Vec<(u16, String)> =
        of_type(records, &norm(&needed.name), |r| matches!(r, Rdata::Mx(..)))
            .filter_map(|r| match r {
                Rdata::Mx(p, h) => Some((*p, norm(h))),
                _ => None,
            })
            .collect();
    have.sort();
    have.dedup();
    let published: Vec<String> = have.iter().map(|(p, h)| format!("{p} {h}")).collect();
    if have.is_empty() {
        return (Status::Missing, published, "no MX record".into());
    }
    let mut want: Vec<(u16, String)> = needed.values.iter().filter_map(|v| parse_mx(v)).collect();
    want.sort();
    if have == want {
        return (Status::Ok, published, String::new());
    }
    let mut parts = Vec::new();
    for (p, h) in &want {
        match have.iter().find(|(_, hh)| hh == h) {
            Some((hp, _)) if hp != p => parts.push(format!("`{h}` has priority {hp}, not {p}")),
            Some(_) => {}
            None => parts.push(format!("`{p} {h}` is missing")),
        }
    }
    for (p, h) in &have {
        if !want.iter().any(|(_, wh)| wh == h) {
            parts.push(format!("`{p} {h}` is not the spec's"));
        }
    }
    (Status::Differs, published, parts.join("; "))
}

fn txts<'a>(records: &'a [(String, Rdata)], name: &str) -> Vec<&'a Vec<Vec<u8>>> {
    of_type(records, name, |r| matches!(r, Rdata::Txt(_)))
        .filter_map(|r| match r {
            Rdata::Txt(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn judge_txt(needed: &Needed, records: &[(String, Rdata)]) -> Verdict {
    let all = txts(records, &norm(&needed.name));
    let want = needed
        .values
        .first()
        .map(|v| text_of(v))
        .unwrap_or_default();
    let shown = |r: &[&Vec<Vec<u8>>]| r.iter().map(|s| txt::quoted(s)).collect::<Vec<_>>();
    if is_spf(&want) {
        let spf: Vec<&Vec<Vec<u8>>> = all.iter().copied().filter(|s| is_spf(&joined(s))).collect();
        return match spf.as_slice() {
            [] => (
                Status::Missing,
                shown(&all),
                "no SPF record (`v=spf1 …`)".into(),
            ),
            [one] => {
                let text = joined(one);
                let authorises = text.split_whitespace().any(|t| {
                    t.trim_start_matches(['+', '~', '?'])
                        .eq_ignore_ascii_case("include:amazonses.com")
                });
                if authorises {
                    (Status::Ok, shown(&spf), String::new())
                } else {
                    (
                        Status::Differs,
                        shown(&spf),
                        "the SPF record does not include `amazonses.com`".into(),
                    )
                }
            }
            many => (
                Status::DuplicateSpf,
                shown(many),
                format!("{} SPF records", many.len()),
            ),
        };
    }
    if is_dmarc(&want) {
        let dmarc: Vec<&Vec<Vec<u8>>> = all
            .iter()
            .copied()
            .filter(|s| is_dmarc(&joined(s)))
            .collect();
        return match dmarc.as_slice() {
            [] => (
                Status::Missing,
                shown(&all),
                "no DMARC record (`v=DMARC1; …`)".into(),
            ),
            [one] => {
                let (have, want) = (tags(&joined(one)), tags(&want));
                if have == want {
                    (Status::Ok, shown(&dmarc), String::new())
                } else {
                    (Status::Differs, shown(&dmarc), tag_difference(&have, &want))
                }
            }
            many => (
                Status::DuplicateDmarc,
                shown(many),
                format!("{} DMARC records", many.len()),
            ),
        };
    }
    if let Some(key) = tags(&want)
        .into_iter()
        .find(|(k, _)| k == "p")
        .map(|(_, v)| v)
    {
        // A DKIM key record: the `p=` tag is what a verifier reads; `v=DKIM1`
        // and `k=rsa` may be there or not (RFC 6376 §3.6.1).
        let p_of = |s: &Vec<Vec<u8>>| {
            tags(&joined(s))
                .into_iter()
                .find(|(k, _)| k == "p")
                .map(|(_, v)| v.split_whitespace().collect::<String>())
        };
        if all.iter().any(|s| p_of(s).as_deref() == Some(key.as_str())) {
            return (Status::Ok, shown(&all), String::new());
        }
        return if all.is_empty() {
            (Status::Missing, Vec::new(), "no TXT record".into())
        } else {
            (
                Status::Differs,
                shown(&all),
                "no TXT record has the spec's public key (`p=`)".into(),
            )
        };
    }
    if all.iter().any(|s| joined(s) == want) {
        (Status::Ok, shown(&all), String::new())
    } else if all.is_empty() {
        (Status::Missing, Vec::new(), "no TXT record".into())
    } else {
        (Status::Differs, shown(&all), String::new())
    }
}

/// `p=reject` where the spec says `quarantine`, `rua` missing, …
fn tag_difference(have: &[(String, String)], want: &[(String, String)]) -> String {
    let get = |tags: &[(String, String)], k: &str| {
        tags.iter().find(|(t, _)| t == k).map(|(_, v)| v.clone())
    };
    let mut parts = Vec::new();
    for (k, v) in want {
        match get(have, k) {
            Some(h) if h == *v => {}
            Some(h) => parts.push(format!("`{k}={h}`, not `{k}={v}`")),
            None => parts.push(format!("no `{k}=` (the spec says `{k}={v}`)")),
        }
    }
    for (k, v) in have {
        if get(want, k).is_none() {
            parts.push(format!("`{k}={v}` is not the spec's"));
        }
    }
    if parts.is_empty() {
        "the tags are in another order".into()
    } else {
        parts.join("; ")
    }
}

fn judge_plain(needed: &Needed, records: &[(String, Rdata)]) -> Verdict {
    let have: Vec<String> = records.iter().map(|(_, r)| show(r)).collect();
    if have.is_empty() {
        (Status::Missing, have, String::new())
    } else if needed.values.iter().all(|v| have.contains(v)) {
        (Status::Ok, have, String::new())
    } else {
        (Status::Differs, have, String::new())
    }
}

/// What the record needs, as a zone file line: `name. TYPE value`.
fn wanted(n: &Needed) -> String {
    let values: Vec<String> = n
        .values
        .iter()
        .map(|v| match n.rtype {
            "TXT" => txt::zone_value(v),
            _ => v.clone(),
        })
        .collect();
    format!("{}. {} {}", n.name, n.rtype, values.join(" / "))
}

fn where_to_publish(n: &Needed) -> String {
    if n.deployed {
        format!(
            "mailinfra deploys it to the Route 53 zone `{}`: run `mailinfra apply` (a record changed or removed by hand shows as drift in `mailinfra check --live`)",
            n.zone
        )
    } else {
        format!(
            "publish it at the DNS provider of `{}` (`mailinfra dns` lists every record)",
            n.zone
        )
    }
}

/// The diagnostic of a finding that is not `ok` (none for `no zone`: the
/// zone's own diagnostic says it once, [`zone_missing`]).
pub(crate) fn diagnostic(f: &Finding) -> Option<Diagnostic> {
    let n = &f.needed;
    let what = format!("{} record `{}` ({})", n.rtype, n.name, n.purpose);
    let published = f.published.join(" / ");
    let d = match f.status {
        Status::Ok | Status::NoZone => return None,
        Status::Missing => Diagnostic::error(Code::MI5012, format!("{what} is not published"))
            .help(format!("{}: `{}`; {}", detail_or(&f.detail, "it needs"), wanted(n), where_to_publish(n))),
        Status::Differs => Diagnostic::error(
            Code::MI5013,
            format!("{what} is `{published}`, not the value the spec needs"),
        )
        .help(format!("{}: it needs `{}`; {}", detail_or(&f.detail, "the values differ"), wanted(n), where_to_publish(n))),
        Status::DuplicateSpf => Diagnostic::error(
            Code::MI5014,
            format!("`{}` has {} SPF records: `{published}`", n.name, f.published.len()),
        )
        .help(format!(
            "receivers treat more than one `v=spf1` record at a name as a permanent error (RFC 7208 §4.5), so SPF fails for every message from `{}`: merge them into one record that includes `amazonses.com`",
            n.name
        )),
        Status::DuplicateDmarc => Diagnostic::error(
            Code::MI5015,
            format!("`{}` has {} DMARC records: `{published}`", n.name, f.published.len()),
        )
        .help(format!(
            "with more than one `v=DMARC1` record receivers apply no DMARC policy at all (RFC 7489 §6.6.3): keep only `{}`",
            wanted(n)
        )),
        Status::Cname => Diagnostic::error(
            Code::MI5016,
            format!("`{}` is {}, where a {} record is needed ({})", n.name, f.detail, n.rtype, n.purpose),
        )
        .help(format!(
            "a CNAME cannot sit beside other records at its name (RFC 1034 §3.6.2): remove it and publish `{}`; {}",
            wanted(n),
            where_to_publish(n)
        )),
        Status::LookupFailed => Diagnostic::error(
            Code::MI5018,
            format!("cannot look up {what}: {}", f.detail),
        )
        .help("its state is unknown, not missing: check the resolver (`--dns-server`, `MAILINFRA_DNS_SERVER`) and the network, then run `mailinfra check --dns` again"),
        Status::Unknown => Diagnostic::error(
            Code::MI5019,
            format!("{} `{}` ({}) cannot be checked offline: its name or value is known only after deploy", n.rtype, n.name, n.purpose),
        )
        .help("run `mailinfra check --dns --live` to read the values from the deployed stacks"),
    };
    Some(d.path(&n.owner))
}

/// One MI5019 for records of one element and region that cannot be checked
/// offline (an Easy DKIM identity's three CNAMEs), in their order.
pub(crate) fn unknown_group(group: &[&Finding]) -> Option<Diagnostic> {
    match group {
        [] => None,
        [one] => diagnostic(one),
        [first, ..] => {
            let purposes: Vec<&str> = group.iter().map(|f| f.needed.purpose.as_str()).collect();
            let names: Vec<String> = group
                .iter()
                .map(|f| format!("`{}`", f.needed.name))
                .collect();
            Some(
                Diagnostic::error(
                    Code::MI5019,
                    format!(
                        "{} records ({}) cannot be checked offline: their names or values are known only after deploy ({})",
                        group.len(),
                        purposes.join(", "),
                        names.join(", ")
                    ),
                )
                .help("run `mailinfra check --dns --live` to read the values from the deployed stacks")
                .path(&first.needed.owner),
            )
        }
    }
}

fn detail_or<'a>(detail: &'a str, default: &'a str) -> &'a str {
    if detail.is_empty() { default } else { detail }
}

/// The zone `apex` does not exist in DNS.
pub(crate) fn zone_missing(apex: &str, ptr: &str, deployed: bool) -> Diagnostic {
    let how = if deployed {
        "the domain's registrar must delegate it to the name servers of the Route 53 hosted zone (the zone's NS record)"
    } else {
        "register the domain, or delegate it to the name servers of its DNS provider"
    };
    Diagnostic::error(
        Code::MI5017,
        format!("zone `{apex}` does not exist in DNS (NXDOMAIN), so none of its records resolve"),
    )
    .key_path(ptr)
    .help(how)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needed(name: &str, rtype: &'static str, values: &[&str]) -> Needed {
        Needed {
            zone: "example.com".into(),
            zone_ptr: "/dns/example.com".into(),
            deployed: false,
            name: name.into(),
            rtype,
            values: values.iter().map(|v| v.to_string()).collect(),
            purpose: "test".into(),
            owner: "/identities/example.com".into(),
            region: "us-east-1".into(),
            identity: Some(0),
            unknown: false,
        }
    }

    fn txt_rr(name: &str, strings: &[&str]) -> (String, Rdata) {
        (
            name.into(),
            Rdata::Txt(strings.iter().map(|s| s.as_bytes().to_vec()).collect()),
        )
    }

    fn spf_needed() -> Needed {
        needed(
            "bounce.example.com",
            "TXT",
            &["\"v=spf1 include:amazonses.com ~all\""],
        )
    }

    fn status(n: Needed, a: &Answer) -> (Status, String) {
        let f = judge(n, a);
        (f.status, f.detail)
    }

    #[test]
    fn an_spf_record_split_across_strings_is_joined_without_spaces() {
        let a = Answer::Records(vec![
            txt_rr(
                "bounce.example.com",
                &["v=spf1 include:amazon", "ses.com ~all"],
            ),
            txt_rr("bounce.example.com", &["google-site-verification=abc"]),
        ]);
        assert_eq!(status(spf_needed(), &a).0, Status::Ok);
        // Another SPF record that still includes SES authorises it.
        let a = Answer::Records(vec![txt_rr(
            "bounce.example.com",
            &["v=spf1 include:amazonses.com include:_spf.example.net -all"],
        )]);
        assert_eq!(status(spf_needed(), &a).0, Status::Ok);
    }

    #[test]
    fn two_spf_records_are_a_duplicate_and_one_without_ses_differs() {
        let a = Answer::Records(vec![
            txt_rr("bounce.example.com", &["v=spf1 include:amazonses.com ~all"]),
            txt_rr("bounce.example.com", &["V=SPF1 mx -all"]),
        ]);
        let f = judge(spf_needed(), &a);
        assert_eq!(f.status, Status::DuplicateSpf);
        let d = diagnostic(&f).unwrap();
        assert_eq!(d.code, Code::MI5014);
        assert!(
            d.message
                .starts_with("`bounce.example.com` has 2 SPF records"),
            "{}",
            d.message
        );
        assert!(d.help.unwrap().contains("RFC 7208 §4.5"));
        let a = Answer::Records(vec![txt_rr("bounce.example.com", &["v=spf1 mx -all"])]);
        let f = judge(spf_needed(), &a);
        assert_eq!(f.status, Status::Differs);
        assert_eq!(diagnostic(&f).unwrap().code, Code::MI5013);
        // `v=spf10` is not an SPF record: none is published.
        let a = Answer::Records(vec![txt_rr("bounce.example.com", &["v=spf10 x"])]);
        assert_eq!(status(spf_needed(), &a).0, Status::Missing);
    }

    fn dmarc_needed() -> Needed {
        needed(
            "_dmarc.example.com",
            "TXT",
            &["\"v=DMARC1; p=quarantine; rua=mailto:d@example.com\""],
        )
    }

    #[test]
    fn dmarc_compares_tags_and_refuses_a_second_record() {
        let ok = Answer::Records(vec![
            txt_rr(
                "_dmarc.example.com",
                &["v=DMARC1;p=quarantine;  rua=mailto:d@example.com"],
            ),
            // Not a DMARC record: discarded (RFC 7489 §6.6.3).
            txt_rr("_dmarc.example.com", &["some other text"]),
        ]);
        assert_eq!(status(dmarc_needed(), &ok).0, Status::Ok);
        let differs = Answer::Records(vec![txt_rr(
            "_dmarc.example.com",
            &["v=DMARC1; p=none; ruf=mailto:f@example.com"],
        )]);
        let (s, detail) = status(dmarc_needed(), &differs);
        assert_eq!(s, Status::Differs);
        assert_eq!(
            detail,
            "`p=none`, not `p=quarantine`; no `rua=` (the spec says `rua=mailto:d@example.com`); `ruf=mailto:f@example.com` is not the spec's"
        );
        let two = Answer::Records(vec![
            txt_rr(
                "_dmarc.example.com",
                &["v=DMARC1; p=quarantine; rua=mailto:d@example.com"],
            ),
            txt_rr("_dmarc.example.com", &["v=DMARC1; p=reject"]),
        ]);
        let f = judge(dmarc_needed(), &two);
        assert_eq!(f.status, Status::DuplicateDmarc);
        assert_eq!(diagnostic(&f).unwrap().code, Code::MI5015);
    }

    fn mx_needed() -> Needed {
        needed(
            "bounce.example.com",
            "MX",
            &["10 feedback-smtp.us-east-1.amazonses.com"],
        )
    }

    #[test]
    fn mx_priority_target_and_extra_values_are_named() {
        let mx = |p, h: &str| ("bounce.example.com".to_string(), Rdata::Mx(p, h.into()));
        let ok = Answer::Records(vec![mx(10, "Feedback-SMTP.us-east-1.amazonses.com.")]);
        assert_eq!(status(mx_needed(), &ok).0, Status::Ok);
        let a = Answer::Records(vec![
            mx(20, "feedback-smtp.us-east-1.amazonses.com"),
            mx(10, "feedback-smtp.eu-west-1.amazonses.com"),
        ]);
        let (s, detail) = status(mx_needed(), &a);
        assert_eq!(s, Status::Differs);
        assert_eq!(
            detail,
            "`feedback-smtp.us-east-1.amazonses.com` has priority 20, not 10; `10 feedback-smtp.eu-west-1.amazonses.com` is not the spec's"
        );
        let a = Answer::Records(vec![mx(10, "mx.other.example")]);
        assert!(
            status(mx_needed(), &a)
                .1
                .contains("`10 feedback-smtp.us-east-1.amazonses.com` is missing")
        );
    }

    #[test]
    fn a_cname_where_a_txt_is_needed_is_its_own_finding_unless_its_target_matches() {
        let cname = (
            "_dmarc.example.com".to_string(),
            Rdata::Cname("dmarc.vendor.example.".into()),
        );
        let f = judge(dmarc_needed(), &Answer::Records(vec![cname.clone()]));
        assert_eq!(f.status, Status::Cname);
        assert_eq!(f.published, ["CNAME dmarc.vendor.example"]);
        let d = diagnostic(&f).unwrap();
        assert_eq!(d.code, Code::MI5016);
        assert_eq!(
            d.message,
            "`_dmarc.example.com` is a CNAME to `dmarc.vendor.example`, which has no matching TXT, where a TXT record is needed (test)"
        );
        let followed = Answer::Records(vec![
            cname,
            txt_rr(
                "dmarc.vendor.example",
                &["v=DMARC1; p=quarantine; rua=mailto:d@example.com"],
            ),
        ]);
        let (s, detail) = status(dmarc_needed(), &followed);
        assert_eq!(s, Status::Ok);
        assert_eq!(detail, "through a CNAME to `dmarc.vendor.example`");
    }

    #[test]
    fn dkim_cnames_and_keys() {
        let n = needed(
            "t1._domainkey.example.com",
            "CNAME",
            &["t1.dkim.amazonses.com"],
        );
        let a = Answer::Records(vec![(
            "t1._domainkey.example.com.".into(),
            Rdata::Cname("T1.dkim.amazonses.com.".into()),
        )]);
        assert_eq!(status(n.clone(), &a).0, Status::Ok);
        let wrong = Answer::Records(vec![(
            "t1._domainkey.example.com".into(),
            Rdata::Cname("t9.dkim.amazonses.com".into()),
        )]);
        assert_eq!(
            status(n.clone(), &wrong),
            (Status::Differs, "points to `t9.dkim.amazonses.com`".into())
        );
        assert_eq!(status(n, &Answer::Records(vec![])).0, Status::Missing);
        let key = needed(
            "s1._domainkey.example.com",
            "TXT",
            &["\"p=MIIBabc\" \"def\""],
        );
        let a = Answer::Records(vec![txt_rr(
            "s1._domainkey.example.com",
            &["v=DKIM1; k=rsa; p=MIIB", "abcdef"],
        )]);
        assert_eq!(status(key.clone(), &a).0, Status::Ok);
        let a = Answer::Records(vec![txt_rr(
            "s1._domainkey.example.com",
            &["v=DKIM1; p=other"],
        )]);
        assert_eq!(status(key, &a).0, Status::Differs);
    }

    #[test]
    fn nxdomain_is_missing_a_failed_lookup_is_not_and_placeholders_are_unknown() {
        let f = judge(mx_needed(), &Answer::NxDomain);
        assert_eq!(f.status, Status::Missing);
        let d = diagnostic(&f).unwrap();
        assert_eq!(d.code, Code::MI5012);
        assert_eq!(
            d.message,
            "MX record `bounce.example.com` (test) is not published"
        );
        assert_eq!(
            d.help.as_deref(),
            Some(
                "the name does not exist (NXDOMAIN): `bounce.example.com. MX 10 feedback-smtp.us-east-1.amazonses.com`; publish it at the DNS provider of `example.com` (`mailinfra dns` lists every record)"
            )
        );
        assert_eq!(d.path, "/identities/example.com");
        let f = judge(mx_needed(), &Answer::Failed("request timed out".into()));
        assert_eq!(f.status, Status::LookupFailed);
        let d = diagnostic(&f).unwrap();
        assert_eq!(d.code, Code::MI5018);
        assert_eq!(
            d.message,
            "cannot look up MX record `bounce.example.com` (test): request timed out"
        );
        let mut n = mx_needed();
        n.unknown = true;
        let f = judge(n, &Answer::Failed("not asked".into()));
        assert_eq!(f.status, Status::Unknown);
        assert_eq!(diagnostic(&f).unwrap().code, Code::MI5019);
        assert_eq!(
            zone_missing("example.com", "/dns/example.com", true).code,
            Code::MI5017
        );
    }
}
