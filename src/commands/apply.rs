//! `mailinfra apply [PLAN]`: execute exactly the reviewed change sets (or
//! plan and ask first), in dependency order, following each stack until it
//! settles; every gate is asked before anything runs, the workspace is locked
//! and each step is journaled. `--continue-rollback` continues the rollback
//! of stacks in `UPDATE_ROLLBACK_FAILED` instead.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context as _;

use super::args::{AwsArgs, Cli, DeployArgs};
use super::context::{
    Regions, SpecScope, acting_in, check_imports, connect_all, discard_all, first_region, front,
    options, out, preflight, read_verified, regions_of, retired, runtime, select_region,
    stdout_color, timing, waited_for, whoami,
};
use super::progress::Reporter;
use super::signals::watch_interrupts;
use super::{Error, Exit, Result};
use crate::build::Artifact;
use crate::deploy::journal::{Journal, Record, Step};
use crate::deploy::waits::Waiting;
use crate::deploy::workspace_lock::WorkspaceLock;
use crate::deploy::{self, OutcomeKind, Progress, StackOutcome, StackPlan};
use crate::diff::Action;
use crate::render;

/// The apply command's own flags.
pub(super) struct Flags<'a> {
    pub plan: Option<&'a Path>,
    pub yes: bool,
    pub allow_destroy: &'a [String],
    pub continue_rollback: bool,
    pub skip: &'a [String],
    pub no_termination_protection: bool,
    pub timeout_minutes: u64,
    pub wait_verified_minutes: u64,
    pub cancel_on_interrupt: bool,
}

pub(super) fn run(cli: &Cli, flags: &Flags, aws: &AwsArgs, dargs: &DeployArgs) -> Result<Exit> {
    let Some(front) = front(cli)? else {
        return Ok(Exit::Invalid);
    };
    front.placement.require_current()?;
    let spec_deploy = front.spec_deploy();
    let dargs = &dargs.or_spec(&spec_deploy);
    let spec_hash = front.checked.spec_hash.clone();
    let scope = front.scope();
    let artifacts = select_region(front.artifacts, aws.region.as_deref())?;
    check_imports(dargs, &artifacts)?;
    // Before anything is read: two applies in one workspace never interleave.
    let lock = WorkspaceLock::acquire(&cli.file)?;
    let mut opts = options(deploy::Keep::ChangeSets, dargs, timing(aws));
    opts.termination_protection =
        !flags.no_termination_protection && spec_deploy.termination_protection != Some(false);
    opts.cancel_on_interrupt = flags.cancel_on_interrupt;
    opts.timing.stack_timeout =
        std::time::Duration::from_secs(flags.timeout_minutes.saturating_mul(60));
    let rt = runtime()?;
    let mut run = Run {
        color: stdout_color(cli),
        acting: String::new(),
        scope,
        artifacts: &artifacts,
        aws,
        dargs,
        opts,
    };
    if flags.continue_rollback {
        run.acting = rt.block_on(run.sign_in())?;
        return rt.block_on(run.continue_rollback(flags.skip));
    }
    let journal = Arc::new(Journal::open(&cli.file, &run.opts.plan_id)?);
    journal.write(Record {
        detail: flags.plan.map(|p| format!("plan file {}", p.display())),
        ..Record::new(Step::Started)
    })?;
    let done = started(&rt, &mut run, flags, &spec_hash, &journal, lock.path());
    // However it ended, the journal says so: `status` tells a refused or
    // failed apply from one that was killed.
    if let Err(e) = journal.write(ended(&done)) {
        eprintln!("warning: {e:#}");
    }
    drop(lock);
    done
}

/// An apply that was journaled as started: asked to confirm where it can,
/// its saved plan read, signed in, then planned (or re-checked) and executed.
fn started(
    rt: &tokio::runtime::Runtime,
    run: &mut Run<'_>,
    flags: &Flags,
    spec_hash: &str,
    journal: &Arc<Journal>,
    lock_path: &Path,
) -> Result<Exit> {
    // A saved plan was reviewed: that is the approval (as with Terraform).
    // Decided before anything is asked of AWS: a CI job without `--yes` must
    // not leave change sets behind.
    if !flags.yes && flags.plan.is_none() && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "refusing to apply without confirmation: no terminal to ask on; pass `--yes` to apply in CI, or apply a reviewed plan (`mailinfra plan --out plan.json`, then `mailinfra apply plan.json`)".into(),
        ));
    }
    let planned = flags
        .plan
        .map(|path| read_plan(path, spec_hash, run.artifacts, run.aws.region.as_deref()))
        .transpose()?;
    run.acting = rt.block_on(run.sign_in())?;
    let wanted = waited_for(run.artifacts);
    if !wanted.is_empty() {
        run.opts.verified = Some(Arc::new(rt.block_on(read_verified(&wanted, run.aws))));
    }
    let run = &*run;
    rt.block_on(async {
        let j = journal.clone();
        let lock_path = lock_path.to_path_buf();
        watch_interrupts(
            run.opts.interrupt.clone(),
            if run.opts.cancel_on_interrupt {
                "running updates are cancelled and their rollback followed; creates are followed to their end"
            } else {
                "operations already running in CloudFormation are followed to their end"
            },
            move || {
                j.write(Record::new(Step::Abandoned)).ok();
                std::fs::remove_file(&lock_path).ok();
            },
        );
        let j = journal.clone();
        let interrupt = run.opts.interrupt.clone();
        tokio::spawn(async move {
            interrupt.raised().await;
            j.write(Record::new(Step::Interrupted)).ok();
        });
        run.apply(flags, planned, journal).await
    })
}

/// The journal's last word on an apply.
fn ended(done: &Result<Exit>) -> Record {
    let (outcome, detail) = match done {
        Ok(Exit::Success) => ("applied", None),
        Ok(Exit::NoChanges) => ("no_changes", None),
        Ok(Exit::Invalid) => ("error", None),
        Ok(Exit::Changes) => ("applied", None),
        Ok(Exit::Refused) => ("declined", None),
        Ok(Exit::Unknown) => ("unknown", None),
        Ok(Exit::Failed) => ("failed", None),
        Ok(Exit::Interrupted) => ("interrupted", None),
        Ok(Exit::Waiting) => ("waiting", None),
        Err(e @ Error::Refused(_)) => ("refused", Some(e.to_string())),
        Err(e @ Error::Interrupted(_)) => ("interrupted", Some(e.to_string())),
        Err(e) => ("error", Some(e.to_string())),
    };
    Record {
        outcome: Some(outcome.to_string()),
        // The first line: a refusal lists every change it refuses below it.
        detail: detail.map(|d| d.lines().next().unwrap_or_default().to_string()),
        ..Record::new(Step::Ended)
    }
}

/// A saved plan, refused when it is damaged or no longer matches the spec.
fn read_plan(
    path: &Path,
    spec_hash: &str,
    artifacts: &[Artifact],
    region: Option<&str>,
) -> Result<Vec<StackPlan>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let file = deploy::PlanFile::parse(&text).map_err(|why| {
        Error::Refused(format!(
            "cannot use the plan in `{}`: {why}; run `mailinfra plan --out {}` again",
            path.display(),
            path.display()
        ))
    })?;
    file.check_scope(region).map_err(|why| {
        Error::Refused(format!(
            "cannot apply the plan in `{}`: {why}",
            path.display()
        ))
    })?;
    file.matches(spec_hash, artifacts).map_err(|why| {
        Error::Refused(format!(
            "the plan in `{}` is stale: {why}; run `mailinfra plan --out {}` again",
            path.display(),
            path.display()
        ))
    })?;
    Ok(file.stacks)
}

/// One apply: what it deploys, where, and how.
struct Run<'a> {
    color: bool,
    /// Where the apply acts ([`acting_in`]), said again before it asks.
    acting: String,
    /// The spec's project and regions: its stacks the spec no longer
    /// produces are deleted.
    scope: SpecScope,
    artifacts: &'a [Artifact],
    aws: &'a AwsArgs,
    dargs: &'a DeployArgs,
    opts: deploy::Options,
}

impl Run<'_> {
    /// Who the credentials belong to (stops here when they do not work),
    /// and where the apply acts, said before it plans.
    async fn sign_in(&self) -> Result<String> {
        let who = whoami(first_region(self.artifacts), self.aws).await?;
        let regions = regions_of(
            self.artifacts,
            Some((&self.scope, self.aws.region.as_deref())),
        );
        let acting = acting_in(&who, &regions, self.dargs.role_arn.as_deref());
        eprintln!("{acting}");
        Ok(acting)
    }

    /// Plans (or re-checks the saved plan), asks every gate and the user,
    /// then executes and reports each stack's outcome.
    async fn apply(
        &self,
        flags: &Flags<'_>,
        planned: Option<Vec<StackPlan>>,
        journal: &Journal,
    ) -> Result<Exit> {
        // A saved plan was reviewed: that is the approval (`started` made sure there is a terminal).
        let ask = !flags.yes && planned.is_none();
        let mut regions = connect_all(self.artifacts, self.aws, self.dargs).await;
        let plans = match planned {
            Some(mut plans) => {
                let produced = self
                    .artifacts
                    .iter()
                    .map(|a| a.entry.name.clone())
                    .collect();
                for p in &mut plans {
                    let api = &region(&regions, &p.region)?.api;
                    if p.status == deploy::PlanStatus::Delete {
                        // Whose stack it is, what it holds and whether it is
                        // protected come from AWS, never from the file.
                        if let Err(why) =
                            deploy::retired::reread(api, p, &self.scope.project, &produced).await
                        {
                            return Err(Error::Refused(format!(
                                "the plan is stale: {why}; plan again"
                            )));
                        }
                        continue;
                    }
                    if let Err(why) = deploy::still_current(api, p).await {
                        return Err(Error::Refused(format!(
                            "the plan is stale: {why}; plan again"
                        )));
                    }
                    // The gates below judge what the change sets hold now, not the file.
                    let body = &deploy::artifact(self.artifacts, &p.stack)?.body;
                    deploy::guards::reread(api, p, body).await?;
                }
                deploy::mark_renames(&mut plans);
                preflight(&mut plans, self.artifacts, self.aws).await;
                plans
            }
            None => {
                let mut plans = deploy::plan_all(&regions, self.artifacts, &self.opts).await?;
                preflight(&mut plans, self.artifacts, self.aws).await;
                match retired(
                    &mut regions,
                    &self.scope,
                    self.artifacts,
                    self.aws,
                    self.dargs,
                )
                .await
                {
                    Ok(gone) => plans.extend(gone),
                    Err(e) => {
                        discard_all(&regions, &plans).await;
                        return Err(e.into());
                    }
                }
                deploy::mark_renames(&mut plans);
                plans
            }
        };
        out(&render::human(&plans, self.color))?;
        if !plans.iter().any(StackPlan::has_changes) && plans.iter().all(|p| p.waiting.is_empty()) {
            out("Nothing to apply.\n")?;
            return Ok(Exit::NoChanges);
        }
        // A saved plan's change sets were reviewed: they stay, so the same
        // plan can be applied once the user adds the flag a gate asks for.
        let discard = async || {
            if flags.plan.is_none() {
                discard_all(&regions, &plans).await;
            }
        };
        if let Some(why) = deploy::guards::refusal(&plans, flags.allow_destroy, &self.opts.import) {
            discard().await;
            return Err(Error::Refused(why));
        }
        if ask && !self.confirmed().await? {
            discard().await;
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(if self.opts.interrupt.is_raised() {
                Exit::Interrupted
            } else {
                Exit::Refused
            });
        }
        let done = self.execute(&regions, &plans, flags, journal).await?;
        if done != Exit::Success {
            return Ok(done);
        }
        if plans.iter().all(|p| p.waiting.is_empty()) {
            out("Apply complete.\n")?;
            return Ok(Exit::Success);
        }
        self.finish_waiting(&regions, plans, flags, journal).await
    }

    /// Executes the plans, journals and prints each stack's outcome.
    async fn execute(
        &self,
        regions: &Regions,
        plans: &[StackPlan],
        flags: &Flags<'_>,
        journal: &Journal,
    ) -> Result<Exit> {
        let reporter = Reporter::new();
        let progress = |p: Progress| {
            journal.record_progress(&p);
            reporter.report(p);
        };
        let mut outcomes = deploy::apply_all(
            regions,
            self.artifacts,
            plans,
            flags.allow_destroy,
            &self.opts,
            &progress,
        )
        .await;
        // Stacks the spec no longer produces go once the others are applied
        // (nothing of theirs is still wired into a stack the spec keeps).
        if outcomes.iter().all(StackOutcome::ok) {
            outcomes
                .extend(deploy::retired::delete_all(regions, plans, &self.opts, &progress).await);
        } else {
            outcomes.extend(
                plans
                    .iter()
                    .filter(|p| p.status == deploy::PlanStatus::Delete)
                    .map(|p| StackOutcome {
                        detail: Some("not deleted: another stack did not succeed".into()),
                        ..StackOutcome::new(p, OutcomeKind::NotStarted)
                    }),
            );
        }
        for o in &outcomes {
            let record = Record {
                status: o.status.clone(),
                outcome: serde_json::to_value(o.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string)),
                detail: o.detail.clone(),
                ..Record::new(Step::Finished).stack(&o.stack, &o.region)
            };
            if let Err(e) = journal.write(record) {
                eprintln!("warning: {e:#}");
            }
        }
        out(&render::outcomes(&outcomes, self.color))?;
        if self.opts.interrupt.is_raised() {
            eprintln!(
                "Interrupted: stacks that had started were followed to their end (above); the rest did not start. \
                 Run `mailinfra apply` again to finish."
            );
            return Ok(Exit::Interrupted);
        }
        Ok(outcome(&outcomes))
    }

    /// Waits for the identities that held resources back to be verified, up
    /// to `--wait-verified` minutes, and creates those resources as each is.
    /// Only what the approved plans held back is created: any other change
    /// found on the way is refused (the plan is stale).
    async fn finish_waiting(
        &self,
        regions: &Regions,
        mut plans: Vec<StackPlan>,
        flags: &Flags<'_>,
        journal: &Journal,
    ) -> Result<Exit> {
        let approved: BTreeSet<(String, String)> = plans
            .iter()
            .flat_map(|p| {
                p.waiting
                    .iter()
                    .map(|w| (p.stack.clone(), w.logical_id.clone()))
            })
            .collect();
        let limit = Duration::from_secs(flags.wait_verified_minutes.saturating_mul(60));
        let started = tokio::time::Instant::now();
        let mut shown = String::new();
        loop {
            let waiting: Vec<&Waiting> = plans.iter().flat_map(|p| &p.waiting).collect();
            if waiting.is_empty() {
                out("Apply complete.\n")?;
                return Ok(Exit::Success);
            }
            let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for w in &waiting {
                wanted
                    .entry(w.region.clone())
                    .or_default()
                    .insert(w.identity.clone());
            }
            let verified = read_verified(&wanted, self.aws).await;
            let ready = waiting
                .iter()
                .any(|w| verified.is_verified(&w.region, &w.identity));
            if !ready {
                let elapsed = started.elapsed();
                if elapsed >= limit {
                    return Ok(still_waiting(&plans, flags.wait_verified_minutes));
                }
                let line = waiting_line(&wanted, elapsed, limit);
                if line != shown {
                    eprintln!("{line}");
                    shown = line;
                }
                tokio::select! {
                    () = tokio::time::sleep(self.opts.timing.verify_poll) => {}
                    () = self.opts.interrupt.raised() => {
                        eprintln!("Interrupted while waiting for verification; nothing is in progress. Run `mailinfra apply` again to finish.");
                        return Ok(Exit::Interrupted);
                    }
                }
                continue;
            }
            // A plan of its own: new change set names and client tokens.
            let opts = deploy::Options {
                verified: Some(Arc::new(verified)),
                plan_id: deploy::new_plan_id(),
                ..self.opts.clone()
            };
            let next = deploy::plan_all(regions, self.artifacts, &opts).await?;
            let unapproved: Vec<String> = next
                .iter()
                .flat_map(|p| p.changes.iter().map(move |c| (p, c)))
                .filter(|(p, c)| {
                    c.action != Action::Add
                        || !approved.contains(&(p.stack.clone(), c.logical_id.clone()))
                })
                .map(|(p, c)| format!("{} in {}", c.logical_id, p.stack))
                .collect();
            if !unapproved.is_empty() {
                discard_all(regions, &next).await;
                return Err(Error::Refused(format!(
                    "the stacks changed while apply waited for verification ({}); run `mailinfra plan` and apply again",
                    unapproved.join(", ")
                )));
            }
            out(&format!(
                "\nVerified; creating what waited for it:\n{}",
                render::human(&next, self.color)
            ))?;
            let runner = Run {
                color: self.color,
                acting: self.acting.clone(),
                scope: self.scope.clone(),
                artifacts: self.artifacts,
                aws: self.aws,
                dargs: self.dargs,
                opts,
            };
            let done = runner.execute(regions, &next, flags, journal).await?;
            if done != Exit::Success {
                return Ok(done);
            }
            plans = next;
        }
    }

    /// Asks on the terminal; only `yes` is a yes, and Ctrl-C at the prompt is a no.
    async fn confirmed(&self) -> Result<bool> {
        out(&format!(
            "{}\nApply these changes? Only `yes` is accepted: ",
            self.acting
        ))?;
        std::io::stdout().flush().ok();
        // Read on a thread of its own so that Ctrl-C at the prompt is a "no".
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut answer = String::new();
            tx.send(std::io::stdin().read_line(&mut answer).map(|_| answer))
                .ok();
        });
        let answer = tokio::select! {
            answer = rx => answer
                .context("cannot read the answer")?
                .context("cannot read the answer")?,
            () = self.opts.interrupt.raised() => String::new(),
        };
        Ok(answer.trim() == "yes")
    }

    /// `apply --continue-rollback`: every stack of the build in UPDATE_ROLLBACK_FAILED.
    async fn continue_rollback(&self, skip: &[String]) -> Result<Exit> {
        let regions = connect_all(self.artifacts, self.aws, self.dargs).await;
        let reporter = Reporter::new();
        let progress = |p: Progress| reporter.report(p);
        let mut outcomes = Vec::new();
        for a in self.artifacts {
            let region = region(&regions, &a.entry.region)?;
            outcomes.push(
                deploy::continue_rollback(
                    &region.api,
                    &a.entry.name,
                    &a.entry.region,
                    skip,
                    &self.opts,
                    &progress,
                )
                .await,
            );
        }
        out(&render::outcomes(&outcomes, self.color))?;
        Ok(outcome(&outcomes))
    }
}

fn region<'a>(
    regions: &'a Regions,
    name: &str,
) -> Result<&'a deploy::Region<crate::aws::SdkStackApi, crate::aws::S3TemplateStore>> {
    Ok(regions
        .get(name)
        .with_context(|| format!("no connection to region `{name}`"))?)
}

/// What still waits when time runs out, and how to finish: exit code 6.
fn still_waiting(plans: &[StackPlan], minutes: u64) -> Exit {
    let mut text = if minutes == 0 {
        "Applied everything else. These resources wait for an SES identity to be verified:\n"
            .to_string()
    } else {
        format!(
            "Applied everything else, then waited {minutes} minute(s). These resources still wait for an SES identity to be verified:\n"
        )
    };
    for p in plans {
        for w in &p.waiting {
            text.push_str(&format!(
                "  {}: {} ({}) {}\n",
                p.stack,
                w.logical_id,
                w.resource_type,
                w.reason()
            ));
        }
    }
    text.push_str(
        "Verification follows the identity's DKIM records: publish them (`mailinfra dns`), check with \
         `mailinfra check --live`, and run `mailinfra apply` again to finish (or wait longer with \
         `--wait-verified MINUTES`). Nothing is failed or stuck.",
    );
    eprintln!("{text}");
    Exit::Waiting
}

/// One progress line while apply waits for verification.
fn waiting_line(
    wanted: &BTreeMap<String, BTreeSet<String>>,
    elapsed: Duration,
    limit: Duration,
) -> String {
    let names: Vec<String> = wanted
        .iter()
        .flat_map(|(r, ids)| ids.iter().map(move |i| format!("{i} in {r}")))
        .collect();
    format!(
        "waiting for {} to be verified ({} of {} min)",
        names.join(", "),
        elapsed.as_secs() / 60,
        limit.as_secs() / 60
    )
}

/// How an apply ended, over every stack's outcome.
fn outcome(outcomes: &[StackOutcome]) -> Exit {
    if outcomes
        .iter()
        .any(|o| o.kind == OutcomeKind::Failed || o.kind == OutcomeKind::NotStarted)
    {
        Exit::Failed
    } else if outcomes.iter().any(|o| o.kind == OutcomeKind::Unknown) {
        Exit::Unknown
    } else {
        Exit::Success
    }
}
