//! Applying: execute exactly the planned change sets in dependency order,
//! wait for each stack with a bounded timeout, report every stack's outcome.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use super::*;
use super::{follow::*, graph::*, guards::*, outcome::*, plan::*};
use crate::aws::cloudformation::{ExecutionStatus, StackApi};
use crate::aws::s3::TemplateStore;
use crate::build::Artifact;

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
        && api
            .list_change_sets(stack)
            .await
            .is_ok_and(|sets| sets.is_empty())
    {
        api.delete_stack(stack, &format!("discard-{}", short_hash(arn)))
            .await
            .ok();
    }
}

/// Executes one planned change set and waits for the stack to settle.
pub async fn apply_stack(
    api: &impl StackApi,
    plan: &StackPlan,
    opts: &Options,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let Some(arn) = &plan.change_set_arn else {
        return StackOutcome::new(plan, OutcomeKind::NoChanges);
    };
    // Described once, never waited on: a change set that is not ready now is
    // someone else's business (executed, obsolete, deleted) and needs a new plan.
    let cs = match api.describe_change_set(arn).await {
        Ok(cs) => cs,
        Err(e) => {
            return StackOutcome {
                hint: Some("plan again".into()),
                ..StackOutcome::failed(plan, format!("the planned change set is gone: {e:#}"))
            };
        }
    };
    if !cs.is_executable() {
        let why = match cs.execution_status {
            ExecutionStatus::Obsolete => " (the stack was updated after the plan)",
            ExecutionStatus::ExecuteComplete | ExecutionStatus::ExecuteInProgress => {
                " (it was already executed)"
            }
            _ => "",
        };
        return StackOutcome {
            hint: Some("plan again".into()),
            ..StackOutcome::failed(
                plan,
                format!(
                    "the change set is {} / {} and can no longer be executed{why}{}",
                    cs.status,
                    cs.execution_status,
                    cs.status_reason
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            )
        };
    }
    if opts.interrupt.is_raised() {
        discard(api, plan).await;
        return StackOutcome {
            detail: Some(
                "interrupted before its change set was executed; the change set was removed".into(),
            ),
            hint: Some("run `mailinfra apply` again to apply it".into()),
            ..StackOutcome::new(plan, OutcomeKind::NotStarted)
        };
    }
    let stack_ref = plan.stack_arn.clone().unwrap_or_else(|| plan.stack.clone());
    progress(Progress::StackStarted {
        stack: plan.stack.clone(),
        region: plan.region.clone(),
        operation: arn.clone(),
        stack_arn: stack_ref.clone(),
    });
    // The newest events before execution: following stops paging back at them.
    let seen: HashSet<String> = match api.stack_events(&stack_ref, None).await {
        Ok(page) => page.events.into_iter().map(|e| e.id).collect(),
        Err(e) => {
            progress(Progress::Warning {
                stack: plan.stack.clone(),
                message: format!(
                    "cannot read the stack's earlier events ({e:#}); the events shown may include older ones"
                ),
            });
            HashSet::new()
        }
    };
    if plan.status == PlanStatus::Create && opts.termination_protection {
        // Before the first execution, so a failed first create is protected too.
        if let Err(e) = api.update_termination_protection(&stack_ref, true).await {
            progress(Progress::Warning {
                stack: plan.stack.clone(),
                message: format!("termination protection stays off: {e:#}"),
            });
        }
    }
    let token = format!("mailinfra-exec-{}", short_hash(arn));
    if let Err(e) = api.execute_change_set(arn, &token).await {
        // The call may have gone through although its answer was lost: look.
        match api.describe_change_set(arn).await {
            Ok(c) if c.execution_status.started() => {}
            // Not executed, and the change set says so: nothing changed.
            Ok(_) if crate::aws::is_transient(&e) => {
                // Kept, so that the same plan can be applied again.
                return StackOutcome {
                    hint: Some(
                        "nothing was changed and the change set is kept: run `mailinfra apply` again (with the same plan file, if you used one)"
                            .into(),
                    ),
                    ..StackOutcome::failed(
                        plan,
                        format!("not executed: the change set is still unexecuted after {e:#}"),
                    )
                };
            }
            Ok(_) => {
                // Refused for good: remove the change set (and the empty stack of a first create).
                discard(api, plan).await;
                return StackOutcome {
                    hint: Some("plan again".into()),
                    ..StackOutcome::failed(plan, format!("{e:#}"))
                };
            }
            // Whether it runs cannot be told: CloudFormation may be working on it.
            Err(_) => return lost(plan, &stack_ref, None, &format!("{e:#}")),
        }
    }
    follow(api, plan, &stack_ref, seen, opts, progress).await
}

/// Applies planned stacks in dependency order, independent ones in parallel.
/// Outputs of applied stacks are passed on as parameters; a dependent whose
/// parameters differ from the planned ones (or that was deferred) is planned
/// again first, and refused if that plan destroys something not in `allowed`.
/// After a failure no new stack starts; every stack gets an outcome.
pub async fn apply_all<A: StackApi, S: TemplateStore>(
    regions: &BTreeMap<String, Region<A, S>>,
    artifacts: &[Artifact],
    plans: &[StackPlan],
    allowed: &[String],
    opts: &Options,
    progress: ProgressFn<'_>,
) -> Vec<StackOutcome> {
    let nodes = graph(artifacts);
    let outputs: Mutex<HashMap<String, Vec<(String, String)>>> = Mutex::new(
        plans
            .iter()
            .filter(|p| !p.outputs.is_empty())
            .map(|p| (p.stack.clone(), p.outputs.clone()))
            .collect(),
    );
    let results = run_graph(&nodes, opts.concurrency, &opts.interrupt, |i| {
        let a = &artifacts[i];
        let outputs = &outputs;
        async move {
            let Some(planned) = plans.iter().find(|p| p.stack == a.entry.name) else {
                let p = StackPlan::new(a);
                return (StackOutcome::failed(&p, "not in the plan".into()), false);
            };
            let out = match region_of(regions, &a.entry.region) {
                Ok(region) => apply_one(region, a, planned, allowed, opts, outputs, progress).await,
                Err(e) => StackOutcome::failed(planned, format!("{e:#}")),
            };
            if out.ok()
                && let Ok(mut m) = outputs.lock()
            {
                m.insert(out.stack.clone(), out.outputs.clone());
            }
            let ok = out.ok();
            (out, ok)
        }
    })
    .await;
    let failed: HashSet<String> = results
        .iter()
        .flatten()
        .filter(|o| !o.ok())
        .map(|o| o.stack.clone())
        .collect();
    // Stacks that never started leave nothing behind: their change sets go.
    for (i, r) in results.iter().enumerate() {
        if r.is_none()
            && let Some(p) = plans.iter().find(|p| p.stack == nodes[i].0)
            && let Ok(region) = region_of(regions, &p.region)
        {
            discard(&region.api, p).await;
        }
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                let blocked_by: Vec<&String> =
                    nodes[i].1.iter().filter(|d| failed.contains(*d)).collect();
                let p = plans
                    .iter()
                    .find(|p| p.stack == nodes[i].0)
                    .cloned()
                    .unwrap_or_else(|| StackPlan::new(&artifacts[i]));
                StackOutcome {
                    detail: Some(if blocked_by.is_empty() && opts.interrupt.is_raised() {
                        "interrupted before it started".into()
                    } else if blocked_by.is_empty() {
                        "another stack failed, so no new stack started".into()
                    } else {
                        format!(
                            "it depends on {}, which did not succeed",
                            blocked_by
                                .iter()
                                .map(|d| format!("`{d}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }),
                    hint: Some("run `mailinfra apply` again once the failure is fixed: applied stacks are no-ops".into()),
                    ..StackOutcome::new(&p, OutcomeKind::NotStarted)
                }
            })
        })
        .collect()
}

pub(crate) async fn apply_one<A: StackApi, S: TemplateStore>(
    region: &Region<A, S>,
    artifact: &Artifact,
    planned: &StackPlan,
    allowed: &[String],
    opts: &Options,
    outputs: &Mutex<HashMap<String, Vec<(String, String)>>>,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let mut plan = planned.clone();
    if !artifact.entry.parameters.is_empty() {
        let known = outputs.lock().map(|m| m.clone()).unwrap_or_default();
        let params = match resolve_parameters(artifact, &known) {
            Ok(p) => p,
            Err(why) => return StackOutcome::failed(&plan, why),
        };
        if plan.deferred.is_some() || params != plan.parameters {
            // The producer's outputs changed (or were unknown) since the plan.
            discard(&region.api, &plan).await;
            let fresh = Options {
                keep: Keep::ChangeSets,
                ..opts.clone()
            };
            plan = match plan_stack(&region.api, &region.store, artifact, &params, &fresh).await {
                Ok(p) => p,
                Err(e) => return StackOutcome::failed(&plan, format!("{e:#}")),
            };
            if let Some(why) = super::guards::impossible(std::slice::from_ref(&plan)) {
                discard(&region.api, &plan).await;
                return StackOutcome::failed(
                    &plan,
                    format!("refused: with the new outputs of its dependencies, {why}"),
                );
            }
            let refused = unallowed_destruction(std::slice::from_ref(&plan), allowed);
            if !refused.is_empty() {
                discard(&region.api, &plan).await;
                let ids: Vec<&str> = refused.iter().map(|(_, c)| c.logical_id.as_str()).collect();
                return StackOutcome {
                    hint: Some(format!(
                        "if this is intended, apply again with {}",
                        ids.iter()
                            .map(|i| format!("--allow-destroy {i}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )),
                    ..StackOutcome::failed(
                        &plan,
                        format!(
                            "refused: with the new outputs of its dependencies it would delete or replace {}",
                            ids.join(", ")
                        ),
                    )
                };
            }
        }
    }
    if !plan.has_changes() {
        let mut out = StackOutcome::new(&plan, OutcomeKind::NoChanges);
        // A plan read from a file does not carry outputs; dependents may need them.
        if out.outputs.is_empty()
            && let Ok(Some(info)) = region.api.describe_stack(&plan.stack).await
        {
            out.outputs = info.outputs;
        }
        return out;
    }
    apply_stack(&region.api, &plan, opts, progress).await
}
