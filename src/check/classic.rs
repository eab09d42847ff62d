//! Semantic rules for classic SES receiving (`receiving:`): at most one active
//! receipt rule set, bucket, topic, rule set and rule names, rule recipients,
//! the rule set an active one may replace, and the buckets, topics and bounce
//! senders receipt actions name. Codes MI3319–MI3322, and MI3003, MI3312 and
//! MI3314, which other rules share;
//! dangling names are MI2001. The region and MX domains of classic receiving
//! are judged with Mail Manager's in `receiving`.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic, suggest};
use crate::model::Model;
use crate::model::receiving::{Classic, ReceiptRuleSet};
use crate::spec::{ReceiptAction, ReceiptRule};
use crate::values::{self, domain_problem};

use super::receiving::{dangling, rule_name_problem, topic_dangling, topic_ok};

/// Every classic receiving rule, run after the Mail Manager ones.
pub(super) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    let Some(c) = &m.receiving else { return };
    one_active_rule_set(c, out);
    bucket_names(m, c, out);
    topic_names(c, out);
    let buckets: Vec<&str> = c.buckets.iter().map(|b| b.name.as_str()).collect();
    for rs in &c.rule_sets {
        rule_set_name(m, rs, out);
        replaces(m, rs, out);
        let mut seen: BTreeMap<&str, String> = BTreeMap::new();
        for (i, rule) in rs.rules.iter().enumerate() {
            let rptr = format!("{}/rules/{i}", rs.ptr);
            rule_name(rule, &rptr, &mut seen, out);
            recipients(rule, &rptr, out);
            actions(m, &buckets, rule, &rptr, out);
        }
    }
}

/// SES allows one active receipt rule set per region.
fn one_active_rule_set(c: &Classic, out: &mut Vec<Diagnostic>) {
    let active: Vec<_> = c.rule_sets.iter().filter(|r| r.active).collect();
    if active.len() > 1 {
        out.push(
            Diagnostic::error(
                Code::MI3319,
                format!(
                    "{} receipt rule sets are active in `{}`; SES allows one",
                    active.len(),
                    c.region
                ),
            )
            .key_path(&active[1].ptr)
            .related_path(active[0].ptr.clone(), "also active")
            .help("set `active: false` on all but one rule set, or merge their rules"),
        );
    }
}

/// Buckets are named `<project>-<name>-<account>-<region>`, at most 63 characters.
fn bucket_names(m: &Model, c: &Classic, out: &mut Vec<Diagnostic>) {
    for b in &c.buckets {
        let len = m.project.len() + b.name.len() + c.region.len() + 15;
        if len > 63
            || !b
                .name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        {
            out.push(
                Diagnostic::error(Code::MI3320, format!("`{}` cannot be part of a bucket name", b.name))
                    .key_path(&b.ptr)
                    .help(format!("buckets are named `<project>-<name>-<account>-<region>` (at most 63 characters): use a short name of lowercase letters, digits and `-` (this one makes {len})")),
            );
        }
    }
}

fn topic_names(c: &Classic, out: &mut Vec<Diagnostic>) {
    for t in &c.topics {
        if !t
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            out.push(
                Diagnostic::error(
                    Code::MI3320,
                    format!("`{}` cannot be part of a topic name", t.name),
                )
                .key_path(&t.ptr)
                .help("use letters, digits, `-` and `_`"),
            );
        }
    }
}

fn rule_set_name(m: &Model, rs: &ReceiptRuleSet, out: &mut Vec<Diagnostic>) {
    if !rs
        .name
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
        || rs.name.len() + m.project.len() >= 64
    {
        out.push(
            Diagnostic::error(Code::MI3321, format!("`{}` is not a valid receipt rule set name", rs.name))
                .key_path(&rs.ptr)
                .help("use letters, digits, `_`, `.` and `-`; `<project>-<name>` must be under 64 characters"),
        );
    }
}

/// `replaces` names a rule set made outside the spec that activating this one
/// takes over: only an active rule set replaces one, never itself, and the
/// name is one SES could have given.
fn replaces(m: &Model, rs: &ReceiptRuleSet, out: &mut Vec<Diagnostic>) {
    let Some(other) = &rs.replaces else { return };
    let ptr = format!("{}/replaces", rs.ptr);
    let own = format!("{}-{}", m.project, rs.name);
    if !rs.active {
        out.push(
            Diagnostic::error(
                Code::MI3322,
                format!("`{}` is not active, so it replaces no rule set", rs.name),
            )
            .path(ptr)
            .help("remove `replaces`, or make this the active rule set with `active: true`"),
        );
    } else if *other == own {
        out.push(
            Diagnostic::error(
                Code::MI3322,
                format!("`{}` would replace itself (`{own}`)", rs.name),
            )
            .path(ptr)
            .help("name the rule set that is active in the region today, made outside this spec"),
        );
    } else if other.is_empty()
        || other.len() > 64
        || !other
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
    {
        out.push(
            Diagnostic::error(Code::MI3321, format!("`{other}` is not a valid receipt rule set name"))
                .path(ptr)
                .help("a receipt rule set name has 1 to 64 letters, digits, `_`, `.` and `-`: copy it from `aws ses describe-active-receipt-rule-set`"),
        );
    }
}

/// A rule's name is valid and not taken by an earlier rule of its rule set (`seen`).
fn rule_name<'a>(
    rule: &'a ReceiptRule,
    rptr: &str,
    seen: &mut BTreeMap<&'a str, String>,
    out: &mut Vec<Diagnostic>,
) {
    let bad_ends = !rule.name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !rule.name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if let Some(why) = rule_name_problem(&rule.name, 64)
        .or_else(|| bad_ends.then(|| "start and end with a letter or digit".to_string()))
    {
        out.push(
            Diagnostic::error(
                Code::MI3321,
                format!("`{}` is not a valid receipt rule name", rule.name),
            )
            .path(format!("{rptr}/name"))
            .help(why),
        );
    }
    if let Some(first) = seen.insert(&rule.name, rptr.to_string()) {
        out.push(
            Diagnostic::error(
                Code::MI3321,
                format!("two receipt rules are named `{}`", rule.name),
            )
            .path(format!("{rptr}/name"))
            .related_path(format!("{first}/name"), "first used here")
            .help("give every rule its own name"),
        );
    }
}

fn recipients(rule: &ReceiptRule, rptr: &str, out: &mut Vec<Diagnostic>) {
    for (j, r) in rule.recipients.iter().enumerate() {
        // An address, a domain, or `.example.com` for its subdomains.
        let problem = if r.contains('@') {
            values::email_problem(r).map(|why| (Code::MI3314, why))
        } else {
            domain_problem(r.trim_start_matches('.')).map(|why| (Code::MI3003, why))
        };
        if let Some((code, why)) = problem {
            out.push(
                Diagnostic::error(code, format!("`{r}` is not a recipient address or domain"))
                    .path(format!("{rptr}/recipients/{j}"))
                    .help(why),
            );
        }
    }
}

fn actions(m: &Model, buckets: &[&str], rule: &ReceiptRule, rptr: &str, out: &mut Vec<Diagnostic>) {
    if rule.actions.is_empty() {
        out.push(
            Diagnostic::error(Code::MI3312, "a receipt rule needs at least one action")
                .path(format!("{rptr}/actions"))
                .help("add an action such as `s3: { bucket: … }`"),
        );
    }
    for (k, a) in rule.actions.iter().enumerate() {
        action(m, buckets, a, &format!("{rptr}/actions/{k}"), out);
    }
}

/// One receipt action: the names it holds, then the topic it notifies.
fn action(m: &Model, buckets: &[&str], a: &ReceiptAction, aptr: &str, out: &mut Vec<Diagnostic>) {
    let (key, topic) = match a {
        ReceiptAction::S3(s) => {
            if !buckets.contains(&s.bucket.as_str())
                && let Some(near) = suggest(&s.bucket, buckets.iter().copied())
            {
                out.push(dangling(
                    "bucket",
                    &s.bucket,
                    [near],
                    &format!("{aptr}/s3/bucket"),
                    "receiving.buckets",
                ));
            }
            ("s3", &s.topic)
        }
        ReceiptAction::Sns(s) => {
            if !topic_ok(m, &s.topic) {
                out.push(topic_dangling(m, &s.topic, &format!("{aptr}/sns/topic")));
            }
            ("sns", &None)
        }
        ReceiptAction::Lambda(l) => ("lambda", &l.topic),
        ReceiptAction::Bounce(b) => {
            if values::email_problem(&b.sender).is_some() {
                out.push(
                    Diagnostic::error(
                        Code::MI3314,
                        format!("`{}` is not an email address", b.sender),
                    )
                    .path(format!("{aptr}/bounce/sender"))
                    .help("write an address on a verified identity, e.g. `postmaster@example.com`"),
                );
            }
            ("bounce", &b.topic)
        }
        ReceiptAction::AddHeader(_) => ("add_header", &None),
        ReceiptAction::Stop(s) => ("stop", &s.topic),
    };
    if let Some(t) = topic
        && !topic_ok(m, t)
    {
        out.push(topic_dangling(m, t, &format!("{aptr}/{key}/topic")));
    }
}
