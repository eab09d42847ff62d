//! One condition against one message: the three-valued answer (yes, no,
//! unknown) with a sentence saying why, by the operators' documented
//! semantics (docs/aws-behaviours.md, entries on Mail Manager conditions).

use std::net::IpAddr;

use crate::spec::{
    AnalysisTest, AuthVerdict, DmarcValue, IpTest, PolicyCondition, RuleCondition, SizeTest,
    StringTest, TlsTest, VerdictValues,
};
use crate::values::{Family, parse_cidr};

use super::{Message, Tls, Tri};

/// A condition's answer and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Answer {
    pub result: Tri,
    pub why: String,
}

fn ans(result: Tri, why: impl Into<String>) -> Answer {
    Answer {
        result,
        why: why.into(),
    }
}

fn unknown(why: impl Into<String>) -> Answer {
    ans(Tri::Unknown, why)
}

/// A string operator over one value: (exact, ignoring case).
fn op_holds(op: &str, have: &str, want: &str) -> (bool, bool) {
    let f = |a: &str, b: &str| match op {
        "EQUALS" | "NOT_EQUALS" => a == b,
        "STARTS_WITH" => a.starts_with(b),
        "ENDS_WITH" => a.ends_with(b),
        _ => a.contains(b),
    };
    (
        f(have, want),
        f(&have.to_ascii_lowercase(), &want.to_ascii_lowercase()),
    )
}

/// A string test against a value: any value matches (OR), except
/// `not_equals`, which matches when none equals. A result that changes with
/// letter case is unknown: AWS does not document whether matching folds case.
pub(crate) fn string_test(what: &str, have: Option<&str>, t: &StringTest) -> Answer {
    let ops = t.operators();
    let Some((op, values)) = ops.first() else {
        return unknown("the test has no operator");
    };
    let Some(have) = have else {
        return if *op == "NOT_EQUALS" {
            unknown(format!(
                "{what} is absent; AWS does not document how `not_equals` treats a missing value"
            ))
        } else {
            ans(Tri::No, format!("{what} is absent"))
        };
    };
    let (exact, folded) = values
        .iter()
        .map(|v| op_holds(op, have, v))
        .fold((false, false), |(a, b), (x, y)| (a || x, b || y));
    let negate = *op == "NOT_EQUALS";
    let list = values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let name = op.to_ascii_lowercase();
    if exact != folded {
        return unknown(format!(
            "{what} `{have}` {name} {list} only when letter case is ignored, which AWS does not document"
        ));
    }
    let holds = exact != negate;
    let any = if values.len() > 1 { " one of" } else { "" };
    ans(
        Tri::from(holds),
        format!("{what} `{have}` {}{any} {list}", op_phrase(op, exact)),
    )
}

fn op_phrase(op: &str, hit: bool) -> &'static str {
    match (op, hit) {
        ("EQUALS" | "NOT_EQUALS", true) => "equals",
        ("EQUALS" | "NOT_EQUALS", false) => "does not equal",
        ("STARTS_WITH", true) => "starts with",
        ("STARTS_WITH", false) => "does not start with",
        ("ENDS_WITH", true) => "ends with",
        ("ENDS_WITH", false) => "does not end with",
        (_, true) => "contains",
        (_, false) => "does not contain",
    }
}

/// CIDR ranges: `in` matches when the address is in any range, `not` when it
/// is in none.
pub(crate) fn ip_test(
    what: &str,
    have: Option<IpAddr>,
    t: &IpTest,
    family: Option<Family>,
) -> Answer {
    let (negated, ranges) = t.parts();
    let Some(ip) = have else {
        return unknown(format!("{what} not given (`--sender-ip`)"));
    };
    match (family, ip) {
        (Some(Family::V4), IpAddr::V6(_)) => {
            return unknown(format!("{what} `{ip}` is IPv6; this condition tests IPv4"));
        }
        (Some(Family::V6), IpAddr::V4(_)) => {
            return unknown(format!("{what} `{ip}` is IPv4; this condition tests IPv6"));
        }
        _ => {}
    }
    if let Some(bad) = ranges.iter().find(|r| parse_cidr(r, Family::Any).is_err()) {
        return unknown(format!("`{bad}` is not a CIDR block (an error of its own)"));
    }
    let hit = ranges
        .iter()
        .find(|r| parse_cidr(r, Family::Any).is_ok_and(|n| n.contains(&ip)));
    let holds = hit.is_some() != negated;
    let why = match hit {
        Some(r) => format!("{what} `{ip}` is in `{r}`"),
        None => format!("{what} `{ip}` is in none of {}", join(ranges)),
    };
    ans(Tri::from(holds), why)
}

fn join(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The traffic policy's TLS protocol test.
pub(crate) fn tls_test(have: Option<Tls>, t: &TlsTest) -> Answer {
    let Some(tls) = have else {
        return unknown("the TLS version is not given (`--tls`)");
    };
    let version = |v: crate::spec::TlsVersion| match v {
        crate::spec::TlsVersion::Tls12 => Tls::V12,
        crate::spec::TlsVersion::Tls13 => Tls::V13,
    };
    let (holds, op, v) = if let Some(v) = t.min {
        (
            tls != Tls::None && tls >= version(v),
            "at least",
            version(v),
        )
    } else if let Some(v) = t.is {
        (tls == version(v), "exactly", version(v))
    } else if let Some(v) = t.below {
        (tls < version(v), "below", version(v))
    } else {
        return unknown("the test has no operator");
    };
    ans(
        Tri::from(holds),
        format!(
            "TLS {} is {}{op} {}",
            tls.label(),
            if holds { "" } else { "not " },
            v.label()
        ),
    )
}

fn verdict_name(v: AuthVerdict) -> &'static str {
    match v {
        AuthVerdict::Pass => "pass",
        AuthVerdict::Fail => "fail",
        AuthVerdict::Gray => "gray",
        AuthVerdict::ProcessingFailed => "processing_failed",
    }
}

pub(crate) fn dmarc_name(v: DmarcValue) -> &'static str {
    match v {
        DmarcValue::None => "none",
        DmarcValue::Quarantine => "quarantine",
        DmarcValue::Reject => "reject",
    }
}

fn in_list<T: PartialEq + Copy>(
    what: &str,
    have: Option<T>,
    negated: bool,
    list: &[T],
    name: fn(T) -> &'static str,
    flag: &str,
) -> Answer {
    let Some(v) = have else {
        return unknown(format!("the {what} verdict is not given (`{flag}`)"));
    };
    let hit = list.contains(&v);
    let names = list.iter().map(|x| name(*x)).collect::<Vec<_>>().join(", ");
    ans(
        Tri::from(hit != negated),
        format!(
            "{what} is `{}`, {} [{names}]",
            name(v),
            if hit { "one of" } else { "not one of" }
        ),
    )
}

fn boolean(what: &str, have: Option<bool>, want: bool, flag: &str) -> Answer {
    match have {
        None => unknown(format!("{what} is not given (`{flag}`)")),
        Some(b) => ans(
            Tri::from(b == want),
            format!("{what} is {b}, the condition wants {want}"),
        ),
    }
}

fn size_test(have: Option<u64>, t: &SizeTest) -> Answer {
    let Some(size) = have else {
        return unknown("the message size is not given (`--size`)");
    };
    let Some((key, _, limit)) = t.operators().into_iter().next() else {
        return unknown("the test has no operator");
    };
    let Ok(limit) = limit.bytes() else {
        return unknown("the size in the condition is not a size");
    };
    let holds = match key {
        "equals" => size == limit,
        "not_equals" => size != limit,
        "less_than" => size < limit,
        "greater_than" => size > limit,
        "at_most" => size <= limit,
        _ => size >= limit,
    };
    ans(
        Tri::from(holds),
        format!(
            "the size {size} bytes {} {key} {limit} bytes",
            if holds { "is" } else { "is not" }
        ),
    )
}

/// An add-on's analysis result, as given with `--addon NAME=RESULT`.
fn analysis(m: &Message, t: &AnalysisTest) -> Answer {
    let Some(result) = m.addons.get(&t.addon) else {
        return unknown(format!(
            "the result of the add-on `{}` is not known offline (give it with `--addon {}=RESULT`)",
            t.addon, t.addon
        ));
    };
    if let Some(want) = t.is {
        return match result.as_str() {
            "true" | "false" => {
                let b = result == "true";
                ans(
                    Tri::from(b == want),
                    format!(
                        "the add-on `{}` says `{}` is {b}, the condition wants {want}",
                        t.addon, t.field
                    ),
                )
            }
            _ => unknown(format!(
                "the add-on `{}` result `{result}` is not true or false",
                t.addon
            )),
        };
    }
    let verdicts = |v: &VerdictValues| v.as_slice().iter().map(|x| verdict_name(*x)).collect();
    let (negated, list): (bool, Vec<&str>) = match (&t.verdict, &t.not_verdict) {
        (Some(v), _) => (false, verdicts(v)),
        (_, Some(v)) => (true, verdicts(v)),
        _ => {
            return string_test(
                &format!("the add-on `{}` result", t.addon),
                Some(result),
                &t.string_test(),
            );
        }
    };
    let hit = list.contains(&result.as_str());
    ans(
        Tri::from(hit != negated),
        format!(
            "the add-on `{}` verdict `{result}` is {} [{}]",
            t.addon,
            if hit { "one of" } else { "not one of" },
            list.join(", ")
        ),
    )
}

fn address_list(list: &str) -> Answer {
    unknown(format!(
        "membership of the address list `{list}` is not known offline: its members are imported outside the spec"
    ))
}

/// A traffic policy condition, for one envelope recipient.
pub(crate) fn policy(m: &Message, rcpt: &str, c: &PolicyCondition) -> Answer {
    match c {
        PolicyCondition::Recipient(t) => string_test("the recipient", Some(rcpt), t),
        PolicyCondition::SenderIp(t) => ip_test("the sender IP", m.sender_ip, t, Some(Family::V4)),
        PolicyCondition::SenderIpv6(t) => {
            ip_test("the sender IP", m.sender_ip, t, Some(Family::V6))
        }
        PolicyCondition::Tls(t) => tls_test(m.tls, t),
        PolicyCondition::Analysis(_) if m.sender_ip.is_some_and(|ip| ip.is_ipv6()) => unknown(
            "AWS does not evaluate add-on conditions for mail received over IPv6, and does not say what the statement does then",
        ),
        PolicyCondition::Analysis(t) => analysis(m, t),
        PolicyCondition::AddressList(t) => address_list(&t.list),
    }
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn header_test(m: &Message, name: &str, t: &StringTest) -> Answer {
    string_test(&format!("the `{name}` header"), header(m, name), t)
}

/// A rule condition, for one envelope recipient.
pub(crate) fn rule(m: &Message, rcpt: &str, c: &RuleCondition) -> Answer {
    use RuleCondition as C;
    match c {
        C::MailFrom(t) => match &m.mail_from {
            Some(v) => string_test("MAIL FROM", Some(v), t),
            None => unknown("MAIL FROM is not given (`--mail-from`)"),
        },
        C::Helo(t) => match &m.helo {
            Some(v) => string_test("HELO", Some(v), t),
            None => unknown("HELO is not given (`--helo`)"),
        },
        C::Recipient(t) => string_test("the recipient", Some(rcpt), t),
        C::Sender(t) => header_test(m, "Sender", t),
        C::From(t) => header_test(m, "From", t),
        C::Subject(t) => header_test(m, "Subject", t),
        C::To(t) => header_test(m, "To", t),
        C::Cc(t) => header_test(m, "Cc", t),
        C::MimeHeader(h) => header_test(m, &h.name, &h.test()),
        C::Spf(t) => {
            let (neg, v) = t.parts();
            in_list("SPF", m.spf, neg, v, verdict_name, "--spf")
        }
        C::Dkim(t) => {
            let (neg, v) = t.parts();
            in_list("DKIM", m.dkim, neg, v, verdict_name, "--dkim")
        }
        C::Dmarc(t) => {
            let (neg, v) = t.parts();
            in_list("the DMARC policy", m.dmarc, neg, v, dmarc_name, "--dmarc")
        }
        C::SourceIp(t) => ip_test("the source IP", m.sender_ip, t, None),
        C::Tls(want) => boolean("TLS", m.tls.map(|t| t != Tls::None), *want, "--tls"),
        C::TlsWrapped(want) => boolean("implicit TLS", m.tls_wrapped, *want, "--tls-wrapped"),
        C::ReadReceipt(want) => boolean(
            "a read receipt request",
            m.read_receipt,
            *want,
            "--read-receipt",
        ),
        C::MessageSize(t) => size_test(m.size, t),
        C::Analysis(t) => analysis(m, t),
        C::AddressList(t) => address_list(&t.list),
        C::ClientCertificate(_) => unknown("the client certificate is not known offline"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::OneOrMany;

    fn st(op: &str, v: &str) -> StringTest {
        let one = Some(OneOrMany::One(v.to_string()));
        match op {
            "equals" => StringTest {
                equals: one,
                ..Default::default()
            },
            "not_equals" => StringTest {
                not_equals: one,
                ..Default::default()
            },
            "ends_with" => StringTest {
                ends_with: one,
                ..Default::default()
            },
            _ => StringTest {
                contains: one,
                ..Default::default()
            },
        }
    }

    #[test]
    fn string_operators_follow_the_documented_or_and_not_equals() {
        let r = |op, have, v| string_test("x", Some(have), &st(op, v)).result;
        assert_eq!(r("ends_with", "a@example.com", "@example.com"), Tri::Yes);
        assert_eq!(r("ends_with", "a@example.net", "@example.com"), Tri::No);
        assert_eq!(r("not_equals", "a@b.c", "a@b.c"), Tri::No);
        assert_eq!(r("not_equals", "x@b.c", "a@b.c"), Tri::Yes);
        assert_eq!(
            r("contains", "a@example.com.evil.net", "@example.com"),
            Tri::Yes
        );
        // Case is not documented: a result that depends on it is unknown.
        assert_eq!(r("equals", "A@B.C", "a@b.c"), Tri::Unknown);
        let many = StringTest {
            equals: Some(OneOrMany::Many(vec!["a".into(), "b".into()])),
            ..Default::default()
        };
        assert_eq!(string_test("x", Some("b"), &many).result, Tri::Yes);
        let none = StringTest {
            not_equals: Some(OneOrMany::Many(vec!["a".into(), "b".into()])),
            ..Default::default()
        };
        assert_eq!(string_test("x", Some("b"), &none).result, Tri::No);
        assert_eq!(string_test("x", Some("c"), &none).result, Tri::Yes);
    }

    #[test]
    fn cidr_and_tls_tests() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let t = IpTest::In(OneOrMany::Many(vec![
            "198.51.100.0/24".into(),
            "203.0.113.0/24".into(),
        ]));
        assert_eq!(
            ip_test("ip", Some(ip), &t, Some(Family::V4)).result,
            Tri::Yes
        );
        let n = IpTest::Not(crate::spec::NotIn {
            not: OneOrMany::One("203.0.113.0/24".into()),
        });
        assert_eq!(
            ip_test("ip", Some(ip), &n, Some(Family::V4)).result,
            Tri::No
        );
        assert_eq!(ip_test("ip", None, &n, None).result, Tri::Unknown);
        let min = TlsTest {
            min: Some(crate::spec::TlsVersion::Tls12),
            ..Default::default()
        };
        assert_eq!(tls_test(Some(Tls::V13), &min).result, Tri::Yes);
        assert_eq!(tls_test(Some(Tls::None), &min).result, Tri::No);
        let is = TlsTest {
            is: Some(crate::spec::TlsVersion::Tls12),
            ..Default::default()
        };
        assert_eq!(tls_test(Some(Tls::V13), &is).result, Tri::No);
    }

    #[test]
    fn an_addon_result_not_given_is_unknown() {
        let t = AnalysisTest {
            addon: "spamhaus".into(),
            field: "addon.spamhaus_dbl_listed".into(),
            is: Some(true),
            equals: None,
            not_equals: None,
            starts_with: None,
            ends_with: None,
            contains: None,
            verdict: None,
            not_verdict: None,
        };
        let mut m = Message::default();
        assert_eq!(analysis(&m, &t).result, Tri::Unknown);
        m.addons.insert("spamhaus".into(), "true".into());
        assert_eq!(analysis(&m, &t).result, Tri::Yes);
    }
}
