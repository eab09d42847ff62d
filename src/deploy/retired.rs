//! Stacks of this project that the spec no longer produces: remove the whole
//! `mail_manager` block and its stack, archives and ingress endpoints
//! included, would otherwise stay deployed, unreported and billed.
//!
//! A stack is this project's when its name is one mailinfra gives
//! (`<project>-<region>-<concern>`, or a shard `…-NN`) in the region it is
//! in, and its template's description is the one mailinfra writes
//! (`mailinfra <project>: …`); both are read from AWS (`ListStacks`), never
//! from a plan file. `plan` lists such stacks as deletions (every resource a
//! removal, judged by its type like any other change), `apply` deletes them
//! after the stacks the spec still produces are applied, and `destroy`
//! deletes all of them. A stack with termination protection on is never
//! deleted: mailinfra does not turn it off (see `docs/aws-behaviours.md`).

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::follow::*;
use super::graph::region_of;
use super::outcome::root_cause;
use super::plan::{canonical_hash, short_hash};
use super::*;
use crate::aws::cloudformation::{StackApi, StackStatus, StackSummary};
use crate::aws::s3::TemplateStore;
use crate::compile::Concern;
use crate::diff;

/// Whether a stack in `region` is one of the stacks mailinfra makes for
/// `project`: by its name and its template's description.
pub fn ours(project: &str, region: &str, name: &str, description: Option<&str>) -> bool {
    named_ours(project, region, name)
        && description.is_some_and(|d| d.starts_with(&format!("mailinfra {project}: ")))
}

/// Whether `name` is a stack name mailinfra gives in `region` for `project`.
fn named_ours(project: &str, region: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(&format!("{project}-{region}-")) else {
        return false;
    };
    Concern::ALL.iter().any(|c| {
        rest.strip_prefix(c.as_str()).is_some_and(|tail| {
            tail.is_empty()
                || tail
                    .strip_prefix('-')
                    .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// The project's stacks in every region of `regions` whose name is not in
/// `keep`, each planned as a deletion. With `keep` empty, every stack of the
/// project (what `destroy` removes). A failed read is an error: a plan that
/// cannot tell what it would leave behind is no plan.
pub async fn plan_retired<A: StackApi, S: TemplateStore>(
    regions: &BTreeMap<String, Region<A, S>>,
    project: &str,
    keep: &HashSet<String>,
) -> anyhow::Result<Vec<StackPlan>> {
    let mut plans = Vec::new();
    for (name, region) in regions {
        let listed = region
            .api
            .list_stacks()
            .await
            .map_err(|e| e.context(format!("cannot list the stacks of {name}")))?;
        for s in listed {
            if keep.contains(&s.name) || !named_ours(project, name, &s.name) {
                continue;
            }
            if let Some(plan) = deletion(&region.api, project, name, &s).await? {
                plans.push(plan);
            }
        }
    }
    plans.sort_by(|a, b| (&a.region, &a.stack).cmp(&(&b.region, &b.stack)));
    Ok(plans)
}

/// The plan that deletes one stack, read from AWS: every resource of its
/// deployed template as a removal. `None` for a stack that is not the
/// project's after all (its description is not mailinfra's: `ListStacks`
/// gives it, and the template when the listing leaves it out) and for the
/// empty `REVIEW_IN_PROGRESS` stack of an unexecuted first create (plans
/// clean those up themselves).
async fn deletion(
    api: &impl StackApi,
    project: &str,
    region: &str,
    s: &StackSummary,
) -> anyhow::Result<Option<StackPlan>> {
    let Some(info) = api.describe_stack(&s.arn).await? else {
        return Ok(None);
    };
    if info.is_review() {
        return Ok(None);
    }
    let template = api.get_template(&s.arn).await?;
    let old: Option<Value> = template
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok());
    let description = s
        .description
        .clone()
        .or_else(|| old.as_ref()?["Description"].as_str().map(str::to_string));
    if !ours(project, region, &s.name, description.as_deref()) {
        return Ok(None);
    }
    let mut plan = StackPlan {
        stack: s.name.clone(),
        region: region.to_string(),
        status: PlanStatus::Delete,
        changes: diff::diff_templates(old.as_ref(), None),
        change_set_arn: None,
        stack_arn: Some(info.arn.clone()),
        template_sha256: String::new(),
        last_updated: info.last_updated.clone(),
        deployed_sha256: template.as_deref().map(canonical_hash),
        parameters: Vec::new(),
        deferred: None,
        waiting: Vec::new(),
        notes: vec!["the spec no longer produces this stack; apply deletes it".into()],
        termination_protected: info.termination_protection,
        outputs: Vec::new(),
    };
    if info.termination_protection {
        plan.notes.push(protection_note(&plan));
    }
    if info.status.is_busy() {
        plan.notes.push(format!(
            "the stack is {} now; apply deletes it only once it settled",
            info.status
        ));
    }
    Ok(Some(plan))
}

fn protection_note(plan: &StackPlan) -> String {
    format!(
        "termination protection is on, so the stack cannot be deleted; if it is to go, turn it off \
         first: `aws cloudformation update-termination-protection --no-enable-termination-protection \
         --stack-name {} --region {}`",
        plan.stack, plan.region
    )
}

/// A saved plan's deletion, judged again on what AWS holds now: the stack
/// must still be this project's (a plan file naming any other stack is
/// refused), its resources and termination protection are read again, and
/// a stack the spec produces again is never deleted.
pub async fn reread(
    api: &impl StackApi,
    plan: &mut StackPlan,
    project: &str,
    produced: &HashSet<String>,
) -> Result<(), String> {
    if produced.contains(&plan.stack) {
        return Err(format!(
            "the plan deletes `{}`, which the spec produces",
            plan.stack
        ));
    }
    let arn = plan.stack_arn.clone().unwrap_or_default();
    let listed = api.list_stacks().await.map_err(|e| format!("{e:#}"))?;
    let foreign = || {
        format!(
            "the plan deletes `{}` ({arn}), which is not a stack of project `{project}` in {}",
            plan.stack, plan.region
        )
    };
    let Some(s) = listed.iter().find(|s| s.arn == arn) else {
        return Err(format!("stack `{}` ({arn}) no longer exists", plan.stack));
    };
    if s.name != plan.stack || !named_ours(project, &plan.region, &s.name) {
        return Err(foreign());
    }
    let fresh = deletion(api, project, &plan.region, s)
        .await
        .map_err(|e| format!("{e:#}"))?
        .ok_or_else(foreign)?;
    if fresh.deployed_sha256 != plan.deployed_sha256 {
        return Err(format!(
            "stack `{}` was changed after the plan was made",
            plan.stack
        ));
    }
    *plan = fresh;
    Ok(())
}

/// The deletions that termination protection blocks, as the refusal to print.
pub fn protected(plans: &[StackPlan]) -> Option<String> {
    let blocked: Vec<&StackPlan> = plans
        .iter()
        .filter(|p| p.status == PlanStatus::Delete && p.termination_protected)
        .collect();
    if blocked.is_empty() {
        return None;
    }
    let mut out = String::from("stacks to delete have termination protection on:\n");
    for p in &blocked {
        out.push_str(&format!("  {} ({})\n", p.stack, p.region));
    }
    out.push_str(
        "mailinfra never turns termination protection off. If these stacks are to go, turn it off for \
         each (`aws cloudformation update-termination-protection --no-enable-termination-protection \
         --stack-name STACK --region REGION`) and apply again; otherwise put back what the spec removed.",
    );
    Some(out)
}

/// Deletes one planned stack and follows it until it is gone. Retained
/// resources (`DeletionPolicy: Retain`) stay in the account, and the outcome
/// says which.
pub async fn delete_stack(
    api: &impl StackApi,
    plan: &StackPlan,
    opts: &Options,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let Some(arn) = plan.stack_arn.clone() else {
        return StackOutcome::failed(plan, "the plan names no stack to delete".into());
    };
    if opts.interrupt.is_raised() {
        return StackOutcome {
            detail: Some("interrupted before it was deleted".into()),
            hint: Some("run `mailinfra apply` again to delete it".into()),
            ..StackOutcome::new(plan, OutcomeKind::NotStarted)
        };
    }
    match api.describe_stack(&arn).await {
        Ok(Some(info)) if info.termination_protection => {
            return StackOutcome {
                hint: Some(protection_note(plan)),
                ..StackOutcome::failed(plan, "not deleted: termination protection is on".into())
            };
        }
        Ok(Some(_)) => {}
        Ok(None) => {
            return StackOutcome {
                status: Some(StackStatus::DeleteComplete.to_string()),
                detail: Some("already deleted".into()),
                ..StackOutcome::new(plan, OutcomeKind::Applied)
            };
        }
        Err(e) => return StackOutcome::failed(plan, format!("cannot read the stack: {e:#}")),
    }
    let seen: HashSet<String> = api
        .stack_events(&arn, None)
        .await
        .map(|p| p.events.into_iter().map(|e| e.id).collect())
        .unwrap_or_default();
    progress(Progress::StackStarted {
        stack: plan.stack.clone(),
        region: plan.region.clone(),
        operation: "DeleteStack".into(),
        stack_arn: arn.clone(),
    });
    let token = format!("mailinfra-delete-{}", short_hash(&arn));
    if let Err(e) = api.delete_stack(&arn, &token).await {
        return StackOutcome {
            hint: Some("nothing was deleted; fix the cause and apply again".into()),
            ..StackOutcome::failed(plan, format!("{e:#}"))
        };
    }
    follow_delete(api, plan, &arn, seen, opts, progress).await
}

/// Follows a deletion: events as they come, until the stack is gone
/// (`DELETE_COMPLETE`) or failed to go (`DELETE_FAILED`).
async fn follow_delete(
    api: &impl StackApi,
    plan: &StackPlan,
    arn: &str,
    mut seen: HashSet<String>,
    opts: &Options,
    progress: ProgressFn<'_>,
) -> StackOutcome {
    let started = tokio::time::Instant::now();
    let mut events = Vec::new();
    let mut failed_reads = 0;
    loop {
        tokio::time::sleep(opts.timing.pause(failed_reads)).await;
        if let Ok(fresh) = new_events(api, arn, &seen).await {
            for e in fresh {
                seen.insert(e.id.clone());
                progress(Progress::Event {
                    stack: plan.stack.clone(),
                    event: e.clone(),
                });
                events.push(e);
            }
        }
        let status = match api.describe_stack(arn).await {
            Ok(None) => StackStatus::DeleteComplete,
            Ok(Some(info)) => info.status,
            Err(e) if crate::aws::is_credentials_error(&e) => {
                return lost(plan, arn, None, &format!("{e:#}"));
            }
            Err(_) => {
                failed_reads += 1;
                if started.elapsed() > opts.timing.stack_timeout {
                    return lost(plan, arn, None, "the stack could not be read");
                }
                continue;
            }
        };
        failed_reads = 0;
        match status {
            StackStatus::DeleteComplete => {
                progress(Progress::StackFinished {
                    stack: plan.stack.clone(),
                    status: status.to_string(),
                });
                let kept: Vec<String> = plan
                    .changes
                    .iter()
                    .filter(|c| c.stateful)
                    .map(|c| {
                        format!(
                            "{} ({}) is kept in your account if its deletion policy retains it",
                            c.logical_id, c.resource_type
                        )
                    })
                    .collect();
                return StackOutcome {
                    status: Some(status.to_string()),
                    warnings: kept,
                    ..StackOutcome::new(plan, OutcomeKind::Applied)
                };
            }
            StackStatus::DeleteFailed => {
                progress(Progress::StackFinished {
                    stack: plan.stack.clone(),
                    status: status.to_string(),
                });
                return StackOutcome {
                    root_cause: root_cause(&events, &plan.stack),
                    status: Some(status.to_string()),
                    hint: Some(
                        "the stack is DELETE_FAILED: remove or empty what blocks the deletion (named above), then apply again"
                            .into(),
                    ),
                    ..StackOutcome::failed(plan, "the stack could not be deleted".into())
                };
            }
            s if started.elapsed() > opts.timing.stack_timeout => {
                return lost(plan, arn, Some(&s), &format!("still {s}"));
            }
            _ => {}
        }
    }
}

/// Deletes every planned deletion, one stack after the other (the stacks of
/// one project are deleted dependents first: shards before shard 0, which
/// `plans` order gives by name), and stops at the first failure.
pub async fn delete_all<A: StackApi, S: TemplateStore>(
    regions: &BTreeMap<String, Region<A, S>>,
    plans: &[StackPlan],
    opts: &Options,
    progress: ProgressFn<'_>,
) -> Vec<StackOutcome> {
    let mut todo: Vec<&StackPlan> = plans
        .iter()
        .filter(|p| p.status == PlanStatus::Delete)
        .collect();
    // Region by region, names in reverse: shards (`…-NN`) take parameters
    // from shard 0, so they go first.
    todo.sort_by(|a, b| a.region.cmp(&b.region).then_with(|| b.stack.cmp(&a.stack)));
    let mut out = Vec::new();
    let mut failed = false;
    for p in todo {
        if failed {
            out.push(StackOutcome {
                detail: Some("another deletion failed, so no new one started".into()),
                ..StackOutcome::new(p, OutcomeKind::NotStarted)
            });
            continue;
        }
        let o = match region_of(regions, &p.region) {
            Ok(region) => delete_stack(&region.api, p, opts, progress).await,
            Err(e) => StackOutcome::failed(p, format!("{e:#}")),
        };
        failed = !o.ok();
        out.push(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::scenarios::{artifact, deploy, regions};
    use super::*;
    use crate::aws::fake::FakeAws;
    use crate::build::Artifact;

    fn opts() -> Options {
        super::super::scenarios::opts(Keep::ChangeSets)
    }
    const SENDING: &str = "demo-us-east-1-sending";
    const MAIL_MANAGER: &str = "demo-us-east-1-mail-manager";
    const SENDING_BODY: &str = r#"{"Description":"mailinfra demo: SES identities and DNS in us-east-1","Resources":{
        "ConfigSetDefault":{"Type":"AWS::SES::ConfigurationSet","Properties":{"Name":"default"}}}}"#;
    const MAIL_MANAGER_BODY: &str = r#"{"Description":"mailinfra demo: SES Mail Manager in us-east-1","Resources":{
        "ArchiveInbound":{"Type":"AWS::SES::MailManagerArchive","DeletionPolicy":"Retain","Properties":{"ArchiveName":"demo-inbound"}},
        "RuleSetInbound":{"Type":"AWS::SES::MailManagerRuleSet","Properties":{"RuleSetName":"demo-inbound","Rules":[]}}}}"#;
    /// A stack someone made by hand under a name that looks like ours.
    const LOOKALIKE_BODY: &str = r#"{"Description":"billing alarms","Resources":{
        "Topic":{"Type":"AWS::SNS::Topic","Properties":{}}}}"#;

    fn keep(artifacts: &[Artifact]) -> HashSet<String> {
        artifacts.iter().map(|a| a.entry.name.clone()).collect()
    }

    /// Dropping the `mail_manager` block: its stack is a deletion in the plan,
    /// its archive is a stateful removal the user must name, termination
    /// protection refuses the delete until the user turns it off, and then
    /// the stack goes while a stack of the same prefix made by hand stays.
    #[tokio::test]
    async fn a_stack_the_spec_no_longer_produces_is_deleted_behind_the_gates() {
        let aws = FakeAws::default();
        let both = [
            artifact(SENDING, SENDING_BODY),
            artifact(MAIL_MANAGER, MAIL_MANAGER_BODY),
            artifact("demo-us-east-1-receiving", LOOKALIKE_BODY),
        ];
        deploy(&aws, &both).await;
        let now = [artifact(SENDING, SENDING_BODY)];
        let plans = plan_retired(&regions(&aws), "demo", &keep(&now))
            .await
            .expect("read");
        assert_eq!(plans.len(), 1, "{plans:?}");
        let gone = &plans[0];
        assert_eq!(
            (gone.stack.as_str(), gone.status),
            (MAIL_MANAGER, PlanStatus::Delete)
        );
        let archive = gone
            .changes
            .iter()
            .find(|c| c.logical_id == "ArchiveInbound")
            .expect("archive listed");
        assert!(archive.destructive(), "{archive:?}");
        assert!(gone.termination_protected);
        // The gates: protection first, then the archive.
        let why = guards::refusal(&plans, &["ArchiveInbound".into()], &[]).expect("refused");
        assert!(why.contains("termination protection"), "{why}");
        let outcome = delete_stack(&aws, gone, &opts(), &|_| {}).await;
        assert_eq!(outcome.kind, OutcomeKind::Failed, "{outcome:?}");
        assert_eq!(
            aws.calls("DeleteStack"),
            0,
            "never asked to delete a protected stack"
        );

        aws.update_termination_protection(MAIL_MANAGER, false)
            .await
            .expect("off");
        let plans = plan_retired(&regions(&aws), "demo", &keep(&now))
            .await
            .expect("read");
        let why = guards::refusal(&plans, &[], &[]).expect("the archive is named");
        assert!(why.contains("--allow-destroy ArchiveInbound"), "{why}");
        assert!(guards::refusal(&plans, &["ArchiveInbound".into()], &[]).is_none());
        let outcomes = delete_all(&regions(&aws), &plans, &opts(), &|_| {}).await;
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].kind, OutcomeKind::Applied, "{:?}", outcomes[0]);
        assert!(
            aws.describe_stack(MAIL_MANAGER)
                .await
                .expect("read")
                .is_none()
        );
        assert!(aws.describe_stack(SENDING).await.expect("read").is_some());
        assert!(
            aws.describe_stack("demo-us-east-1-receiving")
                .await
                .expect("read")
                .is_some(),
            "a hand-made stack whose description is not mailinfra's is never ours"
        );
    }

    /// A deletion CloudFormation cannot finish is a failure naming the
    /// resource and why, and no further deletion starts.
    #[tokio::test]
    async fn a_failed_deletion_names_its_cause_and_stops_the_rest() {
        let aws = FakeAws::default();
        let receiving = r#"{"Description":"mailinfra demo: SES receipt rules in us-east-1","Resources":{
            "BucketInbound":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":"demo-inbound"}}}}"#;
        deploy(
            &aws,
            &[
                artifact(SENDING, SENDING_BODY),
                artifact(MAIL_MANAGER, MAIL_MANAGER_BODY),
                artifact("demo-us-east-1-receiving", receiving),
            ],
        )
        .await;
        for s in [MAIL_MANAGER, "demo-us-east-1-receiving"] {
            aws.update_termination_protection(s, false)
                .await
                .expect("off");
        }
        aws.deletion_fails(
            "demo-us-east-1-receiving",
            "BucketInbound",
            "AWS::S3::Bucket",
            "The bucket you tried to delete is not empty",
        );
        let now = [artifact(SENDING, SENDING_BODY)];
        let plans = plan_retired(&regions(&aws), "demo", &keep(&now))
            .await
            .expect("read");
        assert_eq!(plans.len(), 2, "{plans:?}");
        let outcomes = delete_all(&regions(&aws), &plans, &opts(), &|_| {}).await;
        // In name order, reversed: `…-receiving` is deleted first and fails.
        assert_eq!(outcomes[0].stack, "demo-us-east-1-receiving");
        assert_eq!(outcomes[0].kind, OutcomeKind::Failed, "{:?}", outcomes[0]);
        let cause = outcomes[0].root_cause.as_ref().expect("a root cause");
        assert_eq!(cause.logical_id, "BucketInbound");
        assert!(cause.reason.contains("not empty"), "{cause:?}");
        assert_eq!(
            outcomes[1].kind,
            OutcomeKind::NotStarted,
            "{:?}",
            outcomes[1]
        );
        assert!(
            aws.describe_stack(MAIL_MANAGER)
                .await
                .expect("read")
                .is_some()
        );
    }

    /// A saved plan's deletion is judged on AWS again: pointing it at another
    /// project's stack (or a stack the spec produces) is refused.
    #[tokio::test]
    async fn an_edited_plan_cannot_delete_a_stack_that_is_not_retired() {
        let aws = FakeAws::default();
        let other = r#"{"Description":"mailinfra other: SES identities and DNS in us-east-1","Resources":{
            "ConfigSetDefault":{"Type":"AWS::SES::ConfigurationSet","Properties":{"Name":"x"}}}}"#;
        deploy(
            &aws,
            &[
                artifact(SENDING, SENDING_BODY),
                artifact(MAIL_MANAGER, MAIL_MANAGER_BODY),
                artifact("other-us-east-1-sending", other),
            ],
        )
        .await;
        let now = [artifact(SENDING, SENDING_BODY)];
        let plans = plan_retired(&regions(&aws), "demo", &keep(&now))
            .await
            .expect("read");
        let mut forged = plans[0].clone();
        let target = aws
            .describe_stack("other-us-east-1-sending")
            .await
            .expect("read")
            .expect("exists");
        forged.stack = "other-us-east-1-sending".into();
        forged.stack_arn = Some(target.arn);
        let why = reread(&aws, &mut forged, "demo", &keep(&now))
            .await
            .unwrap_err();
        assert!(why.contains("not a stack of project `demo`"), "{why}");
        let mut produced = plans[0].clone();
        let why = reread(
            &aws,
            &mut produced,
            "demo",
            &keep(&[artifact(MAIL_MANAGER, "{}")]),
        )
        .await
        .unwrap_err();
        assert!(why.contains("which the spec produces"), "{why}");
        // An honest plan rereads to what AWS holds, protection included.
        let mut honest = plans[0].clone();
        honest.termination_protected = false;
        honest.changes.clear();
        reread(&aws, &mut honest, "demo", &keep(&now))
            .await
            .expect("ours");
        assert!(honest.termination_protected);
        assert!(
            honest
                .changes
                .iter()
                .any(|c| c.logical_id == "ArchiveInbound")
        );
    }

    #[test]
    fn only_names_and_descriptions_mailinfra_writes_are_ours() {
        let d = Some("mailinfra acme: SES Mail Manager in eu-west-1");
        assert!(ours("acme", "eu-west-1", "acme-eu-west-1-mail-manager", d));
        assert!(ours(
            "acme",
            "eu-west-1",
            "acme-eu-west-1-sending-03",
            Some("mailinfra acme: SES identities (shard 03)")
        ));
        // Another region's name, another project, a look-alike name or description.
        assert!(!ours("acme", "us-east-1", "acme-eu-west-1-mail-manager", d));
        assert!(!ours("acm", "eu-west-1", "acme-eu-west-1-mail-manager", d));
        assert!(!ours(
            "acme",
            "eu-west-1",
            "acme-eu-west-1-mail-manager-x",
            d
        ));
        assert!(!ours(
            "acme",
            "eu-west-1",
            "acme-eu-west-1-mail-manager-123",
            d
        ));
        assert!(!ours("acme", "eu-west-1", "acme-eu-west-1-billing", d));
        assert!(!ours(
            "acme",
            "eu-west-1",
            "acme-eu-west-1-sending",
            Some("hand-made acme stack")
        ));
        assert!(!ours("acme", "eu-west-1", "acme-eu-west-1-sending", None));
        assert!(!ours(
            "acme",
            "eu-west-1",
            "acme-eu-west-1-sending",
            Some("mailinfra acme-two: x")
        ));
    }
}
