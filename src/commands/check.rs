//! `mailinfra check [--live]`: the spec's checks and, with `--live`, the
//! deployed stacks against it — drift, stack states, the SES state of every
//! identity, whether the secondary region is ready to take over, and whether
//! the policies of the KMS keys of yours let SES use them.

use super::args::{AwsArgs, Cli};
use super::context::{
    check, check_region, connect, connection, findings, first_region, report, runtime,
    summary_line, timing, whoami,
};
use super::{Error, Exit, Result};
use crate::aws::{StackApi as _, StackResource};
use crate::build::{self, Artifact};
use crate::compile::Concern;
use crate::diag::{Code, Diagnostic, Severity};
use crate::model::Model;
use crate::pipeline;
use crate::placement::Lock;
use crate::render::diagnostics::Format;

pub(super) fn run(cli: &Cli, live: bool, format: Format, aws: &AwsArgs) -> Result<Exit> {
    let mut checked = check(cli);
    let mut found = match (&checked.model, live) {
        (Some(model), true) => {
            // Placed as the lock file says, as plan and apply place it.
            let lock = Lock::read(&cli.file).map_err(|e| Error::Invalid(format!("{e:#}")))?;
            let set = pipeline::compile_placed(model, lock.as_ref())?;
            let (_, artifacts) = build::render(&set, &model.project, &checked.spec_hash);
            runtime()?.block_on(deployed(model, &artifacts, aws))?
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
/// identities (verification, DKIM, MAIL FROM) and the account (sandbox,
/// sending, quota) in each sending region, the global endpoint, and the
/// secondary region's readiness, as diagnostics.
async fn deployed(model: &Model, all: &[Artifact], aws: &AwsArgs) -> Result<Vec<Diagnostic>> {
    use crate::deploy::live;
    let t = timing(aws);
    let mut found = Vec::new();
    if let Some(r) = aws.region.as_deref() {
        check_region(all, r)?;
    }
    whoami(aws.region.as_deref().unwrap_or(first_region(all)), aws).await?;
    let only = |region: &str| aws.region.as_deref().is_none_or(|r| r == region);
    for a in all.iter().filter(|a| only(&a.entry.region)) {
        let api = connect(&a.entry.region, aws).await;
        found.extend(live::drift(&api, &a.entry.name, &t).await);
    }
    let regions = std::iter::once(&model.primary).chain(model.secondary.as_ref());
    let mut accounts = Vec::new();
    for region in regions.filter(|r| aws.region.as_deref().is_none_or(|only| only == r.as_str())) {
        let ses = crate::aws::ses::SdkMailApi::connect(&connection(region, aws)).await;
        found.extend(live::identities(model, region, &ses).await);
        if *region == model.primary {
            found.extend(crate::deploy::live_sending::endpoint(model, &ses).await);
        }
        accounts.push((region.clone(), ses));
    }
    found.extend(crate::deploy::live_sending::accounts(model, &accounts).await);
    found.extend(key_policies(model, aws).await);
    if let Some(secondary) = &model.secondary {
        let mut inventories = Vec::new();
        for region in [&model.primary, secondary] {
            let (resources, unreadable) = sending_resources(all, region, aws).await;
            found.extend(unreadable);
            inventories.push(resources);
        }
        found.extend(live::readiness(
            (&model.primary, &inventories[0]),
            (secondary, &inventories[1]),
        ));
    }
    Ok(found)
}

/// The policies of the KMS keys of yours that SES uses, read in each key's
/// region (only the `--region` one, when given).
async fn key_policies(model: &Model, aws: &AwsArgs) -> Vec<Diagnostic> {
    use crate::deploy::live;
    let mut by_region: std::collections::BTreeMap<String, Vec<_>> = Default::default();
    for u in crate::model::keys::key_uses(model) {
        if let Some(r) = live::key_region(&u.key) {
            by_region.entry(r.to_string()).or_default().push(u);
        }
    }
    let mut found = Vec::new();
    for (region, uses) in by_region {
        if aws.region.as_deref().is_some_and(|only| only != region) {
            continue;
        }
        let kms = crate::aws::kms::SdkKeyApi::connect(&connection(&region, aws)).await;
        found.extend(live::key_policies(&uses, &kms).await);
    }
    found
}

/// The resources of every sending stack (every shard) of `region`; a stack
/// that cannot be read is an error, never an empty inventory: readiness
/// cannot be judged without it.
async fn sending_resources(
    artifacts: &[Artifact],
    region: &str,
    aws: &AwsArgs,
) -> (Vec<StackResource>, Vec<Diagnostic>) {
    let api = connect(region, aws).await;
    let mut resources = Vec::new();
    let mut unreadable = Vec::new();
    let sending = artifacts
        .iter()
        .filter(|a| a.entry.region == region && a.entry.concern == Concern::Sending.as_str());
    for a in sending {
        let read = async {
            match api.describe_stack(&a.entry.name).await? {
                Some(info) => api.stack_resources(&info.arn).await,
                None => Ok(Vec::new()),
            }
        };
        match read.await {
            Ok(r) => resources.extend(r),
            Err(e) => unreadable.push(
                Diagnostic::error(
                    Code::MI5003,
                    format!("cannot read stack `{}` in {region}: {e:#}", a.entry.name),
                )
                .help("readiness cannot be judged without it: check the credentials and run `mailinfra check --live` again"),
            ),
        }
    }
    (resources, unreadable)
}
