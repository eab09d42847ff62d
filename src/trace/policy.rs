//! A traffic policy against one envelope recipient. Mail Manager evaluates
//! the statements that block first, then the ones that allow, then the
//! default action; a message over the maximum size is discarded. The
//! statements are the deployed ones: `deny: [ { tls: { below: V } } ]`, which
//! Mail Manager cannot express, is compiled into a TLS floor on every later
//! `allow` (and an `allow` default becomes `deny` plus `allow: [tls min V]`),
//! so the trace evaluates that rewrite (see `compile::mail_manager`).

use serde::Serialize;

use crate::model::receiving::TrafficPolicy;
use crate::spec::{PolicyCondition, PolicyStatement, TlsTest, TlsVersion, Verdict};

use super::cond::{self, Answer};
use super::{Message, Tri};

/// One condition with its answer.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CondTrace {
    /// The condition as written, e.g. `recipient: { ends_with: "@example.com" }`.
    pub condition: String,
    #[serde(flatten)]
    pub answer: Answer,
}

/// One statement as deployed.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StatementTrace {
    /// Index in the spec's `statements`; `None` for the statement the
    /// compiler adds for a TLS floor under an `allow` default.
    pub index: Option<usize>,
    pub action: &'static str,
    pub conditions: Vec<CondTrace>,
    /// Whether all conditions hold.
    pub matched: Tri,
}

/// What the policy decides.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Decision {
    /// `yes`: accepted; `no`: refused; `unknown`: depends on an unknown condition.
    pub verdict: Tri,
    /// What decided, in words.
    pub by: String,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct PolicyTrace {
    pub name: String,
    /// Statements in the order Mail Manager evaluates them: deny, then allow.
    pub statements: Vec<StatementTrace>,
    pub default: &'static str,
    pub decision: Decision,
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Deny => "deny",
    }
}

/// A condition as the spec writes it, in YAML flow style:
/// `recipient: { ends_with: "@example.com" }`.
pub(crate) fn condition_text(c: &impl Serialize) -> String {
    let v = serde_json::to_value(c).unwrap_or_default();
    match &v {
        serde_json::Value::Object(o) if o.len() == 1 => {
            let (k, v) = o
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            format!("{k}: {}", flow(&v))
        }
        _ => flow(&v),
    }
}

fn flow(v: &serde_json::Value) -> String {
    use serde_json::Value as V;
    match v {
        V::Object(o) => format!(
            "{{ {} }}",
            o.iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        V::Array(a) => format!("[{}]", a.iter().map(flow).collect::<Vec<_>>().join(", ")),
        V::String(s)
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-/".contains(c))
                && !s.chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            s.clone()
        }
        V::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// The deployed statements: (spec index, action, conditions with pointers).
#[allow(clippy::type_complexity)]
pub(crate) fn deployed(
    tp: &TrafficPolicy,
) -> (
    Vec<(Option<usize>, Verdict, Vec<(PolicyCondition, String)>)>,
    Verdict,
) {
    let mut floor: Option<(TlsVersion, usize)> = None;
    let mut out = Vec::new();
    for (n, st) in tp.statements.iter().enumerate() {
        if let [PolicyCondition::Tls(TlsTest { below: Some(v), .. })] = st.conditions() {
            floor = Some(floor.map_or((*v, n), |(f, k)| if *v > f { (*v, n) } else { (f, k) }));
            continue;
        }
        let base = format!("{}/statements/{n}", tp.ptr);
        let mut conds: Vec<(PolicyCondition, String)> = st
            .conditions()
            .iter()
            .enumerate()
            .map(|(k, c)| (c.clone(), format!("{base}/{}/{k}", verdict(st.verdict()))))
            .collect();
        let has_floor = |f: TlsVersion| {
            st.conditions().iter().any(|c| {
                matches!(c, PolicyCondition::Tls(TlsTest { min: Some(v), .. } | TlsTest { is: Some(v), .. }) if *v >= f)
            })
        };
        if let (PolicyStatement::Allow(_), Some((f, k))) = (st, floor)
            && !has_floor(f)
        {
            conds.push((min_tls(f), format!("{}/statements/{k}", tp.ptr)));
        }
        out.push((Some(n), st.verdict(), conds));
    }
    let mut default = tp.default;
    if let (Some((f, k)), Verdict::Allow) = (floor, tp.default) {
        out.push((
            None,
            Verdict::Allow,
            vec![(min_tls(f), format!("{}/statements/{k}", tp.ptr))],
        ));
        default = Verdict::Deny;
    }
    (out, default)
}

fn min_tls(v: TlsVersion) -> PolicyCondition {
    PolicyCondition::Tls(TlsTest {
        min: Some(v),
        ..Default::default()
    })
}

/// The policy's decision for `rcpt`.
pub(crate) fn evaluate(tp: &TrafficPolicy, m: &Message, rcpt: &str) -> PolicyTrace {
    let (deployed, default) = deployed(tp);
    let mut statements: Vec<StatementTrace> = deployed
        .into_iter()
        .map(|(index, v, conds)| {
            let conditions: Vec<CondTrace> = conds
                .iter()
                .map(|(c, _)| CondTrace {
                    condition: condition_text(c),
                    answer: cond::policy(m, rcpt, c),
                })
                .collect();
            StatementTrace {
                index,
                action: verdict(v),
                matched: Tri::all(conditions.iter().map(|c| c.answer.result)),
                conditions,
            }
        })
        .collect();
    // Deny statements are evaluated first (stable: spec order within each kind).
    statements.sort_by_key(|s| s.action != "deny");
    let decision = decide(&statements, default, tp, m);
    PolicyTrace {
        name: tp.name.clone(),
        statements,
        default: verdict(default),
        decision,
    }
}

fn describe(s: &StatementTrace) -> String {
    match s.index {
        Some(i) => format!("{} statement {}", s.action, i + 1),
        None => "the allow statement added for the TLS floor".to_string(),
    }
}

fn decide(st: &[StatementTrace], default: Verdict, tp: &TrafficPolicy, m: &Message) -> Decision {
    let first = |action: &str, t: Tri| st.iter().find(|s| s.action == action && s.matched == t);
    let base = if let Some(s) = first("deny", Tri::Yes) {
        Decision {
            verdict: Tri::No,
            by: format!("refused by {}", describe(s)),
        }
    } else {
        let after_deny = if let Some(s) = first("allow", Tri::Yes) {
            Decision {
                verdict: Tri::Yes,
                by: format!("accepted by {}", describe(s)),
            }
        } else if first("allow", Tri::Unknown).is_some() && default == Verdict::Deny {
            Decision {
                verdict: Tri::Unknown,
                by: "accepted only if an allow statement whose answer is unknown matches; otherwise refused by the default (`deny`)".to_string(),
            }
        } else {
            Decision {
                verdict: Tri::from(default == Verdict::Allow),
                by: format!(
                    "{} by the default (`{}`): no statement matched",
                    if default == Verdict::Allow {
                        "accepted"
                    } else {
                        "refused"
                    },
                    verdict(default)
                ),
            }
        };
        match first("deny", Tri::Unknown) {
            Some(s) if after_deny.verdict != Tri::No => Decision {
                verdict: Tri::Unknown,
                by: format!(
                    "refused if {} matches (its answer is unknown); otherwise {}",
                    describe(s),
                    after_deny.by
                ),
            },
            _ => after_deny,
        }
    };
    size_limit(base, tp, m)
}

fn size_limit(d: Decision, tp: &TrafficPolicy, m: &Message) -> Decision {
    let Some(max) = tp.max_message_size.as_ref().and_then(|s| s.bytes().ok()) else {
        return d;
    };
    match m.size {
        Some(size) if size > max && d.verdict != Tri::No => Decision {
            verdict: Tri::No,
            by: format!("discarded: {size} bytes is over `max_message_size` ({max} bytes)"),
        },
        _ => d,
    }
}
