//! The statements of the generated roles whose policies grow with the spec:
//! sending roles, and the roles Mail Manager's send and bounce actions run
//! as. Each names exactly what the spec names (identities, their
//! configuration sets, templates), never a wildcard the spec did not write.
//! `compile` builds the roles from these statements; `check` measures the
//! same statements, so a role too large for IAM is an error at `validate`.

use serde_json::{Value, json};

use crate::model::sending::{RoleScope, SendingRole};
use crate::model::{DomainIdentity, Model};
use crate::spec::{RoleIdentities, SendAction};

fn sub(s: &str) -> Value {
    json!({ "Fn::Sub": s })
}

/// The ARN of an SES identity in `region` (a region name or `${AWS::Region}`).
pub(crate) fn identity_arn(region: &str, identity: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:ses:{region}:${{AWS::AccountId}}:identity/{identity}"
    ))
}

fn ses_arn(model: &Model, region: &str, kind: &str, name: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:ses:{region}:${{AWS::AccountId}}:{kind}/{}-{name}",
        model.project
    ))
}

/// The sending regions: the primary, then the secondary.
fn sending_regions(model: &Model) -> Vec<&str> {
    std::iter::once(model.primary.as_str())
        .chain(model.secondary.as_deref())
        .collect()
}

/// The SES actions behind a role's `allow`, sorted and without repeats.
pub(crate) fn send_actions(allow: &[SendAction]) -> Vec<&'static str> {
    let mut actions: Vec<&str> = Vec::new();
    for a in allow {
        match a {
            SendAction::Send => actions.push("ses:SendEmail"),
            SendAction::SendRaw => actions.push("ses:SendRawEmail"),
            SendAction::SendTemplated => {
                actions.extend(["ses:SendEmail", "ses:SendTemplatedEmail"])
            }
            SendAction::SendBulk => {
                actions.extend(["ses:SendBulkEmail", "ses:SendBulkTemplatedEmail"])
            }
        }
    }
    actions.sort();
    actions.dedup();
    actions
}

/// The identities a sending role's scope names; `None` for `"*"`.
fn role_identities<'a>(model: &'a Model, role: &SendingRole) -> Option<Vec<&'a DomainIdentity>> {
    match &role.scope {
        RoleScope::Any => None,
        RoleScope::All => Some(model.identities.iter().collect()),
        RoleScope::Listed(l) => Some(
            l.iter()
                .filter_map(|r| r.index.and_then(|i| model.identities.get(i)))
                .collect(),
        ),
    }
}

/// In `region`, the identities, their configuration sets and `extra_set`
/// (sorted, once each).
fn identity_and_set_arns(
    model: &Model,
    region: &str,
    ids: &[&DomainIdentity],
    extra_set: Option<&str>,
    out: &mut Vec<Value>,
) {
    for id in ids {
        out.push(identity_arn(region, &id.domain));
    }
    let mut sets: Vec<&str> = ids
        .iter()
        .filter_map(|i| i.configuration_set.as_ref().map(|c| c.name.as_str()))
        .chain(extra_set)
        .collect();
    sets.sort();
    sets.dedup();
    for s in sets {
        out.push(ses_arn(model, region, "configuration-set", s));
    }
}

/// What a sending role may send from: `*`, or in every sending region the
/// identities of its scope, their configuration sets and its own, and (for
/// templated or bulk sending) every email template.
fn role_scope_arns(model: &Model, role: &SendingRole) -> Value {
    let Some(scoped) = role_identities(model, role) else {
        return json!("*");
    };
    let templated = role
        .allow
        .iter()
        .any(|a| matches!(a, SendAction::SendTemplated | SendAction::SendBulk));
    let mut v = Vec::new();
    for region in sending_regions(model) {
        let own = role.configuration_set.as_ref().map(|c| c.name.as_str());
        identity_and_set_arns(model, region, &scoped, own, &mut v);
        if templated {
            for tpl in &model.sending.templates {
                v.push(ses_arn(model, region, "template", &tpl.name));
            }
        }
    }
    Value::Array(v)
}

/// The permission statements of a sending role.
pub(crate) fn sending_role_statements(model: &Model, role: &SendingRole) -> Vec<Value> {
    let mut statement = json!({
        "Effect": "Allow",
        "Action": send_actions(&role.allow),
        "Resource": role_scope_arns(model, role),
    });
    if !role.from.is_empty() {
        statement["Condition"] = json!({ "StringLike": { "ses:FromAddress": role.from } });
    }
    vec![statement]
}

/// The declared identities a `send_to_internet` action's `identities` names
/// (every declared identity by default); `None` for `"*"`. Names that match
/// no identity are left out (reported by `check`).
pub(crate) fn send_identities<'a>(
    model: &'a Model,
    scope: Option<&RoleIdentities>,
) -> Option<Vec<&'a DomainIdentity>> {
    match scope {
        Some(RoleIdentities::Any(_)) => None,
        None => Some(model.identities.iter().collect()),
        Some(RoleIdentities::List(names)) => Some(
            names
                .iter()
                .filter_map(|n| {
                    let n = n.trim_end_matches('.');
                    model.identities.iter().find(|i| i.domain == n)
                })
                .collect(),
        ),
    }
}

/// The statements of the role a Mail Manager `send_to_internet` action runs
/// as. SES sends the message with `SendRawEmail` and authorizes its sender
/// against a verified identity of the account in the Mail Manager region;
/// which identity is the message's, so the spec says which ones the role may
/// use: the action's `identities` (default: every declared identity), with
/// their configuration sets (an identity's default set applies to what it
/// sends).
pub(crate) fn mail_manager_send_statements(
    model: &Model,
    scope: Option<&RoleIdentities>,
) -> Vec<Value> {
    let resource = match send_identities(model, scope) {
        None => json!("*"),
        Some(ids) => {
            let mut v = Vec::new();
            identity_and_set_arns(model, "${AWS::Region}", &ids, None, &mut v);
            Value::Array(v)
        }
    };
    vec![
        json!({ "Effect": "Allow", "Action": ["ses:SendEmail", "ses:SendRawEmail"], "Resource": resource }),
    ]
}

/// The identities that can cover the bounce sender `sender` (an address): the
/// address itself, its domain, and every declared identity that is a parent
/// domain of it. SES's `SendBounce` takes an identity (`identity*` in the
/// Service Authorization Reference) and the sender "must be an identity that
/// you have verified", which can be the address or a domain it lies in.
pub(crate) fn bounce_identities(model: &Model, sender: &str) -> Vec<String> {
    let mut out = vec![sender.to_string()];
    let Some((_, domain)) = sender.rsplit_once('@') else {
        return out;
    };
    out.push(domain.to_string());
    let mut parents: Vec<&str> = model
        .identities
        .iter()
        .filter(|i| !i.is_email && domain.ends_with(&format!(".{}", i.domain)))
        .map(|i| i.domain.as_str())
        .collect();
    parents.sort();
    parents.dedup();
    out.extend(parents.into_iter().map(String::from));
    out
}

/// The statements of the role a Mail Manager `bounce` action runs as:
/// `ses:SendBounce` on the identities that can cover its sender.
pub(crate) fn mail_manager_bounce_statements(model: &Model, sender: &str) -> Vec<Value> {
    let arns: Vec<Value> = bounce_identities(model, sender)
        .iter()
        .map(|i| identity_arn("${AWS::Region}", i))
        .collect();
    vec![json!({ "Effect": "Allow", "Action": ["ses:SendBounce"], "Resource": arns })]
}
