//! Following a stack while CloudFormation works on it: wait for a busy stack
//! to settle, stream new events, poll with backoff on errors, give up after
//! the timeout without pretending to know how it ended.

use std::collections::HashSet;

use anyhow::bail;

use super::*;
use super::{outcome::*, plan::*};
use crate::aws::cloudformation::{StackApi, StackEvent, StackInfo, StackStatus};

/// Waits up to `opts.busy_wait` for a stack that another operation is changing
/// to settle, then returns it as it is now (`None`: that operation deleted it).
/// Without a wait, or after it, refuses with what runs there and its latest events.
pub(crate) async fn settle(
    api: &impl StackApi,
    name: &str,
    region: &str,
    mut info: StackInfo,
    opts: &Options,
) -> anyhow::Result<Option<StackInfo>> {
    let started = tokio::time::Instant::now();
    while info.status.is_busy() {
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

/// Most event pages read per poll. Only the events since the last poll are
/// wanted; a long history is never scanned to its start.
pub(crate) const MAX_EVENT_PAGES: usize = 20;

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
pub(crate) async fn follow(
    api: &impl StackApi,
    plan: &StackPlan,
    stack_ref: &str,
    seen: HashSet<String>,
    opts: &Options,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let timing = &opts.timing;
    let mut watch = Watch {
        plan,
        progress,
        seen,
        events: Vec::new(),
    };
    let started = tokio::time::Instant::now();
    let mut cancelled = false;
    let mut failed_reads: u32 = 0;
    let mut reads = 0;
    let mut saw_progress = false;
    let mut last_status: Option<StackStatus> = None;
    let mut events_failing = false;
    loop {
        tokio::time::sleep(timing.pause(failed_reads)).await;
        // A failed poll is not a failed deploy: CloudFormation carries on regardless.
        match new_events(api, stack_ref, &watch.seen).await {
            Ok(fresh) => {
                saw_progress |= watch.record(fresh);
                events_failing = false;
            }
            Err(e) if crate::aws::is_credentials_error(&e) => {
                return lost(plan, stack_ref, last_status.as_ref(), &format!("{e:#}"));
            }
            // Said once per run of failures: the next poll reads them again.
            Err(e) if !events_failing => {
                events_failing = true;
                (watch.progress)(Progress::Warning {
                    stack: plan.stack.clone(),
                    message: format!("cannot read the stack's events ({e:#}); still watching"),
                });
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
                    status: Some(StackStatus::DeleteComplete.to_string()),
                    ..StackOutcome::failed(
                        plan,
                        "the stack disappeared while it was being applied (deleted by someone else)".into(),
                    )
                };
            }
            Err(e) if crate::aws::is_credentials_error(&e) => {
                return lost(plan, stack_ref, last_status.as_ref(), &format!("{e:#}"));
            }
            Err(e) => {
                failed_reads += 1;
                (watch.progress)(Progress::Warning {
                    stack: plan.stack.clone(),
                    message: format!("cannot read the stack ({e:#}); still watching"),
                });
                if started.elapsed() > timing.stack_timeout {
                    return lost(
                        plan,
                        stack_ref,
                        last_status.as_ref(),
                        "the stack could not be read",
                    );
                }
                continue;
            }
        };
        reads += 1;
        last_status = Some(info.status.clone());
        if opts.cancel_on_interrupt
            && !cancelled
            && opts.interrupt.is_raised()
            && info.status == StackStatus::UpdateInProgress
        {
            // Only updates can be cancelled; a create is followed to its end.
            cancelled = true;
            watch.cancel_update(api, stack_ref).await;
        }
        // A read right after ExecuteChangeSet can still show the state before it
        // (REVIEW_IN_PROGRESS, or the previous UPDATE_COMPLETE): accept a terminal
        // state only once the operation was seen, or after a few reads.
        saw_progress |= info.status.is_busy();
        if !info.is_in_progress() && (saw_progress || reads >= 3) {
            // Catch events the last poll missed (it may have failed), for the root cause.
            let unread = match new_events(api, stack_ref, &watch.seen).await {
                Ok(fresh) => {
                    watch.record(fresh);
                    None
                }
                Err(e) => Some(format!(
                    "the stack's last events could not be read ({e:#}); the cause of a failure may be missing: \
                     `aws cloudformation describe-stack-events --stack-name {stack_ref} --region {}`",
                    plan.region
                )),
            };
            let mut outcome = watch.settled(info, cancelled);
            outcome.warnings.extend(unread);
            return outcome;
        }
        if started.elapsed() > timing.stack_timeout {
            return lost(
                plan,
                stack_ref,
                Some(&info.status),
                &format!("still {} after {:?}", info.status, timing.stack_timeout),
            );
        }
    }
}

/// What following one stack has seen so far.
struct Watch<'a> {
    plan: &'a StackPlan,
    progress: ProgressFn<'a>,
    seen: HashSet<String>,
    events: Vec<StackEvent>,
}

impl Watch<'_> {
    /// Reports new events and keeps them; returns whether there were any.
    fn record(&mut self, fresh: Vec<StackEvent>) -> bool {
        let any = !fresh.is_empty();
        for e in fresh {
            self.seen.insert(e.id.clone());
            (self.progress)(Progress::Event {
                stack: self.plan.stack.clone(),
                event: e.clone(),
            });
            self.events.push(e);
        }
        any
    }

    /// `--cancel-on-interrupt`: cancels the running update; says how that went.
    async fn cancel_update(&self, api: &impl StackApi, stack_ref: &str) {
        let token = format!("mailinfra-cancel-{}", short_hash(stack_ref));
        let message = match api.cancel_update_stack(stack_ref, &token).await {
            Ok(()) => "interrupted: the update is cancelled; following its rollback".to_string(),
            Err(e) => format!(
                "interrupted, but the update cannot be cancelled ({e:#}); following it to its end"
            ),
        };
        (self.progress)(Progress::Warning {
            stack: self.plan.stack.clone(),
            message,
        });
    }

    /// The outcome of a stack that settled in `info.status`.
    fn settled(self, info: StackInfo, cancelled: bool) -> StackOutcome {
        let plan = self.plan;
        (self.progress)(Progress::StackFinished {
            stack: plan.stack.clone(),
            status: info.status.to_string(),
        });
        let leftovers: Vec<String> = self
            .events
            .iter()
            .filter(|e| e.is_delete_failure())
            .map(|e| {
                format!(
                    "{} ({}) could not be deleted: {}; it is left in your account",
                    e.logical_id,
                    e.resource_type,
                    e.reason.as_deref().unwrap_or("no reason given")
                )
            })
            .collect();
        if info.status.succeeded() {
            return StackOutcome {
                status: Some(info.status.to_string()),
                warnings: leftovers,
                outputs: info.outputs,
                ..StackOutcome::new(plan, OutcomeKind::Applied)
            };
        }
        let newest_first: Vec<StackEvent> = self.events.iter().rev().cloned().collect();
        let rollback_failed = rollback_failures(&newest_first, &plan.stack);
        if cancelled && info.status == StackStatus::UpdateRollbackComplete {
            return StackOutcome {
                status: Some(info.status.to_string()),
                detail: Some("interrupted: the update was cancelled and rolled back".into()),
                hint: Some(
                    "the stack is as it was before this apply; run `mailinfra apply` again to apply it"
                        .into(),
                ),
                warnings: leftovers,
                ..StackOutcome::new(plan, OutcomeKind::Failed)
            };
        }
        StackOutcome {
            root_cause: root_cause(&self.events, &plan.stack),
            hint: Some(hint_for(&info.status, &plan.stack, &rollback_failed)),
            status: Some(info.status.to_string()),
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
        }
    }
}

/// We stopped watching; CloudFormation did not stop working.
pub(crate) fn lost(
    plan: &StackPlan,
    stack_ref: &str,
    status: Option<&StackStatus>,
    why: &str,
) -> StackOutcome {
    StackOutcome {
        status: status.map(StackStatus::to_string).filter(|s| !s.is_empty()),
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
