//! `mailinfra plan`: what an apply would change, stack by stack — from
//! CloudFormation change sets, or `--offline` from the last build — rendered
//! for people, pull requests or machines, and saved with `--out` for
//! `mailinfra apply PLAN`.

use std::path::Path;

use super::args::{AwsArgs, Cli, DeployArgs, PlanFormat};
use super::context::{
    acting_in, check_imports, connect_all, discard_all, first_region, front, options, out,
    preflight, read_verified, regions_of, retired, runtime, select_region, stdout_color, timing,
    waited_for, whoami,
};
use super::signals::watch_interrupts;
use super::{Exit, Result};
use crate::deploy::{self, StackPlan};
use crate::{build, render};

/// The plan command's own flags.
pub(super) struct Flags<'a> {
    pub offline: bool,
    pub build_dir: &'a Path,
    pub out: Option<&'a Path>,
    pub format: PlanFormat,
    pub detailed_exitcode: bool,
}

pub(super) fn run(cli: &Cli, flags: &Flags, aws: &AwsArgs, dargs: &DeployArgs) -> Result<Exit> {
    let Some(front) = front(cli)? else {
        return Ok(Exit::Invalid);
    };
    front.placement.require_current()?;
    let dargs = &dargs.or_spec(&front.spec_deploy());
    let scope = front.scope();
    let artifacts = select_region(front.artifacts, aws.region.as_deref())?;
    check_imports(dargs, &artifacts)?;
    let plans = if flags.offline {
        if build::read_manifest(flags.build_dir)?.is_none() {
            eprintln!(
                "note: there is no earlier build in `{}` to compare with, so every stack shows as a create; \
                 run `mailinfra build` to record one, or plan against AWS without `--offline`",
                flags.build_dir.display()
            );
        }
        deploy::plan::plan_offline(flags.build_dir, &artifacts, aws.region.as_deref())?
    } else {
        // A plan that is not saved leaves no change sets behind.
        let keep = if flags.out.is_some() {
            deploy::Keep::ChangeSets
        } else {
            deploy::Keep::Nothing
        };
        let mut opts = options(keep, dargs, timing(aws));
        runtime()?.block_on(async {
            let who = whoami(first_region(&artifacts), aws).await?;
            let regions = regions_of(&artifacts, Some((&scope, aws.region.as_deref())));
            eprintln!("{}", acting_in(&who, &regions, dargs.role_arn.as_deref()));
            let wanted = waited_for(&artifacts);
            if !wanted.is_empty() {
                opts.verified = Some(std::sync::Arc::new(read_verified(&wanted, aws).await));
            }
            watch_interrupts(
                opts.interrupt.clone(),
                "stacks being planned finish, then the change sets of this plan are removed",
                || {},
            );
            let mut regions = connect_all(&artifacts, aws, dargs).await;
            let mut plans = deploy::plan_all(&regions, &artifacts, &opts).await?;
            preflight(&mut plans, &artifacts, aws).await;
            match retired(&mut regions, &scope, &artifacts, aws, dargs).await {
                Ok(gone) => plans.extend(gone),
                Err(e) => {
                    discard_all(&regions, &plans).await;
                    return Err(e.into());
                }
            }
            deploy::mark_renames(&mut plans);
            if flags.out.is_some() && deploy::guards::impossible(&plans).is_some() {
                // Kept for a plan file that will not be written.
                discard_all(&regions, &plans).await;
            }
            super::Result::Ok(plans)
        })?
    };
    // A plan CloudFormation cannot carry out is not saved: it fails here, where it is reviewed.
    let impossible = deploy::guards::impossible(&plans);
    if let Some(path) = flags.out.filter(|_| impossible.is_none()) {
        let file = deploy::PlanFile::new(&front.checked.spec_hash, plans.clone())
            .scoped(aws.region.as_deref());
        build::write_atomic(path, file.render().as_bytes())?;
        eprintln!(
            "wrote the plan to {}; apply it with `mailinfra apply {}`",
            path.display(),
            path.display()
        );
    }
    out(&match flags.format {
        PlanFormat::Human => render::human(&plans, stdout_color(cli)),
        PlanFormat::Markdown => render::markdown(&plans),
        PlanFormat::Json => render::json(&plans, if flags.offline { "offline" } else { "online" }),
    })?;
    if let Some(why) = impossible {
        return Err(super::Error::Refused(format!(
            "this plan cannot be applied: {why}"
        )));
    }
    let changes = plans.iter().any(StackPlan::has_changes);
    Ok(if flags.detailed_exitcode && changes {
        Exit::Changes
    } else {
        Exit::Success
    })
}
