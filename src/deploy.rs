//! Deploy: plan (change sets) and apply (execute and wait) over [`StackApi`].
//!
//! Input: rendered stacks with their dependencies. `plan` reads each stack, skips
//! the ones whose deployed template and parameters are identical, and otherwise
//! creates a change set (unique name, client token), waits for it and reads every
//! page; an empty change set is "no changes" and is deleted. Stacks are planned
//! and applied in dependency order, independent ones in parallel with a bounded
//! concurrency; outputs of applied stacks become parameters of their dependents.
//! `apply` executes exactly the planned change sets, waits for each stack with a
//! bounded timeout, and reports every stack's outcome: on failure the first failed
//! resource and its reason, the final status and how to resume. Reads are retried
//! with backoff and jitter (a failed poll is never a failed deploy); mutating calls
//! carry idempotency tokens that stay the same across retries. Nothing here
//! prints: progress is a stream of [`Progress`] events that the CLI draws.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::build::{Artifact, INLINE_TEMPLATE_LIMIT};
use crate::cfn::{self, NewChangeSet, StackApi, StackEvent, StackInfo, TemplateStore};
use crate::diff::{self, ResourceChange};

/// Prefix of every change set mailinfra creates; nothing else is ever deleted.
pub const CHANGE_SET_PREFIX: &str = "mailinfra-";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// The stack does not exist yet.
    Create,
    /// The stack exists and changes.
    Update,
    /// Nothing to do.
    NoChanges,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StackPlan {
    pub stack: String,
    pub region: String,
    pub status: PlanStatus,
    pub changes: Vec<ResourceChange>,
    pub change_set_arn: Option<String>,
    pub stack_arn: Option<String>,
    pub template_sha256: String,
    pub last_updated: Option<String>,
    /// SHA-256 of the deployed template (canonical JSON) when planned.
    #[serde(default)]
    pub deployed_sha256: Option<String>,
    /// Parameter values (outputs of other stacks) the change set was made with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<(String, String)>,
    /// Why this stack has no change set yet: it takes outputs of a stack that is
    /// created or changed by the same apply, so it is planned right after that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
    /// Things the reviewer should know (leftovers cleaned up, foreign change sets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The stack's outputs when planned (not saved: re-read at apply).
    #[serde(skip)]
    pub outputs: Vec<(String, String)>,
}

impl StackPlan {
    pub fn has_changes(&self) -> bool {
        self.status != PlanStatus::NoChanges
    }

    /// A plan to create the stack, nothing known yet.
    pub fn new(artifact: &Artifact) -> StackPlan {
        StackPlan {
            stack: artifact.entry.name.clone(),
            region: artifact.entry.region.clone(),
            status: PlanStatus::Create,
            changes: Vec::new(),
            change_set_arn: None,
            stack_arn: None,
            template_sha256: artifact.entry.sha256.clone(),
            last_updated: None,
            deployed_sha256: None,
            parameters: Vec::new(),
            deferred: None,
            notes: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

/// How long to wait, how often to look, how hard to retry.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub poll: Duration,
    pub change_set_timeout: Duration,
    pub stack_timeout: Duration,
    /// Attempts of one call on transient errors (throttling, 5xx, network).
    pub attempts: u32,
    /// First backoff; doubles per attempt, with jitter, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(2),
            change_set_timeout: Duration::from_secs(600),
            stack_timeout: Duration::from_secs(3600),
            attempts: 6,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl Timing {
    /// Tiny intervals for tests and local emulators.
    pub fn fast(poll: Duration) -> Timing {
        Timing {
            poll,
            backoff: poll,
            max_backoff: poll * 4,
            ..Timing::default()
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        // Full jitter over the upper half: many stacks polling in parallel spread out.
        let half = base / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// What plan and apply report while they work.
#[derive(Clone, Debug)]
pub enum Progress {
    /// An operation on the stack is about to start: the change set (or the
    /// continued rollback) that is executed, by ARN.
    StackStarted {
        stack: String,
        region: String,
        operation: String,
        stack_arn: String,
    },
    Event {
        stack: String,
        event: StackEvent,
    },
    StackFinished {
        stack: String,
        status: String,
    },
    /// Something worth knowing that does not stop the deploy.
    Warning {
        stack: String,
        message: String,
    },
}

pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

/// Retries `call` on transient errors with exponential backoff and jitter.
/// Mutating calls pass the same idempotency token on every attempt.
pub async fn retrying<T, F, Fut>(timing: &Timing, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if cfn::is_transient(&e) && attempt + 1 < timing.attempts => {
                tokio::time::sleep(timing.backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
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

fn sorted(v: &[(String, String)]) -> Vec<(String, String)> {
    let mut v = v.to_vec();
    v.sort();
    v
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

/// Settings shared by every stack of one plan or apply.
#[derive(Clone, Debug)]
pub struct Options {
    pub plan_id: String,
    pub timing: Timing,
    pub keep: Keep,
    /// The CloudFormation service role (`--role-arn`).
    pub role_arn: Option<String>,
    /// Turn termination protection on when a stack is first created.
    pub termination_protection: bool,
    /// Stacks planned or applied at once.
    pub concurrency: usize,
    /// How long to wait for a stack another operation is changing (zero: don't).
    pub busy_wait: Duration,
    /// Drift-aware change sets: compare with the live resources, revert drift.
    pub revert_drift: bool,
    /// Raised by Ctrl-C or SIGTERM.
    pub interrupt: Interrupt,
    /// On interrupt, cancel running stack updates (`CancelUpdateStack`) instead
    /// of following them to their end.
    pub cancel_on_interrupt: bool,
    /// Logical ids of resources that already exist and are to be imported into
    /// their stack (`--import`); nothing else is ever imported.
    pub import: Vec<String>,
}

/// The user asked to stop (Ctrl-C, or SIGTERM from a CI runner). From then on
/// no new stack starts and no planned change set is executed; operations
/// already running in CloudFormation are followed to their end (or, with
/// `cancel_on_interrupt`, updates are cancelled and their rollback followed).
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<(AtomicBool, tokio::sync::Notify)>);

impl Interrupt {
    pub fn raise(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    pub fn is_raised(&self) -> bool {
        self.0.0.load(Ordering::SeqCst)
    }

    /// Resolves once the interrupt is raised.
    pub async fn raised(&self) {
        loop {
            let notified = self.0.1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }
}

impl Options {
    pub fn new(keep: Keep, timing: Timing) -> Options {
        Options {
            plan_id: new_plan_id(),
            timing,
            keep,
            role_arn: None,
            termination_protection: true,
            concurrency: 4,
            busy_wait: Duration::ZERO,
            revert_drift: false,
            interrupt: Interrupt::default(),
            cancel_on_interrupt: false,
            import: Vec::new(),
        }
    }
}

/// Everything needed to talk to one region.
pub struct Region<A, S> {
    pub api: A,
    pub store: S,
}

/// Explains a stack state that neither plan nor apply can proceed from.
fn blocked(name: &str, region: &str, info: &StackInfo, failed: &[String]) -> Option<String> {
    let reason = info
        .status_reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    Some(match info.status.as_str() {
        "UPDATE_ROLLBACK_FAILED" => format!(
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
        "ROLLBACK_FAILED" => format!(
            "stack `{name}` failed its first create and its rollback failed too{reason}; it may still hold resources: \
             look at it in the console (region {region}) and delete what is left by hand"
        ),
        "CREATE_FAILED" | "UPDATE_FAILED" | "IMPORT_ROLLBACK_FAILED" => format!(
            "stack `{name}` is {}{reason}: an operation stopped without rolling back; roll it back in the console \
             (or `aws cloudformation rollback-stack --stack-name {name} --region {region}`) and plan again",
            info.status
        ),
        "DELETE_FAILED" => format!(
            "stack `{name}` failed to delete{reason}; finish or cancel the deletion in the console and plan again"
        ),
        s if info.is_in_progress() && !info.is_review() => format!(
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

/// Waits up to `opts.busy_wait` for a stack that another operation is changing
/// to settle, then returns it as it is now (`None`: that operation deleted it).
/// Without a wait, or after it, refuses with what runs there and its latest events.
async fn settle(
    api: &impl StackApi,
    name: &str,
    region: &str,
    mut info: StackInfo,
    opts: &Options,
) -> anyhow::Result<Option<StackInfo>> {
    let started = tokio::time::Instant::now();
    while info.is_in_progress() && !info.is_review() {
        if started.elapsed() >= opts.busy_wait {
            let latest: String = api
                .stack_events(&info.arn, None)
                .await
                .unwrap_or_default()
                .events
                .iter()
                .take(3)
                .map(|e| {
                    format!(
                        "\n  {} {} {}{}",
                        e.timestamp,
                        e.logical_id,
                        e.status,
                        e.reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let waited = if opts.busy_wait.is_zero() {
                String::new()
            } else {
                format!(" (still, after waiting {} s)", opts.busy_wait.as_secs())
            };
            let why = blocked(name, region, &info, &[]).unwrap_or_default();
            bail!(
                "{why}{waited}{}",
                if latest.is_empty() {
                    String::new()
                } else {
                    format!("\nlatest events:{latest}")
                }
            );
        }
        tokio::time::sleep(opts.timing.poll).await;
        // A failed read is not the end of the wait: the next one may work.
        match api.describe_stack(&info.arn).await {
            Ok(Some(now)) => info = now,
            Ok(None) => return Ok(None),
            Err(_) => {}
        }
    }
    Ok(Some(info))
}

/// Logical ids that failed while CloudFormation was rolling back (newest-first events in).
pub fn rollback_failures(events_newest_first: &[StackEvent], stack: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in events_newest_first {
        if e.logical_id == stack && e.status.ends_with("ROLLBACK_IN_PROGRESS") {
            break;
        }
        if e.logical_id != stack && e.status.ends_with("_FAILED") && !out.contains(&e.logical_id) {
            out.push(e.logical_id.clone());
        }
    }
    out.reverse();
    out
}

/// Deletes a stack left by a failed first create (`ROLLBACK_COMPLETE`: it holds
/// nothing and cannot be updated) and waits until it is gone. Resources it
/// retained are returned: they exist outside any stack now and may collide.
async fn delete_failed_create(
    api: &impl StackApi,
    info: &StackInfo,
    name: &str,
    timing: &Timing,
) -> anyhow::Result<Vec<String>> {
    let retained: Vec<String> = retrying(timing, || api.stack_resources(&info.arn))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            r.status == "DELETE_SKIPPED"
                || (r.status.ends_with("_COMPLETE") && r.status != "DELETE_COMPLETE")
        })
        .map(|r| format!("{} ({}, {})", r.logical_id, r.resource_type, r.physical_id))
        .collect();
    // Termination protection was turned on before the first execution.
    api.update_termination_protection(&info.arn, false)
        .await
        .ok();
    let token = format!("mailinfra-recreate-{}", short_hash(&info.arn));
    retrying(timing, || api.delete_stack(&info.arn, &token))
        .await
        .with_context(|| format!("cannot delete the failed stack `{name}`"))?;
    let started = tokio::time::Instant::now();
    loop {
        match api.describe_stack(&info.arn).await {
            Ok(None) => return Ok(retained),
            Ok(Some(s)) if s.status == "DELETE_FAILED" => {
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

/// Plans one stack with the given parameter values.
pub async fn plan_stack(
    api: &impl StackApi,
    store: &impl TemplateStore,
    artifact: &Artifact,
    parameters: &[(String, String)],
    opts: &Options,
) -> anyhow::Result<StackPlan> {
    let timing = &opts.timing;
    let entry = &artifact.entry;
    let name = &entry.name;
    let mut plan = StackPlan::new(artifact);
    plan.parameters = sorted(parameters);
    let mut current = retrying(timing, || api.describe_stack(name)).await?;
    if let Some(info) = current.take() {
        current = settle(api, name, &entry.region, info, opts).await?;
    }
    let mut deployed_template = None;
    // Whether an empty REVIEW_IN_PROGRESS stack may go when a speculative plan ends.
    let mut review_is_ours = current.is_none();
    if let Some(info) = current.clone() {
        let failed = if info.status == "UPDATE_ROLLBACK_FAILED" {
            let page = api.stack_events(&info.arn, None).await.unwrap_or_default();
            rollback_failures(&page.events, name)
        } else {
            Vec::new()
        };
        if let Some(why) = blocked(name, &entry.region, &info, &failed) {
            bail!(why);
        }
        plan.outputs = info.outputs.clone();
        if info.status == "ROLLBACK_COMPLETE" {
            if opts.keep == Keep::Nothing {
                // A speculative plan changes nothing: show the create from the template alone.
                plan.notes.push(format!(
                    "`{name}` failed its first create and holds nothing (ROLLBACK_COMPLETE); apply deletes it and creates it anew"
                ));
                plan.changes = local_changes(None, &artifact.body);
                return Ok(plan);
            }
            for r in delete_failed_create(api, &info, name, timing).await? {
                plan.notes.push(format!(
                    "retained by the failed create, now outside any stack (it may collide): {r}"
                ));
            }
            plan.notes.push(
                "deleted the empty stack a failed first create left (ROLLBACK_COMPLETE)".into(),
            );
            current = None;
            review_is_ours = true;
        } else if info.is_review() {
            // An earlier CREATE change set was never executed. Our own failed ones go;
            // anyone else's, or a colleague's reviewed plan, stays untouched.
            let sets = retrying(timing, || api.list_change_sets(&info.arn))
                .await
                .unwrap_or_default();
            let mut others = 0;
            for cs in sets {
                if cs.name.starts_with(CHANGE_SET_PREFIX) && cs.status == "FAILED" {
                    api.delete_change_set(&cs.arn).await.ok();
                } else {
                    others += 1;
                }
            }
            review_is_ours = others == 0;
            if others > 0 {
                plan.notes.push(format!(
                    "`{name}` is REVIEW_IN_PROGRESS with {others} other pending change set(s); they are left alone"
                ));
            }
            plan.stack_arn = Some(info.arn.clone());
        } else {
            plan.stack_arn = Some(info.arn.clone());
            plan.last_updated = info.last_updated.clone();
            plan.status = PlanStatus::Update;
            let deployed = retrying(timing, || api.get_template(&info.arn)).await?;
            // A drift-aware plan compares with the live resources: it needs a
            // change set even when the template is the same.
            if !opts.revert_drift
                && deployed
                    .as_deref()
                    .is_some_and(|d| same_template(d, &artifact.body))
                && sorted(&info.parameters) == plan.parameters
            {
                plan.status = PlanStatus::NoChanges;
                return Ok(plan);
            }
            plan.deployed_sha256 = deployed.as_deref().map(canonical_hash);
            deployed_template = deployed;
        }
    }
    let change_set_name = format!("{CHANGE_SET_PREFIX}{}", opts.plan_id);
    let token = format!("mailinfra-{}-{}", opts.plan_id, short_hash(name));
    let template_url = if artifact.body.len() > INLINE_TEMPLATE_LIMIT {
        Some(store.put_template(&artifact.body).await?)
    } else {
        None
    };
    let create = current.as_ref().is_none_or(StackInfo::is_review);
    let description = format!("mailinfra plan {}", opts.plan_id);
    // Only for a stack that holds a resource the user named: CloudFormation
    // imports every existing named resource of such a change set, and
    // `unnamed_imports` refuses any the user did not name.
    let import_existing = opts
        .import
        .iter()
        .any(|id| template_has_resource(&artifact.body, id));
    let arn = retrying(timing, || {
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
    })
    .await?;
    let started = tokio::time::Instant::now();
    let mut failed_reads = 0;
    // From here on the change set and its stack are addressed by ARN, never by name.
    let cs = loop {
        match api.describe_change_set(&arn).await {
            Ok(cs) if !cs.is_pending() => break cs,
            Ok(_) => failed_reads = 0,
            Err(e) if cfn::is_transient(&e) => failed_reads += 1,
            Err(e) => return Err(e),
        }
        if started.elapsed() > timing.change_set_timeout {
            bail!(
                "the change set for `{name}` was not ready after {:?}; look at it in the console and plan again",
                timing.change_set_timeout
            );
        }
        tokio::time::sleep(if failed_reads > 0 {
            timing.backoff(failed_reads)
        } else {
            timing.poll
        })
        .await;
    };
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
    if cs.status == "FAILED" {
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
    merge_local(
        &mut plan.changes,
        deployed_template.as_deref(),
        &artifact.body,
    );
    Ok(plan)
}

fn local_changes(old: Option<&str>, new: &str) -> Vec<ResourceChange> {
    let old = old.and_then(|t| serde_json::from_str::<Value>(t).ok());
    let new = serde_json::from_str::<Value>(new).ok();
    diff::diff_templates(old.as_ref(), new.as_ref())
}

/// Defence in depth: the template diff (with replacement rules from the official
/// schemas) fills in what a change set leaves out — property names, IAM
/// broadening, mail DNS records, and changes to types an emulator skips — and can
/// only make a change look more dangerous.
fn merge_local(changes: &mut Vec<ResourceChange>, old: Option<&str>, new: &str) {
    for local in local_changes(old, new) {
        match changes
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
                c.broadens = local.broadens;
                c.mail_dns = c.mail_dns.take().or(local.mail_dns);
                c.physical_name = local.physical_name;
                // `drift` only comes from a drift-aware change set: kept as is.
            }
            None => changes.push(local),
        }
    }
    changes.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
}

/// Hash of a template body that ignores formatting (CloudFormation may re-serialise it).
fn canonical_hash(body: &str) -> String {
    use sha2::{Digest, Sha256};
    let canonical = match serde_json::from_str::<Value>(body) {
        Ok(v) => crate::template::render_value(&v),
        Err(_) => body.to_string(),
    };
    crate::pipeline::hex(&Sha256::digest(canonical.as_bytes()))
}

fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::pipeline::hex(&Sha256::digest(s.as_bytes()))[..12].to_string()
}

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

/// Runs `work` over a dependency graph: a node starts once every dependency in
/// the graph succeeded (dependencies outside the graph count as met), at most
/// `concurrency` at once. After the first failure, or once `interrupt` is
/// raised, no new node starts; running ones finish. Returns each node's result,
/// `None` for nodes never started.
pub async fn run_graph<T, F, Fut>(
    nodes: &[(String, Vec<String>)],
    concurrency: usize,
    interrupt: &Interrupt,
    work: F,
) -> Vec<Option<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = (T, bool)>,
{
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Waiting,
        Running,
        Done(bool),
    }
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), i))
        .collect();
    let mut state = vec![State::Waiting; nodes.len()];
    let mut results: Vec<Option<T>> = nodes.iter().map(|_| None).collect();
    let mut running = FuturesUnordered::new();
    let mut stopped = false;
    let work = &work;
    loop {
        if !stopped && !interrupt.is_raised() {
            for i in 0..nodes.len() {
                if running.len() >= concurrency.max(1) {
                    break;
                }
                let ready = state[i] == State::Waiting
                    && nodes[i].1.iter().all(|d| {
                        index
                            .get(d.as_str())
                            .is_none_or(|&j| state[j] == State::Done(true))
                    });
                if ready {
                    state[i] = State::Running;
                    running.push(async move { (i, work(i).await) });
                }
            }
        }
        match running.next().await {
            None => break,
            Some((i, (t, ok))) => {
                state[i] = State::Done(ok);
                results[i] = Some(t);
                stopped |= !ok;
            }
        }
    }
    results
}

fn graph(artifacts: &[Artifact]) -> Vec<(String, Vec<String>)> {
    artifacts
        .iter()
        .map(|a| {
            let mut deps = a.entry.depends_on.clone();
            deps.extend(a.entry.parameters.iter().map(|p| p.stack.clone()));
            deps.sort();
            deps.dedup();
            (a.entry.name.clone(), deps)
        })
        .collect()
}

/// Parameter values from producers' outputs; `Err` names what is not known yet.
fn resolve_parameters(
    artifact: &Artifact,
    outputs: &HashMap<String, Vec<(String, String)>>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for p in &artifact.entry.parameters {
        let value = outputs
            .get(&p.stack)
            .and_then(|o| o.iter().find(|(k, _)| k == &p.output))
            .map(|(_, v)| v.clone());
        match value {
            Some(v) => out.push((p.name.clone(), v)),
            None => {
                return Err(format!(
                    "waits for output `{}` of `{}`, known once that stack is applied",
                    p.output, p.stack
                ));
            }
        }
    }
    Ok(sorted(&out))
}

/// Looks up the region of a stack.
fn region_of<'a, A, S>(
    regions: &'a BTreeMap<String, Region<A, S>>,
    region: &str,
) -> anyhow::Result<&'a Region<A, S>> {
    regions
        .get(region)
        .with_context(|| format!("no connection to region {region}"))
}

/// Plans every stack in dependency order, independent stacks (and regions) in
/// parallel. A stack that takes outputs of a stack this apply creates or changes
/// is planned locally and marked deferred: apply plans it for real afterwards.
pub async fn plan_all<A: StackApi, S: TemplateStore>(
    regions: &BTreeMap<String, Region<A, S>>,
    artifacts: &[Artifact],
    opts: &Options,
) -> anyhow::Result<Vec<StackPlan>> {
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
        return Err(match first_err {
            // Interrupted is what the user did; the error is what it met.
            Some(e) if opts.interrupt.is_raised() => e.context(Interrupted),
            Some(e) => e,
            None => Interrupted.into(),
        });
    }
    mark_renames(&mut plans);
    // Present plans in dependency order, as apply runs them.
    Ok(plans)
}

/// A plan for a stack whose parameters are not known yet: what the template diff
/// shows, no change set.
async fn deferred_plan(
    api: &impl StackApi,
    artifact: &Artifact,
    why: String,
    opts: &Options,
) -> anyhow::Result<StackPlan> {
    let timing = &opts.timing;
    let mut plan = StackPlan::new(artifact);
    let name = &artifact.entry.name;
    let mut info = retrying(timing, || api.describe_stack(name)).await?;
    if let Some(busy) = info.take() {
        info = settle(api, name, &artifact.entry.region, busy, opts).await?;
    }
    let mut old = None;
    if let Some(info) = info.filter(|i| !i.is_review() && i.status != "ROLLBACK_COMPLETE") {
        if let Some(why) = blocked(name, &artifact.entry.region, &info, &[]) {
            bail!(why);
        }
        plan.status = PlanStatus::Update;
        plan.stack_arn = Some(info.arn.clone());
        plan.last_updated = info.last_updated.clone();
        old = retrying(timing, || api.get_template(&info.arn)).await?;
        plan.deployed_sha256 = old.as_deref().map(canonical_hash);
    }
    plan.changes = local_changes(old.as_deref(), &artifact.body);
    plan.deferred = Some(why);
    Ok(plan)
}

/// The error of a plan the user interrupted (its change sets were removed).
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted; the change sets this plan made were removed")
    }
}

impl std::error::Error for Interrupted {}

/// A saved plan: what `apply PLAN` executes, and what it must still match.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub format_version: u32,
    pub spec_sha256: String,
    pub stacks: Vec<StackPlan>,
    /// SHA-256 of the rest of the file (canonical JSON): a damaged or edited
    /// plan is refused instead of half-executed.
    #[serde(default)]
    pub checksum: String,
}

impl PlanFile {
    pub const FORMAT: u32 = 2;

    pub fn new(spec_sha256: &str, stacks: Vec<StackPlan>) -> PlanFile {
        let mut file = PlanFile {
            format_version: Self::FORMAT,
            spec_sha256: spec_sha256.to_string(),
            stacks,
            checksum: String::new(),
        };
        file.checksum = file.digest();
        file
    }

    fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let body = serde_json::json!({
            "format_version": self.format_version,
            "spec_sha256": self.spec_sha256,
            "stacks": self.stacks,
        });
        let text = crate::template::render_value(&body);
        crate::pipeline::hex(&Sha256::digest(text.as_bytes()))
    }

    /// The file's text, canonical JSON.
    pub fn render(&self) -> String {
        crate::template::render_value(&serde_json::to_value(self).unwrap_or_default())
    }

    /// Reads a plan file; `Err` says why it cannot be used.
    pub fn parse(text: &str) -> Result<PlanFile, String> {
        let file: PlanFile = serde_json::from_str(text)
            .map_err(|e| format!("it is not a mailinfra plan file ({e})"))?;
        if file.format_version != Self::FORMAT {
            return Err(format!(
                "it has format {}, this mailinfra reads {}",
                file.format_version,
                Self::FORMAT
            ));
        }
        if file.checksum != file.digest() {
            return Err("it is damaged or was edited (its checksum does not match)".into());
        }
        Ok(file)
    }

    /// Whether the plan was made from this spec and these templates.
    pub fn matches(&self, spec_sha256: &str, artifacts: &[Artifact]) -> Result<(), String> {
        if self.format_version != Self::FORMAT {
            return Err(format!(
                "it has format {}, this mailinfra reads {}",
                self.format_version,
                Self::FORMAT
            ));
        }
        if self.spec_sha256 != spec_sha256 {
            return Err("the spec changed since it was planned".into());
        }
        for p in &self.stacks {
            match artifacts.iter().find(|a| a.entry.name == p.stack) {
                Some(a) if a.entry.sha256 == p.template_sha256 => {}
                Some(_) => {
                    return Err(format!(
                        "the template of `{}` changed since it was planned",
                        p.stack
                    ));
                }
                None => return Err(format!("the spec no longer has the stack `{}`", p.stack)),
            }
        }
        Ok(())
    }
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

/// Terminal stack states that mean the apply worked.
fn succeeded(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE"
    )
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
    fn new(plan: &StackPlan, kind: OutcomeKind) -> StackOutcome {
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

    fn failed(plan: &StackPlan, detail: String) -> StackOutcome {
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
fn is_cancellation(reason: &str) -> bool {
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
        .filter(|e| e.status.ends_with("_FAILED") && e.logical_id != stack)
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
fn hint_for(status: &str, stack: &str, rollback_failed: &[String]) -> String {
    match status {
        "UPDATE_ROLLBACK_FAILED" => format!(
            "`{stack}` could not roll back{}; fix the cause and run `mailinfra apply --continue-rollback`, \
             adding `--skip LOGICAL_ID` only for resources you have fixed by hand; the stack is never deleted",
            if rollback_failed.is_empty() {
                String::new()
            } else {
                format!(" ({})", rollback_failed.join(", "))
            }
        ),
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" => format!(
            "the first create of `{stack}` was rolled back; fix the cause and run `mailinfra apply` again: it deletes the empty stack and creates it anew"
        ),
        "UPDATE_ROLLBACK_COMPLETE" => format!(
            "`{stack}` is back as it was before this apply; fix the cause and run `mailinfra apply` again"
        ),
        _ => "fix the cause and run `mailinfra apply` again".into(),
    }
}

/// Most event pages read per poll. Only the events since the last poll are
/// wanted; a long history is never scanned to its start.
const MAX_EVENT_PAGES: usize = 20;

/// The stack's events not in `seen`, oldest first. Pages back from the newest
/// and stops at the first event already seen (everything older was seen too),
/// at the end of the history, or after [`MAX_EVENT_PAGES`]. An event that shows
/// up on two pages (new events shift the pages while they are read) is kept once.
pub async fn new_events(
    api: &impl StackApi,
    stack: &str,
    seen: &HashSet<String>,
) -> anyhow::Result<Vec<StackEvent>> {
    let mut fresh: Vec<StackEvent> = Vec::new();
    let mut ids = HashSet::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_EVENT_PAGES {
        let page = api.stack_events(stack, token.as_deref()).await?;
        let mut reached_seen = false;
        for e in page.events {
            if seen.contains(&e.id) {
                reached_seen = true;
                break;
            }
            if ids.insert(e.id.clone()) {
                fresh.push(e);
            }
        }
        match page.next_token {
            Some(next) if !reached_seen => token = Some(next),
            _ => break,
        }
    }
    fresh.reverse();
    Ok(fresh)
}

/// Follows a stack after an operation started: streams new events, polls with
/// backoff on errors, refuses stale reads, gives up after the timeout.
async fn follow(
    api: &impl StackApi,
    plan: &StackPlan,
    stack_ref: &str,
    mut seen: HashSet<String>,
    opts: &Options,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let timing = &opts.timing;
    let started = tokio::time::Instant::now();
    let mut cancelled = false;
    let mut events: Vec<StackEvent> = Vec::new();
    let mut failed_reads: u32 = 0;
    let mut reads = 0;
    let mut saw_progress = false;
    let mut last_status = String::new();
    loop {
        tokio::time::sleep(if failed_reads > 0 {
            timing.backoff(failed_reads)
        } else {
            timing.poll
        })
        .await;
        // A failed poll is not a failed deploy: CloudFormation carries on regardless.
        match new_events(api, stack_ref, &seen).await {
            Ok(fresh) => {
                for e in fresh {
                    seen.insert(e.id.clone());
                    saw_progress = true;
                    progress(Progress::Event {
                        stack: plan.stack.clone(),
                        event: e.clone(),
                    });
                    events.push(e);
                }
            }
            Err(e) if cfn::is_credentials_error(&e) => {
                return lost(plan, stack_ref, &last_status, &format!("{e:#}"));
            }
            Err(_) => {}
        }
        let info = match api.describe_stack(stack_ref).await {
            Ok(Some(info)) => {
                failed_reads = 0;
                info
            }
            Ok(None) => {
                return StackOutcome {
                    status: Some("DELETE_COMPLETE".into()),
                    ..StackOutcome::failed(
                        plan,
                        "the stack disappeared while it was being applied (deleted by someone else)".into(),
                    )
                };
            }
            Err(e) if cfn::is_credentials_error(&e) => {
                return lost(plan, stack_ref, &last_status, &format!("{e:#}"));
            }
            Err(e) => {
                failed_reads += 1;
                progress(Progress::Warning {
                    stack: plan.stack.clone(),
                    message: format!("cannot read the stack ({e:#}); still watching"),
                });
                if started.elapsed() > timing.stack_timeout {
                    return lost(plan, stack_ref, &last_status, "the stack could not be read");
                }
                continue;
            }
        };
        reads += 1;
        last_status = info.status.clone();
        if opts.cancel_on_interrupt
            && !cancelled
            && opts.interrupt.is_raised()
            && info.status == "UPDATE_IN_PROGRESS"
        {
            // Only updates can be cancelled; a create is followed to its end.
            cancelled = true;
            let token = format!("mailinfra-cancel-{}", short_hash(stack_ref));
            let message = match retrying(timing, || api.cancel_update_stack(stack_ref, &token))
                .await
            {
                Ok(()) => {
                    "interrupted: the update is cancelled; following its rollback".to_string()
                }
                Err(e) => format!(
                    "interrupted, but the update cannot be cancelled ({e:#}); following it to its end"
                ),
            };
            progress(Progress::Warning {
                stack: plan.stack.clone(),
                message,
            });
        }
        // A read right after ExecuteChangeSet can still show the state before it
        // (REVIEW_IN_PROGRESS, or the previous UPDATE_COMPLETE): accept a terminal
        // state only once the operation was seen, or after a few reads.
        saw_progress |= info.is_in_progress() && !info.is_review();
        if !info.is_in_progress() && (saw_progress || reads >= 3) {
            // Catch events the last poll missed (it may have failed), for the root cause.
            if let Ok(fresh) = retrying(timing, || new_events(api, stack_ref, &seen)).await {
                for e in fresh {
                    seen.insert(e.id.clone());
                    progress(Progress::Event {
                        stack: plan.stack.clone(),
                        event: e.clone(),
                    });
                    events.push(e);
                }
            }
            progress(Progress::StackFinished {
                stack: plan.stack.clone(),
                status: info.status.clone(),
            });
            let leftovers: Vec<String> = events
                .iter()
                .filter(|e| e.status == "DELETE_FAILED")
                .map(|e| {
                    format!(
                        "{} ({}) could not be deleted: {}; it is left in your account",
                        e.logical_id,
                        e.resource_type,
                        e.reason.as_deref().unwrap_or("no reason given")
                    )
                })
                .collect();
            if succeeded(&info.status) {
                return StackOutcome {
                    status: Some(info.status),
                    warnings: leftovers,
                    outputs: info.outputs,
                    ..StackOutcome::new(plan, OutcomeKind::Applied)
                };
            }
            let newest_first: Vec<StackEvent> = events.iter().rev().cloned().collect();
            let rollback_failed = rollback_failures(&newest_first, &plan.stack);
            if cancelled && info.status == "UPDATE_ROLLBACK_COMPLETE" {
                return StackOutcome {
                    status: Some(info.status),
                    detail: Some("interrupted: the update was cancelled and rolled back".into()),
                    hint: Some("the stack is as it was before this apply; run `mailinfra apply` again to apply it".into()),
                    warnings: leftovers,
                    ..StackOutcome::new(plan, OutcomeKind::Failed)
                };
            }
            return StackOutcome {
                root_cause: root_cause(&events, &plan.stack),
                hint: Some(hint_for(&info.status, &plan.stack, &rollback_failed)),
                status: Some(info.status.clone()),
                warnings: leftovers,
                ..StackOutcome::failed(
                    plan,
                    format!(
                        "ended in {}{}",
                        info.status,
                        info.status_reason
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    ),
                )
            };
        }
        if started.elapsed() > timing.stack_timeout {
            return lost(
                plan,
                stack_ref,
                &info.status,
                &format!("still {} after {:?}", info.status, timing.stack_timeout),
            );
        }
    }
}

/// We stopped watching; CloudFormation did not stop working.
fn lost(plan: &StackPlan, stack_ref: &str, status: &str, why: &str) -> StackOutcome {
    StackOutcome {
        status: Some(status.to_string()).filter(|s| !s.is_empty()),
        hint: Some(format!(
            "the operation goes on in CloudFormation; `mailinfra status` shows where it is (its events: \
             `aws cloudformation describe-stack-events --stack-name {stack_ref} --region {}`); \
             run `mailinfra apply` again once it settled (never while it runs)",
            plan.region
        )),
        detail: Some(format!("lost sight of the stack: {why}")),
        ..StackOutcome::new(plan, OutcomeKind::Unknown)
    }
}

/// Executes one planned change set and waits for the stack to settle.
pub async fn apply_stack(
    api: &impl StackApi,
    plan: &StackPlan,
    opts: &Options,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let timing = &opts.timing;
    let Some(arn) = &plan.change_set_arn else {
        return StackOutcome::new(plan, OutcomeKind::NoChanges);
    };
    // Described once, never waited on: a change set that is not ready now is
    // someone else's business (executed, obsolete, deleted) and needs a new plan.
    let cs = match retrying(timing, || api.describe_change_set(arn)).await {
        Ok(cs) => cs,
        Err(e) => {
            return StackOutcome {
                hint: Some("plan again".into()),
                ..StackOutcome::failed(plan, format!("the planned change set is gone: {e:#}"))
            };
        }
    };
    if cs.status != "CREATE_COMPLETE" || cs.execution_status != "AVAILABLE" {
        let why = match cs.execution_status.as_str() {
            "OBSOLETE" => " (the stack was updated after the plan)",
            "EXECUTE_COMPLETE" | "EXECUTE_IN_PROGRESS" => " (it was already executed)",
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
    let seen: HashSet<String> = api
        .stack_events(&stack_ref, None)
        .await
        .unwrap_or_default()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
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
    if let Err(e) = retrying(timing, || api.execute_change_set(arn, &token)).await {
        // The call may have gone through although its answer was lost: look.
        let started = api.describe_change_set(arn).await.is_ok_and(|c| {
            matches!(
                c.execution_status.as_str(),
                "EXECUTE_IN_PROGRESS" | "EXECUTE_COMPLETE" | "EXECUTE_FAILED"
            )
        });
        if !started {
            if cfn::is_transient(&e) {
                return lost(plan, &stack_ref, "", &format!("{e:#}"));
            }
            // Never executed: remove the change set (and the empty stack of a first create).
            discard(api, plan).await;
            return StackOutcome {
                hint: Some("plan again".into()),
                ..StackOutcome::failed(plan, format!("{e:#}"))
            };
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

async fn apply_one<A: StackApi, S: TemplateStore>(
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
            && let Ok(Some(info)) =
                retrying(&opts.timing, || region.api.describe_stack(&plan.stack)).await
        {
            out.outputs = info.outputs;
        }
        return out;
    }
    apply_stack(&region.api, &plan, opts, progress).await
}

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
    let info = match retrying(&opts.timing, || api.describe_stack(stack)).await {
        Ok(Some(i)) => i,
        Ok(None) => return StackOutcome::new(&plan, OutcomeKind::NoChanges),
        Err(e) => return StackOutcome::failed(&plan, format!("{e:#}")),
    };
    if info.status != "UPDATE_ROLLBACK_FAILED" {
        return StackOutcome {
            status: Some(info.status),
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
    if let Err(e) = retrying(&opts.timing, || {
        api.continue_update_rollback(&info.arn, skip, &token, opts.role_arn.as_deref())
    })
    .await
    {
        return StackOutcome::failed(&plan, format!("{e:#}"));
    }
    let mut out = follow(api, &plan, &info.arn, seen, opts, progress).await;
    if out.status.as_deref() == Some("UPDATE_ROLLBACK_COMPLETE") {
        out.kind = OutcomeKind::Applied;
        out.detail = Some("rolled back; the stack can be updated again".into());
        out.hint = Some("run `mailinfra apply` to deploy the spec".into());
    }
    out
}

/// Reads a template body from a plan's artifacts by stack name.
pub fn artifact<'a>(artifacts: &'a [Artifact], stack: &str) -> anyhow::Result<&'a Artifact> {
    artifacts
        .iter()
        .find(|a| a.entry.name == stack)
        .context("stack not in the build")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plan_file() -> PlanFile {
        let mut p = StackPlan::new(&Artifact {
            entry: crate::build::StackEntry {
                name: "demo-us-east-1-mail-manager".into(),
                region: "us-east-1".into(),
                concern: "mail-manager".into(),
                template: "t.json".into(),
                sha256: "ab".repeat(32),
                bytes: 10,
                resources: 1,
                depends_on: Vec::new(),
                parameters: Vec::new(),
                outputs: 0,
                capabilities: Vec::new(),
                needs_upload: false,
            },
            body: String::new(),
        });
        p.change_set_arn =
            Some("arn:aws:cloudformation:us-east-1:1:changeSet/mailinfra-x/1".into());
        PlanFile::new(&"cd".repeat(32), vec![p])
    }

    #[test]
    fn a_plan_file_reads_back_and_an_edit_is_refused() {
        let text = plan_file().render();
        assert!(PlanFile::parse(&text).is_ok());
        let edited = text.replace("mailinfra-x", "mailinfra-y");
        assert!(PlanFile::parse(&edited).unwrap_err().contains("checksum"));
        let old = text.replace("\"format_version\": 2", "\"format_version\": 1");
        assert!(PlanFile::parse(&old).unwrap_err().contains("format 1"));
    }

    #[test]
    fn a_name_removed_under_one_id_and_added_under_another_is_a_rename() {
        use serde_json::json;
        let old = json!({"Resources": {
            "RecordMxOld": {"Type": "AWS::Route53::RecordSet", "Properties": {"HostedZoneId": "Z1", "Name": "Example.com.", "Type": "MX", "ResourceRecords": ["10 a"]}},
            "ConfigSetMarketing": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": "marketing"}},
        }});
        let new = json!({"Resources": {
            "RecordMxExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {"HostedZoneId": "Z1", "Name": "example.com", "Type": "MX", "ResourceRecords": ["10 a"]}},
            "RecordTxtExampleCom": {"Type": "AWS::Route53::RecordSet", "Properties": {"HostedZoneId": "Z1", "Name": "example.com", "Type": "TXT", "ResourceRecords": ["\"v=spf1 -all\""]}},
        }});
        let moved = json!({"Resources": {
            "ConfigSetMarketingShared": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": "marketing"}},
            "ConfigSetOther": {"Type": "AWS::SES::ConfigurationSet", "Properties": {"Name": "other"}},
        }});
        let mut a = plan_file().stacks[0].clone();
        a.changes = diff::diff_templates(Some(&old), Some(&new));
        let mut b = plan_file().stacks[0].clone();
        b.stack = "demo-us-east-1-sending-01".into();
        b.changes = diff::diff_templates(None, Some(&moved));
        let mut plans = [a, b];
        assert_eq!(mark_renames(&mut plans), 2);
        let mark = |p: usize, id: &str| {
            plans[p]
                .changes
                .iter()
                .find(|c| c.logical_id == id)
                .and_then(|c| c.renamed_from.clone())
        };
        // The zone, the name (case and final dot aside) and the type make a record.
        assert_eq!(
            mark(0, "RecordMxExampleCom").as_deref(),
            Some("`RecordMxOld`")
        );
        assert_eq!(mark(0, "RecordTxtExampleCom"), None);
        assert_eq!(
            mark(1, "ConfigSetMarketingShared").as_deref(),
            Some("`ConfigSetMarketing` in `demo-us-east-1-mail-manager`")
        );
        assert_eq!(mark(1, "ConfigSetOther"), None);
    }

    proptest! {
        /// A plan file cut short anywhere is refused cleanly, never half-read.
        #[test]
        fn a_truncated_plan_file_is_refused(cut in 0usize..1000) {
            let text = plan_file().render();
            // Only the content counts: a cut that removes the final newline leaves it whole.
            let cut = cut % text.trim_end().len();
            prop_assert!(PlanFile::parse(&text[..cut]).is_err());
        }
    }
}
