//! `mailinfra destroy`: delete every stack of the spec's project in its
//! regions (or the one `--region` names), behind the gates of any destroy:
//! the stacks are found in AWS by their names and descriptions, each
//! stateful resource must be named with `--allow-destroy`, a stack with
//! termination protection is refused (never turned off), the workspace is
//! locked, and the user types the project's name to confirm (`--yes` in CI).

use std::io::{IsTerminal as _, Write as _};

use super::args::{AwsArgs, Cli, DeployArgs};
use super::context::{
    acting_in, connect_all, first_region, front, options, out, regions_of, retired, runtime,
    select_region, stdout_color, timing, whoami,
};
use super::progress::Reporter;
use super::signals::watch_interrupts;
use super::{Error, Exit, Result};
use crate::deploy::workspace_lock::WorkspaceLock;
use crate::deploy::{self, OutcomeKind, Progress};
use crate::render;

/// The destroy command's own flags.
pub(super) struct Flags<'a> {
    pub yes: bool,
    pub allow_destroy: &'a [String],
    pub timeout_minutes: u64,
}

pub(super) fn run(cli: &Cli, flags: &Flags, aws: &AwsArgs, dargs: &DeployArgs) -> Result<Exit> {
    let Some(front) = front(cli)? else {
        return Ok(Exit::Invalid);
    };
    let dargs = &dargs.or_spec(&front.spec_deploy());
    let scope = front.scope();
    let project = scope.project.clone();
    let artifacts = select_region(front.artifacts, aws.region.as_deref())?;
    if !flags.yes && !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "refusing to destroy without confirmation: no terminal to ask on; pass `--yes` to destroy in CI".into(),
        ));
    }
    let _lock = WorkspaceLock::acquire(&cli.file)?;
    let mut opts = options(deploy::Keep::Nothing, dargs, timing(aws));
    opts.timing.stack_timeout =
        std::time::Duration::from_secs(flags.timeout_minutes.saturating_mul(60));
    let color = stdout_color(cli);
    runtime()?.block_on(async {
        let who = whoami(first_region(&artifacts), aws).await?;
        let regions = regions_of(&artifacts, Some((&scope, aws.region.as_deref())));
        let acting = acting_in(&who, &regions, dargs.role_arn.as_deref());
        eprintln!("{acting}");
        watch_interrupts(
            opts.interrupt.clone(),
            "a deletion that started is followed to its end; no other starts",
            || {},
        );
        let mut regions = connect_all(&artifacts, aws, dargs).await;
        // Every stack of the project is to go: none is kept.
        let plans = retired(&mut regions, &scope, &[], aws, dargs).await?;
        if plans.is_empty() {
            out(&format!(
                "No stacks of project `{project}` in {}: nothing to destroy.\n",
                regions.keys().cloned().collect::<Vec<_>>().join(", ")
            ))?;
            return Ok(Exit::NoChanges);
        }
        out(&render::human(&plans, color))?;
        if let Some(why) = deploy::guards::refusal(&plans, flags.allow_destroy, &[]) {
            return Err(Error::Refused(why));
        }
        if !flags.yes && !confirmed(&acting, &project)? {
            eprintln!("Destroy cancelled; nothing was deleted.");
            return Ok(Exit::Refused);
        }
        let reporter = Reporter::new();
        let progress = |p: Progress| reporter.report(p);
        let outcomes = deploy::retired::delete_all(&regions, &plans, &opts, &progress).await;
        out(&render::outcomes(&outcomes, color))?;
        Ok(
            if outcomes
                .iter()
                .any(|o| matches!(o.kind, OutcomeKind::Failed | OutcomeKind::NotStarted))
            {
                Exit::Failed
            } else if outcomes.iter().any(|o| o.kind == OutcomeKind::Unknown) {
                Exit::Unknown
            } else {
                Exit::Success
            },
        )
    })
}

/// Asks on the terminal: only the project's name, typed out, is a yes.
fn confirmed(acting: &str, project: &str) -> Result<bool> {
    out(&format!(
        "{acting}\nDelete these stacks? Type the project name (`{project}`) to confirm: "
    ))?;
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Error::from(anyhow::Error::new(e).context("cannot read the answer")))?;
    Ok(answer.trim() == project)
}
