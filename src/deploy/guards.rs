//! The questions apply's refusal policy asks of plans: which changes destroy
//! or replace a stateful resource, which resources moved to a new logical id
//! under the same AWS name, which imports nobody named, whether a planned
//! stack is still as it was.

use std::collections::HashMap;

use serde_json::Value;

use super::plan::*;
use super::waits::Verified;
use super::*;
use crate::aws::cloudformation::StackApi;
use crate::diff::{self, ResourceChange};

/// Whether the template `body` has a resource with this logical id.
pub fn template_has_resource(body: &str, logical_id: &str) -> bool {
    serde_json::from_str::<Value>(body)
        .ok()
        .is_some_and(|t| t["Resources"].get(logical_id).is_some())
}

/// Imports in the plans that the user did not name with `--import`: a change
/// set that imports imports every existing named resource of its template.
pub fn unnamed_imports<'a>(
    plans: &'a [StackPlan],
    named: &[String],
) -> Vec<(&'a str, &'a ResourceChange)> {
    changes_where(plans, |c| {
        c.action == diff::Action::Import && !named.contains(&c.logical_id)
    })
}

/// The changes of every plan that `keep` selects, with their stack.
pub fn changes_where(
    plans: &[StackPlan],
    keep: impl Fn(&ResourceChange) -> bool,
) -> Vec<(&str, &ResourceChange)> {
    plans
        .iter()
        .flat_map(|p| p.changes.iter().map(move |c| (p.stack.as_str(), c)))
        .filter(|(_, c)| keep(c))
        .collect()
}

/// Pairs, over every stack of a plan, a resource added under one logical id with
/// one removed under another that has the same name in AWS (a logical-id
/// change: a refactor, a spec key renamed, an element moved between stacks)
/// and marks the added one. CloudFormation creates before it deletes, so such
/// a pair fails with "already exists" half-way (or, for DNS records, can end
/// with neither record). Returns how many were marked.
pub fn mark_renames(plans: &mut [StackPlan]) -> usize {
    let removed: HashMap<String, (String, String)> = plans
        .iter()
        .flat_map(|p| p.changes.iter().map(move |c| (p, c)))
        .filter(|(_, c)| c.action == diff::Action::Remove)
        .filter_map(|(p, c)| {
            Some((
                c.physical_name.clone()?,
                (p.stack.clone(), c.logical_id.clone()),
            ))
        })
        .collect();
    let mut marked = 0;
    for p in plans.iter_mut() {
        let stack = p.stack.clone();
        for c in &mut p.changes {
            if c.action != diff::Action::Add {
                continue;
            }
            if let Some((from_stack, from_id)) =
                c.physical_name.as_ref().and_then(|n| removed.get(n))
            {
                c.renamed_from = Some(if *from_stack == stack {
                    format!("`{from_id}`")
                } else {
                    format!("`{from_id}` in `{from_stack}`")
                });
                marked += 1;
            }
        }
    }
    marked
}

/// Whether a planned stack is still as it was when planned: not updated by anyone since.
pub async fn still_current(api: &impl StackApi, plan: &StackPlan) -> Result<(), String> {
    let Some(arn) = &plan.stack_arn else {
        return Ok(());
    };
    match api.describe_stack(arn).await {
        Ok(Some(info))
            if plan.status == PlanStatus::Update && info.last_updated != plan.last_updated =>
        {
            Err(format!(
                "stack `{}` was updated at {} after the plan was made",
                plan.stack,
                info.last_updated.unwrap_or_default()
            ))
        }
        Ok(Some(_)) if plan.deployed_sha256.is_some() => {
            let now = api.get_template(arn).await.map_err(|e| format!("{e:#}"))?;
            if now.as_deref().map(canonical_hash) != plan.deployed_sha256 {
                return Err(format!(
                    "stack `{}` was changed by another deploy after the plan was made",
                    plan.stack
                ));
            }
            Ok(())
        }
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!("stack `{}` no longer exists", plan.stack)),
        Err(e) => Err(format!("cannot read stack `{}`: {e:#}", plan.stack)),
    }
}

/// Replaces a saved plan's changes with what its change set holds now, read
/// back from CloudFormation (`DescribeChangeSet`) and compared with the
/// templates again, so every gate judges what would really be executed: a
/// plan file is checked for corruption, not trusted, and whether a resource
/// is stateful always comes from its type, never from the file.
pub async fn reread(api: &impl StackApi, plan: &mut StackPlan, body: &str) -> anyhow::Result<()> {
    let Some(arn) = plan.change_set_arn.clone() else {
        // Nothing will be executed for this stack; what blocks it still shows.
        plan.changes = match &plan.stack_arn {
            Some(stack) if plan.status == PlanStatus::Update => {
                let deployed = api.get_template(stack).await?;
                type_changes(deployed.as_deref(), body).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        return Ok(());
    };
    let cs = api.describe_change_set(&arn).await?;
    let deployed = match &plan.stack_arn {
        Some(stack) if plan.status == PlanStatus::Update => api.get_template(stack).await?,
        _ => None,
    };
    // What the plan held back is held back again, but only marked resources
    // the stack does not hold: an edited list can never hide a deletion.
    let listed = plan.waiting.clone();
    let held = super::waits::hold_back(body, deployed.as_deref(), &Verified::all_but(&listed));
    plan.waiting = held.as_ref().map(|(_, w)| w.clone()).unwrap_or_default();
    let body = held.as_ref().map_or(body, |(b, _)| b.as_str());
    let mut changes = cs.changes;
    merge_local(&mut changes, deployed.as_deref(), body);
    plan.changes = changes;
    Ok(())
}

/// The destructive changes (removal or replacement of a stateful resource) that
/// the user has not named in `allowed`, with their stack.
pub fn unallowed_destruction<'a>(
    plans: &'a [StackPlan],
    allowed: &[String],
) -> Vec<(&'a str, &'a ResourceChange)> {
    changes_where(plans, |c| {
        c.destructive() && !allowed.contains(&c.logical_id)
    })
}

/// A refusal: the header, each change found on a line, then what to do.
fn text(
    header: &str,
    found: &[(&str, &ResourceChange)],
    line: impl Fn(&ResourceChange) -> String,
    advice: &str,
) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    let mut out = format!("{header}\n");
    for (stack, c) in found {
        out.push_str(&format!("  {stack}: {}\n", line(c)));
    }
    out.push_str(advice);
    Some(out)
}

/// The changes CloudFormation cannot make at all (see
/// [`ResourceChange::blocked`]), as the text to print; `plan` ends with it
/// too, so a plan that cannot be applied fails where it is reviewed.
pub fn impossible(plans: &[StackPlan]) -> Option<String> {
    let blocked = changes_where(plans, |c| c.blocked.is_some());
    text(
        "CloudFormation cannot make these changes:",
        &blocked,
        |c| {
            format!(
                "{} ({}): {}",
                c.logical_id,
                c.resource_type,
                c.blocked.as_deref().unwrap_or_default()
            )
        },
        "Nothing was changed. Change the spec as said above (or apply in the steps given), then plan again.",
    )
}

/// Why an apply must not run these plans, as the text to print: the first
/// guard some change fails, each such change on a line, then what to do.
pub fn refusal(plans: &[StackPlan], allow_destroy: &[String], import: &[String]) -> Option<String> {
    use crate::diff::Action;
    let unnamed = unnamed_imports(plans, import);
    let taken = changes_where(plans, |c| c.exists_outside.is_some());
    let renamed = changes_where(plans, |c| c.renamed_from.is_some());
    let destroyed = unallowed_destruction(plans, allow_destroy);
    let flags: Vec<String> = destroyed
        .iter()
        .map(|(_, c)| format!("--allow-destroy {}", c.logical_id))
        .collect();
    let why = impossible(plans)
    .or_else(|| super::retired::protected(plans))
    .or_else(|| {
        text(
        "CloudFormation would also import resources you did not name \
         (it imports every existing named resource of a stack it imports into):",
        &unnamed,
        |c| format!("{} ({})", c.logical_id, c.resource_type),
        "Name each with `--import LOGICAL_ID` if it is meant to be managed here, or remove it first.",
    )
    })
    .or_else(|| {
        text(
            "resources the plan adds already exist outside any stack; \
             CloudFormation would fail to create them in the middle of the apply and roll the stack back:",
            &taken,
            |c| {
                format!(
                    "{} ({}) is {}",
                    c.logical_id,
                    c.resource_type,
                    c.exists_outside.as_deref().unwrap_or_default()
                )
            },
            "mailinfra never adopts a resource silently. For each: to manage it here as it is, apply \
             again with `--import LOGICAL_ID` (CloudFormation imports it, then the apply sets it up as \
             the spec says); if nothing uses it, delete it instead (`aws sesv2 delete-email-identity \
             --email-identity NAME --region REGION`: its verification and DKIM set-up go with it).",
        )
    })
    .or_else(|| {
        text(
            "resources move to a new logical id under the same name in AWS:",
            &renamed,
            |c| {
                format!(
                    "{} ({}) replaces {} (same {})",
                    c.logical_id,
                    c.resource_type,
                    c.renamed_from.as_deref().unwrap_or_default(),
                    c.physical_name.as_deref().unwrap_or("name")
                )
            },
            "CloudFormation creates the new resource before it deletes the old one, so the name is \
             still taken and the apply fails half-way (for DNS records it can end with neither). Apply \
             it in two steps: first without the element (its removal), then with it under its new place.",
        )
    })
    .or_else(|| {
        text(
            "the plan deletes or replaces stateful resources that may hold mail, keys or history:",
            &destroyed,
            |c| {
                let what = if c.action == Action::Remove {
                    "removed from the stack (retained in AWS, but no longer managed)"
                } else {
                    "replaced (a new, empty resource takes its place)"
                };
                format!("{} ({}) would be {what}", c.logical_id, c.resource_type)
            },
            &format!("If this is intended, apply again with {}", flags.join(" ")),
        )
    });
    why.map(|w| format!("refusing to apply: {w}"))
}
