//! A message trace, drawn: human text (one block per recipient: the policy's
//! statements, the rules, the fate) or JSON (docs/trace-format.md).

use std::fmt::Write as _;

use crate::trace::{RecipientTrace, Trace, Tri};

/// The JSON format's version; bumped on any incompatible change.
pub(crate) const FORMAT_VERSION: u32 = 1;

pub(crate) fn json(t: &Trace) -> String {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("version".into(), FORMAT_VERSION.into());
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn message_line(t: &Trace) -> String {
    let m = &t.message;
    let mut parts = Vec::new();
    parts.push(match m.sender_ip {
        Some(ip) => format!("from {ip}"),
        None => "from an unknown address".to_string(),
    });
    parts.push(match m.tls {
        Some(tls) => format!("TLS {}", tls.label()),
        None => "TLS unknown".to_string(),
    });
    if let Some(f) = &m.mail_from {
        parts.push(format!("MAIL FROM {f}"));
    }
    if let Some(h) = &m.helo {
        parts.push(format!("HELO {h}"));
    }
    for (k, v) in [
        ("SPF", m.spf.map(|v| v.cfn())),
        ("DKIM", m.dkim.map(|v| v.cfn())),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k} {}", v.to_ascii_lowercase()));
        }
    }
    if let Some(d) = m.dmarc {
        parts.push(format!(
            "DMARC policy {}",
            crate::trace::cond::dmarc_name(d)
        ));
    }
    parts.join(", ")
}

fn mark(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "yes",
        Tri::No => "no",
        Tri::Unknown => "unknown",
    }
}

fn recipient(out: &mut String, t: &Trace, r: &RecipientTrace) {
    let _ = writeln!(out, "\nrecipient {}", r.recipient);
    let p = &r.policy;
    let _ = writeln!(
        out,
        "  traffic policy `{}` (deny statements first, then allow, then the default `{}`)",
        p.name, p.default
    );
    for s in &p.statements {
        let name = match s.index {
            Some(i) => format!("{} statement {}", s.action, i + 1),
            None => "allow (added for the TLS floor)".to_string(),
        };
        let _ = writeln!(out, "    {name}: {}", mark(s.matched));
        for c in &s.conditions {
            let _ = writeln!(
                out,
                "      {}: {} ({})",
                c.condition,
                mark(c.answer.result),
                c.answer.why
            );
        }
    }
    let _ = writeln!(out, "    => {}", p.decision.by);
    if !r.rules.is_empty() {
        let _ = writeln!(out, "  rule set `{}`", t.rule_set);
    }
    for rule in &r.rules {
        if let Some(why) = &rule.skipped {
            let _ = writeln!(out, "    rule {} `{}`: {why}", rule.index + 1, rule.name);
            continue;
        }
        let applies = match rule.applies {
            Tri::Yes => "applies",
            Tri::No => "does not apply",
            Tri::Unknown => "applies only if the unknown answers allow it",
        };
        let bare = if rule.when.is_empty() && rule.unless.is_empty() {
            " (no conditions)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    rule {} `{}`: {applies}{bare}",
            rule.index + 1,
            rule.name
        );
        for (label, cs) in [("when", &rule.when), ("unless", &rule.unless)] {
            for c in cs {
                let _ = writeln!(
                    out,
                    "      {label} {}: {} ({})",
                    c.condition,
                    mark(c.answer.result),
                    c.answer.why
                );
            }
        }
        for a in &rule.actions {
            let fail = a
                .on_failure
                .map(|f| format!(" [on failure: {f}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      action {} {}: {}{fail}",
                a.index + 1,
                a.action,
                a.detail
            );
        }
    }
    let _ = writeln!(out, "  fate: {}", r.fate);
}

pub(crate) fn human(t: &Trace) -> String {
    let mut out = format!(
        "Trace through the {} ingress `{}` (traffic policy `{}`, rule set `{}`)\n  message: {}\n",
        t.ingress_type,
        t.ingress,
        t.traffic_policy,
        t.rule_set,
        message_line(t)
    );
    if let Some(c) = &t.connection {
        let _ = writeln!(out, "  connection: {c}");
    }
    for r in &t.recipients {
        recipient(&mut out, t, r);
    }
    out
}
