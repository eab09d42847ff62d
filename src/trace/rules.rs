//! A rule set against one envelope recipient: every rule in order; a rule
//! applies when all its conditions hold and none of its `unless` conditions
//! does; its actions run in order; `drop` ends the evaluation for this
//! recipient; `replace_recipients` changes where later deliveries go.

use serde::Serialize;

use crate::model::Model;
use crate::model::receiving::RuleSet;
use crate::spec::{OnFailure, RuleAction, RuleCondition};

use super::cond;
use super::policy::{CondTrace, PolicyTrace, condition_text};
use super::{Message, Tri};

#[derive(Clone, Debug, Serialize)]
pub(crate) struct ActionTrace {
    pub index: usize,
    /// The action's key: `archive`, `relay`, `drop`, …
    pub action: &'static str,
    /// What it does here, in words.
    pub detail: String,
    /// `continue` or `drop` when the action fails (AWS: a configuration error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct RuleTrace {
    pub index: usize,
    pub name: String,
    pub when: Vec<CondTrace>,
    pub unless: Vec<CondTrace>,
    /// `yes`: the actions run; `no`: they do not; `unknown`: they run only if
    /// the unknown conditions go the right way.
    pub applies: Tri,
    /// The actions that ran (or would, when `applies` is unknown).
    pub actions: Vec<ActionTrace>,
    /// Why the rule was not evaluated at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Where the message went.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Outcome {
    /// `archived`, `relayed`, `written_to_s3`, `sent_to_internet`,
    /// `delivered_to_mailbox`, `delivered_to_q_business`, `published_to_sns`,
    /// `lambda_invoked`, `bounced`, `dropped`.
    pub kind: &'static str,
    pub target: String,
    /// The envelope recipients it goes to (after `replace_recipients`).
    pub recipients: Vec<String>,
    /// The rule that did it.
    pub rule: String,
    /// `false` when it depends on a condition whose answer is unknown.
    pub certain: bool,
    /// Spec pointer of the action.
    #[serde(skip)]
    pub ptr: String,
    /// Index of the rule and of the action in it.
    #[serde(skip)]
    pub at: (usize, usize),
}

fn on_failure(f: OnFailure) -> Option<&'static str> {
    Some(match f {
        OnFailure::Continue => "continue",
        OnFailure::Drop => "drop",
    })
}

fn conds(m: &Message, rcpt: &str, cs: &[RuleCondition]) -> Vec<CondTrace> {
    cs.iter()
        .map(|c| CondTrace {
            condition: condition_text(c),
            answer: cond::rule(m, rcpt, c),
        })
        .collect()
}

/// An action's key, words and outcome (`None`: changes no destination).
fn action(
    model: &Model,
    a: &RuleAction,
    rcpts: &[String],
) -> (
    &'static str,
    String,
    Option<&'static str>,
    Option<(&'static str, String)>,
) {
    let mm = &model.mail_manager;
    let list = rcpts.join(", ");
    match a {
        RuleAction::Archive(t) => (
            "archive",
            format!("archive in `{}`", t.name()),
            on_failure(t.on_failure()),
            Some(("archived", format!("archive `{}`", t.name()))),
        ),
        RuleAction::WriteToS3(t) => {
            let at = format!("s3://{}/{}", t.bucket, t.prefix.as_deref().unwrap_or(""));
            (
                "write_to_s3",
                format!("write to {at}"),
                on_failure(t.on_failure),
                Some(("written_to_s3", at)),
            )
        }
        RuleAction::Relay(t) => {
            let host = mm
                .relay(&t.to)
                .and_then(|r| r.host.as_ref().map(|h| format!(" ({h}:{})", r.port)))
                .unwrap_or_default();
            let mode = match t.mail_from {
                Some(crate::spec::MailFromMode::Preserve) => "original MAIL FROM kept",
                _ => "MAIL FROM replaced",
            };
            (
                "relay",
                format!("relay to `{}`{host} for {list}, {mode}", t.to),
                on_failure(t.on_failure),
                Some(("relayed", format!("relay `{}`{host}", t.to))),
            )
        }
        RuleAction::SendToInternet(t) => (
            "send_to_internet",
            format!("send through SES to {list}"),
            on_failure(t.on_failure),
            Some(("sent_to_internet", "the internet through SES".to_string())),
        ),
        RuleAction::DeliverToMailbox(t) => (
            "deliver_to_mailbox",
            format!("deliver to the WorkMail mailbox {}", t.mailbox),
            on_failure(t.on_failure),
            Some(("delivered_to_mailbox", t.mailbox.clone())),
        ),
        RuleAction::DeliverToQBusiness(t) => (
            "deliver_to_q_business",
            format!("deliver to the Amazon Q Business index {}", t.index),
            on_failure(t.on_failure),
            Some(("delivered_to_q_business", t.index.clone())),
        ),
        RuleAction::ReplaceRecipients(v) => (
            "replace_recipients",
            format!("replace the recipients with {}", v.as_slice().join(", ")),
            None,
            None,
        ),
        RuleAction::AddHeader(h) => (
            "add_header",
            format!("add the header `{}: {}`", h.name, h.value),
            None,
            None,
        ),
        RuleAction::PublishToSns(t) => (
            "publish_to_sns",
            format!("publish to the SNS topic `{}`", t.topic),
            on_failure(t.on_failure),
            Some(("published_to_sns", t.topic.clone())),
        ),
        RuleAction::InvokeLambda(t) => (
            "invoke_lambda",
            format!("invoke {}", t.function),
            on_failure(t.on_failure),
            Some(("lambda_invoked", t.function.clone())),
        ),
        RuleAction::Bounce(t) => (
            "bounce",
            format!(
                "bounce to the sender ({} {}) from {}",
                t.smtp_reply_code, t.status_code, t.sender
            ),
            on_failure(t.on_failure),
            Some(("bounced", t.sender.clone())),
        ),
        RuleAction::Drop(_) => (
            "drop",
            "drop the message for this recipient".to_string(),
            None,
            Some(("dropped", String::new())),
        ),
    }
}

/// The rules and outcomes for `rcpt`; `certain` is false when the policy's
/// acceptance itself is unknown.
pub(crate) fn evaluate(
    model: &Model,
    rs: &RuleSet,
    m: &Message,
    rcpt: &str,
    certain: bool,
) -> (Vec<RuleTrace>, Vec<Outcome>) {
    let mut recipients = vec![rcpt.to_string()];
    let mut certain = certain;
    let mut stopped: Option<String> = None;
    let mut traces = Vec::new();
    let mut outcomes = Vec::new();
    for (n, rule) in rs.rules.iter().enumerate() {
        let base = format!("{}/rules/{n}", rs.ptr);
        if let Some(by) = &stopped {
            traces.push(RuleTrace {
                index: n,
                name: rule.name.clone(),
                when: Vec::new(),
                unless: Vec::new(),
                applies: Tri::No,
                actions: Vec::new(),
                skipped: Some(format!(
                    "not evaluated: `drop` in rule `{by}` ended the evaluation for this recipient"
                )),
            });
            continue;
        }
        let when = conds(m, rcpt, &rule.when);
        let unless = conds(m, rcpt, &rule.unless);
        let applies = Tri::all([
            Tri::all(when.iter().map(|c| c.answer.result)),
            Tri::any(unless.iter().map(|c| c.answer.result)).not(),
        ]);
        let mut actions = Vec::new();
        if applies != Tri::No {
            let sure = certain && applies == Tri::Yes;
            for (k, a) in rule.actions.iter().enumerate() {
                let (key, detail, on_failure, out) = action(model, a, &recipients);
                actions.push(ActionTrace {
                    index: k,
                    action: key,
                    detail,
                    on_failure,
                });
                if let Some((kind, target)) = out {
                    outcomes.push(Outcome {
                        kind,
                        target,
                        recipients: recipients.clone(),
                        rule: rule.name.clone(),
                        certain: sure,
                        ptr: format!("{base}/actions/{k}"),
                        at: (n, k),
                    });
                }
                match a {
                    RuleAction::ReplaceRecipients(v) => {
                        recipients = v.as_slice().to_vec();
                    }
                    RuleAction::Drop(_) => {
                        if sure {
                            stopped = Some(rule.name.clone());
                        } else {
                            certain = false;
                        }
                        break;
                    }
                    _ => {}
                }
            }
            if applies == Tri::Unknown
                && rule
                    .actions
                    .iter()
                    .any(|a| matches!(a, RuleAction::ReplaceRecipients(_)))
            {
                certain = false;
            }
        }
        traces.push(RuleTrace {
            index: n,
            name: rule.name.clone(),
            when,
            unless,
            applies,
            actions,
            skipped: None,
        });
    }
    (traces, outcomes)
}

fn describe(o: &Outcome) -> String {
    match o.kind {
        "archived" => format!("archived in {}", o.target),
        "relayed" => format!("relayed to {} for {}", o.target, o.recipients.join(", ")),
        "written_to_s3" => format!("written to {}", o.target),
        "sent_to_internet" => format!("sent to {} for {}", o.target, o.recipients.join(", ")),
        "delivered_to_mailbox" => format!("delivered to the mailbox {}", o.target),
        "delivered_to_q_business" => format!("delivered to the Q Business index {}", o.target),
        "published_to_sns" => format!("published to {}", o.target),
        "lambda_invoked" => format!("passed to {}", o.target),
        "bounced" => "bounced to the sender".to_string(),
        _ => "dropped".to_string(),
    }
}

/// One line: what becomes of the message for this recipient.
pub(crate) fn fate(refused: Option<&str>, policy: &PolicyTrace, outcomes: &[Outcome]) -> String {
    if let Some(why) = refused {
        return format!("refused at the connection: {why}");
    }
    if policy.decision.verdict == Tri::No {
        return format!(
            "refused by the traffic policy `{}`: {}",
            policy.name, policy.decision.by
        );
    }
    let sure: Vec<String> = outcomes
        .iter()
        .filter(|o| o.certain)
        .map(describe)
        .collect();
    let maybe: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.certain)
        .map(describe)
        .collect();
    let mut text = if sure.is_empty() {
        if maybe.is_empty() {
            "delivered nowhere: no rule applies".to_string()
        } else {
            "nothing certain".to_string()
        }
    } else {
        sure.join(", then ")
    };
    if !maybe.is_empty() {
        text.push_str(&format!(
            "; depending on unknown answers: {}",
            maybe.join(", ")
        ));
    }
    if policy.decision.verdict == Tri::Unknown {
        text = format!(
            "if the traffic policy accepts it ({}): {text}",
            policy.decision.by
        );
    }
    text
}
