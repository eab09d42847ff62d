//! What several commands share: the checked and compiled spec with its
//! placement, diagnostics printed once, the async runtime, and AWS
//! connections made from the command line's `AwsArgs`.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;

use super::args::{AwsArgs, Cli, ColorChoice, DeployArgs};
use super::{Error, Result};
use crate::aws::identity::{CredentialsProblem, Identity};
use crate::aws::{Connection, S3TemplateStore, SdkStackApi};
use crate::build::{self, Artifact};
use crate::deploy::{self, StackPlan, Timing};
use crate::diag;
use crate::pipeline::{self, Checked, Judge};
use crate::placement::{self, Lock};
use crate::render::diagnostics::Format;

/// Whether to paint output for a stream that is (or is not) a terminal.
pub fn use_color(choice: ColorChoice, tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Writes a result to stdout. A reader that went away (`mailinfra schema |
/// head -1`) is not an error: what it did not read is dropped, and the
/// command goes on (an apply must not stop half-way because its log did).
pub(crate) fn out(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::new(e)
            .context("cannot write to stdout")
            .into()),
        _ => Ok(()),
    }
}

/// Whether to paint what goes to stdout.
pub(crate) fn stdout_color(cli: &Cli) -> bool {
    use_color(cli.color, std::io::stdout().is_terminal())
}

/// Loads, validates and checks the spec the command line names.
pub(crate) fn check(cli: &Cli) -> Checked {
    pipeline::check_file(
        &cli.file,
        Judge {
            deny_warnings: cli.deny_warnings,
        },
    )
}

/// Prints diagnostics; human text goes to stderr, machine formats to stdout.
pub(crate) fn report(checked: &Checked, format: Format, cli: &Cli) {
    if checked.diagnostics.is_empty() && format == Format::Human {
        return;
    }
    let src = crate::render::diagnostics::Source {
        file: &checked.file,
        text: checked.text.as_deref(),
    };
    match format {
        Format::Human => {
            let color = use_color(cli.color, std::io::stderr().is_terminal());
            eprint!(
                "{}",
                crate::render::diagnostics::render(&checked.diagnostics, &src, format, color)
            );
        }
        _ => {
            // Diagnostics on a closed pipe: the exit code still tells.
            out(&crate::render::diagnostics::render(
                &checked.diagnostics,
                &src,
                format,
                false,
            ))
            .ok();
        }
    }
}

/// The diagnostics in a machine format (JSON, GitHub annotations).
pub(crate) fn diagnostics_text(checked: &Checked, format: Format) -> String {
    let src = crate::render::diagnostics::Source {
        file: &checked.file,
        text: checked.text.as_deref(),
    };
    crate::render::diagnostics::render(&checked.diagnostics, &src, format, false)
}

/// `FILE: N error(s), M warning(s)`.
pub(crate) fn summary_line(checked: &Checked) -> String {
    let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
    format!("{}: {errors} error(s), {}", checked.file, findings(checked))
}

/// `M warning(s)`, and `, K note(s)` when there are infos.
pub(crate) fn findings(checked: &Checked) -> String {
    let count = |s: diag::Severity| {
        checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    let (warnings, infos) = (count(diag::Severity::Warning), count(diag::Severity::Info));
    if infos == 0 {
        format!("{warnings} warning(s)")
    } else {
        format!("{warnings} warning(s), {infos} note(s)")
    }
}

/// A spec that checked and compiled: its templates and their placement.
pub(crate) struct Front {
    pub checked: Checked,
    pub manifest: build::Manifest,
    pub artifacts: Vec<Artifact>,
    pub placement: PlacementState,
}

impl Front {
    /// The spec's `deploy` settings (defaults when the spec has none).
    pub(crate) fn spec_deploy(&self) -> crate::spec::Deploy {
        self.checked
            .model
            .as_ref()
            .map(|m| m.deploy.clone())
            .unwrap_or_default()
    }

    /// The spec's project and regions: where its stacks are and what they
    /// are named after.
    pub(crate) fn scope(&self) -> SpecScope {
        self.checked
            .model
            .as_ref()
            .map(|m| SpecScope {
                project: m.project.clone(),
                regions: std::iter::once(&m.primary)
                    .chain(&m.secondary)
                    .cloned()
                    .collect(),
            })
            .unwrap_or_default()
    }
}

/// The project's stacks that `artifacts` no longer produce, in the spec's
/// regions (`--region`: that one), planned as deletions. Regions that no
/// stack of the build is in are connected too: a spec whose last stack in a
/// region went still finds it there.
pub(crate) async fn retired(
    regions: &mut Regions,
    spec: &SpecScope,
    artifacts: &[Artifact],
    aws: &AwsArgs,
    d: &DeployArgs,
) -> anyhow::Result<Vec<StackPlan>> {
    let scan = spec
        .regions
        .iter()
        .filter(|r| aws.region.as_ref().is_none_or(|only| only == *r));
    for r in scan {
        if !regions.contains_key(r) {
            regions.insert(r.clone(), connect_region(r, aws, d).await);
        }
    }
    let keep = artifacts.iter().map(|a| a.entry.name.clone()).collect();
    deploy::retired::plan_retired(regions, &spec.project, &keep).await
}

/// What names a project's stacks: its name and the regions it deploys to.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpecScope {
    pub project: String,
    pub regions: Vec<String>,
}

/// Runs the front end and compiles; `Ok(None)` when the spec has errors
/// (already reported, with the summary line).
pub(crate) fn front(cli: &Cli) -> Result<Option<Front>> {
    let checked = check(cli);
    report(&checked, Format::Human, cli);
    let Some(model) = &checked.model else {
        eprintln!("{}", summary_line(&checked));
        return Ok(None);
    };
    let before = Lock::read(&cli.file).map_err(|e| Error::Invalid(format!("{e:#}")))?;
    let built = pipeline::build(model, &checked.spec_hash, before.as_ref())?;
    let placement = PlacementState {
        path: placement::lock_path(&cli.file),
        needed: before.is_some() || built.placement.is_sharded(),
        current: before.as_ref() == Some(&built.placement),
        placement: built.placement,
    };
    Ok(Some(Front {
        checked,
        manifest: built.manifest,
        artifacts: built.artifacts,
        placement,
    }))
}

/// The placement a build computed and how it relates to `mailinfra.lock`.
pub(crate) struct PlacementState {
    pub path: PathBuf,
    /// Whether the topology needs a lock file (one exists, or it is sharded).
    pub needed: bool,
    /// Whether the lock file records exactly this placement.
    pub current: bool,
    pub placement: Lock,
}

impl PlacementState {
    /// `plan` and `apply` deploy only a placement the lock file records.
    pub(crate) fn require_current(&self) -> Result<()> {
        if self.needed && !self.current {
            return Err(Error::Invalid(format!(
                "`{}` does not record where every element of the spec goes; run `mailinfra build` and commit `{}` (it keeps resources from moving between stacks)",
                self.path.display(),
                self.path.display()
            )));
        }
        Ok(())
    }
}

/// The async runtime AWS calls run on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?)
}

/// Only the stacks of `region`, when one is given; a region the spec does
/// not deploy to is a usage error (a typo must not plan nothing and succeed).
pub(crate) fn select_region(
    artifacts: Vec<Artifact>,
    region: Option<&str>,
) -> Result<Vec<Artifact>> {
    let Some(r) = region else {
        return Ok(artifacts);
    };
    check_region(&artifacts, r)?;
    Ok(artifacts
        .into_iter()
        .filter(|a| a.entry.region == r)
        .collect())
}

/// `--region r` names a region the spec deploys to.
pub(crate) fn check_region(artifacts: &[Artifact], r: &str) -> Result<()> {
    let mut known: Vec<&str> = artifacts.iter().map(|a| a.entry.region.as_str()).collect();
    known.sort_unstable();
    known.dedup();
    if known.contains(&r) {
        return Ok(());
    }
    let hint = match crate::diag::suggest(r, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    };
    Err(Error::Usage(format!(
        "`--region {r}`: the spec deploys to no such region; {hint}its regions: {}",
        known.join(", ")
    )))
}

/// Every `--import` names a resource of a stack being deployed.
pub(crate) fn check_imports(d: &DeployArgs, artifacts: &[Artifact]) -> Result<()> {
    for id in &d.import {
        let known = artifacts
            .iter()
            .any(|a| deploy::template_has_resource(&a.body, id));
        if !known {
            return Err(Error::Usage(format!(
                "`--import {id}`: no stack of the spec has a resource with this logical id; \
                 the plan names them (e.g. `IdentityExampleCom`)"
            )));
        }
    }
    Ok(())
}

/// The deployer's options from the command line's deploy flags.
pub(crate) fn options(keep: deploy::Keep, d: &DeployArgs, timing: Timing) -> deploy::Options {
    let mut o = deploy::Options::new(keep, timing);
    o.role_arn = d.role_arn.clone();
    o.concurrency = usize::from(d.concurrency);
    o.busy_wait = std::time::Duration::from_secs(d.wait_busy.saturating_mul(60));
    o.revert_drift = d.revert_drift;
    o.import.clone_from(&d.import);
    o
}

pub(crate) type Regions = BTreeMap<String, deploy::Region<SdkStackApi, S3TemplateStore>>;

/// One value per region of the artifacts, made by `make` from the region's name.
pub(crate) async fn per_region<T>(
    artifacts: &[Artifact],
    make: impl AsyncFn(&str) -> T,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    for a in artifacts {
        if !out.contains_key(&a.entry.region) {
            out.insert(a.entry.region.clone(), make(&a.entry.region).await);
        }
    }
    out
}

/// One connection per region of the artifacts.
pub(crate) async fn connect_all(artifacts: &[Artifact], aws: &AwsArgs, d: &DeployArgs) -> Regions {
    per_region(artifacts, async |r| connect_region(r, aws, d).await).await
}

/// CloudFormation and the template store in `region`.
async fn connect_region(
    region: &str,
    aws: &AwsArgs,
    d: &DeployArgs,
) -> deploy::Region<SdkStackApi, S3TemplateStore> {
    let c = connection(region, aws);
    deploy::Region {
        api: SdkStackApi::connect(&c).await,
        store: S3TemplateStore::connect(&c, d.template_bucket.clone()).await,
    }
}

/// A local emulator (`--endpoint-url`) answers at once: `MAILINFRA_POLL_MS`
/// polls it (and backs off) that fast. Against AWS itself the variable is
/// ignored, so a stray setting can never make a deploy hammer the API.
fn poll_override(aws: &AwsArgs) -> Option<std::time::Duration> {
    aws.endpoint_url.as_ref()?;
    std::env::var("MAILINFRA_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis)
}

/// How long to wait and how often to look.
pub(crate) fn timing(aws: &AwsArgs) -> Timing {
    poll_override(aws).map_or_else(Timing::default, Timing::fast)
}

/// Where and as whom to talk to AWS in `region`.
pub(crate) fn connection(region: &str, aws: &AwsArgs) -> Connection {
    Connection {
        region: region.to_string(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        retry_backoff: poll_override(aws),
    }
}

/// Who the credentials belong to, asked (STS `GetCallerIdentity`, in
/// `region`) before a command reads or changes anything in AWS: a missing,
/// expired or mistyped sign-in stops it in seconds with what to do, not
/// after a retry storm. A profile that does not exist is a usage error.
pub(crate) async fn whoami(region: &str, aws: &AwsArgs) -> Result<Identity> {
    crate::aws::identity::whoami(&connection(region, aws))
        .await
        .map_err(|p| match p {
            CredentialsProblem::UnknownProfile { .. } => Error::Usage(p.to_string()),
            _ => Error::Failed(anyhow::Error::new(p)),
        })
}

/// The first region of the artifacts (the primary's stacks come first).
pub(crate) fn first_region(artifacts: &[Artifact]) -> &str {
    artifacts
        .first()
        .map_or("us-east-1", |a| a.entry.region.as_str())
}

/// The regions the stacks of `artifacts` are in, and those of `scope` (the
/// spec's regions, `--region` only when given): where plan, apply and
/// destroy read and act, stacks the spec no longer produces included.
pub(crate) fn regions_of(
    artifacts: &[Artifact],
    scope: Option<(&SpecScope, Option<&str>)>,
) -> Vec<String> {
    let mut regions: Vec<String> = artifacts.iter().map(|a| a.entry.region.clone()).collect();
    if let Some((scope, only)) = scope {
        regions.extend(
            scope
                .regions
                .iter()
                .filter(|r| only.is_none_or(|o| o == r.as_str()))
                .cloned(),
        );
    }
    regions.sort_unstable();
    regions.dedup();
    regions
}

/// `AWS account 123456789012 as ARN; regions: …; CloudFormation service
/// role: …`: where a plan, an apply or a destroy acts, shown before it plans
/// and again before it asks (as CDK does), so a wrong profile is caught by eye.
pub(crate) fn acting_in(who: &Identity, regions: &[String], role_arn: Option<&str>) -> String {
    let mut line = format!(
        "AWS account {} as {}; region(s): {}",
        who.account,
        who.arn,
        regions.join(", ")
    );
    if let Some(role) = role_arn {
        line.push_str(&format!("; CloudFormation service role: {role}"));
    }
    line
}

/// CloudFormation in `region`.
pub(crate) async fn connect(region: &str, aws: &AwsArgs) -> SdkStackApi {
    SdkStackApi::connect(&connection(region, aws)).await
}

/// Marks resources the plans add that already exist outside any stack (SES
/// identities). A read that fails is a warning: the apply may then fail on it.
pub(crate) async fn preflight(plans: &mut [StackPlan], artifacts: &[Artifact], aws: &AwsArgs) {
    if !deploy::preflight::adds_identities(plans) {
        return;
    }
    let apis = per_region(artifacts, async |r| {
        crate::aws::ses::SdkMailApi::connect(&connection(r, aws)).await
    })
    .await;
    if let Err(e) = deploy::preflight::mark_existing(plans, artifacts, &apis).await {
        eprintln!(
            "warning: cannot check whether the identities to create already exist in SES ({e:#}); \
             the apply fails on any that does"
        );
    }
}

/// Removes the change sets of plans that will not be executed.
pub(crate) async fn discard_all(regions: &Regions, plans: &[StackPlan]) {
    for p in plans {
        if let Some(r) = regions.get(&p.region) {
            deploy::discard(&r.api, p).await;
        }
    }
}

/// Reads whether the SES identities the templates wait for are verified
/// (see [`deploy::waits`]); one that cannot be read counts as not verified,
/// with a warning.
pub(crate) async fn read_verified(
    wanted: &BTreeMap<String, std::collections::BTreeSet<String>>,
    aws: &AwsArgs,
) -> deploy::waits::Verified {
    let mut apis = BTreeMap::new();
    for region in wanted.keys() {
        apis.insert(
            region.clone(),
            crate::aws::ses::SdkMailApi::connect(&connection(region, aws)).await,
        );
    }
    let verified = deploy::waits::read(&apis, wanted).await;
    for why in &verified.unread {
        eprintln!(
            "warning: cannot read whether an identity is verified ({why}); what waits for it is held back"
        );
    }
    verified
}

/// The identities the artifacts' templates wait for, by region.
pub(crate) fn waited_for(
    artifacts: &[Artifact],
) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    deploy::waits::identities(artifacts.iter().map(|a| a.body.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(region: &str) -> Artifact {
        Artifact {
            entry: build::StackEntry {
                name: format!("p-{region}-sending"),
                region: region.into(),
                concern: "sending".into(),
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
        }
    }

    /// What plan and apply say before planning and before asking: the
    /// account, who, every region once, and the role when one is used.
    #[test]
    fn acting_in_names_the_account_regions_and_role() {
        let who = Identity {
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/Admin/me".into(),
        };
        let artifacts = [
            artifact("us-east-1"),
            artifact("eu-west-1"),
            artifact("us-east-1"),
        ];
        assert_eq!(
            acting_in(&who, &regions_of(&artifacts, None), None),
            "AWS account 123456789012 as arn:aws:sts::123456789012:assumed-role/Admin/me; region(s): eu-west-1, us-east-1"
        );
        assert!(
            acting_in(
                &who,
                &regions_of(&artifacts, None),
                Some("arn:aws:iam::123456789012:role/deploy")
            )
            .ends_with("; CloudFormation service role: arn:aws:iam::123456789012:role/deploy")
        );
        assert_eq!(first_region(&artifacts), "us-east-1");
    }
}
