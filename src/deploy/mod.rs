//! Deploy: plan (change sets) and apply (execute and wait) over
//! [`StackApi`](crate::aws::cloudformation::StackApi).
//!
//! Input: rendered stacks with their dependencies. Output: plans, outcomes and
//! a stream of [`Progress`] events that the CLI draws; nothing here prints.
//! Calls are retried inside the AWS layer's SDK clients, never here; polls
//! back off on their own ([`timing`]: a failed poll is never a failed deploy);
//! mutating calls carry idempotency tokens, so the SDK's retries of them are
//! the same request.
//!
//! One file per job, in the order a deploy runs them:
//! [`graph`] (stack order), [`plan`], [`preflight`] (what already exists
//! outside the stacks), [`plan_file`], [`guards`] (the questions the refusal
//! policy asks), [`apply`], [`follow`] (events until a stack settles),
//! [`outcome`], [`rollback`], [`retired`] (the project's stacks the spec no
//! longer produces, deleted behind the same gates); beside them [`journal`] (what each apply did),
//! [`workspace_lock`] (one apply per workspace), [`status`] and [`live`]
//! (`check --live`, with [`key_policy`] judging KMS key policies and
//! [`live_sending`] MAIL FROM domains and the global endpoint).

pub mod apply;
pub mod follow;
pub mod graph;
pub mod guards;
pub mod journal;
pub mod key_policy;
pub mod live;
pub mod live_sending;
pub mod outcome;
pub mod plan;
pub mod plan_file;
pub mod preflight;
pub mod retired;
pub mod rollback;
#[cfg(test)]
mod scenarios;
pub mod status;
pub mod timing;
pub mod waits;
pub mod workspace_lock;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::aws::cloudformation::StackEvent;
use crate::build::Artifact;
use crate::diff::ResourceChange;
pub use timing::Timing;

pub use apply::{apply_all, apply_stack, discard};
pub use follow::new_events;
pub use graph::run_graph;
pub use guards::{
    changes_where, mark_renames, still_current, template_has_resource, unallowed_destruction,
    unnamed_imports,
};
pub use outcome::{OutcomeKind, RootCause, StackOutcome, rollback_failures, root_cause};
pub use plan::{plan_all, plan_stack};
pub use plan_file::PlanFile;
pub use rollback::continue_rollback;

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
    /// A stack of this project that the spec no longer produces: apply
    /// deletes it ([`retired`]), behind the same gates as any destroy.
    Delete,
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
    /// Resources held back from this plan's change set until an SES identity
    /// is verified ([`waits`]); apply creates them once it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<waits::Waiting>,
    /// Things the reviewer should know (leftovers cleaned up, foreign change sets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A stack to delete has termination protection on: CloudFormation would
    /// refuse, and mailinfra never turns it off. Read from AWS, never from a
    /// plan file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub termination_protected: bool,
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
            waiting: Vec::new(),
            notes: Vec::new(),
            termination_protected: false,
            outputs: Vec::new(),
        }
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

/// A fresh, unique id for one plan: names its change sets and derives tokens.
pub fn new_plan_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!("{nanos}-{}", std::process::id());
    crate::hash::sha256_hex(seed.as_bytes())[..16].to_string()
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
    /// Which SES identities are verified, when read: resources that wait for
    /// one that is not are held back ([`waits`]). `None`: nothing is held back.
    pub verified: Option<Arc<waits::Verified>>,
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
            verified: None,
        }
    }
}

/// Everything needed to talk to one region.
pub struct Region<A, S> {
    pub api: A,
    pub store: S,
}

/// Why planning produced no plan. The change sets it had made are removed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The user interrupted; with what the plan met on the way, if anything.
    #[error("interrupted; the change sets this plan made were removed{}", .0.as_ref().map(|e| format!(": {e:#}")).unwrap_or_default())]
    Interrupted(Option<anyhow::Error>),
    /// AWS or the network failed.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

/// Reads a template body from a plan's artifacts by stack name.
pub fn artifact<'a>(artifacts: &'a [Artifact], stack: &str) -> anyhow::Result<&'a Artifact> {
    artifacts
        .iter()
        .find(|a| a.entry.name == stack)
        .context("stack not in the build")
}
