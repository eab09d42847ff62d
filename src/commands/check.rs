//! `mailinfra check [--live]`: the spec's checks and, with `--live`, the
//! deployed stacks against it — drift, stack states, the SES state of every
//! identity, and whether the secondary region is ready to take over.

use super::args::{AwsArgs, Cli};
use super::context::{
    check, connect, connection, findings, report, runtime, select_region, summary_line, timing,
};
use super::{Exit, Result};
use crate::aws::StackApi as _;
use crate::build::{self, Artifact};
use crate::diag::{Diagnostic, Format, Severity};
use crate::model::Model;
use crate::pipeline;

pub(super) fn run(cli: &Cli, live: bool, format: Format, aws: &AwsArgs) -> Result<Exit> {
    let mut checked = check(cli);
    let mut found = match (&checked.model, live) {
        (Some(model), true) => {
            let set = pipeline::compile(model)?;
            let (_, artifacts) = build::render(&set, &model.project, &checked.spec_hash);
            let artifacts = select_region(artifacts, aws.region.as_deref())?;
            runtime()?.block_on(deployed(model, &artifacts, aws))
        }
        _ => Vec::new(),
    };
    for d in &mut found {
        if cli.deny_warnings && d.severity == Severity::Warning {
            d.severity = Severity::Error;
        }
    }
    pipeline::add_found(&mut checked, found);
    report(&checked, format, cli);
    if format == Format::Human {
        if checked.has_errors() {
            eprintln!("{}", summary_line(&checked));
        } else {
            let what = if live {
                "valid, deployed stacks checked"
            } else {
                "valid"
            };
            eprintln!("{}: {what} ({})", checked.file, findings(&checked));
        }
    }
    Ok(if checked.has_errors() {
        Exit::Invalid
    } else {
        Exit::Success
    })
}

/// Drift and stack state of every stack of the build, the SES state of the
/// identities in each sending region, and the secondary region's readiness,
/// as diagnostics.
async fn deployed(model: &Model, artifacts: &[Artifact], aws: &AwsArgs) -> Vec<Diagnostic> {
    use crate::deploy::live;
    let t = timing(aws);
    let mut found = Vec::new();
    for a in artifacts {
        let api = connect(&a.entry.region, aws).await;
        found.extend(live::drift(&api, &a.entry.name, &t).await);
    }
    let regions = std::iter::once(&model.primary).chain(model.secondary.as_ref());
    for region in regions.filter(|r| aws.region.as_deref().is_none_or(|only| only == r.as_str())) {
        let ses = crate::aws::ses::SdkMailApi::connect(&connection(region, aws)).await;
        found.extend(live::identities(model, region, &ses, &t).await);
    }
    if let Some(secondary) = &model.secondary {
        let mut inventories = Vec::new();
        for region in [&model.primary, secondary] {
            let api = connect(region, aws).await;
            let stack = crate::compile::stack_name(
                &model.project,
                region,
                crate::compile::Concern::Sending,
            );
            inventories.push(match api.describe_stack(&stack).await {
                Ok(Some(info)) => api.stack_resources(&info.arn).await.unwrap_or_default(),
                _ => Vec::new(),
            });
        }
        found.extend(live::readiness(
            (&model.primary, &inventories[0]),
            (secondary, &inventories[1]),
        ));
    }
    found
}
