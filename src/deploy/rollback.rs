//! `apply --continue-rollback`: continue the rollback of a stack in
//! `UPDATE_ROLLBACK_FAILED`, skipping exactly the resources the user named.

use std::collections::HashSet;

use super::*;
use super::{follow::*, outcome::*, plan::*};
use crate::aws::cloudformation::{StackApi, StackStatus};
use crate::build::Artifact;

/// Continues the rollback of a stack in `UPDATE_ROLLBACK_FAILED`, skipping
/// exactly the resources the user named, and waits for it to settle.
pub async fn continue_rollback(
    api: &impl StackApi,
    stack: &str,
    region: &str,
    skip: &[String],
    opts: &Options,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let plan = StackPlan {
        stack: stack.to_string(),
        region: region.to_string(),
        ..StackPlan::new(&Artifact {
            entry: crate::build::StackEntry {
                name: stack.to_string(),
                region: region.to_string(),
                concern: String::new(),
                template: String::new(),
                sha256: String::new(),
                bytes: 0,
                resources: 0,
                depends_on: Vec::new(),
                parameters: Vec::new(),
                outputs: 0,
                capabilities: Vec::new(),
                needs_upload: false,
            },
            body: String::new(),
        })
    };
    let info = match api.describe_stack(stack).await {
        Ok(Some(i)) => i,
        Ok(None) => return StackOutcome::new(&plan, OutcomeKind::NoChanges),
        Err(e) => return StackOutcome::failed(&plan, format!("{e:#}")),
    };
    if info.status != StackStatus::UpdateRollbackFailed {
        return StackOutcome {
            status: Some(info.status.to_string()),
            ..StackOutcome::new(&plan, OutcomeKind::NoChanges)
        };
    }
    let plan = StackPlan {
        stack_arn: Some(info.arn.clone()),
        ..plan
    };
    let page = api.stack_events(&info.arn, None).await.unwrap_or_default();
    let seen: HashSet<String> = page.events.iter().map(|e| e.id.clone()).collect();
    progress(Progress::StackStarted {
        stack: stack.to_string(),
        region: region.to_string(),
        operation: "continue-update-rollback".into(),
        stack_arn: info.arn.clone(),
    });
    let mut skip_key = skip.to_vec();
    skip_key.sort();
    let token = format!(
        "mailinfra-rollback-{}",
        short_hash(&format!(
            "{}{}{}",
            info.arn,
            info.last_updated.unwrap_or_default(),
            skip_key.join(",")
        ))
    );
    if let Err(e) = api
        .continue_update_rollback(&info.arn, skip, &token, opts.role_arn.as_deref())
        .await
    {
        return StackOutcome::failed(&plan, format!("{e:#}"));
    }
    let mut out = follow(api, &plan, &info.arn, seen, opts, progress).await;
    if out.status.as_deref() == Some(StackStatus::UpdateRollbackComplete.as_str()) {
        out.kind = OutcomeKind::Applied;
        out.detail = Some("rolled back; the stack can be updated again".into());
        out.hint = Some("run `mailinfra apply` to deploy the spec".into());
    }
    out
}
