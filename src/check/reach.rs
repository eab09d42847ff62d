//! Lints on reachability, answered by the trace engine (`crate::trace`):
//! an open relay (MI4001: some unauthenticated sender gets mail for someone
//! outside your domains relayed or sent onward), what an MX gateway's
//! downstream must do (MI4012), rules that can never apply (MI4013), rules an
//! earlier dropping rule shadows (MI4014), and traffic policies that let
//! nothing in (MI4015). Each names an example message where there is one.

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic};
use crate::model::Model;
use crate::model::receiving::{Ingress, Relay, RuleSet};
use crate::spec::{IngressType, RelayPreset, Rule};
use crate::trace::search::{Own, Senders, Space};
use crate::trace::{self, Message, Tri};

pub(crate) fn check(m: &Model, out: &mut Vec<Diagnostic>) {
    let own = Own::of(m);
    for i in &m.mail_manager.ingress {
        if i.spec.kind == IngressType::Open {
            onward(m, i, &own, out);
        }
    }
    for rs in &m.mail_manager.rule_sets {
        never_and_shadowed(m, rs, &own, out);
    }
    nothing_in(m, &own, out);
}

/// A message in one line, for a diagnostic: `from 198.51.100.25, TLS none, to someone@outside.example`.
pub(crate) fn example(msg: &Message) -> String {
    let mut parts = Vec::new();
    if let Some(ip) = msg.sender_ip {
        parts.push(format!("from {ip}"));
    }
    if let Some(t) = msg.tls {
        parts.push(format!("TLS {}", t.label()));
    }
    if let Some(f) = &msg.mail_from {
        parts.push(format!("MAIL FROM {f}"));
    }
    for (k, v) in &msg.headers {
        parts.push(format!("`{k}: {v}`"));
    }
    for (k, v) in &msg.addons {
        parts.push(format!("add-on `{k}` says `{v}`"));
    }
    if let Some(r) = msg.rcpt.first() {
        parts.push(format!("to {r}"));
    }
    parts.join(", ")
}

/// The `mailinfra trace` command line that shows it.
fn trace_command(ingress: &str, msg: &Message) -> String {
    let mut c = format!("mailinfra trace --ingress {ingress}");
    if let Some(ip) = msg.sender_ip {
        c.push_str(&format!(" --sender-ip {ip}"));
    }
    if let Some(t) = msg.tls {
        c.push_str(&format!(" --tls {}", t.label()));
    }
    for r in &msg.rcpt {
        c.push_str(&format!(" --rcpt {r}"));
    }
    c
}

fn onward(m: &Model, i: &Ingress, own: &Own, out: &mut Vec<Diagnostic>) {
    let mm = &m.mail_manager;
    let (Some(tp), Some(rs)) = (
        mm.traffic_policy(&i.spec.traffic_policy),
        mm.rule_set(&i.spec.rule_set),
    ) else {
        return;
    };
    let rules: Vec<&Rule> = rs.rules.iter().collect();
    let space = Space::new(Some(tp), &rules, i.spec.tls, own, Senders::Outsiders);
    let mut relays: BTreeMap<(usize, usize), (Message, String)> = BTreeMap::new();
    let mut gateway: BTreeMap<(usize, usize), (Message, String)> = BTreeMap::new();
    for msg in space.messages() {
        let Ok(t) = trace::trace(m, &i.name, &msg) else {
            return;
        };
        for r in t
            .recipients
            .iter()
            .filter(|r| r.policy.decision.verdict == Tri::Yes)
        {
            for o in r.outcomes.iter().filter(|o| o.certain) {
                if !matches!(o.kind, "relayed" | "sent_to_internet") {
                    continue;
                }
                if o.recipients.iter().any(|x| !own.has(x)) {
                    relays
                        .entry(o.at)
                        .or_insert_with(|| (msg.clone(), o.ptr.clone()));
                } else if o.kind == "relayed" {
                    gateway
                        .entry(o.at)
                        .or_insert_with(|| (msg.clone(), o.ptr.clone()));
                }
            }
        }
    }
    for ((n, _), (msg, ptr)) in &relays {
        out.push(
            Diagnostic::error(
                Code::MI4001,
                format!(
                    "the open ingress `{}` relays mail from anyone on the internet to addresses outside your domains through rule `{}` (EchoSpoofing), e.g. a message {}",
                    i.name, rs.rules[*n].name, example(msg)
                ),
            )
            .path(ptr.clone())
            .related_path(i.ptr.clone(), "open ingress endpoint")
            .help(format!(
                "mail sent onward carries the trust of Mail Manager's IPs (and SES signs what it sends as your domains), so a forged sender gets through; see it with `{}`. Allow-list the sending systems in the traffic policy `{}` (`default: deny` and `- allow: [ {{ sender_ip: [203.0.113.0/24] }} ]`), accept only your own domains as recipients, or receive submissions on an `auth` or `mtls` ingress; a header check alone does not help, the sender writes the headers",
                trace_command(&i.name, msg),
                tp.name
            )),
        );
    }
    for ((n, k), (msg, ptr)) in &gateway {
        if relays.contains_key(&(*n, *k)) {
            continue;
        }
        let crate::spec::RuleAction::Relay(target) = &rs.rules[*n].actions[*k] else {
            continue;
        };
        let Some(relay) = mm.relay(&target.to) else {
            continue;
        };
        out.push(
            Diagnostic::error(
                Code::MI4012,
                format!(
                    "the open ingress `{}` is an MX gateway for `{}`: anyone can reach it, e.g. a message {}, so `{}` must trust only Mail Manager",
                    i.name, relay.name, example(msg), relay.name
                ),
            )
            .path(ptr.clone())
            .help(downstream(relay)),
        );
    }
}

/// What the server behind a gateway must do (the EchoSpoofing guidance).
fn downstream(r: &Relay) -> String {
    let host = r.host.as_deref().unwrap_or("the server");
    let side = match r.preset {
        Some(RelayPreset::GoogleWorkspace) => "in the Google Admin console (Apps > Google Workspace > Gmail > Spam, phishing and malware > Inbound gateway) list the addresses Mail Manager relays from as gateway IPs and tick `Reject all mail not from gateway IPs` and `Require TLS for connections from the email gateways listed above`".to_string(),
        Some(RelayPreset::Microsoft365) => format!("in Exchange Online add an inbound connector from a partner organisation that accepts mail only from the addresses Mail Manager relays from (`Reject email messages if they aren't sent from within this IP address range`), turn on Enhanced Filtering for Connectors on it, and refuse mail for your domains that reaches `{host}` any other way"),
        None => format!("let `{host}` accept SMTP on port {} only from the addresses Mail Manager relays from in this region, and refuse mail for your domains from anywhere else", r.port),
    };
    format!(
        "otherwise a sender who skips the MX and connects to `{host}` directly bypasses the gateway: {side}. Where mail reaches the gateway from a platform whose senders share IPs (Microsoft 365 tenants), check its originator header too, e.g. `when: [ {{ mime_header: {{ name: X-MS-Exchange-CrossTenant-Id, equals: <your tenant id> }} }} ]`; silence this note with `# mailinfra: allow MI4012` once the downstream side is set up"
    )
}

/// The ingresses that use a rule set, with their traffic policy.
fn users<'a>(m: &'a Model, rs: &RuleSet) -> Vec<&'a Ingress> {
    m.mail_manager
        .ingress
        .iter()
        .filter(|i| i.spec.rule_set == rs.name)
        .collect()
}

/// Whether some candidate the ingress's policy may accept makes `rule` apply:
/// `None` when the candidates are too many to say.
fn can_apply(m: &Model, i: Option<&Ingress>, rule: &Rule, own: &Own) -> Option<bool> {
    let tp = i.and_then(|i| m.mail_manager.traffic_policy(&i.spec.traffic_policy));
    let space = Space::new(tp, &[rule], i.and_then(|i| i.spec.tls), own, Senders::All);
    if !space.complete() {
        return None;
    }
    Some(space.messages().any(|msg| {
        tp.is_none_or(|tp| trace::accepted(tp, &msg) != Tri::No)
            && trace::applies(rule, &msg) != Tri::No
    }))
}

fn never_and_shadowed(m: &Model, rs: &RuleSet, own: &Own, out: &mut Vec<Diagnostic>) {
    let ingresses = users(m, rs);
    let mut never = vec![false; rs.rules.len()];
    for (n, rule) in rs.rules.iter().enumerate() {
        if rule.when.is_empty() && rule.unless.is_empty() {
            continue;
        }
        let alone = can_apply(m, None, rule, own);
        let via: Vec<Option<bool>> = ingresses
            .iter()
            .map(|i| can_apply(m, Some(i), rule, own))
            .collect();
        let why = if alone == Some(false) {
            "its conditions contradict each other, or an `unless` condition holds whenever they do"
                .to_string()
        } else if !via.is_empty() && via.iter().all(|v| *v == Some(false)) {
            format!(
                "no message that the traffic policy of {} accepts meets its conditions",
                ingresses
                    .iter()
                    .map(|i| format!("`{}`", i.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            continue;
        };
        never[n] = true;
        out.push(
            Diagnostic::error(Code::MI4013, format!("the rule `{}` can never apply: {why}", rule.name))
                .path(format!("{}/rules/{n}/name", rs.ptr))
                .help("remove the rule, or fix the condition that cannot hold (`mailinfra trace` shows each condition's answer)"),
        );
    }
    for (j, later) in rs.rules.iter().enumerate() {
        if never[j] {
            continue;
        }
        for (i, earlier) in rs.rules.iter().enumerate().take(j) {
            if !earlier
                .actions
                .iter()
                .any(|a| matches!(a, crate::spec::RuleAction::Drop(_)))
            {
                continue;
            }
            let Some(msg) = shadowed_by(earlier, later, own) else {
                continue;
            };
            out.push(
                Diagnostic::error(
                    Code::MI4014,
                    format!(
                        "the rule `{}` never runs: every message it applies to is dropped by the earlier rule `{}` first, e.g. a message {}",
                        later.name, earlier.name, example(&msg)
                    ),
                )
                .path(format!("{}/rules/{j}/name", rs.ptr))
                .related_path(format!("{}/rules/{i}", rs.ptr), format!("`{}` drops it", earlier.name))
                .help(format!(
                    "`drop` ends the evaluation for the recipient, and `{}`'s conditions hold whenever `{}`'s do: move `{}` before `{}`, or narrow `{}`",
                    earlier.name, later.name, later.name, earlier.name, earlier.name
                )),
            );
            break;
        }
    }
}

/// An example message `later` applies to, when every such message makes
/// `earlier` apply too (and the candidates are few enough to say).
fn shadowed_by(earlier: &Rule, later: &Rule, own: &Own) -> Option<Message> {
    let space = Space::new(None, &[earlier, later], None, own, Senders::All);
    if !space.complete() {
        return None;
    }
    let mut first = None;
    for msg in space.messages() {
        match trace::applies(later, &msg) {
            Tri::No => {}
            t => {
                if t != Tri::Yes || trace::applies(earlier, &msg) != Tri::Yes {
                    return None;
                }
                first.get_or_insert(msg);
            }
        }
    }
    first
}

fn nothing_in(m: &Model, own: &Own, out: &mut Vec<Diagnostic>) {
    for tp in &m.mail_manager.traffic_policies {
        let space = Space::new(Some(tp), &[], None, own, Senders::All);
        if !space.complete()
            || space
                .messages()
                .any(|msg| trace::accepted(tp, &msg) != Tri::No)
        {
            continue;
        }
        let instance = space
            .messages()
            .next()
            .map(|msg| {
                let rcpt = msg.rcpt.first().cloned().unwrap_or_default();
                let by = trace::policy_decision(tp, &msg, &rcpt);
                format!(", e.g. a message {} is {by}", example(&msg))
            })
            .unwrap_or_default();
        out.push(
            Diagnostic::error(
                Code::MI4015,
                format!("the traffic policy `{}` lets no message in{instance}", tp.name),
            )
            .key_path(&tp.ptr)
            .help("every message is refused by a `deny` statement or the default: add an `allow` statement for the mail you expect (e.g. `- allow: [ { recipient: { ends_with: \"@your-domain\" } } ]`), or remove the `deny` that refuses everything"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str, policy: &str, actions: &str) -> String {
        format!(
            r#"
version: 1
project: nutrition
regions: {{ primary: us-east-1 }}
dns:
  nutrition.co: {{ route53_zone_id: Z0123456789ABCDEFGHIJ }}
identities:
  nutrition.co: {{ dmarc: {{ policy: none, rua: "mailto:dmarc@nutrition.co" }}, mail_from: bounce.nutrition.co }}
mail_manager:
  relays:
    smarthost: {{ host: smtp.partner.example, port: 25 }}
  traffic_policies:
    tp: {policy}
  rule_sets:
    rs:
      rules:
        - name: onward
          actions: [ {actions} ]
  ingress:
    inbound: {{ type: {kind}, {extra} traffic_policy: tp, rule_set: rs }}
"#,
            extra = if kind == "auth" {
                "password: generate,"
            } else {
                ""
            }
        )
    }

    fn codes(yaml: &str) -> Vec<Code> {
        let m = crate::compile::sending::tests::model(yaml);
        let mut out = Vec::new();
        check(&m, &mut out);
        out.into_iter().map(|d| d.code).collect()
    }

    const RELAY: &str = "{ relay: { to: smarthost } }";
    const SEND: &str = "{ send_to_internet: {} }";

    #[test]
    fn an_open_relay_is_found_by_reachability_not_shape() {
        // Deny by default, allow any TLS 1.2 connection: open to anyone.
        let tls_only =
            r#"{ default: deny, statements: [ { allow: [ { tls: { min: "1.2" } } ] } ] }"#;
        assert_eq!(codes(&spec("open", tls_only, RELAY)), [Code::MI4001]);
        assert_eq!(codes(&spec("open", tls_only, SEND)), [Code::MI4001]);
        // Allow by default and deny some senders: everyone else is let in.
        let deny_some =
            r#"{ default: allow, statements: [ { deny: [ { sender_ip: [192.0.2.0/24] } ] } ] }"#;
        assert_eq!(codes(&spec("open", deny_some, RELAY)), [Code::MI4001]);
        // A lookalike recipient passes a careless suffix test.
        let suffix = r#"{ default: deny, statements: [ { allow: [ { recipient: { ends_with: "nutrition.co" } } ] } ] }"#;
        assert_eq!(codes(&spec("open", suffix, SEND)), [Code::MI4001]);
    }

    #[test]
    fn authenticated_or_ip_restricted_ingress_is_silent() {
        let tls_only =
            r#"{ default: deny, statements: [ { allow: [ { tls: { min: "1.2" } } ] } ] }"#;
        assert!(codes(&spec("auth", tls_only, RELAY)).is_empty());
        let ips =
            r#"{ default: deny, statements: [ { allow: [ { sender_ip: [203.0.113.0/24] } ] } ] }"#;
        assert!(codes(&spec("open", ips, RELAY)).is_empty());
        assert!(codes(&spec("open", ips, SEND)).is_empty());
    }

    #[test]
    fn own_domain_mail_relayed_is_a_gateway_note() {
        let own = r#"{ default: deny, statements: [ { allow: [ { recipient: { ends_with: "@nutrition.co" } } ] } ] }"#;
        assert_eq!(codes(&spec("open", own, RELAY)), [Code::MI4012]);
        // Sent to the internet, own-domain mail is not relayed to a mailbox provider.
        assert!(codes(&spec("open", own, SEND)).is_empty());
    }

    #[test]
    fn an_example_message_reads_as_a_trace_command() {
        let msg = Message {
            sender_ip: "198.51.100.25".parse().ok(),
            tls: Some(crate::trace::Tls::V12),
            rcpt: vec!["someone@outside.example".into()],
            ..Default::default()
        };
        assert_eq!(
            example(&msg),
            "from 198.51.100.25, TLS 1.2, to someone@outside.example"
        );
        assert_eq!(
            trace_command("inbound", &msg),
            "mailinfra trace --ingress inbound --sender-ip 198.51.100.25 --tls 1.2 --rcpt someone@outside.example"
        );
    }
}
