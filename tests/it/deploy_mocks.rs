//! The deployer against operation-level mocks of the CloudFormation SDK client
//! (`aws-smithy-mocks`): the cases a local emulator cannot produce — pending and
//! paginated change sets, conditional replacements, throttling, a 5xx on execute,
//! obsolete change sets, `UPDATE_ROLLBACK_FAILED`, stale reads, root causes.
//! These run `SdkStackApi` (the real request/response code) with the deploy
//! logic, and the clients have the real retry policy (only its backoff is
//! shorter), so every call count below counts attempts as they would be sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::operation::list_change_sets::ListChangeSetsOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    Change, ChangeSetStatus, ChangeSetSummary, ChangeType, ExecutionStatus, Replacement,
    ResourceChange, ResourceStatus, Stack, StackEvent, StackResourceSummary, StackStatus,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

use mailinfra::aws::{NoTemplateStore, SdkStackApi, WithRetryPolicy as _};
use mailinfra::build::{Artifact, ParamSource, StackEntry};

use crate::common;
use mailinfra::deploy::{self, Keep, Options, OutcomeKind, PlanStatus, Progress, Timing};

const STACK: &str = "demo-us-east-1-mail-manager";
const ARN: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/demo-us-east-1-mail-manager/1";
const CS: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/mailinfra-x/1";

const THROTTLED: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>";

/// `SdkStackApi` over mocked answers, with the real retry policy.
fn client(rules: &[&Rule]) -> SdkStackApi {
    SdkStackApi::from_client(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        rules,
        |c| c
            .with_retry_policy(Some(common::MOCK_BACKOFF))
            .retry_partition(common::own_retry_quota())
    ))
}

fn opts(keep: Keep) -> Options {
    let mut o = Options::new(keep, Timing::fast(Duration::from_millis(1)));
    o.timing.stack_timeout = Duration::from_secs(5);
    o.timing.change_set_timeout = Duration::from_secs(5);
    o
}

fn artifact(name: &str, body: &str) -> Artifact {
    Artifact {
        entry: StackEntry {
            name: name.into(),
            region: "us-east-1".into(),
            concern: "mail-manager".into(),
            template: format!("{name}.template.json"),
            sha256: "new".into(),
            bytes: body.len(),
            resources: 1,
            depends_on: Vec::new(),
            parameters: Vec::new(),
            outputs: 0,
            capabilities: Vec::new(),
            needs_upload: false,
        },
        body: body.into(),
    }
}

const OLD: &str = r#"{"Resources":{"ArchiveJournal":{"Type":"AWS::SES::MailManagerArchive","Properties":{"Retention":{"RetentionPeriod":"ONE_YEAR"}}}}}"#;
const NEW: &str = r#"{"Resources":{"ArchiveJournal":{"Type":"AWS::SES::MailManagerArchive","Properties":{"Retention":{"RetentionPeriod":"TWO_YEARS"}}}}}"#;

fn stack(status: &str, updated: i64) -> Stack {
    Stack::builder()
        .stack_name(STACK)
        .stack_id(ARN)
        .stack_status(StackStatus::from(status))
        .creation_time(DateTime::from_secs(0))
        .last_updated_time(DateTime::from_secs(updated))
        .build()
}

fn stacks(status: &str, updated: i64) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(stack(status, updated))
        .build()
}

fn describe_stack_rule(status: &'static str) -> Rule {
    mock!(Client::describe_stacks).then_output(move || stacks(status, 100))
}

fn template_rule(body: &'static str) -> Rule {
    mock!(Client::get_template)
        .then_output(move || GetTemplateOutput::builder().template_body(body).build())
}

fn change(id: &str, t: &str, replacement: Replacement) -> Change {
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .logical_resource_id(id)
                .resource_type(t)
                .action(aws_sdk_cloudformation::types::ChangeAction::Modify)
                .replacement(replacement)
                .build(),
        )
        .build()
}

fn change_set(
    status: &str,
    exec: &str,
    changes: Vec<Change>,
    next: Option<&str>,
) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(CS)
        .stack_id(ARN)
        .status(ChangeSetStatus::from(status))
        .execution_status(ExecutionStatus::from(exec))
        .set_changes(Some(changes))
        .set_next_token(next.map(str::to_string))
        .build()
}

fn created_output() -> CreateChangeSetOutput {
    CreateChangeSetOutput::builder()
        .id(CS)
        .stack_id(ARN)
        .build()
}

fn created() -> Rule {
    mock!(Client::create_change_set).then_output(created_output)
}

/// DescribeStacks for a stack that does not exist.
fn no_stack() -> Rule {
    mock!(Client::describe_stacks).then_error(|| {
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError::generic(
            aws_sdk_cloudformation::error::ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id x does not exist")
                .build(),
        )
    })
}

/// A change set, ready, whose one change is `rc`.
fn one_change(rc: ResourceChange) -> DescribeChangeSetOutput {
    change_set(
        "CREATE_COMPLETE",
        "AVAILABLE",
        vec![
            Change::builder()
                .r#type(ChangeType::Resource)
                .resource_change(rc)
                .build(),
        ],
        None,
    )
}

/// The regions of a deploy: us-east-1 only, through `api`.
fn one_region(
    api: SdkStackApi,
) -> std::collections::BTreeMap<String, deploy::Region<SdkStackApi, NoTemplateStore>> {
    [(
        "us-east-1".to_string(),
        deploy::Region {
            api,
            store: NoTemplateStore,
        },
    )]
    .into()
}

fn event(
    id: &str,
    logical: &str,
    t: &str,
    status: &str,
    reason: Option<&str>,
    secs: i64,
) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_id(ARN)
        .stack_name(STACK)
        .logical_resource_id(logical)
        .resource_type(t)
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_string))
        .timestamp(DateTime::from_secs(secs))
        .build()
}

fn events(list: Vec<StackEvent>) -> DescribeStackEventsOutput {
    // CloudFormation returns newest first.
    let mut list = list;
    list.reverse();
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(list))
        .build()
}

fn planned(status: PlanStatus) -> deploy::StackPlan {
    deploy::StackPlan {
        status,
        change_set_arn: Some(CS.into()),
        stack_arn: Some(ARN.into()),
        ..deploy::StackPlan::new(&artifact(STACK, NEW))
    }
}

fn quiet() -> impl Fn(Progress) + Sync {
    |_| {}
}

#[tokio::test]
async fn pending_change_set_is_waited_for_and_nothing_executes() {
    let describe = mock!(Client::describe_change_set)
        .sequence()
        .output(|| change_set("CREATE_PENDING", "UNAVAILABLE", vec![], None))
        .times(3)
        .output(|| {
            change_set(
                "CREATE_COMPLETE",
                "AVAILABLE",
                vec![change(
                    "ArchiveJournal",
                    "AWS::SES::MailManagerArchive",
                    Replacement::False,
                )],
                None,
            )
        })
        .build();
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let (ds, gt, cc) = (
        describe_stack_rule("UPDATE_COMPLETE"),
        template_rule(OLD),
        created(),
    );
    let api = client(&[&ds, &gt, &cc, &describe, &execute]);
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap();
    assert_eq!(plan.status, PlanStatus::Update);
    assert_eq!(describe.num_calls(), 4);
    assert_eq!(execute.num_calls(), 0);
    assert_eq!(plan.changes[0].properties, vec!["Retention"]);
    assert_eq!(plan.change_set_arn.as_deref(), Some(CS));
}

#[tokio::test]
async fn a_replacement_on_page_two_is_seen_and_refused() {
    let page1 = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            change_set(
                "CREATE_COMPLETE",
                "AVAILABLE",
                vec![change("Topic", "AWS::SNS::Topic", Replacement::False)],
                Some("page-2"),
            )
        });
    let page2 = mock!(Client::describe_change_set)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            change_set(
                "CREATE_COMPLETE",
                "AVAILABLE",
                vec![change(
                    "ArchiveJournal",
                    "AWS::SES::MailManagerArchive",
                    Replacement::True,
                )],
                None,
            )
        });
    let (ds, gt, cc) = (
        describe_stack_rule("UPDATE_COMPLETE"),
        template_rule(OLD),
        created(),
    );
    let api = client(&[&ds, &gt, &cc, &page1, &page2]);
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap();
    assert_eq!(page2.num_calls(), 1);
    let refused = deploy::unallowed_destruction(std::slice::from_ref(&plan), &[]);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1.logical_id, "ArchiveJournal");
    assert!(
        deploy::unallowed_destruction(std::slice::from_ref(&plan), &["ArchiveJournal".into()])
            .is_empty()
    );
}

#[tokio::test]
async fn a_conditional_replacement_counts_as_a_replacement() {
    let describe = mock!(Client::describe_change_set).then_output(|| {
        change_set(
            "CREATE_COMPLETE",
            "AVAILABLE",
            vec![change(
                "ArchiveJournal",
                "AWS::SES::MailManagerArchive",
                Replacement::Conditional,
            )],
            None,
        )
    });
    let (ds, gt, cc) = (
        describe_stack_rule("UPDATE_COMPLETE"),
        template_rule(OLD),
        created(),
    );
    let api = client(&[&ds, &gt, &cc, &describe]);
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap();
    assert_eq!(
        plan.changes[0].replacement,
        mailinfra::diff::Replacement::Conditional
    );
    assert!(plan.changes[0].destructive());
}

/// An AWS error response of the query protocol.
fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )
}

/// Records the client token of every attempt of every request, as it goes on
/// the wire (a mock rule's matcher sees the request only once, not per retry).
#[derive(Clone, Debug, Default)]
struct SentTokens(Arc<Mutex<Vec<(String, String)>>>);

impl aws_sdk_cloudformation::config::Intercept for SentTokens {
    fn name(&self) -> &'static str {
        "SentTokens"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_sdk_cloudformation::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_cloudformation::config::RuntimeComponents,
        _: &mut aws_sdk_cloudformation::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let body = std::str::from_utf8(ctx.request().body().bytes().unwrap_or_default())?;
        let field = |key: &str| {
            body.split('&')
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
        };
        if let (Some(action), Some(token)) = (
            field("Action"),
            field("ClientRequestToken").or_else(|| field("ClientToken")),
        ) {
            self.0.lock().unwrap().push((action, token));
        }
        Ok(())
    }
}

/// The retry policy counted attempt by attempt: a call throttled twice is
/// sent three times, and the deployer above it asks once.
#[tokio::test]
async fn a_throttled_call_is_retried_by_the_sdk_until_it_succeeds() {
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(2)
        .output(|| stacks("UPDATE_COMPLETE", 100))
        .build();
    let gt = template_rule(NEW);
    let api = client(&[&ds, &gt]);
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::Nothing),
    )
    .await
    .unwrap();
    assert_eq!(plan.status, PlanStatus::NoChanges);
    assert_eq!(ds.num_calls(), 3);
    assert_eq!(gt.num_calls(), 1);
}

/// A call throttled for good is attempted exactly the policy's 7 times —
/// not 7 SDK attempts inside each of 6 deployer retries (42) — and fails
/// with the service's message.
#[tokio::test]
async fn a_call_throttled_for_good_is_attempted_seven_times_not_forty_two() {
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .repeatedly()
        .build();
    let api = client(&[&ds]);
    let err = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::Nothing),
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("Rate exceeded"), "{err:#}");
    assert!(mailinfra::aws::is_transient(&err));
    assert_eq!(mailinfra::aws::config::MAX_ATTEMPTS, 7);
    assert_eq!(ds.num_calls(), 7);
}

/// An error that retrying cannot fix is sent once.
#[tokio::test]
async fn a_validation_error_is_sent_once() {
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .http_status(
            400,
            Some(error_xml("ValidationError", "1 validation error detected")),
        )
        .repeatedly()
        .build();
    let api = client(&[&ds]);
    let err = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::Nothing),
    )
    .await
    .unwrap_err();
    assert_eq!(mailinfra::aws::error_code(&err), Some("ValidationError"));
    assert!(!mailinfra::aws::is_transient(&err));
    assert_eq!(ds.num_calls(), 1);
}

/// What `aws::error` calls transient is what the SDK retries: the answers its
/// standard classifiers miss (a server code with a 4xx, a 429 without a
/// code, a 5xx other than 500/502/503/504) are retried through the policy's
/// own classifier — and without that classifier the first would not be.
#[tokio::test]
async fn every_transient_answer_is_retried_by_the_policy() {
    let answers: [(u16, Option<String>); 6] = [
        (400, Some(error_xml("InternalFailure", "unknown error"))),
        (400, Some(error_xml("ServiceUnavailable", "try again"))),
        (400, Some(error_xml("RequestLimitExceeded", "slow down"))),
        (503, Some(error_xml("ServiceUnavailable", "try again"))),
        (429, None),
        (501, None),
    ];
    for (status, body) in answers.clone() {
        let ds = mock!(Client::describe_stacks)
            .sequence()
            .http_status(status, body.clone())
            .output(|| stacks("UPDATE_COMPLETE", 100))
            .build();
        let api = client(&[&ds]);
        let info = mailinfra::aws::StackApi::describe_stack(&api, STACK)
            .await
            .unwrap_or_else(|e| panic!("{status} {body:?}: {e:#}"))
            .unwrap();
        assert_eq!(info.status, mailinfra::aws::StackStatus::UpdateComplete);
        assert_eq!(ds.num_calls(), 2, "{status} {body:?}");
    }
    // The SDK's standard classifiers alone: an InternalFailure with a 400 is final.
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .http_status(answers[0].0, answers[0].1.clone())
        .output(|| stacks("UPDATE_COMPLETE", 100))
        .build();
    let standard_only = SdkStackApi::from_client(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&ds],
        |c| c
            .retry_config(mailinfra::aws::config::retry_config(Some(
                common::MOCK_BACKOFF
            )))
            .retry_partition(common::own_retry_quota())
    ));
    let err = mailinfra::aws::StackApi::describe_stack(&standard_only, STACK)
        .await
        .unwrap_err();
    assert!(mailinfra::aws::is_transient(&err), "{err:#}");
    assert_eq!(ds.num_calls(), 1);
}

/// A stack read that fails even after the SDK's attempts is a failed poll,
/// not a failed deploy: the deployer warns, backs off and reads again.
#[tokio::test]
async fn a_poll_that_fails_after_every_attempt_backs_off_and_goes_on() {
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(7)
        .output(|| stacks("UPDATE_IN_PROGRESS", 100))
        .output(|| stacks("UPDATE_COMPLETE", 200))
        .repeatedly()
        .build();
    let api = client(&[&describe, &execute, &ev, &ds]);
    let warnings = Mutex::new(Vec::new());
    let progress = |p: Progress| {
        if let Progress::Warning { message, .. } = p {
            warnings.lock().unwrap().push(message);
        }
    };
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Update),
        &opts(Keep::ChangeSets),
        &progress,
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(ds.num_calls(), 9);
    let warnings = warnings.lock().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("cannot read the stack") && warnings[0].ends_with("still watching"),
        "{warnings:?}"
    );
}

/// A 5xx on CreateChangeSet and on ExecuteChangeSet is retried by the SDK
/// with the same client token on the wire; polling survives throttled event
/// reads; the deploy succeeds.
#[tokio::test]
async fn mutating_calls_are_retried_with_the_same_token() {
    let sent = SentTokens::default();
    let with_tokens = |rules: &[&Rule]| {
        let sent = sent.clone();
        SdkStackApi::from_client(mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            rules,
            move |c| c
                .with_retry_policy(Some(common::MOCK_BACKOFF))
                .retry_partition(common::own_retry_quota())
                .interceptor(sent.clone())
        ))
    };
    let cc = mock!(Client::create_change_set)
        .sequence()
        .http_status(503, None)
        .output(created_output)
        .build();
    let ready = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let (ds, gt) = (describe_stack_rule("UPDATE_COMPLETE"), template_rule(OLD));
    let api = with_tokens(&[&ds, &gt, &cc, &ready]);
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap();
    assert_eq!(plan.status, PlanStatus::Update);
    assert_eq!(cc.num_calls(), 2);

    let execute = mock!(Client::execute_change_set)
        .sequence()
        .http_status(500, None)
        .output(|| ExecuteChangeSetOutput::builder().build())
        .build();
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| {
            events(vec![event(
                "e0",
                STACK,
                "AWS::CloudFormation::Stack",
                "CREATE_COMPLETE",
                None,
                1,
            )])
        })
        .http_status(400, Some(THROTTLED.into()))
        .times(3)
        .output(|| {
            events(vec![
                event(
                    "e0",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "CREATE_COMPLETE",
                    None,
                    1,
                ),
                event(
                    "e1",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    Some("User Initiated"),
                    2,
                ),
                event(
                    "e2",
                    "ArchiveJournal",
                    "AWS::SES::MailManagerArchive",
                    "UPDATE_COMPLETE",
                    None,
                    3,
                ),
                event(
                    "e3",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_COMPLETE",
                    None,
                    4,
                ),
            ])
        })
        .repeatedly()
        .build();
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("UPDATE_IN_PROGRESS", 100))
        .times(2)
        .output(|| stacks("UPDATE_COMPLETE", 200))
        .repeatedly()
        .build();
    let api = with_tokens(&[&execute, &describe, &ev, &ds]);
    let log = Mutex::new(Vec::new());
    let progress = |p: Progress| {
        if let Progress::Event { event, .. } = p {
            log.lock().unwrap().push(event.id);
        }
    };
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Update),
        &opts(Keep::ChangeSets),
        &progress,
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(out.status.as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(execute.num_calls(), 2);
    let sent = sent.0.lock().unwrap();
    let tokens = |action: &str| -> Vec<&str> {
        sent.iter()
            .filter(|(a, _)| a == action)
            .map(|(_, t)| t.as_str())
            .collect()
    };
    let create = tokens("CreateChangeSet");
    assert_eq!(create.len(), 2, "{sent:?}");
    assert_eq!(create[0], create[1]);
    assert!(create[0].starts_with("mailinfra-"), "{create:?}");
    let exec = tokens("ExecuteChangeSet");
    assert_eq!(exec.len(), 2, "{sent:?}");
    assert_eq!(exec[0], exec[1]);
    assert!(exec[0].starts_with("mailinfra-exec-"), "{exec:?}");
    // Each event once, oldest first, none from before the apply.
    assert_eq!(*log.lock().unwrap(), vec!["e1", "e2", "e3"]);
}

#[tokio::test]
async fn an_obsolete_change_set_is_not_executed() {
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "OBSOLETE", vec![], None));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let api = client(&[&describe, &execute]);
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Update),
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Failed);
    let detail = out.detail.unwrap();
    assert!(
        detail.contains("OBSOLETE") && detail.contains("updated after the plan"),
        "{detail}"
    );
    assert_eq!(out.hint.as_deref(), Some("plan again"));
    assert_eq!(execute.num_calls(), 0);
    assert_eq!(
        describe.num_calls(),
        1,
        "someone else's change set is described once, never waited on"
    );
}

#[tokio::test]
async fn a_stack_updated_by_someone_else_makes_the_plan_stale() {
    let ds = mock!(Client::describe_stacks).then_output(|| stacks("UPDATE_COMPLETE", 999));
    let api = client(&[&ds]);
    let mut p = planned(PlanStatus::Update);
    p.last_updated = Some(DateTime::from_secs(100).to_string());
    let err = deploy::still_current(&api, &p).await.unwrap_err();
    assert!(err.contains("was updated at"), "{err}");
}

#[tokio::test]
async fn update_rollback_failed_is_explained_and_never_deleted() {
    let ds = describe_stack_rule("UPDATE_ROLLBACK_FAILED");
    let ev = mock!(Client::describe_stack_events).then_output(|| {
        events(vec![
            event(
                "e1",
                STACK,
                "AWS::CloudFormation::Stack",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                None,
                1,
            ),
            event(
                "e2",
                "Bucket",
                "AWS::S3::Bucket",
                "UPDATE_FAILED",
                Some("Access Denied"),
                2,
            ),
            event(
                "e3",
                STACK,
                "AWS::CloudFormation::Stack",
                "UPDATE_ROLLBACK_FAILED",
                None,
                3,
            ),
        ])
    });
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let api = client(&[&ds, &ev, &delete]);
    let err = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("UPDATE_ROLLBACK_FAILED"), "{msg}");
    assert!(msg.contains("mailinfra apply --continue-rollback"), "{msg}");
    assert!(msg.contains("could not roll back: Bucket"), "{msg}");
    assert_eq!(delete.num_calls(), 0);
}

#[tokio::test]
async fn continue_rollback_skips_exactly_the_named_resources() {
    let skipped = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let s = skipped.clone();
    let cont = mock!(Client::continue_update_rollback)
        .match_requests(move |r| {
            assert!(
                r.client_request_token()
                    .is_some_and(|t| t.starts_with("mailinfra-rollback-"))
            );
            s.lock().unwrap().push(r.resources_to_skip().to_vec());
            true
        })
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("UPDATE_ROLLBACK_FAILED", 100))
        .output(|| stacks("UPDATE_ROLLBACK_IN_PROGRESS", 100))
        .output(|| stacks("UPDATE_ROLLBACK_COMPLETE", 200))
        .repeatedly()
        .build();
    let ev = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let api = client(&[&cont, &ds, &ev, &delete]);
    let out = deploy::continue_rollback(
        &api,
        STACK,
        "us-east-1",
        &["Bucket".to_string()],
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(out.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    assert_eq!(*skipped.lock().unwrap(), vec![vec!["Bucket".to_string()]]);
    assert_eq!(delete.num_calls(), 0);
}

/// The first real failure is the root cause: not the cancellations it caused,
/// not the stack's own summary, not the rollback.
#[tokio::test]
async fn root_cause_is_the_first_real_failure() {
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(vec![]))
        .output(|| {
            events(vec![
                event(
                    "1",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    None,
                    1,
                ),
                event(
                    "2",
                    "Topic",
                    "AWS::SNS::Topic",
                    "UPDATE_FAILED",
                    Some("Resource update cancelled"),
                    2,
                ),
                event(
                    "3",
                    "RuleSet",
                    "AWS::SES::MailManagerRuleSet",
                    "UPDATE_FAILED",
                    Some("Invalid relay id (Service: MailManager, Status Code: 400)"),
                    3,
                ),
                event(
                    "4",
                    "Policy",
                    "AWS::IAM::Policy",
                    "UPDATE_FAILED",
                    Some("Rate exceeded"),
                    4,
                ),
                event(
                    "5",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_ROLLBACK_IN_PROGRESS",
                    Some("The following resource(s) failed to update: [RuleSet]"),
                    5,
                ),
                event(
                    "6",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_ROLLBACK_COMPLETE",
                    None,
                    6,
                ),
            ])
        })
        .repeatedly()
        .build();
    let ds = mock!(Client::describe_stacks).then_output(|| stacks("UPDATE_ROLLBACK_COMPLETE", 200));
    let api = client(&[&describe, &execute, &ev, &ds]);
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Update),
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Failed);
    assert_eq!(out.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    let rc = out.root_cause.unwrap();
    assert_eq!(rc.logical_id, "RuleSet");
    assert!(rc.reason.starts_with("Invalid relay id"));
    assert!(out.hint.unwrap().contains("back as it was"));
}

/// A read right after execution that still shows the previous state is not the end.
#[tokio::test]
async fn a_stale_read_after_execute_is_not_accepted() {
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("UPDATE_COMPLETE", 100))
        .output(|| stacks("UPDATE_IN_PROGRESS", 100))
        .output(|| stacks("UPDATE_COMPLETE", 200))
        .build();
    let api = client(&[&describe, &execute, &ev, &ds]);
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Update),
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Applied);
    assert_eq!(ds.num_calls(), 3);
}

#[tokio::test]
async fn a_deploy_that_outlasts_the_timeout_is_unknown_not_failed() {
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let ds = mock!(Client::describe_stacks).then_output(|| stacks("UPDATE_IN_PROGRESS", 100));
    let api = client(&[&describe, &execute, &ev, &ds]);
    let mut o = opts(Keep::ChangeSets);
    o.timing.stack_timeout = Duration::from_millis(30);
    let out = deploy::apply_stack(&api, &planned(PlanStatus::Update), &o, &quiet()).await;
    assert_eq!(out.kind, OutcomeKind::Unknown);
    assert!(
        out.hint
            .unwrap()
            .contains("describe-stack-events --stack-name arn:aws:cloudformation")
    );
}

#[tokio::test]
async fn expired_credentials_while_polling_lose_sight_without_failing() {
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(vec![]))
        .http_status(
            403,
            Some("<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error></ErrorResponse>".into()),
        )
        .repeatedly()
        .build();
    let api = client(&[&describe, &execute, &ev]);
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Update),
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Unknown, "{out:?}");
    assert!(out.detail.unwrap().contains("expired"));
}

/// A leftover of a failed first create is deleted, then created anew; the
/// resources it retained are reported.
#[tokio::test]
async fn rollback_complete_leftover_is_deleted_before_recreating() {
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("ROLLBACK_COMPLETE", 100))
        .output(|| stacks("DELETE_IN_PROGRESS", 100))
        .output(|| stacks("DELETE_COMPLETE", 100))
        .build();
    let res = mock!(Client::list_stack_resources).then_output(|| {
        ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                StackResourceSummary::builder()
                    .logical_resource_id("ArchiveJournal")
                    .physical_resource_id("a-123")
                    .resource_type("AWS::SES::MailManagerArchive")
                    .resource_status(ResourceStatus::DeleteSkipped)
                    .last_updated_timestamp(DateTime::from_secs(0))
                    .build(),
            )
            .build()
    });
    let tp = mock!(Client::update_termination_protection)
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let delete = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(ARN) && r.client_request_token().is_some())
        .then_output(|| DeleteStackOutput::builder().build());
    let cc = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.change_set_type() == Some(&aws_sdk_cloudformation::types::ChangeSetType::Create)
        })
        .then_output(created_output);
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let api = client(&[&ds, &res, &tp, &delete, &cc, &describe]);
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap();
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(cc.num_calls(), 1);
    assert_eq!(plan.status, PlanStatus::Create);
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("ArchiveJournal (AWS::SES::MailManagerArchive, a-123)")),
        "{:?}",
        plan.notes
    );
}

/// A REVIEW_IN_PROGRESS stack holding someone else's change set: ours failed
/// ones are removed, theirs and the stack stay.
#[tokio::test]
async fn foreign_review_change_sets_are_never_touched() {
    let ds = describe_stack_rule("REVIEW_IN_PROGRESS");
    let list = mock!(Client::list_change_sets).then_output(|| {
        ListChangeSetsOutput::builder()
            .summaries(
                ChangeSetSummary::builder()
                    .change_set_name("colleague-review")
                    .stack_id(ARN)
                    .change_set_id("arn:cs/colleague")
                    .status(ChangeSetStatus::CreateComplete)
                    .execution_status(ExecutionStatus::Available)
                    .build(),
            )
            .summaries(
                ChangeSetSummary::builder()
                    .change_set_name("mailinfra-old")
                    .stack_id(ARN)
                    .change_set_id("arn:cs/ours-failed")
                    .status(ChangeSetStatus::Failed)
                    .build(),
            )
            .build()
    });
    let deleted = Arc::new(Mutex::new(Vec::<String>::new()));
    let d = deleted.clone();
    let del_cs = mock!(Client::delete_change_set)
        .match_requests(move |r| {
            d.lock()
                .unwrap()
                .push(r.change_set_name().unwrap_or("").to_string());
            true
        })
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let del_stack =
        mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let cc = created();
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let api = client(&[&ds, &list, &del_cs, &del_stack, &cc, &describe]);
    // A speculative plan: it cleans up its own change set, and only its own.
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::Nothing),
    )
    .await
    .unwrap();
    assert_eq!(plan.status, PlanStatus::Create);
    assert_eq!(
        *deleted.lock().unwrap(),
        vec!["arn:cs/ours-failed".to_string(), CS.to_string()]
    );
    assert_eq!(
        del_stack.num_calls(),
        0,
        "the stack still holds a colleague's change set"
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("1 other pending change set"))
    );
}

#[tokio::test]
async fn termination_protection_is_enabled_before_the_first_execution() {
    let order = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let (o1, o2) = (order.clone(), order.clone());
    let tp = mock!(Client::update_termination_protection)
        .match_requests(move |r| {
            assert_eq!(r.enable_termination_protection(), Some(true));
            o1.lock().unwrap().push("protect");
            true
        })
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let execute = mock!(Client::execute_change_set)
        .match_requests(move |_| {
            o2.lock().unwrap().push("execute");
            true
        })
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let ev = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("CREATE_IN_PROGRESS", 100))
        .output(|| stacks("CREATE_COMPLETE", 100))
        .build();
    let api = client(&[&tp, &execute, &describe, &ev, &ds]);
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Create),
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Applied);
    assert_eq!(*order.lock().unwrap(), vec!["protect", "execute"]);
}

#[tokio::test]
async fn a_failed_cleanup_delete_is_a_warning_not_a_failure() {
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| events(vec![]))
        .output(|| {
            events(vec![
                event(
                    "1",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    None,
                    1,
                ),
                event(
                    "2",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                    None,
                    2,
                ),
                event(
                    "3",
                    "OldBucket",
                    "AWS::S3::Bucket",
                    "DELETE_FAILED",
                    Some("The bucket you tried to delete is not empty"),
                    3,
                ),
                event(
                    "4",
                    STACK,
                    "AWS::CloudFormation::Stack",
                    "UPDATE_COMPLETE",
                    None,
                    4,
                ),
            ])
        })
        .repeatedly()
        .build();
    let ds = mock!(Client::describe_stacks).then_output(|| stacks("UPDATE_COMPLETE", 200));
    let api = client(&[&describe, &execute, &ev, &ds]);
    let out = deploy::apply_stack(
        &api,
        &planned(PlanStatus::Update),
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Applied);
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].starts_with("OldBucket (AWS::S3::Bucket) could not be deleted"));
}

/// A stack whose parameter comes from another stack's output is planned after
/// it, with the output's value; independent stacks do not wait.
#[tokio::test]
async fn parameters_come_from_producer_outputs() {
    let producer = "demo-us-east-1-receiving";
    let consumer = "demo-us-east-1-sending";
    let ds = mock!(Client::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(producer))
        .then_output(move || {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name(producer)
                        .stack_id("arn:producer")
                        .stack_status(StackStatus::UpdateComplete)
                        .creation_time(DateTime::from_secs(0))
                        .outputs(
                            aws_sdk_cloudformation::types::Output::builder()
                                .output_key("ARecord")
                                .output_value("abc.mail-manager-smtp.amazonaws.com")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let ds2 = mock!(Client::describe_stacks)
        .match_requests(move |r| r.stack_name() == Some(consumer))
        .then_output(move || {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name(consumer)
                        .stack_id("arn:consumer")
                        .stack_status(StackStatus::UpdateComplete)
                        .creation_time(DateTime::from_secs(0))
                        .parameters(
                            aws_sdk_cloudformation::types::Parameter::builder()
                                .parameter_key("IngressARecord")
                                .parameter_value("old.example")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let gt = template_rule(NEW);
    let params = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let p = params.clone();
    let cc = mock!(Client::create_change_set)
        .match_requests(move |r| {
            for x in r.parameters() {
                p.lock().unwrap().push((
                    x.parameter_key().unwrap_or("").into(),
                    x.parameter_value().unwrap_or("").into(),
                ));
            }
            r.stack_name() == Some(consumer)
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id(CS)
                .stack_id("arn:consumer")
                .build()
        });
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let del =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let api = client(&[&ds, &ds2, &gt, &cc, &describe, &del]);
    let mut c = artifact(consumer, NEW);
    c.entry.parameters = vec![ParamSource {
        name: "IngressARecord".into(),
        stack: producer.into(),
        output: "ARecord".into(),
    }];
    c.entry.depends_on = vec![producer.into()];
    let artifacts = vec![c, artifact(producer, NEW)];
    let regions = one_region(api);
    let plans = deploy::plan_all(&regions, &artifacts, &opts(Keep::Nothing))
        .await
        .unwrap();
    let by = |n: &str| plans.iter().find(|p| p.stack == n).unwrap();
    assert_eq!(by(producer).status, PlanStatus::NoChanges);
    // Same template, but a parameter changed: a change set, with the new value.
    assert_eq!(by(consumer).status, PlanStatus::Update);
    assert_eq!(
        *params.lock().unwrap(),
        vec![(
            "IngressARecord".to_string(),
            "abc.mail-manager-smtp.amazonaws.com".to_string()
        )]
    );
}

#[tokio::test]
async fn large_templates_go_through_the_store() {
    struct Store(Mutex<Vec<String>>);
    impl mailinfra::aws::TemplateStore for Store {
        async fn put_template(&self, body: &str) -> anyhow::Result<String> {
            self.0
                .lock()
                .unwrap()
                .push(mailinfra::aws::template_key(body));
            Ok(format!(
                "https://b.s3.us-east-1.amazonaws.com/{}",
                mailinfra::aws::template_key(body)
            ))
        }
    }
    let big = format!(
        r#"{{"Description":"{}","Resources":{{"T":{{"Type":"AWS::SNS::Topic"}}}}}}"#,
        "é".repeat(25_600)
    );
    // 25,600 two-byte characters: over the limit in bytes, under it in characters.
    assert!(big.chars().count() < 51_200 && big.len() > 51_200);
    let ds = no_stack();
    let cc = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.template_body().is_none()
                && r.template_url().is_some_and(|u| u.contains("/mailinfra/"))
        })
        .then_output(created_output);
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let api = client(&[&ds, &cc, &describe]);
    let store = Store(Mutex::new(Vec::new()));
    let plan = deploy::plan_stack(
        &api,
        &store,
        &artifact(STACK, &big),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap();
    assert_eq!(cc.num_calls(), 1);
    assert_eq!(plan.status, PlanStatus::Create);
    assert_eq!(store.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn s3_upload_checks_the_bucket_owner() {
    use aws_sdk_s3::operation::put_object::PutObjectOutput;
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| {
            r.expected_bucket_owner() == Some("123456789012")
                && r.bucket() == Some("mailinfra-templates-123456789012-eu-west-1")
                && r.key()
                    .is_some_and(|k| k.starts_with("mailinfra/") && k.ends_with(".json"))
        })
        .then_output(|| PutObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put]);
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("eu-west-1"))
            .build(),
    );
    let store = mailinfra::aws::S3TemplateStore::from_clients(
        s3,
        sts,
        None,
        "eu-west-1",
        Some("123456789012".into()),
    );
    let url = mailinfra::aws::TemplateStore::put_template(&store, "{}")
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 1);
    assert_eq!(
        url,
        format!(
            "https://mailinfra-templates-123456789012-eu-west-1.s3.eu-west-1.amazonaws.com/{}",
            mailinfra::aws::template_key("{}")
        )
    );
}

/// `check --live`: drift detection is started, waited for, and drifted
/// resources become MI5001 diagnostics.
#[tokio::test]
async fn drift_is_reported_per_resource() {
    use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
    use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
    use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
    use aws_sdk_cloudformation::types::{
        PropertyDifference, StackDriftDetectionStatus, StackDriftStatus, StackResourceDrift,
        StackResourceDriftStatus,
    };
    let ds = describe_stack_rule("UPDATE_COMPLETE");
    let detect = mock!(Client::detect_stack_drift)
        .match_requests(|r| r.stack_name() == Some(ARN))
        .then_output(|| {
            DetectStackDriftOutput::builder()
                .stack_drift_detection_id("d-1")
                .build()
        });
    let status = mock!(Client::describe_stack_drift_detection_status)
        .sequence()
        .output(|| {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id(ARN)
                .stack_drift_detection_id("d-1")
                .detection_status(StackDriftDetectionStatus::DetectionInProgress)
                .timestamp(DateTime::from_secs(0))
                .build()
        })
        .output(|| {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id(ARN)
                .stack_drift_detection_id("d-1")
                .detection_status(StackDriftDetectionStatus::DetectionComplete)
                .stack_drift_status(StackDriftStatus::Drifted)
                .timestamp(DateTime::from_secs(0))
                .build()
        })
        .build();
    let drifts = mock!(Client::describe_stack_resource_drifts).then_output(|| {
        DescribeStackResourceDriftsOutput::builder()
            .stack_resource_drifts(
                StackResourceDrift::builder()
                    .stack_id(ARN)
                    .logical_resource_id("TrafficPolicyInbound")
                    .resource_type("AWS::SES::MailManagerTrafficPolicy")
                    .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                    .property_differences(
                        PropertyDifference::builder()
                            .property_path("/PolicyStatements/0")
                            .build(),
                    )
                    .timestamp(DateTime::from_secs(0))
                    .build(),
            )
            .build()
    });
    let api = client(&[&ds, &detect, &status, &drifts]);
    let found = mailinfra::deploy::live::drift(&api, STACK, &opts(Keep::Nothing).timing).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "MI5001");
    assert_eq!(
        found[0].message,
        format!(
            "`TrafficPolicyInbound` (AWS::SES::MailManagerTrafficPolicy) in `{STACK}` was changed outside CloudFormation (/PolicyStatements/0)"
        )
    );
    assert_eq!(status.num_calls(), 2);
}

/// Events are paged back to the first one already seen, never further; an
/// event that shows up on two pages is reported once; order is oldest first.
#[tokio::test]
async fn event_pages_are_read_back_to_the_first_seen_event() {
    let page = |ids: &[&str], next: Option<&str>| {
        let list: Vec<StackEvent> = ids
            .iter()
            .map(|id| {
                event(
                    id,
                    "Rule",
                    "AWS::SES::ReceiptRule",
                    "UPDATE_IN_PROGRESS",
                    None,
                    id.trim_start_matches('e').parse().unwrap_or(0),
                )
            })
            .collect();
        DescribeStackEventsOutput::builder()
            .set_stack_events(Some(list))
            .set_next_token(next.map(str::to_string))
            .build()
    };
    let first = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || page(&["e6", "e5"], Some("p2")));
    let second = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token() == Some("p2"))
        .then_output(move || page(&["e5", "e4", "e3"], Some("p3")));
    let third = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token() == Some("p3"))
        .then_output(move || page(&["e2", "e1", "e0"], Some("p4")));
    let beyond = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token() == Some("p4"))
        .then_output(move || page(&["old"], None));
    let api = client(&[&first, &second, &third, &beyond]);
    let seen = ["e1".to_string(), "e0".to_string()].into_iter().collect();
    let fresh = deploy::new_events(&api, ARN, &seen).await.unwrap();
    let ids: Vec<&str> = fresh.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["e2", "e3", "e4", "e5", "e6"]);
    assert_eq!(third.num_calls(), 1);
    assert_eq!(beyond.num_calls(), 0, "paged past an event already seen");

    // Nothing seen yet: the whole history, to its end.
    let fresh = deploy::new_events(&api, ARN, &Default::default())
        .await
        .unwrap();
    assert_eq!(fresh.len(), 8);
    assert_eq!(fresh[0].id, "old");
    assert_eq!(beyond.num_calls(), 1);
}

/// A change set that early validation failed: every resource's reason from
/// `DescribeEvents` is in the error, and the change set and the empty stack
/// this CREATE made are both removed.
#[tokio::test]
async fn early_validation_failures_name_every_resource() {
    use aws_sdk_cloudformation::operation::describe_events::DescribeEventsOutput;
    use aws_sdk_cloudformation::types::{EventType, OperationEvent};
    let ds = no_stack();
    let cc = created();
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id(CS)
            .stack_id(ARN)
            .status(ChangeSetStatus::Failed)
            .execution_status(ExecutionStatus::Unavailable)
            .status_reason("The following hook(s)/validation failed: [AWS::EarlyValidation::ResourceExistenceCheck]. To troubleshoot Early Validation errors, use the DescribeEvents API for detailed failure information.")
            .build()
    });
    let failure = |id: &str, t: &str, reason: &str| {
        OperationEvent::builder()
            .event_id(id)
            .event_type(EventType::ValidationError)
            .logical_resource_id(id)
            .resource_type(t)
            .validation_name("ResourceExistenceCheck")
            .validation_status_reason(reason)
            .build()
    };
    let ev1 = mock!(Client::describe_events)
        .match_requests(|r| {
            r.change_set_name() == Some(CS)
                && r.filters().and_then(|f| f.failed_events()) == Some(true)
                && r.next_token().is_none()
        })
        .then_output(move || {
            DescribeEventsOutput::builder()
                .operation_events(failure(
                    "IdentityExampleCom",
                    "AWS::SES::EmailIdentity",
                    "Resource of type 'AWS::SES::EmailIdentity' with identifier 'example.com' already exists.",
                ))
                .next_token("p2")
                .build()
        });
    let ev2 = mock!(Client::describe_events)
        .match_requests(|r| r.next_token() == Some("p2"))
        .then_output(move || {
            DescribeEventsOutput::builder()
                .operation_events(failure(
                    "ArchiveJournal",
                    "AWS::SES::MailManagerArchive",
                    "Resource of type 'AWS::SES::MailManagerArchive' with identifier 'journal' already exists.",
                ))
                .build()
        });
    let dcs = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some(CS))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let delete = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(ARN))
        .then_output(|| DeleteStackOutput::builder().build());
    let api = client(&[&ds, &cc, &describe, &ev1, &ev2, &dcs, &delete]);
    let err = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("ResourceExistenceCheck]"), "{text}");
    assert!(
        text.contains("\n  - IdentityExampleCom (AWS::SES::EmailIdentity) failed ResourceExistenceCheck: Resource of type 'AWS::SES::EmailIdentity' with identifier 'example.com' already exists."),
        "{text}"
    );
    assert!(
        text.contains(
            "\n  - ArchiveJournal (AWS::SES::MailManagerArchive) failed ResourceExistenceCheck:"
        ),
        "{text}"
    );
    assert_eq!(dcs.num_calls(), 1);
    assert_eq!(
        delete.num_calls(),
        1,
        "the empty REVIEW_IN_PROGRESS stack stays behind"
    );
}

/// A stack another operation is changing: refused at once with what runs
/// there and its latest events, or waited for with `--wait-busy`.
#[tokio::test]
async fn a_busy_stack_is_refused_or_waited_for() {
    let ds = describe_stack_rule("UPDATE_IN_PROGRESS");
    let ev = mock!(Client::describe_stack_events).then_output(|| {
        events(vec![
            event(
                "1",
                STACK,
                "AWS::CloudFormation::Stack",
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
                90,
            ),
            event(
                "2",
                "ArchiveJournal",
                "AWS::SES::MailManagerArchive",
                "UPDATE_IN_PROGRESS",
                None,
                95,
            ),
        ])
    });
    let cc = created();
    let api = client(&[&ds, &ev, &cc]);
    let err = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::Nothing),
    )
    .await
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("is busy (UPDATE_IN_PROGRESS since 1970-01-01T00:01:40Z)"),
        "{text}"
    );
    assert!(text.contains("--wait-busy MINUTES"), "{text}");
    assert!(text.contains("latest events:\n  1970-01-01T00:01:35Z ArchiveJournal UPDATE_IN_PROGRESS\n  1970-01-01T00:01:30Z"), "{text}");
    assert_eq!(cc.num_calls(), 0);

    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("UPDATE_IN_PROGRESS", 100))
        .times(3)
        .output(|| stacks("UPDATE_COMPLETE", 120))
        .build();
    let gt = template_rule(NEW);
    let api = client(&[&ds, &gt, &cc]);
    let mut o = opts(Keep::Nothing);
    o.busy_wait = Duration::from_secs(5);
    let plan = deploy::plan_stack(&api, &NoTemplateStore, &artifact(STACK, NEW), &[], &o)
        .await
        .unwrap();
    assert_eq!(plan.status, PlanStatus::NoChanges);
    assert_eq!(plan.last_updated.as_deref(), Some("1970-01-01T00:02:00Z"));
    assert_eq!(ds.num_calls(), 4);
}

/// `--revert-drift`: an unchanged template still gets a drift-aware change set,
/// and a drifted resource is marked as reverted in every rendering.
#[tokio::test]
async fn a_drift_aware_plan_shows_what_it_reverts() {
    use aws_sdk_cloudformation::types::{DeploymentMode, StackResourceDriftStatus};
    let (ds, gt) = (describe_stack_rule("UPDATE_COMPLETE"), template_rule(NEW));
    let cc = mock!(Client::create_change_set)
        .match_requests(|r| r.deployment_mode() == Some(&DeploymentMode::RevertDrift))
        .then_output(created_output);
    let describe = mock!(Client::describe_change_set).then_output(|| {
        let rc = ResourceChange::builder()
            .logical_resource_id("ArchiveJournal")
            .resource_type("AWS::SES::MailManagerArchive")
            .action(aws_sdk_cloudformation::types::ChangeAction::Modify)
            .replacement(Replacement::False)
            .resource_drift_status(StackResourceDriftStatus::Modified)
            .build();
        one_change(rc)
    });
    let api = client(&[&ds, &gt, &cc, &describe]);
    let mut o = opts(Keep::ChangeSets);
    o.revert_drift = true;
    let plan = deploy::plan_stack(&api, &NoTemplateStore, &artifact(STACK, NEW), &[], &o)
        .await
        .unwrap();
    assert_eq!(cc.num_calls(), 1, "no drift-aware change set was created");
    assert_eq!(plan.status, PlanStatus::Update);
    assert_eq!(plan.changes[0].drift.as_deref(), Some("MODIFIED"));
    let plans = [plan];
    assert!(mailinfra::render::human(&plans, false).contains("REVERTS DRIFT (MODIFIED)"));
    assert!(mailinfra::render::markdown(&plans).contains("reverts drift (MODIFIED)"));
    assert!(mailinfra::render::json(&plans, "plan").contains(r#""drift": "MODIFIED""#));

    // Without the flag an identical template is not even sent to CloudFormation.
    let api = client(&[&ds, &gt, &cc, &describe]);
    let plan = deploy::plan_stack(
        &api,
        &NoTemplateStore,
        &artifact(STACK, NEW),
        &[],
        &opts(Keep::ChangeSets),
    )
    .await
    .unwrap();
    assert_eq!(plan.status, PlanStatus::NoChanges);
    assert_eq!(cc.num_calls(), 1);
}

fn two_stacks() -> (Vec<Artifact>, Vec<deploy::StackPlan>) {
    let mut b = artifact("demo-us-east-1-b", NEW);
    b.entry.depends_on = vec!["demo-us-east-1-a".into()];
    let artifacts = vec![artifact("demo-us-east-1-a", NEW), b];
    let plans = artifacts
        .iter()
        .map(|a| {
            let id = a.entry.name.trim_start_matches("demo-us-east-1-");
            deploy::StackPlan {
                status: PlanStatus::Update,
                change_set_arn: Some(format!("arn:cs-{id}")),
                stack_arn: Some(format!("arn:{id}")),
                ..deploy::StackPlan::new(a)
            }
        })
        .collect();
    (artifacts, plans)
}

/// Ctrl-C while the first of two dependent stacks runs: it is followed to its
/// end, the second never starts and its change set is removed.
#[tokio::test]
async fn an_interrupt_lets_running_stacks_finish_and_starts_nothing_new() {
    let o = opts(Keep::ChangeSets);
    let interrupt = o.interrupt.clone();
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let exec_a = mock!(Client::execute_change_set)
        .match_requests(|r| r.change_set_name() == Some("arn:cs-a"))
        .then_output(move || {
            interrupt.raise();
            ExecuteChangeSetOutput::builder().build()
        });
    let exec_b = mock!(Client::execute_change_set)
        .match_requests(|r| r.change_set_name() == Some("arn:cs-b"))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let ev = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("UPDATE_IN_PROGRESS", 100))
        .output(|| stacks("UPDATE_COMPLETE", 150))
        .repeatedly()
        .build();
    let del_b = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some("arn:cs-b"))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let api = client(&[&describe, &exec_a, &exec_b, &ev, &ds, &del_b]);
    let regions = one_region(api);
    let (artifacts, plans) = two_stacks();
    let started = Mutex::new(Vec::new());
    let progress = |p: Progress| {
        if let Progress::StackStarted {
            stack, operation, ..
        } = p
        {
            started.lock().unwrap().push((stack, operation));
        }
    };
    let out = deploy::apply_all(&regions, &artifacts, &plans, &[], &o, &progress).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied);
    assert_eq!(out[0].status.as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(out[1].kind, OutcomeKind::NotStarted);
    assert_eq!(
        out[1].detail.as_deref(),
        Some("interrupted before it started")
    );
    assert_eq!(exec_b.num_calls(), 0);
    assert_eq!(
        del_b.num_calls(),
        1,
        "the unstarted stack's change set stays behind"
    );
    assert_eq!(
        *started.lock().unwrap(),
        [("demo-us-east-1-a".to_string(), "arn:cs-a".to_string())]
    );

    // A stack already scheduled when the interrupt comes is not executed either.
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let exec =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let del =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let api = client(&[&describe, &exec, &del]);
    let out = deploy::apply_stack(&api, &planned(PlanStatus::Update), &o, &quiet()).await;
    assert_eq!(out.kind, OutcomeKind::NotStarted);
    assert!(out.detail.unwrap().contains("change set was removed"));
    assert_eq!((exec.num_calls(), del.num_calls()), (0, 1));
}

/// `--cancel-on-interrupt`: the running update is cancelled once (with a
/// token) and its rollback followed; the outcome says so.
#[tokio::test]
async fn cancel_on_interrupt_cancels_the_update_and_follows_the_rollback() {
    let mut o = opts(Keep::ChangeSets);
    o.cancel_on_interrupt = true;
    let interrupt = o.interrupt.clone();
    let describe = mock!(Client::describe_change_set)
        .then_output(|| change_set("CREATE_COMPLETE", "AVAILABLE", vec![], None));
    let exec = mock!(Client::execute_change_set).then_output(move || {
        interrupt.raise();
        ExecuteChangeSetOutput::builder().build()
    });
    let ev = mock!(Client::describe_stack_events).then_output(|| events(vec![]));
    let ds = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stacks("UPDATE_IN_PROGRESS", 100))
        .times(2)
        .output(|| stacks("UPDATE_ROLLBACK_IN_PROGRESS", 100))
        .output(|| stacks("UPDATE_ROLLBACK_COMPLETE", 160))
        .repeatedly()
        .build();
    let cancel = mock!(Client::cancel_update_stack)
        .match_requests(|r| r.stack_name() == Some(ARN) && r.client_request_token().is_some())
        .then_output(|| {
            aws_sdk_cloudformation::operation::cancel_update_stack::CancelUpdateStackOutput::builder()
                .build()
        });
    let api = client(&[&describe, &exec, &ev, &ds, &cancel]);
    let warnings = Mutex::new(Vec::new());
    let progress = |p: Progress| {
        if let Progress::Warning { message, .. } = p {
            warnings.lock().unwrap().push(message);
        }
    };
    let out = deploy::apply_stack(&api, &planned(PlanStatus::Update), &o, &progress).await;
    assert_eq!(cancel.num_calls(), 1);
    assert_eq!(out.kind, OutcomeKind::Failed);
    assert_eq!(out.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    assert_eq!(
        out.detail.as_deref(),
        Some("interrupted: the update was cancelled and rolled back")
    );
    assert!(warnings.lock().unwrap()[0].contains("the update is cancelled"));
}

/// `--import ID`: only a stack holding a named resource gets an importing
/// change set, its import shows as such, and an import nobody named is found.
#[tokio::test]
async fn imports_happen_only_for_named_resources() {
    let (ds, gt) = (describe_stack_rule("UPDATE_COMPLETE"), template_rule(OLD));
    let importing = mock!(Client::create_change_set)
        .match_requests(|r| r.import_existing_resources() == Some(true))
        .then_output(created_output);
    let plain = mock!(Client::create_change_set)
        .match_requests(|r| r.import_existing_resources().is_none())
        .then_output(created_output);
    let describe = mock!(Client::describe_change_set).then_output(|| {
        let rc = ResourceChange::builder()
            .logical_resource_id("ArchiveJournal")
            .resource_type("AWS::SES::MailManagerArchive")
            .action(aws_sdk_cloudformation::types::ChangeAction::Import)
            .build();
        one_change(rc)
    });
    let api = client(&[&ds, &gt, &importing, &plain, &describe]);
    let mut o = opts(Keep::ChangeSets);
    o.import = vec!["ArchiveJournal".into()];
    let plan = deploy::plan_stack(&api, &NoTemplateStore, &artifact(STACK, NEW), &[], &o)
        .await
        .unwrap();
    assert_eq!((importing.num_calls(), plain.num_calls()), (1, 0));
    assert_eq!(plan.changes[0].action, mailinfra::diff::Action::Import);
    let plans = [plan];
    assert!(deploy::unnamed_imports(&plans, &o.import).is_empty());
    assert_eq!(deploy::unnamed_imports(&plans, &[]).len(), 1);
    assert!(mailinfra::render::human(&plans, false).contains("<= ArchiveJournal"));
    assert!(mailinfra::render::human(&plans, false).contains("Plan: 1 to import, 0 to add"));

    // A name that is not in this stack's template: a plain change set.
    o.import = vec!["IdentityElsewhere".into()];
    deploy::plan_stack(&api, &NoTemplateStore, &artifact(STACK, NEW), &[], &o)
        .await
        .unwrap();
    assert_eq!((importing.num_calls(), plain.num_calls()), (1, 1));
}
