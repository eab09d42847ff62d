//! How the in-memory account ([`super::fake`]) reads templates as
//! CloudFormation does: parameters resolved, outputs read, and a new change
//! set judged (a type change under one logical id fails it, as does a change
//! set with nothing to do).

use serde_json::Value;

use super::cloudformation::*;
use crate::diff::{self, ResourceChange};

pub(super) fn json(body: &str) -> Option<Value> {
    serde_json::from_str(body).ok()
}

/// A new change set's status, as CloudFormation judges it: a type change
/// fails it, so does a change set with nothing to do.
pub(super) fn judged(
    old: Option<&Value>,
    new: Option<&Value>,
    changes: &[ResourceChange],
) -> (ChangeSetStatus, ExecutionStatus, Option<String>) {
    let retyped = diff::retyped(old, changes);
    if !retyped.is_empty() {
        let why = format!(
            "Update of resource type is not permitted. The new template modifies resource type of the following resources: [{}]",
            retyped.join(", ")
        );
        (
            ChangeSetStatus::Failed,
            ExecutionStatus::Unavailable,
            Some(why),
        )
    } else if old.is_some() && old == new {
        (
            ChangeSetStatus::Failed,
            ExecutionStatus::Unavailable,
            Some("The submitted information didn't contain changes. Submit different information to create a change set.".to_string()),
        )
    } else {
        // An outputs-only change has no resource changes, and is executable.
        (
            ChangeSetStatus::CreateComplete,
            ExecutionStatus::Available,
            None,
        )
    }
}

/// The template with every `{"Ref": parameter}` replaced by its value.
pub(super) fn with_parameters(template: Value, parameters: &[(String, String)]) -> Value {
    match template {
        Value::Object(m) => {
            if let Some(Value::String(name)) = m.get("Ref")
                && m.len() == 1
                && let Some((_, v)) = parameters.iter().find(|(k, _)| k == name)
            {
                return Value::String(v.clone());
            }
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, with_parameters(v, parameters)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(
            a.into_iter()
                .map(|v| with_parameters(v, parameters))
                .collect(),
        ),
        other => other,
    }
}

/// The stack's outputs after a deploy: literal values as written, others a
/// stand-in named after the output.
pub(super) fn outputs_of(template: &str) -> Vec<(String, String)> {
    let Some(t) = json(template) else {
        return Vec::new();
    };
    t["Outputs"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let value = v["Value"]
                        .as_str()
                        .map_or_else(|| format!("fake-{k}"), str::to_string);
                    (k.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}
