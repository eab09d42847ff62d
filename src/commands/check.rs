//! `mailinfra check [--live] [--dns]`: the spec's checks and, with `--live`,
//! the deployed stacks against it — drift, stack states, the SES state of
//! every identity, whether the secondary region is ready to take over, and
//! whether the policies of the KMS keys of yours let SES use them; with
//! `--dns`, every DNS record the topology needs as a resolver sees it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::args::{AwsArgs, Cli};
use super::context::{
    check, check_region, connect, connection, findings, first_region, out, report, runtime,
    stdout_color, summary_line, timing, whoami,
};
use super::{Error, Exit, Result};
use crate::aws::ses::IdentityState;
use crate::aws::{StackApi as _, StackResource};
use crate::build::{self, Artifact};
use crate::compile::Concern;
use crate::diag::{Code, Diagnostic, Severity};
use crate::dns::conform::{Finding, Status, norm};
use crate::model::Model;
use crate::pipeline;
use crate::placement::Lock;
use crate::render::diagnostics::Format;

/// What `check` is asked to look at beyond the spec.
pub(super) struct Scope {
    pub live: bool,
    /// `--dns`, with the server to ask (`None`: the system's resolvers).
    pub dns: Option<Option<SocketAddr>>,
}

/// SES's state of each identity, by (region, identity).
type SesView = BTreeMap<(String, String), IdentityState>;

pub(super) fn run(cli: &Cli, scope: &Scope, format: Format, aws: &AwsArgs) -> Result<Exit> {
    let mut checked = check(cli);
    let mut found = Vec::new();
    let mut records = None;
    if let (Some(model), true) = (&checked.model, scope.live || scope.dns.is_some()) {
        let rt = runtime()?;
        let mut ses = SesView::new();
        let mut values = super::dns::Live::new();
        if scope.live {
            // Placed as the lock file says, as plan and apply place it.
            let lock = Lock::read(&cli.file).map_err(|e| Error::Invalid(format!("{e:#}")))?;
            let set = pipeline::compile_placed(model, lock.as_ref())?;
            let (_, artifacts) = build::render(&set, &model.project, &checked.spec_hash);
            found = rt.block_on(deployed(model, &artifacts, aws, &mut ses))?;
            if scope.dns.is_some() {
                values = rt.block_on(super::dns::live_values(&set, aws))?;
            }
        }
        if let Some(server) = scope.dns {
            let needed = super::dns::needed(model, &values);
            let (mut f, diags) = rt.block_on(async {
                let resolver = crate::lookup::Hickory::new(server)?;
                anyhow::Ok(crate::lookup::check(&resolver, needed).await)
            })?;
            compare_with_ses(model, &mut f, &ses);
            found.extend(diags);
            records = Some(f);
        }
    }
    for d in &mut found {
        if cli.deny_warnings && d.severity == Severity::Warning {
            d.severity = Severity::Error;
        }
    }
    pipeline::add_found(&mut checked, found);
    match (&records, format) {
        (Some(r), Format::Json) => {
            let text = super::context::diagnostics_text(&checked, Format::Json);
            let mut doc: serde_json::Value =
                serde_json::from_str(&text).map_err(anyhow::Error::new)?;
            doc["dns"] = crate::render::dns_check::json(r);
            out(&crate::template::render_value(&doc))?;
        }
        (r, _) => {
            report(&checked, format, cli);
            if let Some(r) = r {
                let paint = crate::render::paint::Paint {
                    on: stdout_color(cli),
                };
                out(&crate::render::dns_check::table(r, paint))?;
            }
        }
    }
    if format == Format::Human {
        if checked.has_errors() {
            eprintln!("{}", summary_line(&checked));
        } else {
            let what = match (scope.live, scope.dns.is_some()) {
                (true, true) => "valid, deployed stacks and DNS checked",
                (true, false) => "valid, deployed stacks checked",
                (false, true) => "valid, DNS checked",
                (false, false) => "valid",
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

/// SES's own status of what each DKIM and MAIL FROM record is for, beside
/// what DNS publishes: a record that resolves while SES still reports
/// another status, or one that does not while SES reports SUCCESS from an
/// earlier look, says so in its detail.
fn compare_with_ses(model: &Model, findings: &mut [Finding], ses: &SesView) {
    for f in findings {
        let Some(id) = f.needed.identity.and_then(|i| model.identities.get(i)) else {
            continue;
        };
        let purpose = &f.needed.purpose;
        let status = if purpose.contains("DKIM") {
            ses.get(&(f.needed.region.clone(), id.domain.clone()))
                .and_then(|s| s.dkim_status.clone())
        } else if purpose.starts_with("custom MAIL FROM") {
            let name = norm(&f.needed.name);
            ses.iter()
                .filter(|((_, d), _)| *d == id.domain)
                .find(|(_, s)| s.mail_from_domain.as_deref().map(norm) == Some(name.clone()))
                .and_then(|(_, s)| s.mail_from_status.clone())
        } else {
            None
        };
        let Some(status) = status else { continue };
        match (f.status, status.as_str()) {
            (Status::Ok, "SUCCESS") | (Status::Unknown | Status::LookupFailed, _) => {}
            (Status::Ok, other) => {
                f.detail = format!("published, but SES reports {other}");
            }
            (_, "SUCCESS") => {
                f.detail = format!(
                    "{}; SES still reports SUCCESS from an earlier look",
                    f.detail
                );
            }
            _ => {}
        }
        f.ses = Some(status);
    }
}

/// Drift and stack state of every stack of the build, the SES state of the
/// identities (verification, DKIM, MAIL FROM) and the account (sandbox,
/// sending, quota) in each sending region, the global endpoint, and the
/// secondary region's readiness, as diagnostics.
async fn deployed(
    model: &Model,
    all: &[Artifact],
    aws: &AwsArgs,
    ses_view: &mut SesView,
) -> Result<Vec<Diagnostic>> {
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
        let (diags, states) = live::identity_states(model, region, &ses).await;
        found.extend(diags);
        for s in states {
            ses_view.insert((region.clone(), s.name.clone()), s);
        }
        if *region == model.primary {
            found.extend(crate::deploy::live_sending::endpoint(model, &ses).await);
        }
        accounts.push((region.clone(), ses));
    }
    found.extend(crate::deploy::live_sending::accounts(model, &accounts).await);
    found.extend(crate::deploy::live_sending::dedicated_ips(model, &accounts).await);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::conform::{Answer, Rdata, judge};

    /// DNS and SES side by side: a record published while SES still reports
    /// another status says so; SES's SUCCESS beside a missing record says it
    /// is from an earlier look.
    #[test]
    fn ses_status_is_shown_beside_the_dkim_and_mail_from_records() {
        let m = crate::compile::sending::tests::model(
            "version: 1\nproject: p\nregions: { primary: us-east-1 }\ndns: { example.com: external }\n\
             identities: { example.com: { mail_from: bounce.example.com } }\n",
        );
        let mut live = super::super::dns::Live::new();
        for n in 1..=3 {
            for (attr, v) in [
                ("Name", format!("t{n}._domainkey.example.com")),
                ("Value", format!("t{n}.dkim.amazonses.com")),
            ] {
                live.insert(
                    (
                        "us-east-1".into(),
                        format!("IdentityExampleComDkimDNSToken{attr}{n}"),
                    ),
                    v,
                );
            }
        }
        let needed = super::super::dns::needed(&m, &live);
        assert!(needed.iter().all(|n| !n.unknown), "{needed:?}");
        let mut findings: Vec<Finding> = needed
            .into_iter()
            .map(|n| {
                let answer = match n.rtype {
                    "CNAME" => {
                        Answer::Records(vec![(n.name.clone(), Rdata::Cname(n.values[0].clone()))])
                    }
                    _ => Answer::NxDomain,
                };
                judge(n, &answer)
            })
            .collect();
        let mut ses = SesView::new();
        ses.insert(
            ("us-east-1".into(), "example.com".into()),
            IdentityState {
                name: "example.com".into(),
                dkim_status: Some("PENDING".into()),
                mail_from_domain: Some("bounce.example.com".into()),
                mail_from_status: Some("SUCCESS".into()),
                ..IdentityState::default()
            },
        );
        compare_with_ses(&m, &mut findings, &ses);
        let dkim = &findings[0];
        assert_eq!(dkim.needed.name, "t1._domainkey.example.com");
        assert_eq!(dkim.status, Status::Ok);
        assert_eq!(dkim.ses.as_deref(), Some("PENDING"));
        assert_eq!(dkim.detail, "published, but SES reports PENDING");
        let mx = findings.iter().find(|f| f.needed.rtype == "MX").unwrap();
        assert_eq!(mx.status, Status::Missing);
        assert_eq!(mx.ses.as_deref(), Some("SUCCESS"));
        assert!(
            mx.detail
                .ends_with("; SES still reports SUCCESS from an earlier look"),
            "{}",
            mx.detail
        );
    }
}
