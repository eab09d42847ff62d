//! Trace: one message through the Mail Manager topology, offline.
//!
//! Input: the [`Model`] and a [`Message`] (what the sender controls and what
//! the receiving side would know: connection, envelope, headers, verdicts,
//! add-on results). Output: a [`Trace`]: for each envelope recipient, the
//! traffic policy's statements with why each matched or not and the
//! decision, then each rule of the rule set with its conditions, `unless`
//! conditions and actions, and where the message ends up. Semantics are the
//! ones AWS documents for Mail Manager (docs/aws-behaviours.md): deny
//! statements first, then allow statements, then the default; every rule in
//! order for each recipient, its actions in order, `drop` ending the
//! evaluation for that recipient. A condition that cannot be evaluated
//! offline is [`Tri::Unknown`], and everything that depends on it says so.
//! Pure and deterministic; `check` builds its reachability lints on it
//! ([`search`]).

pub(crate) mod cond;
mod policy;
mod rules;
pub(crate) mod search;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::Model;
use crate::spec::{AuthVerdict, DmarcValue, IngressTls, IngressType};

pub(crate) use policy::PolicyTrace;
pub(crate) use rules::{Outcome, RuleTrace};

/// A three-valued answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Tri {
    Yes,
    No,
    Unknown,
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
}

impl Tri {
    /// Conjunction: no if any is no, else unknown if any is unknown.
    pub(crate) fn all(it: impl IntoIterator<Item = Tri>) -> Tri {
        it.into_iter().fold(Tri::Yes, |acc, t| match (acc, t) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::Yes,
        })
    }
    /// Disjunction: yes if any is yes, else unknown if any is unknown.
    pub(crate) fn any(it: impl IntoIterator<Item = Tri>) -> Tri {
        it.into_iter().fold(Tri::No, |acc, t| match (acc, t) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::No,
        })
    }
    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// The TLS version of the connection (`None`: plain SMTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) enum Tls {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "1.2")]
    V12,
    #[serde(rename = "1.3")]
    V13,
}

impl Tls {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Tls::None => "none",
            Tls::V12 => "1.2",
            Tls::V13 => "1.3",
        }
    }
}

/// One message as it arrives. `None` is "not known", which conditions on it
/// answer with unknown; an absent header is known to be absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Message {
    pub sender_ip: Option<IpAddr>,
    pub tls: Option<Tls>,
    pub tls_wrapped: Option<bool>,
    pub helo: Option<String>,
    pub mail_from: Option<String>,
    /// Envelope recipients, each traced on its own.
    pub rcpt: Vec<String>,
    /// `(name, value)`; names compare ignoring case.
    pub headers: Vec<(String, String)>,
    pub spf: Option<AuthVerdict>,
    pub dkim: Option<AuthVerdict>,
    pub dmarc: Option<DmarcValue>,
    pub size: Option<u64>,
    pub read_receipt: Option<bool>,
    /// Add-on results by the spec's add-on name: `true`, `false`, a verdict or a string.
    pub addons: BTreeMap<String, String>,
}

/// What happens to one envelope recipient.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RecipientTrace {
    pub recipient: String,
    pub policy: PolicyTrace,
    /// Empty when the policy refused the recipient.
    pub rules: Vec<RuleTrace>,
    /// Where the message ends up for this recipient, in order.
    pub outcomes: Vec<Outcome>,
    /// One line: the fate.
    pub fate: String,
}

/// A whole trace.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Trace {
    pub ingress: String,
    /// `open`, `auth` or `mtls`.
    pub ingress_type: &'static str,
    pub traffic_policy: String,
    pub rule_set: String,
    pub message: Message,
    /// A note on the connection: the ingress refuses it, or needs authentication.
    pub connection: Option<String>,
    pub recipients: Vec<RecipientTrace>,
}

/// Why a trace cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TraceError {
    /// No ingress of that name; the names there are.
    NoIngress { known: Vec<String> },
    /// The ingress names a traffic policy or rule set the spec lacks.
    Dangling(String),
}

pub(crate) fn ingress_type(k: IngressType) -> &'static str {
    match k {
        IngressType::Open => "open",
        IngressType::Auth => "auth",
        IngressType::Mtls => "mtls",
    }
}

/// Traces `msg` through the ingress named `ingress`.
pub(crate) fn trace(m: &Model, ingress: &str, msg: &Message) -> Result<Trace, TraceError> {
    let mm = &m.mail_manager;
    let Some(i) = mm.ingress.iter().find(|i| i.name == ingress) else {
        return Err(TraceError::NoIngress {
            known: mm.ingress.iter().map(|i| i.name.clone()).collect(),
        });
    };
    let tp = mm.traffic_policy(&i.spec.traffic_policy).ok_or_else(|| {
        TraceError::Dangling(format!("traffic policy `{}`", i.spec.traffic_policy))
    })?;
    let rs = mm
        .rule_set(&i.spec.rule_set)
        .ok_or_else(|| TraceError::Dangling(format!("rule set `{}`", i.spec.rule_set)))?;
    let refused = refused_connection(i.spec.tls, msg.tls);
    let connection = refused.clone().or_else(|| match i.spec.kind {
        IngressType::Open => None,
        IngressType::Auth => {
            Some("the sender authenticates with the ingress password (SMTP AUTH)".to_string())
        }
        IngressType::Mtls => {
            Some("the sender authenticates with a client certificate (mutual TLS)".to_string())
        }
    });
    let recipients = msg
        .rcpt
        .iter()
        .map(|r| {
            let policy = policy::evaluate(tp, msg, r);
            let (rules, outcomes) = if refused.is_some() || policy.decision.verdict == Tri::No {
                (Vec::new(), Vec::new())
            } else {
                rules::evaluate(m, rs, msg, r, policy.decision.verdict == Tri::Yes)
            };
            let fate = rules::fate(refused.as_deref(), &policy, &outcomes);
            RecipientTrace {
                recipient: r.clone(),
                policy,
                rules,
                outcomes,
                fate,
            }
        })
        .collect();
    Ok(Trace {
        ingress: i.name.clone(),
        ingress_type: ingress_type(i.spec.kind),
        traffic_policy: tp.name.clone(),
        rule_set: rs.name.clone(),
        message: msg.clone(),
        connection,
        recipients,
    })
}

/// An ingress with `tls: required` or `fips` refuses plain SMTP.
fn refused_connection(policy: Option<IngressTls>, tls: Option<Tls>) -> Option<String> {
    match (policy, tls) {
        (Some(IngressTls::Required | IngressTls::Fips), Some(Tls::None)) => Some(
            "the ingress requires TLS (`tls: required`), so a connection without TLS is refused"
                .to_string(),
        ),
        _ => None,
    }
}

/// Whether `policy` accepts `m` for its first recipient (the statements as
/// deployed; `unknown` when that depends on an unknown answer).
pub(crate) fn accepted(tp: &crate::model::receiving::TrafficPolicy, m: &Message) -> Tri {
    let rcpt = m.rcpt.first().map(String::as_str).unwrap_or_default();
    policy::evaluate(tp, m, rcpt).decision.verdict
}

/// What decides `policy` for `m` and `rcpt`, in words.
pub(crate) fn policy_decision(
    tp: &crate::model::receiving::TrafficPolicy,
    m: &Message,
    rcpt: &str,
) -> String {
    policy::evaluate(tp, m, rcpt).decision.by
}

/// Whether `rule` applies to `m` for its first recipient.
pub(crate) fn applies(rule: &crate::spec::Rule, m: &Message) -> Tri {
    let rcpt = m.rcpt.first().map(String::as_str).unwrap_or_default();
    Tri::all([
        Tri::all(rule.when.iter().map(|c| cond::rule(m, rcpt, c).result)),
        Tri::any(rule.unless.iter().map(|c| cond::rule(m, rcpt, c).result)).not(),
    ])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const GATEWAY: &str = r#"
version: 1
project: nutrition
regions: { primary: us-east-1 }
dns:
  nutrition.co: { route53_zone_id: Z0123456789ABCDEFGHIJ }
mail_manager:
  archives:
    gateway: { retention: 1 year }
  addons:
    spamhaus: { addon: spamhaus_dbl }
  relays:
    workspace: { preset: google_workspace }
  traffic_policies:
    inbound:
      default: deny
      max_message_size: 25MB
      statements:
        - deny: [ { tls: { below: "1.2" } } ]
        - deny: [ { analysis: { addon: spamhaus, field: addon.spamhaus_dbl_listed, is: true } } ]
        - allow: [ { recipient: { ends_with: "@nutrition.co" } } ]
  rule_sets:
    gateway:
      rules:
        - name: archive-everything
          actions: [ { archive: gateway } ]
        - name: drop-spoofed
          when: [ { spf: fail } ]
          actions: [ { drop: true } ]
        - name: to-workspace
          actions: [ { relay: { to: workspace, mail_from: preserve } } ]
  ingress:
    inbound: { type: open, traffic_policy: inbound, rule_set: gateway, mx: [nutrition.co] }
"#;

    fn msg(rcpt: &str) -> Message {
        Message {
            sender_ip: "198.51.100.7".parse().ok(),
            tls: Some(Tls::V13),
            rcpt: vec![rcpt.to_string()],
            spf: Some(AuthVerdict::Pass),
            addons: [("spamhaus".to_string(), "false".to_string())].into(),
            ..Default::default()
        }
    }

    fn model() -> Model {
        crate::compile::sending::tests::model(GATEWAY)
    }

    #[test]
    fn a_legitimate_message_is_archived_then_relayed() {
        let t = trace(&model(), "inbound", &msg("ana@nutrition.co")).unwrap();
        let r = &t.recipients[0];
        assert_eq!(
            r.policy.decision.verdict,
            Tri::Yes,
            "{:?}",
            r.policy.decision
        );
        let kinds: Vec<_> = r.outcomes.iter().map(|o| (o.kind, o.certain)).collect();
        assert_eq!(kinds, [("archived", true), ("relayed", true)]);
        assert!(
            r.fate
                .contains("relayed to relay `workspace` (aspmx.l.google.com:25)"),
            "{}",
            r.fate
        );
    }

    #[test]
    fn deny_statements_decide_before_allow_statements() {
        let mut m = msg("ana@nutrition.co");
        m.addons.insert("spamhaus".into(), "true".into());
        let t = trace(&model(), "inbound", &m).unwrap();
        let r = &t.recipients[0];
        assert_eq!(r.policy.decision.verdict, Tri::No);
        assert!(
            r.policy.decision.by.contains("deny statement 2"),
            "{}",
            r.policy.decision.by
        );
        assert!(r.outcomes.is_empty());
        // Without TLS the floor compiled into the allow statement refuses it.
        let mut m = msg("ana@nutrition.co");
        m.tls = Some(Tls::None);
        let t = trace(&model(), "inbound", &m).unwrap();
        assert_eq!(t.recipients[0].policy.decision.verdict, Tri::No);
        let t = trace(&model(), "inbound", &msg("someone@outside.example")).unwrap();
        assert!(
            t.recipients[0].fate.contains("default (`deny`)"),
            "{}",
            t.recipients[0].fate
        );
    }

    #[test]
    fn drop_ends_the_evaluation_and_unknowns_are_said() {
        let mut m = msg("ana@nutrition.co");
        m.spf = Some(AuthVerdict::Fail);
        let t = trace(&model(), "inbound", &m).unwrap();
        let r = &t.recipients[0];
        assert_eq!(r.outcomes.last().unwrap().kind, "dropped");
        assert!(r.rules[2].skipped.is_some());
        // No add-on result and no SPF verdict: the trace says what it does not know.
        let mut m = msg("ana@nutrition.co");
        m.addons.clear();
        m.spf = None;
        let t = trace(&model(), "inbound", &m).unwrap();
        let r = &t.recipients[0];
        assert_eq!(r.policy.decision.verdict, Tri::Unknown);
        assert!(r.outcomes.iter().all(|o| !o.certain));
        assert!(
            r.fate.starts_with("if the traffic policy accepts it"),
            "{}",
            r.fate
        );
    }

    #[test]
    fn an_unknown_ingress_names_the_known_ones() {
        let e = trace(&model(), "nope", &msg("a@b.c")).unwrap_err();
        assert_eq!(
            e,
            TraceError::NoIngress {
                known: vec!["inbound".into()]
            }
        );
    }

    #[test]
    fn a_tls_required_ingress_refuses_plain_smtp() {
        assert!(refused_connection(Some(IngressTls::Required), Some(Tls::None)).is_some());
        assert!(refused_connection(Some(IngressTls::Fips), Some(Tls::None)).is_some());
        assert!(refused_connection(Some(IngressTls::Required), Some(Tls::V12)).is_none());
        assert!(refused_connection(None, Some(Tls::None)).is_none());
        assert!(refused_connection(Some(IngressTls::Required), None).is_none());
    }

    #[test]
    fn replaced_recipients_are_where_later_deliveries_go() {
        let yaml = GATEWAY.replace(
            "actions: [ { relay: { to: workspace, mail_from: preserve } } ]",
            "actions: [ { replace_recipients: [review@nutrition.co] }, { relay: { to: workspace, mail_from: preserve } } ]",
        );
        let m = crate::compile::sending::tests::model(&yaml);
        let t = trace(&m, "inbound", &msg("ana@nutrition.co")).unwrap();
        let relayed = t.recipients[0]
            .outcomes
            .iter()
            .find(|o| o.kind == "relayed")
            .unwrap();
        assert_eq!(relayed.recipients, ["review@nutrition.co"]);
    }
}
