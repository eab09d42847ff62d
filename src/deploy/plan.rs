//! Planning one stack and all of them: read the stack, skip it when the
//! deployed template and parameters are identical, otherwise create a change
//! set (unique name, client token), wait for it and read every page; an empty
//! change set is "no changes" and is deleted. A stack that takes outputs of a
//! stack this apply creates or changes is planned locally and marked deferred.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use anyhow::{Context as _, bail};
use serde_json::Value;

use super::*;
use super::{apply::*, follow::*, graph::*, guards::*, outcome::*};
use crate::aws::cloudformation::{
    ChangeSetInfo, ChangeSetStatus, NewChangeSet, StackApi, StackInfo, StackResource, StackStatus,
};
use crate::aws::s3::TemplateStore;
use crate::build::{Artifact, INLINE_TEMPLATE_LIMIT};
use crate::diff::{self, ResourceChange};

pub(crate) fn same_template(deployed: &str, body: &str) -> bool {
    match (
        serde_json::from_str::<Value>(deployed),
        serde_json::from_str::<Value>(body),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => deployed == body,
    }
}

pub(crate) fn sorted(v: &[(String, String)]) -> Vec<(String, String)> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Explains a stack state that neither plan nor apply can proceed from.
pub(crate) fn blocked(
    name: &str,
    region: &str,
    info: &StackInfo,
    failed: &[String],
) -> Option<String> {
    let reason = info
        .status_reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    Some(match &info.status {
        StackStatus::UpdateRollbackFailed => format!(
            "stack `{name}` is UPDATE_ROLLBACK_FAILED{reason}: an update failed and rolling it back failed too{}. \
             It cannot be updated until the rollback completes. Fix what blocks the rollback and run \
             `mailinfra apply --continue-rollback`; if a resource cannot be rolled back, name it with \
             `--skip LOGICAL_ID` (CloudFormation then treats it as rolled back although it is not). \
             mailinfra never deletes the stack to recover",
            if failed.is_empty() {
                String::new()
            } else {
                format!(" (could not roll back: {})", failed.join(", "))
            }
        ),
        StackStatus::RollbackFailed => format!(
            "stack `{name}` failed its first create and its rollback failed too{reason}; it may still hold resources: \
             look at it in the console (region {region}) and delete what is left by hand"
        ),
        StackStatus::CreateFailed
        | StackStatus::UpdateFailed
        | StackStatus::ImportRollbackFailed => format!(
            "stack `{name}` is {}{reason}: an operation stopped without rolling back; roll it back in the console \
             (or `aws cloudformation rollback-stack --stack-name {name} --region {region}`) and plan again",
            info.status
        ),
        StackStatus::DeleteFailed => format!(
            "stack `{name}` failed to delete{reason}; finish or cancel the deletion in the console and plan again"
        ),
        s if s.is_busy() => format!(
            "stack `{name}` is busy ({s}{}): another deploy, rollback or deletion is running; wait for it to settle \
             and plan again, or let mailinfra wait with `--wait-busy MINUTES`",
            info.last_updated
                .as_deref()
                .map(|t| format!(" since {t}"))
                .unwrap_or_default()
        ),
        _ => return None,
    })
}

/// Deletes a stack left by a failed first create (`ROLLBACK_COMPLETE`: it holds
/// nothing and cannot be updated) and waits until it is gone. Resources it
/// retained are returned: they exist outside any stack now and may collide.
pub(crate) async fn delete_failed_create(
    api: &impl StackApi,
    info: &StackInfo,
    name: &str,
    timing: &Timing,
) -> anyhow::Result<Vec<String>> {
    let retained: Vec<String> = api
        .stack_resources(&info.arn)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(StackResource::outlives_its_stack)
        .map(|r| format!("{} ({}, {})", r.logical_id, r.resource_type, r.physical_id))
        .collect();
    // Termination protection was turned on before the first execution.
    api.update_termination_protection(&info.arn, false)
        .await
        .ok();
    let token = format!("mailinfra-recreate-{}", short_hash(&info.arn));
    api.delete_stack(&info.arn, &token)
        .await
        .with_context(|| format!("cannot delete the failed stack `{name}`"))?;
    let started = tokio::time::Instant::now();
    loop {
        match api.describe_stack(&info.arn).await {
            Ok(None) => return Ok(retained),
            Ok(Some(s)) if s.status == StackStatus::DeleteFailed => {
                bail!(
                    "deleting the failed stack `{name}` failed: {}",
                    s.status_reason.unwrap_or_default()
                )
            }
            _ => {}
        }
        if started.elapsed() > timing.stack_timeout {
            bail!(
                "the failed stack `{name}` was still being deleted after {:?}",
                timing.stack_timeout
            );
        }
        tokio::time::sleep(timing.poll).await;
    }
}

/// What planning found on the deployed stack, before any change set.
// One value per stack planned, returned once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Found {
    /// The plan is complete: no changes, or a speculative plan of a failed create.
    Done,
    /// A change set is needed: against `current` (none: a create), compared
    /// with the `deployed` template.
    ChangeSet {
        current: Option<StackInfo>,
        deployed: Option<String>,
        /// The template to send, when it is not the artifact's: resources
        /// waiting for a verified identity held back ([`super::waits`]).
        held: Option<String>,
        /// Whether an empty REVIEW_IN_PROGRESS stack may go when a speculative plan ends.
        review_is_ours: bool,
    },
}

/// Plans one stack with the given parameter values.
pub async fn plan_stack(
    api: &impl StackApi,
    store: &impl TemplateStore,
    artifact: &Artifact,
    parameters: &[(String, String)],
    opts: &Options,
) -> anyhow::Result<StackPlan> {
    let name = &artifact.entry.name;
    let mut plan = StackPlan::new(artifact);
    plan.parameters = sorted(parameters);
    let Found::ChangeSet {
        current,
        deployed,
        held,
        review_is_ours,
    } = read_stack(api, artifact, &mut plan, opts).await?
    else {
        return Ok(plan);
    };
    let held = held.map(|body| held_artifact(artifact, body));
    let artifact = held.as_ref().unwrap_or(artifact);
    if let Some(changes) = type_changes(deployed.as_deref(), &artifact.body) {
        // CloudFormation fails such a change set ("Update of resource type is
        // not permitted"): the plan shows why, from the templates alone.
        plan.changes = changes;
        return Ok(plan);
    }
    let arn = create_change_set(api, store, artifact, &plan, current.as_ref(), opts).await?;
    // From here on the change set and its stack are addressed by ARN, never by name.
    let cs = wait_for_change_set(api, &arn, name, &opts.timing).await?;
    let cleanup = async |cs_arn: &str, stack_arn: &str| {
        api.delete_change_set(cs_arn).await.ok();
        if review_is_ours && !stack_arn.is_empty() {
            let token = format!("mailinfra-{}-del-{}", opts.plan_id, short_hash(name));
            api.delete_stack(stack_arn, &token).await.ok();
        }
    };
    if cs.is_empty_failure() {
        cleanup(&cs.arn, &cs.stack_arn).await;
        plan.status = PlanStatus::NoChanges;
        return Ok(plan);
    }
    if cs.status == ChangeSetStatus::Failed {
        // Read before the change set goes: the status reason alone often names no resource.
        let details: String = api
            .change_set_failures(&cs.arn)
            .await
            .unwrap_or_default()
            .iter()
            .map(|d| format!("\n  - {d}"))
            .collect();
        cleanup(&cs.arn, &cs.stack_arn).await;
        bail!(
            "the change set for `{name}` failed: {}{details}",
            cs.status_reason.unwrap_or_default()
        );
    }
    if opts.keep == Keep::Nothing {
        cleanup(&cs.arn, &cs.stack_arn).await;
    } else {
        plan.stack_arn = Some(cs.stack_arn.clone())
            .filter(|a| !a.is_empty())
            .or(plan.stack_arn);
        plan.change_set_arn = Some(cs.arn.clone());
    }
    plan.changes = cs.changes;
    merge_local(&mut plan.changes, deployed.as_deref(), &artifact.body);
    Ok(plan)
}

/// Reads the deployed stack (waiting for a busy one to settle) and decides
/// whether a change set is needed: an identical template and parameters need
/// none; a failed first create is deleted (or, speculatively, shown as a
/// create); our own failed change sets of a stack under review go.
async fn read_stack(
    api: &impl StackApi,
    artifact: &Artifact,
    plan: &mut StackPlan,
    opts: &Options,
) -> anyhow::Result<Found> {
    let timing = &opts.timing;
    let entry = &artifact.entry;
    let name = &entry.name;
    let mut current = api.describe_stack(name).await?;
    if let Some(info) = current.take() {
        current = settle(api, name, &entry.region, info, opts).await?;
    }
    let Some(info) = current.clone() else {
        return Ok(Found::ChangeSet {
            current: None,
            deployed: None,
            held: hold_back(artifact, None, plan, opts),
            review_is_ours: true,
        });
    };
    let failed = if info.status == StackStatus::UpdateRollbackFailed {
        let page = api.stack_events(&info.arn, None).await.unwrap_or_default();
        rollback_failures(&page.events, name)
    } else {
        Vec::new()
    };
    if let Some(why) = blocked(name, &entry.region, &info, &failed) {
        bail!(why);
    }
    plan.outputs = info.outputs.clone();
    if info.status == StackStatus::RollbackComplete {
        if opts.keep == Keep::Nothing {
            // A speculative plan changes nothing: show the create from the template alone.
            plan.notes.push(format!(
                "`{name}` failed its first create and holds nothing (ROLLBACK_COMPLETE); apply deletes it and creates it anew"
            ));
            plan.changes = local_changes(None, &artifact.body);
            return Ok(Found::Done);
        }
        for r in delete_failed_create(api, &info, name, timing).await? {
            plan.notes.push(format!(
                "retained by the failed create, now outside any stack (it may collide): {r}"
            ));
        }
        plan.notes
            .push("deleted the empty stack a failed first create left (ROLLBACK_COMPLETE)".into());
        return Ok(Found::ChangeSet {
            current: None,
            deployed: None,
            held: hold_back(artifact, None, plan, opts),
            review_is_ours: true,
        });
    }
    plan.stack_arn = Some(info.arn.clone());
    if info.is_review() {
        let others = clear_own_failed_change_sets(api, &info).await;
        if others > 0 {
            plan.notes.push(format!(
                "`{name}` is REVIEW_IN_PROGRESS with {others} other pending change set(s); they are left alone"
            ));
        }
        return Ok(Found::ChangeSet {
            current,
            deployed: None,
            held: hold_back(artifact, None, plan, opts),
            review_is_ours: others == 0,
        });
    }
    plan.last_updated = info.last_updated.clone();
    plan.status = PlanStatus::Update;
    let deployed = api.get_template(&info.arn).await?;
    let held = hold_back(artifact, deployed.as_deref(), plan, opts);
    let body = held.as_deref().unwrap_or(&artifact.body);
    // A drift-aware plan compares with the live resources: it needs a
    // change set even when the template is the same.
    if !opts.revert_drift
        && deployed.as_deref().is_some_and(|d| same_template(d, body))
        && sorted(&info.parameters) == plan.parameters
    {
        plan.status = PlanStatus::NoChanges;
        return Ok(Found::Done);
    }
    plan.deployed_sha256 = deployed.as_deref().map(canonical_hash);
    Ok(Found::ChangeSet {
        current,
        deployed,
        held,
        review_is_ours: false,
    })
}

/// The artifact's template without what waits for an unverified identity,
/// when the options say which are verified; records what it held back.
fn hold_back(
    artifact: &Artifact,
    deployed: Option<&str>,
    plan: &mut StackPlan,
    opts: &Options,
) -> Option<String> {
    let verified = opts.verified.as_deref()?;
    let (body, waiting) = super::waits::hold_back(&artifact.body, deployed, verified)?;
    plan.waiting = waiting;
    Some(body)
}

/// An earlier CREATE change set was never executed. Our own failed ones go;
/// anyone else's, or a colleague's reviewed plan, stays untouched. Returns
/// how many others there are.
async fn clear_own_failed_change_sets(api: &impl StackApi, info: &StackInfo) -> usize {
    let sets = api.list_change_sets(&info.arn).await.unwrap_or_default();
    let mut others = 0;
    for cs in sets {
        if cs.name.starts_with(CHANGE_SET_PREFIX) && cs.status == ChangeSetStatus::Failed {
            api.delete_change_set(&cs.arn).await.ok();
        } else {
            others += 1;
        }
    }
    others
}

/// Creates the plan's change set (uploading a large template first); returns its ARN.
async fn create_change_set(
    api: &impl StackApi,
    store: &impl TemplateStore,
    artifact: &Artifact,
    plan: &StackPlan,
    current: Option<&StackInfo>,
    opts: &Options,
) -> anyhow::Result<String> {
    let entry = &artifact.entry;
    let name = &entry.name;
    let change_set_name = format!("{CHANGE_SET_PREFIX}{}", opts.plan_id);
    let token = format!("mailinfra-{}-{}", opts.plan_id, short_hash(name));
    let template_url = if artifact.body.len() > INLINE_TEMPLATE_LIMIT {
        Some(store.put_template(&artifact.body).await?)
    } else {
        None
    };
    let create = current.is_none_or(StackInfo::is_review);
    let description = format!("mailinfra plan {}", opts.plan_id);
    // Only for a stack that holds a resource the user named: CloudFormation
    // imports every existing named resource of such a change set, and
    // `unnamed_imports` refuses any the user did not name.
    let import_existing = opts
        .import
        .iter()
        .any(|id| template_has_resource(&artifact.body, id));
    api.create_change_set(NewChangeSet {
        stack: name,
        name: &change_set_name,
        template_body: &artifact.body,
        template_url: template_url.as_deref(),
        parameters: &plan.parameters,
        create,
        capabilities: &entry.capabilities,
        client_token: &token,
        description: &description,
        role_arn: opts.role_arn.as_deref(),
        revert_drift: opts.revert_drift,
        import_existing,
    })
    .await
}

/// Waits until the change set is no longer pending; a failed read backs off,
/// a change set not ready by the timeout is an error.
async fn wait_for_change_set(
    api: &impl StackApi,
    arn: &str,
    name: &str,
    timing: &Timing,
) -> anyhow::Result<ChangeSetInfo> {
    let started = tokio::time::Instant::now();
    let mut failed_reads = 0;
    loop {
        match api.describe_change_set(arn).await {
            Ok(cs) if !cs.is_pending() => return Ok(cs),
            Ok(_) => failed_reads = 0,
            Err(e) if crate::aws::is_transient(&e) => failed_reads += 1,
            Err(e) => return Err(e),
        }
        if started.elapsed() > timing.change_set_timeout {
            bail!(
                "the change set for `{name}` was not ready after {:?}; look at it in the console and plan again",
                timing.change_set_timeout
            );
        }
        tokio::time::sleep(timing.pause(failed_reads)).await;
    }
}

/// The artifact with another template body (what is sent when resources are held back).
fn held_artifact(artifact: &Artifact, body: String) -> Artifact {
    let mut entry = artifact.entry.clone();
    entry.sha256 = crate::hash::sha256_hex(body.as_bytes());
    entry.bytes = body.len();
    Artifact { entry, body }
}

/// The template diff, when it changes the type of a resource under the same
/// logical id (each such change carries why it is blocked).
pub(crate) fn type_changes(deployed: Option<&str>, body: &str) -> Option<Vec<ResourceChange>> {
    let old = serde_json::from_str::<Value>(deployed?).ok()?;
    let changes = local_changes(deployed, body);
    (!diff::retyped(Some(&old), &changes).is_empty()).then_some(changes)
}

pub(crate) fn local_changes(old: Option<&str>, new: &str) -> Vec<ResourceChange> {
    let old = old.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let new = serde_json::from_str::<Value>(new).ok();
    diff::diff_templates(old.as_ref(), new.as_ref())
}

/// Defence in depth: the template diff (with replacement rules from the official
/// schemas) fills in what a change set leaves out — property names, IAM
/// broadening, mail DNS records, and changes to types an emulator skips — and can
/// only make a change look more dangerous.
pub(crate) fn merge_local(changes: &mut Vec<ResourceChange>, old: Option<&str>, new: &str) {
    let old = old.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let new = serde_json::from_str::<Value>(new).ok();
    for local in diff::diff_templates(old.as_ref(), new.as_ref()) {
        match changes
            .iter_mut()
            .find(|c| c.logical_id == local.logical_id)
        {
            Some(c) => {
                if c.properties.is_empty() {
                    c.properties = local.properties;
                }
                // Change sets name the properties; the templates hold their values.
                c.values = local.values;
                if c.replacement == diff::Replacement::Never {
                    c.replacement = local.replacement;
                }
                c.broadens = local.broadens;
                c.mail_dns = c.mail_dns.take().or(local.mail_dns);
                c.physical_name = local.physical_name;
                // `drift` only comes from a drift-aware change set: kept as is.
            }
            None => changes.push(local),
        }
    }
    // Judged on the merged replacement: CloudFormation's own (which may be
    // conditional) or the schemas', whichever is more dangerous.
    let resource =
        |t: &Option<Value>, id: &str| t.as_ref().and_then(|t| t["Resources"].get(id)).cloned();
    for c in changes.iter_mut() {
        c.blocked = match (resource(&old, &c.logical_id), resource(&new, &c.logical_id)) {
            (Some(o), Some(n)) => diff::blocked(&c.logical_id, &o, &n, c.replacement),
            _ => None,
        };
    }
    changes.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
}

/// Hash of a template body that ignores formatting (CloudFormation may re-serialise it).
pub(crate) fn canonical_hash(body: &str) -> String {
    let canonical = match serde_json::from_str::<Value>(body) {
        Ok(v) => crate::template::render_value(&v),
        Err(_) => body.to_string(),
    };
    crate::hash::sha256_hex(canonical.as_bytes())
}

pub(crate) fn short_hash(s: &str) -> String {
    crate::hash::sha256_hex(s.as_bytes())[..12].to_string()
}

/// Plans every stack in dependency order, independent stacks (and regions) in
/// parallel. A stack that takes outputs of a stack this apply creates or changes
/// is planned locally and marked deferred: apply plans it for real afterwards.
pub async fn plan_all<A: StackApi, S: TemplateStore>(
    regions: &BTreeMap<String, Region<A, S>>,
    artifacts: &[Artifact],
    opts: &Options,
) -> Result<Vec<StackPlan>, PlanError> {
    let nodes = graph(artifacts);
    // Outputs of stacks known unchanged (planned with no changes); others may change.
    let settled: Mutex<HashMap<String, Vec<(String, String)>>> = Mutex::new(HashMap::new());
    let results = run_graph(&nodes, opts.concurrency, &opts.interrupt, |i| {
        let a = &artifacts[i];
        let settled = &settled;
        async move {
            let r: anyhow::Result<StackPlan> = async {
                let region = region_of(regions, &a.entry.region)?;
                let known = settled.lock().map(|m| m.clone()).unwrap_or_default();
                let plan = match resolve_parameters(a, &known) {
                    Ok(params) => plan_stack(&region.api, &region.store, a, &params, opts).await?,
                    Err(why) => deferred_plan(&region.api, a, why, opts).await?,
                };
                if !plan.has_changes()
                    && let Ok(mut m) = settled.lock()
                {
                    m.insert(plan.stack.clone(), plan.outputs.clone());
                }
                Ok(plan)
            }
            .await;
            let ok = r.is_ok();
            (r, ok)
        }
    })
    .await;
    let mut plans = Vec::new();
    let mut first_err = None;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(p)) => plans.push(p),
            Some(Err(e)) => {
                first_err.get_or_insert(e.context(format!("cannot plan `{}`", nodes[i].0)));
            }
            None => {}
        }
    }
    if first_err.is_some() || opts.interrupt.is_raised() {
        // Kept change sets of a plan that cannot be used are not left behind.
        for p in &plans {
            if let Ok(region) = region_of(regions, &p.region) {
                discard(&region.api, p).await;
            }
        }
        return Err(if opts.interrupt.is_raised() {
            // Interrupted is what the user did; the error is what it met.
            PlanError::Interrupted(first_err)
        } else {
            PlanError::Failed(first_err.unwrap_or_else(|| anyhow::anyhow!("no plan")))
        });
    }
    mark_renames(&mut plans);
    // Present plans in dependency order, as apply runs them.
    Ok(plans)
}

/// A plan for a stack whose parameters are not known yet: what the template diff
/// shows, no change set.
pub(crate) async fn deferred_plan(
    api: &impl StackApi,
    artifact: &Artifact,
    why: String,
    opts: &Options,
) -> anyhow::Result<StackPlan> {
    let mut plan = StackPlan::new(artifact);
    let name = &artifact.entry.name;
    let mut info = api.describe_stack(name).await?;
    if let Some(busy) = info.take() {
        info = settle(api, name, &artifact.entry.region, busy, opts).await?;
    }
    let mut old = None;
    if let Some(info) = info.filter(|i| !i.is_review() && i.status != StackStatus::RollbackComplete)
    {
        if let Some(why) = blocked(name, &artifact.entry.region, &info, &[]) {
            bail!(why);
        }
        plan.status = PlanStatus::Update;
        plan.stack_arn = Some(info.arn.clone());
        plan.last_updated = info.last_updated.clone();
        old = api.get_template(&info.arn).await?;
        plan.deployed_sha256 = old.as_deref().map(canonical_hash);
    }
    plan.changes = local_changes(old.as_deref(), &artifact.body);
    plan.deferred = Some(why);
    Ok(plan)
}

/// Diffs the new templates against the ones in the last build; stacks of
/// the last build that the spec no longer produces (in `region`, when the
/// plan is scoped to one) are deletions.
pub fn plan_offline(
    dir: &std::path::Path,
    artifacts: &[Artifact],
    region: Option<&str>,
) -> anyhow::Result<Vec<StackPlan>> {
    let previous = crate::build::read_manifest(dir)?;
    let read = |template: &str| -> anyhow::Result<Value> {
        let path = dir.join(template);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("`{}` is not JSON", path.display()))
    };
    let mut plans = Vec::new();
    for a in artifacts {
        let old: Option<Value> = previous
            .as_ref()
            .and_then(|m| m.stacks.iter().find(|s| s.name == a.entry.name))
            .map(|s| read(&s.template))
            .transpose()?;
        let new: Value = serde_json::from_str(&a.body)?;
        let changes = diff::diff_templates(old.as_ref(), Some(&new));
        let status = match (&old, changes.is_empty()) {
            (None, _) => PlanStatus::Create,
            (Some(_), true) => PlanStatus::NoChanges,
            (Some(_), false) => PlanStatus::Update,
        };
        plans.push(StackPlan {
            status,
            changes,
            ..StackPlan::new(a)
        });
    }
    for s in previous.iter().flat_map(|m| &m.stacks) {
        if artifacts.iter().any(|a| a.entry.name == s.name) || region.is_some_and(|r| r != s.region)
        {
            continue;
        }
        let old = read(&s.template)?;
        plans.push(StackPlan {
            stack: s.name.clone(),
            region: s.region.clone(),
            status: PlanStatus::Delete,
            changes: diff::diff_templates(Some(&old), None),
            template_sha256: String::new(),
            notes: vec!["the spec no longer produces this stack; apply deletes it".into()],
            ..StackPlan::new(&Artifact {
                entry: s.clone(),
                body: String::new(),
            })
        });
    }
    mark_renames(&mut plans);
    Ok(plans)
}
