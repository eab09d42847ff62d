//! How each stack ended: the outcome kinds, the root cause of a failure (the
//! first failed resource and its reason) and how to resume.

use serde::Serialize;

use super::*;
use crate::aws::cloudformation::{StackEvent, StackStatus};

/// Logical ids that failed while CloudFormation was rolling back (newest-first events in).
pub fn rollback_failures(events_newest_first: &[StackEvent], stack: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in events_newest_first {
        if e.logical_id == stack && e.is_rollback_start() {
            break;
        }
        if e.logical_id != stack && e.is_failure() && !out.contains(&e.logical_id) {
            out.push(e.logical_id.clone());
        }
    }
    out.reverse();
    out
}

/// What happened to one stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Applied,
    NoChanges,
    Failed,
    /// We lost sight of it (timeout, expired credentials): CloudFormation may still be working.
    Unknown,
    NotStarted,
}

/// The first resource that failed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RootCause {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct StackOutcome {
    pub stack: String,
    pub region: String,
    pub kind: OutcomeKind,
    /// The stack's final status, when known.
    pub status: Option<String>,
    pub detail: Option<String>,
    pub root_cause: Option<RootCause>,
    /// What to do next.
    pub hint: Option<String>,
    /// Things that went wrong without failing the stack (e.g. an old resource not deleted).
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub outputs: Vec<(String, String)>,
}

impl StackOutcome {
    pub(crate) fn new(plan: &StackPlan, kind: OutcomeKind) -> StackOutcome {
        StackOutcome {
            stack: plan.stack.clone(),
            region: plan.region.clone(),
            kind,
            status: None,
            detail: None,
            root_cause: None,
            hint: None,
            warnings: Vec::new(),
            outputs: plan.outputs.clone(),
        }
    }

    pub(crate) fn failed(plan: &StackPlan, detail: String) -> StackOutcome {
        StackOutcome {
            detail: Some(detail),
            ..StackOutcome::new(plan, OutcomeKind::Failed)
        }
    }

    pub fn ok(&self) -> bool {
        matches!(self.kind, OutcomeKind::Applied | OutcomeKind::NoChanges)
    }
}

/// CloudFormation's messages for resources stopped because another one failed.
pub(crate) fn is_cancellation(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.starts_with("resource creation cancelled")
        || r.starts_with("resource update cancelled")
        || r.starts_with("resource deletion cancelled")
        || r.contains("cancelled")
            && (r.contains("another resource failed") || r.contains("because other"))
}

/// The root cause of a failed operation from its events (oldest first, this
/// operation only): the first resource failure that is not a cancellation and not
/// the stack's own summary message.
pub fn root_cause(events_oldest_first: &[StackEvent], stack: &str) -> Option<RootCause> {
    events_oldest_first
        .iter()
        .filter(|e| e.is_failure() && e.logical_id != stack)
        .filter(|e| !e.reason.as_deref().is_some_and(is_cancellation))
        .map(|e| RootCause {
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.reason.clone().unwrap_or_else(|| "no reason given".into()),
        })
        .next()
}

/// What to do after a stack ended in `status`.
pub(crate) fn hint_for(status: &StackStatus, stack: &str, rollback_failed: &[String]) -> String {
    match status {
        StackStatus::UpdateRollbackFailed => format!(
            "`{stack}` could not roll back{}; fix the cause and run `mailinfra apply --continue-rollback`, \
             adding `--skip LOGICAL_ID` only for resources you have fixed by hand; the stack is never deleted",
            if rollback_failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", rollback_failed.join(", "))
            }
        ),
        StackStatus::RollbackComplete | StackStatus::RollbackFailed => format!(
            "the first create of `{stack}` was rolled back; fix the cause and run `mailinfra apply` again: it deletes the empty stack and creates it anew"
        ),
        StackStatus::UpdateRollbackComplete => format!(
            "`{stack}` is back as it was before this apply; fix the cause and run `mailinfra apply` again"
        ),
        _ => "fix the cause and run `mailinfra apply` again".into(),
    }
}
