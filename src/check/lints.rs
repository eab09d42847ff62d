//! Lints: risky but valid configurations (codes MI4001–MI4099, warnings by
//! default, errors with `--deny-warnings`). Each says why and how to fix it.
//! The lints that need to know which messages get where are `reach`.

use crate::diag::{Code, Diagnostic};
use crate::model::Model;
use crate::spec::{IngressTls, IngressType, MailFromMode, PolicyCondition, RuleAction, Verdict};

pub(crate) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    weak_tls(m, out);
    open_any_recipient(m, out);
    relay_mail_from(m, out);
    archive_kms(m, out);
}

/// TLS below 1.2 (or none) accepted by an ingress endpoint.
fn weak_tls(m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    for i in &mm.ingress {
        let Some(tp) = mm.traffic_policy(&i.spec.traffic_policy) else {
            continue;
        };
        let tls_required = matches!(i.spec.tls, Some(IngressTls::Required | IngressTls::Fips));
        let floor = tp.statements.iter().any(|s| {
            s.conditions().iter().any(|c| match c {
                PolicyCondition::Tls(t) => t.below.is_some() || t.min.is_some() || t.is.is_some(),
                _ => false,
            })
        });
        if floor {
            continue;
        }
        out.push(
            Diagnostic::error(
                Code::MI4002,
                format!(
                    "the ingress `{}` accepts mail over TLS older than 1.2{}",
                    i.name,
                    if tls_required { "" } else { " or without TLS" }
                ),
            )
            .path(format!("{}/traffic_policy", i.ptr))
            .help(format!(
                "TLS 1.0 and 1.1 are broken; add `- deny: [ {{ tls: {{ below: \"1.2\" }} }} ]` as the first statement of the traffic policy `{}`",
                tp.name
            )),
        );
    }
}

fn open_any_recipient(m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    for i in &mm.ingress {
        if i.spec.kind != IngressType::Open {
            continue;
        }
        let Some(tp) = mm.traffic_policy(&i.spec.traffic_policy) else {
            continue;
        };
        let recipient_tested = tp.statements.iter().any(|s| {
            s.conditions().iter().any(|c| {
                matches!(
                    c,
                    PolicyCondition::Recipient(_) | PolicyCondition::AddressList(_)
                )
            })
        });
        if tp.default == Verdict::Allow && !recipient_tested {
            out.push(
                Diagnostic::error(Code::MI4003, format!("the open ingress `{}` accepts mail for any recipient", i.name))
                    .path(format!("{}/traffic_policy", i.ptr))
                    .help(format!(
                        "mail for domains you do not host is accepted and processed (and paid for); in the traffic policy `{}` set `default: deny` and add `- allow: [ {{ recipient: {{ ends_with: \"@your-domain\" }} }} ]`",
                        tp.name
                    )),
            );
        }
    }
}

fn relay_mail_from(m: &Model, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    for rs in &mm.rule_sets {
        for (n, rule) in rs.rules.iter().enumerate() {
            for (k, a) in rule.actions.iter().enumerate() {
                let RuleAction::Relay(t) = a else { continue };
                let Some(relay) = mm.relay(&t.to) else {
                    continue;
                };
                if relay.preset.is_some() && t.mail_from != Some(MailFromMode::Preserve) {
                    out.push(
                        Diagnostic::error(Code::MI4004, format!("relaying to the mailbox provider `{}` without preserving MAIL FROM", relay.name))
                            .path(format!("{}/rules/{n}/actions/{k}/relay", rs.ptr))
                            .help("Google Workspace and Microsoft 365 check SPF against the envelope sender; replaced, it is Mail Manager's and every message fails or looks forged: add `mail_from: preserve` (and allow-list Mail Manager's IPs at the provider)"),
                    );
                }
            }
        }
    }
}

fn archive_kms(m: &Model, out: &mut Vec<Diagnostic>) {
    for a in &m.archives {
        if a.kms_key.is_none() {
            out.push(
                Diagnostic::error(Code::MI4005, format!("the archive `{}` is encrypted with an AWS-owned key", a.name))
                    .key_path(&a.ptr)
                    .help("to control and audit access to archived mail, add `kms_key: arn:aws:kms:…`; set it now: changing it later replaces the archive"),
            );
        }
    }
}
