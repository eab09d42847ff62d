//! Deploy: plan (change sets) and apply (execute and wait) over [`StackApi`].
//!
//! Input: rendered stacks in deployment order. `plan` reads each stack, skips
//! the ones whose deployed template is identical, and otherwise creates a change
//! set (unique name, client token), waits for it and reads every page; an empty
//! change set is "no changes" and is deleted. `apply` executes exactly those
//! change sets and waits for each stack to settle, reporting progress as
//! [`Progress`] events that the CLI draws. Nothing here prints.

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::Value;

use crate::build::Artifact;
use crate::cfn::{NewChangeSet, StackApi, StackEvent};
use crate::diff::{self, ResourceChange};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// The stack does not exist yet.
    Create,
    /// The stack exists and changes.
    Update,
    /// Nothing to do.
    NoChanges,
}

#[derive(Clone, Debug, Serialize)]
pub struct StackPlan {
    pub stack: String,
    pub region: String,
    pub status: PlanStatus,
    pub changes: Vec<ResourceChange>,
    pub change_set_arn: Option<String>,
    pub stack_arn: Option<String>,
    pub template_sha256: String,
    pub last_updated: Option<String>,
}

impl StackPlan {
    pub fn has_changes(&self) -> bool {
        self.status != PlanStatus::NoChanges
    }
}

/// How long to wait, and how often to look.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub poll: Duration,
    pub change_set_timeout: Duration,
    pub stack_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(2),
            change_set_timeout: Duration::from_secs(600),
            stack_timeout: Duration::from_secs(3600),
        }
    }
}

/// What apply reports while it works.
#[derive(Clone, Debug)]
pub enum Progress {
    StackStarted { stack: String, region: String },
    Event { stack: String, event: StackEvent },
    StackFinished { stack: String, status: String },
}

/// A fresh, unique id for one plan: names its change sets and derives tokens.
pub fn new_plan_id() -> String {
    use sha2::{Digest, Sha256};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!("{nanos}-{}", std::process::id());
    crate::pipeline::hex(&Sha256::digest(seed.as_bytes()))[..16].to_string()
}

fn same_template(deployed: &str, body: &str) -> bool {
    match (
        serde_json::from_str::<Value>(deployed),
        serde_json::from_str::<Value>(body),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => deployed == body,
    }
}

/// Whether a plan's change sets are kept for a later apply or removed once read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Keep the change sets: an apply executes them.
    ChangeSets,
    /// A speculative plan: delete what it created (change sets, and the empty
    /// `REVIEW_IN_PROGRESS` stack of a first create) so that nothing is left behind.
    Nothing,
}

/// Plans one stack.
pub async fn plan_stack(
    api: &impl StackApi,
    artifact: &Artifact,
    plan_id: &str,
    timing: Timing,
    keep: Keep,
) -> anyhow::Result<StackPlan> {
    let entry = &artifact.entry;
    let name = &entry.name;
    let mut plan = StackPlan {
        stack: name.clone(),
        region: entry.region.clone(),
        status: PlanStatus::Create,
        changes: Vec::new(),
        change_set_arn: None,
        stack_arn: None,
        template_sha256: entry.sha256.clone(),
        last_updated: None,
    };
    let current = api.describe_stack(name).await?;
    let mut deployed_template = None;
    if let Some(info) = &current {
        if info.is_in_progress() && !info.is_review() {
            bail!(
                "stack `{name}` is busy ({}); wait for it to settle and plan again",
                info.status
            );
        }
        if info.status == "ROLLBACK_COMPLETE" || info.status == "ROLLBACK_FAILED" {
            bail!(
                "stack `{name}` failed to create and is in {}; it holds nothing and cannot be updated: delete it (`aws cloudformation delete-stack --stack-name {name} --region {}`) and plan again",
                info.status,
                entry.region
            );
        }
        plan.stack_arn = Some(info.arn.clone());
        plan.last_updated = info.last_updated.clone();
        if !info.is_review() {
            plan.status = PlanStatus::Update;
            let deployed = api.get_template(&info.arn).await?;
            if deployed
                .as_deref()
                .is_some_and(|d| same_template(d, &artifact.body))
            {
                plan.status = PlanStatus::NoChanges;
                return Ok(plan);
            }
            deployed_template = deployed;
        }
    }
    let change_set_name = format!("mailinfra-{plan_id}");
    let token = format!("mailinfra-{plan_id}-{}", short_hash(name));
    let arn = api
        .create_change_set(NewChangeSet {
            stack: name,
            name: &change_set_name,
            template_body: &artifact.body,
            create: plan.status == PlanStatus::Create,
            capabilities: &entry.capabilities,
            client_token: &token,
            description: &format!("mailinfra plan {plan_id}"),
        })
        .await?;
    let started = std::time::Instant::now();
    // From here on the change set and its stack are addressed by ARN, never by name.
    let cs = loop {
        let cs = api.describe_change_set(&arn).await?;
        if !cs.is_pending() {
            break cs;
        }
        if started.elapsed() > timing.change_set_timeout {
            bail!(
                "the change set for `{name}` was still {} after {:?}; look at it in the console and plan again",
                cs.status,
                timing.change_set_timeout
            );
        }
        tokio::time::sleep(timing.poll).await;
    };
    // The stack a CREATE change set made exists only to hold it; it goes with it.
    let created_stack = current.is_none();
    let cleanup = async |cs_arn: &str, stack_arn: &str| {
        api.delete_change_set(cs_arn).await.ok();
        if created_stack && !stack_arn.is_empty() {
            let token = format!("mailinfra-{plan_id}-del-{}", short_hash(name));
            api.delete_stack(stack_arn, &token).await.ok();
        }
    };
    if cs.is_empty_failure() {
        cleanup(&cs.arn, &cs.stack_arn).await;
        plan.status = PlanStatus::NoChanges;
        return Ok(plan);
    }
    if cs.status == "FAILED" {
        cleanup(&cs.arn, &cs.stack_arn).await;
        bail!(
            "the change set for `{name}` failed: {}",
            cs.status_reason.unwrap_or_default()
        );
    }
    if keep == Keep::Nothing {
        cleanup(&cs.arn, &cs.stack_arn).await;
    } else {
        plan.stack_arn = Some(cs.stack_arn.clone())
            .filter(|a| !a.is_empty())
            .or(plan.stack_arn);
        plan.change_set_arn = Some(cs.arn.clone());
    }
    plan.changes = cs.changes;
    // Defence in depth: the template diff (with replacement rules from the official
    // schemas) fills in what a change set leaves out — property names, and changes to
    // types an emulator skips — and can only make a change look more dangerous.
    let old = deployed_template
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok());
    let new = serde_json::from_str::<Value>(&artifact.body).ok();
    for local in diff::diff_templates(old.as_ref(), new.as_ref()) {
        match plan
            .changes
            .iter_mut()
            .find(|c| c.logical_id == local.logical_id)
        {
            Some(c) => {
                if c.properties.is_empty() {
                    c.properties = local.properties;
                }
                if c.replacement == diff::Replacement::Never {
                    c.replacement = local.replacement;
                }
            }
            None => plan.changes.push(local),
        }
    }
    plan.changes.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    Ok(plan)
}

fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::pipeline::hex(&Sha256::digest(s.as_bytes()))[..12].to_string()
}

/// The destructive changes (removal or replacement of a stateful resource) that
/// the user has not named in `allowed`, with their stack.
pub fn unallowed_destruction<'a>(
    plans: &'a [StackPlan],
    allowed: &[String],
) -> Vec<(&'a str, &'a ResourceChange)> {
    plans
        .iter()
        .flat_map(|p| p.changes.iter().map(move |c| (p.stack.as_str(), c)))
        .filter(|(_, c)| c.destructive() && !allowed.iter().any(|a| a == &c.logical_id))
        .collect()
}

/// Deletes a kept plan's change set, and the empty stack it created for a first
/// create, when the user declines to apply. Best effort: nothing was executed.
pub async fn discard(api: &impl StackApi, plan: &StackPlan) {
    let Some(arn) = &plan.change_set_arn else {
        return;
    };
    api.delete_change_set(arn).await.ok();
    if plan.status == PlanStatus::Create
        && let Some(stack) = &plan.stack_arn
        && let Ok(Some(info)) = api.describe_stack(stack).await
        && info.is_review()
    {
        api.delete_stack(stack, &format!("discard-{}", short_hash(arn)))
            .await
            .ok();
    }
}

/// Terminal stack states that mean the apply worked.
fn succeeded(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE"
    )
}

/// Executes one planned change set and waits for the stack to settle.
pub async fn apply_stack(
    api: &impl StackApi,
    plan: &StackPlan,
    timing: Timing,
    progress: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<String> {
    let Some(arn) = &plan.change_set_arn else {
        return Ok("NO_CHANGES".into());
    };
    let cs = api.describe_change_set(arn).await?;
    if cs.status != "CREATE_COMPLETE" || cs.execution_status != "AVAILABLE" {
        bail!(
            "the change set for `{}` is {} / {} and can no longer be executed{}; plan again",
            plan.stack,
            cs.status,
            cs.execution_status,
            cs.status_reason
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    progress(Progress::StackStarted {
        stack: plan.stack.clone(),
        region: plan.region.clone(),
    });
    let stack_ref = plan.stack_arn.clone().unwrap_or_else(|| plan.stack.clone());
    let seen: std::collections::HashSet<String> = api
        .stack_events(&stack_ref)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let token = format!("exec-{}", short_hash(arn));
    api.execute_change_set(arn, &token).await?;
    let started = std::time::Instant::now();
    let mut seen = seen;
    loop {
        tokio::time::sleep(timing.poll).await;
        // A failed poll is not a failed deploy: CloudFormation carries on regardless.
        if let Ok(mut events) = api.stack_events(&stack_ref).await {
            events.reverse();
            for e in events {
                if seen.insert(e.id.clone()) {
                    progress(Progress::Event {
                        stack: plan.stack.clone(),
                        event: e,
                    });
                }
            }
        }
        let info = match api.describe_stack(&stack_ref).await {
            Ok(Some(info)) => info,
            Ok(None) => bail!(
                "stack `{}` disappeared while it was being applied",
                plan.stack
            ),
            Err(_) => continue,
        };
        if !info.is_in_progress() {
            progress(Progress::StackFinished {
                stack: plan.stack.clone(),
                status: info.status.clone(),
            });
            if succeeded(&info.status) {
                return Ok(info.status);
            }
            bail!(
                "stack `{}` ended in {}{}",
                plan.stack,
                info.status,
                info.status_reason
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
        if started.elapsed() > timing.stack_timeout {
            bail!(
                "stack `{}` still {} after {:?}; it goes on in CloudFormation: watch it there",
                plan.stack,
                info.status,
                timing.stack_timeout
            );
        }
    }
}

/// Reads a template body from a plan's artifacts by stack name.
pub fn artifact<'a>(artifacts: &'a [Artifact], stack: &str) -> anyhow::Result<&'a Artifact> {
    artifacts
        .iter()
        .find(|a| a.entry.name == stack)
        .context("stack not in the build")
}
