//! An in-memory AWS account behind [`StackApi`], [`TemplateStore`] and
//! [`MailApi`], for deployer scenarios no emulator produces: change sets
//! computed from the template diff, operations that take a few polls, and
//! faults on demand (a call that fails N times, an answer lost after the call
//! went through, an update whose rollback fails, a change set that stays
//! pending, a colleague's update in between).
//!
//! It answers as CloudFormation does where the deployer depends on it (each
//! rule is in `docs/aws-behaviours.md`): a change set with nothing to do is
//! `FAILED` with "didn't contain changes", while an outputs-only one is
//! `CREATE_COMPLETE` with no changes; a repeated client token returns the
//! first result instead of doing it again; executing a change set deletes the
//! stack's other change sets; an update by other means makes them `OBSOLETE`;
//! a stack with termination protection cannot be deleted. Everything else is
//! kept simple: one account, resources without live state of their own.
//! A failure it injects is what reaches the deployer after the SDK's
//! retries: the fake sits above them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::cloudformation::*;
use super::error::AwsError;
use super::fake_templates::{json, judged, outputs_of, with_parameters};
use super::s3::TemplateStore;
use super::ses::{IdentityState, MailApi};
use crate::diff::{self, Action, ResourceChange};

/// The account; clones share it (one for the deployer, one for the test).
#[derive(Clone, Default)]
pub struct FakeAws(Arc<Mutex<Account>>);

#[derive(Default)]
struct Account {
    stacks: Vec<Stack>,
    change_sets: Vec<ChangeSet>,
    uploads: BTreeMap<String, String>,
    identities: BTreeMap<String, IdentityState>,
    calls: BTreeMap<&'static str, usize>,
    /// Calls of an operation that fail (transient) before it does anything.
    fail: BTreeMap<&'static str, u32>,
    /// Calls of an operation that go through, and then fail (the answer is lost).
    lose: BTreeMap<&'static str, u32>,
    /// Stacks whose next update fails, and whose rollback fails too.
    rollback_fails: BTreeSet<String>,
    /// Stacks whose change sets never finish creating.
    pending_forever: BTreeSet<String>,
    /// Stacks whose deletion fails on this resource (logical id, type, reason).
    delete_fails: BTreeMap<String, (String, String, String)>,
    /// Parameters of every CreateChangeSet, by stack name, in order.
    requested: Vec<(String, Vec<(String, String)>)>,
    /// The seconds of the account's clock (every change moves it on).
    clock: u64,
    serial: u64,
}

struct Stack {
    name: String,
    arn: String,
    status: StackStatus,
    reason: Option<String>,
    /// `None` while the stack only holds a CREATE change set.
    template: Option<String>,
    parameters: Vec<(String, String)>,
    outputs: Vec<(String, String)>,
    last_updated: Option<String>,
    /// Oldest first.
    events: Vec<StackEvent>,
    protected: bool,
    running: Option<Operation>,
    /// What each ContinueUpdateRollback skipped.
    skipped: Vec<Vec<String>>,
}

/// An operation CloudFormation is working on: it ends after a few polls.
struct Operation {
    polls_left: u32,
    token: Option<String>,
    ending: Ending,
}

enum Ending {
    /// The change set's template and parameters are in place.
    Deployed {
        template: String,
        parameters: Vec<(String, String)>,
        changes: Vec<ResourceChange>,
        create: bool,
        change_set: String,
    },
    /// The update failed on `resource` (of type `rtype`), and rolling it back failed too.
    RollbackFailed {
        resource: String,
        rtype: String,
        change_set: String,
    },
    /// Back as it was before the update.
    RolledBack,
}

struct ChangeSet {
    arn: String,
    name: String,
    stack_arn: String,
    status: ChangeSetStatus,
    execution: ExecutionStatus,
    reason: Option<String>,
    changes: Vec<ResourceChange>,
    template: String,
    parameters: Vec<(String, String)>,
    create: bool,
    token: String,
    /// Descriptions that still show it pending.
    pending_reads: u32,
    executed_with: Option<String>,
}

fn aws_error(code: &str, message: String, transient: bool) -> anyhow::Error {
    anyhow::Error::new(AwsError {
        code: Some(code.to_string()),
        message: format!("{message} ({code})"),
        transient,
    })
}

fn throttled(op: &str) -> anyhow::Error {
    aws_error("Throttling", format!("{op}: Rate exceeded"), true)
}

impl Account {
    /// Counts a call and applies a pending `fail` fault.
    fn enter(&mut self, op: &'static str) -> anyhow::Result<()> {
        *self.calls.entry(op).or_default() += 1;
        match self.fail.get_mut(op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(throttled(op))
            }
            _ => Ok(()),
        }
    }

    /// Applies a pending `lose` fault to a call that went through.
    fn leave<T>(&mut self, op: &'static str, out: anyhow::Result<T>) -> anyhow::Result<T> {
        match self.lose.get_mut(op) {
            Some(n) if *n > 0 && out.is_ok() => {
                *n -= 1;
                Err(throttled(op))
            }
            _ => out,
        }
    }

    fn now(&mut self) -> String {
        self.clock += 60;
        super::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.clock))
    }

    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn stack_index(&self, key: &str) -> Option<usize> {
        self.stacks
            .iter()
            .position(|s| s.name == key || s.arn == key)
    }

    fn change_set_index(&self, key: &str) -> Option<usize> {
        self.change_sets.iter().position(|c| c.arn == key)
    }

    fn event(
        &mut self,
        stack: usize,
        logical_id: &str,
        rtype: &str,
        status: &str,
        reason: Option<&str>,
        token: Option<&str>,
    ) {
        let n = self.next_serial();
        let timestamp = self.now();
        self.stacks[stack].events.push(StackEvent {
            id: format!("event-{n}"),
            timestamp,
            logical_id: logical_id.to_string(),
            resource_type: rtype.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            token: token.map(str::to_string),
        });
    }

    fn stack_event(
        &mut self,
        stack: usize,
        status: &StackStatus,
        reason: Option<&str>,
        token: Option<&str>,
    ) {
        let name = self.stacks[stack].name.clone();
        self.event(
            stack,
            &name,
            "AWS::CloudFormation::Stack",
            status.as_str(),
            reason,
            token,
        );
    }

    /// One poll of a stack: an operation running on it moves on, and ends.
    fn advance(&mut self, i: usize) {
        let Some(op) = self.stacks[i].running.as_mut() else {
            return;
        };
        if op.polls_left > 1 {
            op.polls_left -= 1;
            return;
        }
        let Some(op) = self.stacks[i].running.take() else {
            return;
        };
        let token = op.token.as_deref();
        match op.ending {
            Ending::Deployed {
                template,
                parameters,
                changes,
                create,
                change_set,
            } => {
                for c in &changes {
                    let status = match c.action {
                        Action::Remove => "DELETE_COMPLETE",
                        Action::Add => "CREATE_COMPLETE",
                        Action::Import => "IMPORT_COMPLETE",
                        Action::Modify => "UPDATE_COMPLETE",
                    };
                    self.event(i, &c.logical_id, &c.resource_type, status, None, token);
                }
                let status = if create {
                    StackStatus::CreateComplete
                } else {
                    StackStatus::UpdateComplete
                };
                self.stack_event(i, &status, None, token);
                let now = self.now();
                let s = &mut self.stacks[i];
                s.outputs = outputs_of(&template);
                s.template = Some(template);
                s.parameters = parameters;
                s.status = status;
                s.reason = None;
                s.last_updated = Some(now);
                self.finish_change_set(&change_set, ExecutionStatus::ExecuteComplete);
            }
            Ending::RollbackFailed {
                resource,
                rtype,
                change_set,
            } => {
                let failed = format!("The following resource(s) failed to update: [{resource}]");
                self.event(
                    i,
                    &resource,
                    &rtype,
                    "UPDATE_FAILED",
                    Some("Access Denied"),
                    token,
                );
                self.stack_event(
                    i,
                    &StackStatus::UpdateRollbackInProgress,
                    Some(&failed),
                    token,
                );
                self.event(
                    i,
                    &resource,
                    &rtype,
                    "UPDATE_FAILED",
                    Some("Access Denied (during rollback)"),
                    token,
                );
                let why = format!("The following resource(s) failed to update: [{resource}].");
                self.stack_event(i, &StackStatus::UpdateRollbackFailed, Some(&why), token);
                let s = &mut self.stacks[i];
                s.status = StackStatus::UpdateRollbackFailed;
                s.reason = Some(why);
                self.finish_change_set(&change_set, ExecutionStatus::ExecuteFailed);
            }
            Ending::RolledBack => {
                self.stack_event(i, &StackStatus::UpdateRollbackComplete, None, token);
                let s = &mut self.stacks[i];
                s.status = StackStatus::UpdateRollbackComplete;
                s.reason = None;
            }
        }
    }

    fn finish_change_set(&mut self, arn: &str, how: ExecutionStatus) {
        if let Some(c) = self.change_sets.iter_mut().find(|c| c.arn == arn) {
            c.execution = how;
        }
    }

    fn info(&self, i: usize) -> StackInfo {
        let s = &self.stacks[i];
        StackInfo {
            arn: s.arn.clone(),
            status: s.status.clone(),
            status_reason: s.reason.clone(),
            last_updated: s.last_updated.clone(),
            outputs: s.outputs.clone(),
            parameters: s.parameters.clone(),
            termination_protection: s.protected,
        }
    }
}

/// What the test sets up and reads back.
impl FakeAws {
    fn with<T>(&self, f: impl FnOnce(&mut Account) -> T) -> T {
        f(&mut self.0.lock().expect("the fake account"))
    }

    /// How often an operation was called (`"ExecuteChangeSet"`, …).
    pub fn calls(&self, op: &str) -> usize {
        self.with(|a| a.calls.get(op).copied().unwrap_or_default())
    }

    /// The next `n` calls of `op` fail with throttling, doing nothing.
    pub fn fail(&self, op: &'static str, n: u32) {
        self.with(|a| a.fail.insert(op, n));
    }

    /// The next `n` calls of `op` go through, but their answer is lost (throttling).
    pub fn lose_answers(&self, op: &'static str, n: u32) {
        self.with(|a| a.lose.insert(op, n));
    }

    /// The next update of `stack` fails, and rolling it back fails too.
    pub fn rollback_fails(&self, stack: &str) {
        self.with(|a| a.rollback_fails.insert(stack.to_string()));
    }

    /// Deleting `stack` fails on `logical_id` (of type `rtype`), as
    /// CloudFormation does with a resource it cannot remove: `DELETE_FAILED`.
    pub fn deletion_fails(&self, stack: &str, logical_id: &str, rtype: &str, reason: &str) {
        self.with(|a| {
            a.delete_fails.insert(
                stack.to_string(),
                (
                    logical_id.to_string(),
                    rtype.to_string(),
                    reason.to_string(),
                ),
            )
        });
    }

    /// Change sets of `stack` stay `CREATE_PENDING` forever.
    pub fn change_sets_stay_pending(&self, stack: &str) {
        self.with(|a| a.pending_forever.insert(stack.to_string()));
    }

    /// Someone else updates `stack` to `template` directly (UpdateStack):
    /// its unexecuted change sets become `OBSOLETE`.
    pub fn update_out_of_band(&self, stack: &str, template: &str) {
        self.with(|a| {
            let i = a.stack_index(stack).expect("a deployed stack");
            let now = a.now();
            let s = &mut a.stacks[i];
            s.template = Some(template.to_string());
            s.outputs = outputs_of(template);
            s.status = StackStatus::UpdateComplete;
            s.last_updated = Some(now);
            let arn = s.arn.clone();
            for c in a.change_sets.iter_mut().filter(|c| c.stack_arn == arn) {
                if c.execution == ExecutionStatus::Available {
                    c.execution = ExecutionStatus::Obsolete;
                }
            }
        });
    }

    /// The stack as DescribeStacks shows it (without polling it).
    pub fn stack(&self, name: &str) -> Option<StackInfo> {
        self.with(|a| a.stack_index(name).map(|i| a.info(i)))
    }

    /// The deployed template of `stack`.
    pub fn template(&self, name: &str) -> Option<String> {
        self.with(|a| {
            a.stack_index(name)
                .and_then(|i| a.stacks[i].template.clone())
        })
    }

    pub fn termination_protection(&self, name: &str) -> bool {
        self.with(|a| a.stack_index(name).is_some_and(|i| a.stacks[i].protected))
    }

    /// The change sets the account holds for `stack`: (name, status, execution status).
    pub fn change_sets(&self, stack: &str) -> Vec<(String, ChangeSetStatus, ExecutionStatus)> {
        self.with(|a| {
            let Some(i) = a.stack_index(stack) else {
                return Vec::new();
            };
            let arn = a.stacks[i].arn.clone();
            a.change_sets
                .iter()
                .filter(|c| c.stack_arn == arn)
                .map(|c| (c.name.clone(), c.status.clone(), c.execution.clone()))
                .collect()
        })
    }

    /// The parameters of every change set requested for `stack`, in order.
    pub fn requested_parameters(&self, stack: &str) -> Vec<Vec<(String, String)>> {
        self.with(|a| {
            a.requested
                .iter()
                .filter(|(s, _)| s == stack)
                .map(|(_, p)| p.clone())
                .collect()
        })
    }

    /// What each ContinueUpdateRollback on `stack` skipped.
    pub fn skipped(&self, stack: &str) -> Vec<Vec<String>> {
        self.with(|a| {
            a.stack_index(stack)
                .map(|i| a.stacks[i].skipped.clone())
                .unwrap_or_default()
        })
    }

    /// An SES identity that exists in the account.
    pub fn add_identity(&self, state: IdentityState) {
        self.with(|a| a.identities.insert(state.name.clone(), state));
    }
}

impl StackApi for FakeAws {
    async fn describe_stack(&self, stack: &str) -> anyhow::Result<Option<StackInfo>> {
        self.with(|a| {
            a.enter("DescribeStacks")?;
            let Some(i) = a.stack_index(stack) else {
                return Ok(None);
            };
            a.advance(i);
            let out = Ok(Some(a.info(i)));
            a.leave("DescribeStacks", out)
        })
    }

    async fn list_stacks(&self) -> anyhow::Result<Vec<StackSummary>> {
        self.with(|a| {
            a.enter("ListStacks")?;
            Ok(a.stacks
                .iter()
                .map(|s| StackSummary {
                    name: s.name.clone(),
                    arn: s.arn.clone(),
                    status: s.status.clone(),
                    description: s
                        .template
                        .as_deref()
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                        .and_then(|t| t["Description"].as_str().map(str::to_string)),
                })
                .collect())
        })
    }

    async fn get_template(&self, stack: &str) -> anyhow::Result<Option<String>> {
        self.with(|a| {
            a.enter("GetTemplate")?;
            Ok(a.stack_index(stack)
                .and_then(|i| a.stacks[i].template.clone()))
        })
    }

    async fn create_change_set(&self, req: NewChangeSet<'_>) -> anyhow::Result<String> {
        self.with(|a| {
            a.enter("CreateChangeSet")?;
            let body = match req.template_url {
                Some(url) => a.uploads.get(url).cloned().ok_or_else(|| {
                    aws_error("ValidationError", format!("no template at {url}"), false)
                })?,
                None => req.template_body.to_string(),
            };
            a.requested
                .push((req.stack.to_string(), req.parameters.to_vec()));
            let existing = a.stack_index(req.stack);
            // A repeated request (same client token) is the first one.
            if let Some(i) = existing {
                let arn = a.stacks[i].arn.clone();
                if let Some(c) = a
                    .change_sets
                    .iter()
                    .find(|c| c.stack_arn == arn && c.token == req.client_token)
                {
                    let out = Ok(c.arn.clone());
                    return a.leave("CreateChangeSet", out);
                }
            }
            let i = match (existing, req.create) {
                (None, false) => {
                    return Err(aws_error(
                        "ValidationError",
                        format!("Stack [{}] does not exist", req.stack),
                        false,
                    ));
                }
                (Some(i), true) if !a.stacks[i].status.is_review() => {
                    return Err(aws_error(
                        "AlreadyExistsException",
                        format!("Stack [{}] already exists", req.stack),
                        false,
                    ));
                }
                (Some(i), false) if a.stacks[i].status.is_review() => {
                    return Err(aws_error(
                        "ValidationError",
                        format!("Stack [{}] is in REVIEW_IN_PROGRESS state", req.stack),
                        false,
                    ));
                }
                (Some(i), _) => i,
                (None, true) => {
                    let n = a.next_serial();
                    a.stacks.push(Stack {
                        name: req.stack.to_string(),
                        arn: format!(
                            "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/{n}",
                            req.stack
                        ),
                        status: StackStatus::ReviewInProgress,
                        reason: None,
                        template: None,
                        parameters: Vec::new(),
                        outputs: Vec::new(),
                        last_updated: None,
                        events: Vec::new(),
                        protected: false,
                        running: None,
                        skipped: Vec::new(),
                    });
                    let i = a.stacks.len() - 1;
                    a.stack_event(
                        i,
                        &StackStatus::ReviewInProgress,
                        Some("User Initiated"),
                        None,
                    );
                    i
                }
            };
            // Changes as CloudFormation works them out: both templates with
            // their parameter values in place, compared resource by resource.
            let stack = &a.stacks[i];
            let old = stack
                .template
                .as_deref()
                .and_then(json)
                .map(|t| with_parameters(t, &stack.parameters));
            let new = json(&body).map(|t| with_parameters(t, req.parameters));
            let changes = diff::diff_templates(old.as_ref(), new.as_ref());
            let (status, execution, reason) = judged(old.as_ref(), new.as_ref(), &changes);
            let pending_reads = if a.pending_forever.contains(req.stack) {
                u32::MAX
            } else {
                1
            };
            let stack_arn = a.stacks[i].arn.clone();
            let n = a.next_serial();
            let arn = format!(
                "arn:aws:cloudformation:us-east-1:123456789012:changeSet/{}/{n}",
                req.name
            );
            a.change_sets.push(ChangeSet {
                arn: arn.clone(),
                name: req.name.to_string(),
                stack_arn,
                status,
                execution,
                reason,
                changes,
                template: body,
                parameters: req.parameters.to_vec(),
                create: req.create,
                token: req.client_token.to_string(),
                pending_reads,
                executed_with: None,
            });
            a.leave("CreateChangeSet", Ok(arn))
        })
    }

    async fn describe_change_set(&self, arn: &str) -> anyhow::Result<ChangeSetInfo> {
        self.with(|a| {
            a.enter("DescribeChangeSet")?;
            let i = a.change_set_index(arn).ok_or_else(|| {
                aws_error(
                    "ChangeSetNotFound",
                    format!("ChangeSet [{arn}] does not exist"),
                    false,
                )
            })?;
            let c = &mut a.change_sets[i];
            let (status, execution) = if c.pending_reads > 0 {
                c.pending_reads -= 1;
                (ChangeSetStatus::CreatePending, ExecutionStatus::Unavailable)
            } else {
                (c.status.clone(), c.execution.clone())
            };
            Ok(ChangeSetInfo {
                arn: c.arn.clone(),
                stack_arn: c.stack_arn.clone(),
                status,
                execution_status: execution,
                status_reason: c.reason.clone(),
                changes: c.changes.clone(),
            })
        })
    }

    async fn execute_change_set(&self, arn: &str, token: &str) -> anyhow::Result<()> {
        self.with(|a| {
            a.enter("ExecuteChangeSet")?;
            let i = a.change_set_index(arn).ok_or_else(|| {
                aws_error(
                    "ChangeSetNotFound",
                    format!("ChangeSet [{arn}] does not exist"),
                    false,
                )
            })?;
            // The same request again (same token) is the one already made.
            if a.change_sets[i].executed_with.as_deref() == Some(token) {
                return a.leave("ExecuteChangeSet", Ok(()));
            }
            let c = &a.change_sets[i];
            if c.execution != ExecutionStatus::Available || c.pending_reads > 0 {
                return Err(aws_error(
                    "InvalidChangeSetStatus",
                    format!(
                        "ChangeSet [{arn}] cannot be executed in its current status of [{}]",
                        c.execution
                    ),
                    false,
                ));
            }
            let s = a.stack_index(&c.stack_arn).expect("the change set's stack");
            let create = c.create;
            let stack_name = a.stacks[s].name.clone();
            // "cannot update a stack when a custom-named resource requires replacing"
            let custom_named = c
                .changes
                .iter()
                .any(|c| c.replacement != diff::Replacement::Never && c.blocked.is_some());
            let ending = if !create && custom_named {
                Ending::RolledBack
            } else if !create && a.rollback_fails.remove(&stack_name) {
                let (resource, rtype) = c.changes.first().map_or_else(
                    || {
                        (
                            "Resource".to_string(),
                            "AWS::CloudFormation::WaitConditionHandle".to_string(),
                        )
                    },
                    |c| (c.logical_id.clone(), c.resource_type.clone()),
                );
                Ending::RollbackFailed {
                    resource,
                    rtype,
                    change_set: c.arn.clone(),
                }
            } else {
                Ending::Deployed {
                    template: c.template.clone(),
                    parameters: c.parameters.clone(),
                    changes: c.changes.clone(),
                    create,
                    change_set: c.arn.clone(),
                }
            };
            let stack_arn = c.stack_arn.clone();
            let c = &mut a.change_sets[i];
            c.execution = ExecutionStatus::ExecuteInProgress;
            c.executed_with = Some(token.to_string());
            let kept = c.arn.clone();
            // The stack's other change sets no longer apply: CloudFormation deletes them.
            a.change_sets
                .retain(|c| c.stack_arn != stack_arn || c.arn == kept);
            let status = if create {
                StackStatus::CreateInProgress
            } else {
                StackStatus::UpdateInProgress
            };
            a.stack_event(s, &status, Some("User Initiated"), Some(token));
            let st = &mut a.stacks[s];
            st.status = status;
            st.running = Some(Operation {
                polls_left: 2,
                token: Some(token.to_string()),
                ending,
            });
            a.leave("ExecuteChangeSet", Ok(()))
        })
    }

    async fn delete_change_set(&self, arn: &str) -> anyhow::Result<()> {
        self.with(|a| {
            a.enter("DeleteChangeSet")?;
            let i = a.change_set_index(arn).ok_or_else(|| {
                aws_error(
                    "ChangeSetNotFound",
                    format!("ChangeSet [{arn}] does not exist"),
                    false,
                )
            })?;
            a.change_sets.remove(i);
            Ok(())
        })
    }

    async fn list_change_sets(&self, stack: &str) -> anyhow::Result<Vec<ChangeSetSummary>> {
        self.with(|a| {
            a.enter("ListChangeSets")?;
            let Some(i) = a.stack_index(stack) else {
                return Ok(Vec::new());
            };
            let arn = a.stacks[i].arn.clone();
            Ok(a.change_sets
                .iter()
                .filter(|c| c.stack_arn == arn)
                .map(|c| ChangeSetSummary {
                    name: c.name.clone(),
                    arn: c.arn.clone(),
                    status: c.status.clone(),
                    execution_status: c.execution.clone(),
                })
                .collect())
        })
    }

    async fn delete_stack(&self, stack_arn: &str, token: &str) -> anyhow::Result<()> {
        self.with(|a| {
            a.enter("DeleteStack")?;
            let Some(i) = a.stack_index(stack_arn) else {
                return Ok(());
            };
            if a.stacks[i].protected {
                return Err(aws_error(
                    "ValidationError",
                    format!(
                        "Stack [{}] cannot be deleted while TerminationProtection is enabled",
                        a.stacks[i].name
                    ),
                    false,
                ));
            }
            let name = a.stacks[i].name.clone();
            if let Some((id, rtype, reason)) = a.delete_fails.get(&name).cloned() {
                a.event(i, &id, &rtype, "DELETE_FAILED", Some(&reason), Some(token));
                a.event(
                    i,
                    &name,
                    "AWS::CloudFormation::Stack",
                    "DELETE_FAILED",
                    None,
                    Some(token),
                );
                a.stacks[i].status = StackStatus::DeleteFailed;
                return Ok(());
            }
            let arn = a.stacks[i].arn.clone();
            a.change_sets.retain(|c| c.stack_arn != arn);
            a.stacks.remove(i);
            Ok(())
        })
    }

    async fn stack_events(
        &self,
        stack: &str,
        next_token: Option<&str>,
    ) -> anyhow::Result<EventPage> {
        const PAGE: usize = 4;
        self.with(|a| {
            a.enter("DescribeStackEvents")?;
            let Some(i) = a.stack_index(stack) else {
                return Err(aws_error(
                    "ValidationError",
                    format!("Stack [{stack}] does not exist"),
                    false,
                ));
            };
            let newest_first: Vec<StackEvent> = a.stacks[i].events.iter().rev().cloned().collect();
            let from: usize = next_token.and_then(|t| t.parse().ok()).unwrap_or(0);
            let to = (from + PAGE).min(newest_first.len());
            Ok(EventPage {
                events: newest_first.get(from..to).unwrap_or_default().to_vec(),
                next_token: (to < newest_first.len()).then(|| to.to_string()),
            })
        })
    }

    async fn change_set_failures(&self, change_set_arn: &str) -> anyhow::Result<Vec<String>> {
        self.with(|a| {
            a.enter("DescribeEvents")?;
            Ok(a.change_set_index(change_set_arn)
                .and_then(|i| a.change_sets[i].reason.clone())
                .into_iter()
                .collect())
        })
    }

    async fn update_termination_protection(&self, stack: &str, enable: bool) -> anyhow::Result<()> {
        self.with(|a| {
            a.enter("UpdateTerminationProtection")?;
            if let Some(i) = a.stack_index(stack) {
                a.stacks[i].protected = enable;
            }
            Ok(())
        })
    }

    async fn cancel_update_stack(&self, stack: &str, token: &str) -> anyhow::Result<()> {
        self.with(|a| {
            a.enter("CancelUpdateStack")?;
            let i = a.stack_index(stack).ok_or_else(|| {
                aws_error(
                    "ValidationError",
                    format!("Stack [{stack}] does not exist"),
                    false,
                )
            })?;
            if a.stacks[i].status != StackStatus::UpdateInProgress {
                return Err(aws_error(
                    "ValidationError",
                    "CancelUpdateStack cannot be called from current stack status".to_string(),
                    false,
                ));
            }
            a.stack_event(
                i,
                &StackStatus::UpdateRollbackInProgress,
                Some("User Initiated"),
                Some(token),
            );
            let s = &mut a.stacks[i];
            s.status = StackStatus::UpdateRollbackInProgress;
            s.running = Some(Operation {
                polls_left: 2,
                token: Some(token.to_string()),
                ending: Ending::RolledBack,
            });
            Ok(())
        })
    }

    async fn continue_update_rollback(
        &self,
        stack: &str,
        skip: &[String],
        token: &str,
        _role_arn: Option<&str>,
    ) -> anyhow::Result<()> {
        self.with(|a| {
            a.enter("ContinueUpdateRollback")?;
            let i = a.stack_index(stack).ok_or_else(|| {
                aws_error(
                    "ValidationError",
                    format!("Stack [{stack}] does not exist"),
                    false,
                )
            })?;
            if a.stacks[i].status != StackStatus::UpdateRollbackFailed {
                return Err(aws_error(
                    "ValidationError",
                    format!(
                        "Stack [{stack}] is in {} state and can not continue its rollback",
                        a.stacks[i].status
                    ),
                    false,
                ));
            }
            a.stack_event(i, &StackStatus::UpdateRollbackInProgress, None, Some(token));
            let s = &mut a.stacks[i];
            s.skipped.push(skip.to_vec());
            s.status = StackStatus::UpdateRollbackInProgress;
            s.running = Some(Operation {
                polls_left: 2,
                token: Some(token.to_string()),
                ending: Ending::RolledBack,
            });
            Ok(())
        })
    }

    async fn stack_resources(&self, stack: &str) -> anyhow::Result<Vec<StackResource>> {
        self.with(|a| {
            a.enter("ListStackResources")?;
            let Some(t) = a
                .stack_index(stack)
                .and_then(|i| a.stacks[i].template.as_deref().and_then(json))
            else {
                return Ok(Vec::new());
            };
            Ok(t["Resources"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(id, r)| StackResource {
                    logical_id: id.clone(),
                    physical_id: format!("phys-{id}"),
                    resource_type: r["Type"].as_str().unwrap_or_default().to_string(),
                    status: "CREATE_COMPLETE".into(),
                })
                .collect())
        })
    }

    async fn detect_drift(&self, stack: &str) -> anyhow::Result<String> {
        self.with(|a| {
            a.enter("DetectStackDrift")?;
            Ok(format!("drift-{stack}"))
        })
    }

    async fn drift_status(&self, _id: &str) -> anyhow::Result<DriftStatus> {
        self.with(|a| {
            a.enter("DescribeStackDriftDetectionStatus")?;
            Ok(DriftStatus {
                detection: "DETECTION_COMPLETE".into(),
                stack: "IN_SYNC".into(),
                reason: None,
            })
        })
    }

    async fn resource_drifts(&self, _stack: &str) -> anyhow::Result<Vec<ResourceDrift>> {
        self.with(|a| {
            a.enter("DescribeStackResourceDrifts")?;
            Ok(Vec::new())
        })
    }
}

impl TemplateStore for FakeAws {
    async fn put_template(&self, body: &str) -> anyhow::Result<String> {
        self.with(|a| {
            a.enter("PutObject")?;
            let url = format!(
                "https://fake-bucket.s3.us-east-1.amazonaws.com/{}",
                super::s3::template_key(body)
            );
            a.uploads.insert(url.clone(), body.to_string());
            Ok(url)
        })
    }
}

impl MailApi for FakeAws {
    async fn email_identity(&self, name: &str) -> anyhow::Result<Option<IdentityState>> {
        self.with(|a| {
            a.enter("GetEmailIdentity")?;
            Ok(a.identities.get(name).cloned())
        })
    }

    async fn list_identities(&self) -> anyhow::Result<Vec<IdentityState>> {
        self.with(|a| {
            a.enter("ListEmailIdentities")?;
            Ok(a.identities.values().cloned().collect())
        })
    }
}
