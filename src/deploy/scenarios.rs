//! Deployer scenarios against an in-memory account ([`FakeAws`]): whole
//! plans and applies over several stacks, and the faults an emulator cannot
//! produce (a rollback that fails, a change set that stays pending, a lost
//! answer, a colleague's update between plan and apply).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::*;
use crate::aws::fake::FakeAws;
use crate::aws::{ExecutionStatus, StackStatus};
use crate::build::{ParamSource, StackEntry};
use crate::diff;

const REGION: &str = "us-east-1";

pub(super) fn artifact(name: &str, body: &str) -> Artifact {
    Artifact {
        entry: StackEntry {
            name: name.into(),
            region: REGION.into(),
            concern: "sending".into(),
            template: format!("{name}.template.json"),
            sha256: crate::hash::sha256_hex(body.as_bytes()),
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

/// `consumer` takes output `output` of `producer` as parameter `parameter`.
fn wired(mut consumer: Artifact, parameter: &str, producer: &str, output: &str) -> Artifact {
    consumer.entry.parameters = vec![ParamSource {
        name: parameter.into(),
        stack: producer.into(),
        output: output.into(),
    }];
    consumer.entry.depends_on = vec![producer.into()];
    consumer
}

pub(super) fn regions(aws: &FakeAws) -> BTreeMap<String, Region<FakeAws, FakeAws>> {
    [(
        REGION.to_string(),
        Region {
            api: aws.clone(),
            store: aws.clone(),
        },
    )]
    .into()
}

pub(super) fn opts(keep: Keep) -> Options {
    let mut o = Options::new(keep, Timing::fast(Duration::from_millis(1)));
    o.timing.stack_timeout = Duration::from_secs(10);
    o.timing.change_set_timeout = Duration::from_secs(10);
    o
}

fn quiet() -> impl Fn(Progress) + Sync {
    |_| {}
}

async fn plan(aws: &FakeAws, artifacts: &[Artifact]) -> Vec<StackPlan> {
    plan_all(&regions(aws), artifacts, &opts(Keep::ChangeSets))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn apply(
    aws: &FakeAws,
    artifacts: &[Artifact],
    plans: &[StackPlan],
    allowed: &[String],
) -> Vec<StackOutcome> {
    apply_all(
        &regions(aws),
        artifacts,
        plans,
        allowed,
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await
}

/// Applies `plans` (nothing allowed to go), and the warnings it reported on the way.
async fn apply_warned(
    aws: &FakeAws,
    artifacts: &[Artifact],
    plans: &[StackPlan],
) -> (Vec<StackOutcome>, Vec<String>) {
    let warnings = Mutex::new(Vec::new());
    let progress = |p: Progress| {
        if let Progress::Warning { message, .. } = p {
            warnings.lock().expect("warnings").push(message);
        }
    };
    let out = apply_all(
        &regions(aws),
        artifacts,
        plans,
        &[],
        &opts(Keep::ChangeSets),
        &progress,
    )
    .await;
    (out, warnings.into_inner().expect("warnings"))
}

/// Plans and applies `artifacts`; every stack must be applied.
pub(super) async fn deploy(aws: &FakeAws, artifacts: &[Artifact]) {
    let plans = plan(aws, artifacts).await;
    for o in apply(aws, artifacts, &plans, &[]).await {
        assert_eq!(o.kind, OutcomeKind::Applied, "{o:?}");
    }
}

const SENDING: &str = "demo-us-east-1-sending";
const SENDING_V1: &str = r#"{"Resources":{
    "IdentityExampleCom":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"example.com"}},
    "ConfigSetDefault":{"Type":"AWS::SES::ConfigurationSet","Properties":{"Name":"default"}}}}"#;
const SENDING_V2: &str = r#"{"Resources":{
    "IdentityExampleCom":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"example.com"}},
    "ConfigSetDefault":{"Type":"AWS::SES::ConfigurationSet","Properties":{"Name":"default","SendingOptions":{"SendingEnabled":false}}}}}"#;
const SENDING_V3: &str = r#"{"Resources":{
    "IdentityExampleCom":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"example.com"}},
    "ConfigSetDefault":{"Type":"AWS::SES::ConfigurationSet","Properties":{"Name":"default"}},
    "ConfigSetHand":{"Type":"AWS::SES::ConfigurationSet","Properties":{"Name":"by-hand"}}}}"#;

const RECEIVING: &str = "demo-us-east-1-receiving";
fn receiving(a_record: &str) -> String {
    format!(
        r#"{{"Resources":{{"Ingress":{{"Type":"AWS::SES::MailManagerIngressPoint","Properties":{{"Type":"OPEN"}}}}}},
        "Outputs":{{"ARecord":{{"Value":"{a_record}"}}}}}}"#
    )
}
const DNS: &str = "demo-us-east-1-dns";
const DNS_BODY: &str = r#"{"Parameters":{"IngressARecord":{"Type":"String"}},"Resources":{
    "RecordMx":{"Type":"AWS::Route53::RecordSet","Properties":{"Name":"mx.example.com","Type":"CNAME","TTL":"300",
        "ResourceRecords":[{"Ref":"IngressARecord"}]}}}}"#;

/// Plan, apply, plan again: the second plan is empty, makes no change set and
/// leaves none behind; the stack holds exactly the template that was planned.
#[tokio::test]
async fn a_second_plan_after_an_apply_is_empty() {
    let aws = FakeAws::default();
    let stacks = [artifact(SENDING, SENDING_V1)];
    let plans = plan(&aws, &stacks).await;
    assert_eq!(plans[0].status, PlanStatus::Create);
    let added: Vec<(&str, diff::Action)> = plans[0]
        .changes
        .iter()
        .map(|c| (c.logical_id.as_str(), c.action))
        .collect();
    assert_eq!(
        added,
        [
            ("ConfigSetDefault", diff::Action::Add),
            ("IdentityExampleCom", diff::Action::Add)
        ]
    );
    let out = apply(&aws, &stacks, &plans, &[]).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(out[0].status.as_deref(), Some("CREATE_COMPLETE"));
    assert_eq!(aws.template(SENDING).as_deref(), Some(SENDING_V1));
    assert!(aws.termination_protection(SENDING));

    let again = plan(&aws, &stacks).await;
    assert_eq!(again[0].status, PlanStatus::NoChanges);
    assert!(again[0].changes.is_empty() && again[0].change_set_arn.is_none());
    assert_eq!(
        aws.calls("CreateChangeSet"),
        1,
        "an unchanged stack needs no change set"
    );
    // Only the executed change set is left: the second plan leaves none behind.
    let left = aws.change_sets(SENDING);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].2, ExecutionStatus::ExecuteComplete);
    assert_eq!(aws.calls("ExecuteChangeSet"), 1);

    // A change: an update of exactly that resource, and empty again once applied.
    let v2 = [artifact(SENDING, SENDING_V2)];
    let plans = plan(&aws, &v2).await;
    assert_eq!(plans[0].status, PlanStatus::Update);
    assert_eq!(plans[0].changes.len(), 1);
    assert_eq!(plans[0].changes[0].logical_id, "ConfigSetDefault");
    assert_eq!(plans[0].changes[0].properties, ["SendingOptions"]);
    let out = apply(&aws, &v2, &plans, &[]).await;
    assert_eq!(out[0].status.as_deref(), Some("UPDATE_COMPLETE"), "{out:?}");
    assert_eq!(plan(&aws, &v2).await[0].status, PlanStatus::NoChanges);
}

/// Two stacks, the second's parameter from the first's output: planned
/// deferred, applied in order with the output's value, and applied again with
/// the new value when the output changes.
#[tokio::test]
async fn a_parameter_comes_from_the_output_of_the_stack_before() {
    let aws = FakeAws::default();
    let v1 = receiving("abc.mail-manager-smtp.amazonaws.com");
    let stacks = [
        artifact(RECEIVING, &v1),
        wired(
            artifact(DNS, DNS_BODY),
            "IngressARecord",
            RECEIVING,
            "ARecord",
        ),
    ];
    let plans = plan(&aws, &stacks).await;
    let by = |plans: &[StackPlan], n: &str| plans.iter().find(|p| p.stack == n).cloned().unwrap();
    assert_eq!(by(&plans, RECEIVING).status, PlanStatus::Create);
    let dns = by(&plans, DNS);
    assert!(
        dns.deferred
            .as_deref()
            .is_some_and(|d| d.contains("output `ARecord`")),
        "{dns:?}"
    );
    assert!(dns.change_set_arn.is_none());
    let out = apply(&aws, &stacks, &plans, &[]).await;
    assert!(out.iter().all(StackOutcome::ok), "{out:?}");
    let param = |value: &str| vec![("IngressARecord".to_string(), value.to_string())];
    assert_eq!(
        aws.stack(DNS).unwrap().parameters,
        param("abc.mail-manager-smtp.amazonaws.com")
    );

    // The producer's output changes: the consumer follows with the new value.
    let v2 = receiving("def.mail-manager-smtp.amazonaws.com");
    let stacks = [
        artifact(RECEIVING, &v2),
        wired(
            artifact(DNS, DNS_BODY),
            "IngressARecord",
            RECEIVING,
            "ARecord",
        ),
    ];
    let plans = plan(&aws, &stacks).await;
    assert_eq!(by(&plans, RECEIVING).status, PlanStatus::Update);
    assert!(by(&plans, DNS).deferred.is_some());
    let out = apply(&aws, &stacks, &plans, &[]).await;
    assert!(out.iter().all(StackOutcome::ok), "{out:?}");
    let dns_out = out.iter().find(|o| o.stack == DNS).unwrap();
    assert_eq!(dns_out.kind, OutcomeKind::Applied);
    assert_eq!(
        aws.stack(DNS).unwrap().parameters,
        param("def.mail-manager-smtp.amazonaws.com")
    );
    assert_eq!(
        aws.requested_parameters(DNS),
        [
            param("abc.mail-manager-smtp.amazonaws.com"),
            param("def.mail-manager-smtp.amazonaws.com")
        ]
    );
    // Nothing changes now: neither stack needs a change set.
    let before = aws.calls("CreateChangeSet");
    let plans = plan(&aws, &stacks).await;
    assert!(plans.iter().all(|p| !p.has_changes()), "{plans:?}");
    assert_eq!(aws.calls("CreateChangeSet"), before);
}

/// A saved plan whose stack someone else updated in between: the staleness
/// check refuses it, and applying it anyway executes nothing (its change set
/// is OBSOLETE); the colleague's update stays.
#[tokio::test]
async fn a_saved_plan_is_refused_once_someone_else_changed_its_stack() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(SENDING, SENDING_V1)]).await;
    let v2 = [artifact(SENDING, SENDING_V2)];
    let plans = plan(&aws, &v2).await;
    assert!(still_current(&aws, &plans[0]).await.is_ok());
    let saved = PlanFile::new("spec", plans).render();

    aws.update_out_of_band(SENDING, SENDING_V3);

    let file = PlanFile::parse(&saved).unwrap();
    let why = still_current(&aws, &file.stacks[0]).await.unwrap_err();
    assert!(
        why.starts_with(&format!("stack `{SENDING}` was updated at "))
            && why.ends_with("after the plan was made"),
        "{why}"
    );
    let executed = aws.calls("ExecuteChangeSet");
    let out = apply(&aws, &v2, &file.stacks, &[]).await;
    assert_eq!(out[0].kind, OutcomeKind::Failed, "{out:?}");
    let detail = out[0].detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("CREATE_COMPLETE / OBSOLETE") && detail.contains("updated after the plan"),
        "{detail}"
    );
    assert_eq!(out[0].hint.as_deref(), Some("plan again"));
    assert_eq!(aws.calls("ExecuteChangeSet"), executed);
    assert_eq!(aws.template(SENDING).as_deref(), Some(SENDING_V3));
}

const ARCHIVE: &str = "demo-us-east-1-mail-manager";
const WITH_ARCHIVE: &str = r#"{"Resources":{
    "ArchiveJournal":{"Type":"AWS::SES::MailManagerArchive","Properties":{"ArchiveName":"journal"}},
    "Topic":{"Type":"AWS::SNS::Topic"}}}"#;
const WITHOUT_ARCHIVE: &str = r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#;

/// A saved plan edited to hide a destruction (its `stateful` flag cleared
/// and the checksum recomputed) passes the file's checks, but the gates
/// judge the change set read back from CloudFormation: still refused.
#[tokio::test]
async fn an_edited_plan_file_cannot_hide_a_destruction() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(ARCHIVE, WITH_ARCHIVE)]).await;
    let v2 = [artifact(ARCHIVE, WITHOUT_ARCHIVE)];
    let mut plans = plan(&aws, &v2).await;
    assert_eq!(unallowed_destruction(&plans, &[]).len(), 1);
    for c in &mut plans[0].changes {
        c.stateful = false;
    }
    let edited = PlanFile::new("spec", plans).render();
    let mut file = PlanFile::parse(&edited).expect("a consistent file parses");
    assert!(
        unallowed_destruction(&file.stacks, &[]).is_empty(),
        "the file alone hides it"
    );
    guards::reread(&aws, &mut file.stacks[0], &v2[0].body)
        .await
        .unwrap();
    let found = unallowed_destruction(&file.stacks, &[]);
    assert_eq!(found.len(), 1, "{:?}", file.stacks[0].changes);
    assert_eq!(found[0].1.logical_id, "ArchiveJournal");
    assert!(found[0].1.stateful);
}

/// Removing a stateful resource is refused unless it is named in the allow
/// list; named, it is applied.
#[tokio::test]
async fn removing_a_stateful_resource_is_refused_without_the_allow_list() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(ARCHIVE, WITH_ARCHIVE)]).await;
    let v2 = [artifact(ARCHIVE, WITHOUT_ARCHIVE)];
    let plans = plan(&aws, &v2).await;
    let removed = &plans[0].changes[0];
    assert_eq!(
        (removed.logical_id.as_str(), removed.action),
        ("ArchiveJournal", diff::Action::Remove)
    );
    assert!(removed.destructive());
    let why = guards::refusal(&plans, &[], &[]).expect("a refusal");
    assert!(
        why.contains(
            "ArchiveJournal (AWS::SES::MailManagerArchive) would be removed from the stack"
        ),
        "{why}"
    );
    assert!(
        why.ends_with("apply again with --allow-destroy ArchiveJournal"),
        "{why}"
    );
    let allowed = ["ArchiveJournal".to_string()];
    assert_eq!(guards::refusal(&plans, &allowed, &[]), None);
    let out = apply(&aws, &v2, &plans, &allowed).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(aws.template(ARCHIVE).as_deref(), Some(WITHOUT_ARCHIVE));
}

const WITH_LIST: &str = r#"{"Resources":{
    "AddressListVips":{"DeletionPolicy":"Retain","Type":"AWS::SES::MailManagerAddressList","Properties":{"AddressListName":"demo-vips"},"UpdateReplacePolicy":"Retain"},
    "Topic":{"Type":"AWS::SNS::Topic"}}}"#;
const RENAMED_LIST: &str = r#"{"Resources":{
    "AddressListVipClients":{"DeletionPolicy":"Retain","Type":"AWS::SES::MailManagerAddressList","Properties":{"AddressListName":"demo-vip-clients"},"UpdateReplacePolicy":"Retain"},
    "Topic":{"Type":"AWS::SNS::Topic"}}}"#;

/// An address list's members live outside the template: renaming the list
/// (a new logical id, the old one removed) is refused like any stateful
/// removal until the old list is named in the allow list.
#[tokio::test]
async fn renaming_an_address_list_is_refused_without_the_allow_list() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(ARCHIVE, WITH_LIST)]).await;
    let v2 = [artifact(ARCHIVE, RENAMED_LIST)];
    let plans = plan(&aws, &v2).await;
    let found = unallowed_destruction(&plans, &[]);
    assert_eq!(found.len(), 1, "{:?}", plans[0].changes);
    assert_eq!(found[0].1.logical_id, "AddressListVips");
    let why = guards::refusal(&plans, &[], &[]).expect("a refusal");
    assert!(
        why.contains(
            "AddressListVips (AWS::SES::MailManagerAddressList) would be removed from the stack"
        ),
        "{why}"
    );
    let allowed = ["AddressListVips".to_string()];
    assert_eq!(guards::refusal(&plans, &allowed, &[]), None);
    let out = apply(&aws, &v2, &plans, &allowed).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied, "{out:?}");
}

/// A weighted MX record set of `example.com` (older builds made one per stack).
fn weighted_mx(id: &str, set: &str) -> String {
    format!(
        r#"{{"Resources":{{"{id}":{{"Type":"AWS::Route53::RecordSet","Properties":{{"HostedZoneId":"Z1",
        "Name":"example.com","Type":"MX","TTL":"300","SetIdentifier":"{set}","Weight":1,
        "ResourceRecords":["10 inbound-smtp.us-east-1.amazonaws.com"]}}}},"Topic":{{"Type":"AWS::SNS::Topic"}}}}}}"#
    )
}
const ONE_MX: &str = r#"{"Resources":{"MxExampleCom":{"Type":"AWS::Route53::RecordSet","Properties":{"HostedZoneId":"Z1",
    "Name":"example.com","Type":"MX","TTL":"300","ResourceRecords":["10 inbound-smtp.us-east-1.amazonaws.com"]}},
    "Topic":{"Type":"AWS::SNS::Topic"}}}"#;

/// Route 53 holds no simple record set beside weighted ones of its name and
/// type, and CloudFormation creates before it deletes: weighted MX sets
/// (one per stack) followed by one simple set are refused as a rename, with
/// the two steps that work.
#[tokio::test]
async fn weighted_mx_sets_replaced_by_one_simple_set_are_refused() {
    let aws = FakeAws::default();
    let v1 = [
        artifact(
            RECEIVING,
            &weighted_mx("MxExampleComUsEast1Receiving", "us-east-1-receiving"),
        ),
        artifact(
            ARCHIVE,
            &weighted_mx("MxExampleComUsEast1MailManager", "us-east-1-mail-manager"),
        ),
    ];
    deploy(&aws, &v1).await;
    let v2 = [
        artifact(
            RECEIVING,
            r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#,
        ),
        artifact(ARCHIVE, ONE_MX),
    ];
    let plans = plan(&aws, &v2).await;
    let why = guards::refusal(&plans, &[], &[]).expect("a refusal");
    assert!(
        why.contains("MxExampleCom (AWS::Route53::RecordSet) replaces `MxExampleComUsEast1"),
        "{why}"
    );
    assert!(why.contains("Apply it in two steps"), "{why}");
}

const BUCKETS: &str = "demo-us-east-1-buckets";
/// A bucket named after the producer's output: a new output replaces it.
const BUCKET_BODY: &str = r#"{"Parameters":{"IngressARecord":{"Type":"String"}},"Resources":{
    "Mailbox":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":{"Ref":"IngressARecord"}}}}}"#;

/// A dependent re-planned during the apply (its producer's output changed)
/// whose new change set replaces a stateful resource is refused, not
/// executed, and leaves no change set; with the allow list it is applied.
/// Its deferred plan could not show this: its template did not change.
#[tokio::test]
async fn a_replan_during_apply_that_replaces_a_stateful_resource_is_refused() {
    let aws = FakeAws::default();
    let stacks = |a_record: &str| {
        [
            artifact(RECEIVING, &receiving(a_record)),
            wired(
                artifact(BUCKETS, BUCKET_BODY),
                "IngressARecord",
                RECEIVING,
                "ARecord",
            ),
        ]
    };
    deploy(&aws, &stacks("mail-a")).await;
    let v2 = stacks("mail-b");
    let plans = plan(&aws, &v2).await;
    assert_eq!(
        guards::refusal(&plans, &[], &[]),
        None,
        "nothing to see before the apply"
    );
    let out = apply(&aws, &v2, &plans, &[]).await;
    let buckets = out.iter().find(|o| o.stack == BUCKETS).unwrap();
    assert_eq!(buckets.kind, OutcomeKind::Failed, "{out:?}");
    assert_eq!(
        buckets.detail.as_deref(),
        Some(
            "refused: with the new outputs of its dependencies it would delete or replace Mailbox"
        )
    );
    assert_eq!(
        buckets.hint.as_deref(),
        Some("if this is intended, apply again with --allow-destroy Mailbox")
    );
    let param = |v: &str| vec![("IngressARecord".to_string(), v.to_string())];
    assert_eq!(aws.stack(BUCKETS).unwrap().parameters, param("mail-a"));
    // The refused change set is gone; only the first deploy's executed one is left.
    let left = aws.change_sets(BUCKETS);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].2, ExecutionStatus::ExecuteComplete);

    let plans = plan(&aws, &v2).await;
    let out = apply(&aws, &v2, &plans, &["Mailbox".to_string()]).await;
    assert!(out.iter().all(StackOutcome::ok), "{out:?}");
    assert_eq!(aws.stack(BUCKETS).unwrap().parameters, param("mail-b"));
}

/// An update whose rollback fails: the outcome says how to resume, the next
/// plan is refused, `--continue-rollback` skips exactly the named resource,
/// and then the stack can be planned again. Nothing deletes the stack.
#[tokio::test]
async fn a_failed_rollback_is_continued_never_deleted() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(SENDING, SENDING_V1)]).await;
    aws.rollback_fails(SENDING);
    let v2 = [artifact(SENDING, SENDING_V2)];
    let plans = plan(&aws, &v2).await;
    let out = apply(&aws, &v2, &plans, &[]).await;
    assert_eq!(out[0].kind, OutcomeKind::Failed, "{out:?}");
    assert_eq!(out[0].status.as_deref(), Some("UPDATE_ROLLBACK_FAILED"));
    let hint = out[0].hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("could not roll back (ConfigSetDefault)")
            && hint.contains("--continue-rollback"),
        "{hint}"
    );
    assert_eq!(
        out[0].root_cause.as_ref().unwrap().logical_id,
        "ConfigSetDefault"
    );

    let err = plan_all(&regions(&aws), &v2, &opts(Keep::ChangeSets))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("is UPDATE_ROLLBACK_FAILED")
            && text.contains("(could not roll back: ConfigSetDefault)"),
        "{text}"
    );

    let skip = ["ConfigSetDefault".to_string()];
    let out = continue_rollback(
        &aws,
        SENDING,
        REGION,
        &skip,
        &opts(Keep::ChangeSets),
        &quiet(),
    )
    .await;
    assert_eq!(out.kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(out.status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
    assert_eq!(aws.skipped(SENDING), [skip.to_vec()]);
    assert_eq!(
        aws.stack(SENDING).unwrap().status,
        StackStatus::UpdateRollbackComplete
    );
    let plans = plan(&aws, &v2).await;
    assert_eq!(plans[0].status, PlanStatus::Update);
    assert_eq!(aws.calls("DeleteStack"), 0);
}

/// A change set that never finishes creating: the plan gives up after its
/// timeout with what to do, and executes nothing.
#[tokio::test]
async fn a_change_set_that_stays_pending_times_out() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(SENDING, SENDING_V1)]).await;
    aws.change_sets_stay_pending(SENDING);
    let mut o = opts(Keep::ChangeSets);
    o.timing.change_set_timeout = Duration::from_millis(50);
    let err = plan_all(&regions(&aws), &[artifact(SENDING, SENDING_V2)], &o)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "the change set for `{SENDING}` was not ready after 50ms"
        )),
        "{err}"
    );
    assert!(aws.calls("DescribeChangeSet") > 2, "it was polled");
    assert_eq!(aws.calls("ExecuteChangeSet"), 1);
}

/// Reads that fail even after the SDK's attempts are failed polls, not a
/// failed deploy; an ExecuteChangeSet whose answer is lost is looked up,
/// found running and followed, not executed twice nor discarded.
#[tokio::test]
async fn failed_polls_and_a_lost_answer_do_not_fail_the_deploy() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(SENDING, SENDING_V1)]).await;
    let v2 = [artifact(SENDING, SENDING_V2)];
    let plans = plan(&aws, &v2).await;
    aws.lose_answers("ExecuteChangeSet", 1);
    let executed = aws.calls("ExecuteChangeSet");
    aws.fail("DescribeStacks", 3);
    let (out, warnings) = apply_warned(&aws, &v2, &plans).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(aws.calls("ExecuteChangeSet"), executed + 1);
    assert_eq!(aws.template(SENDING).as_deref(), Some(SENDING_V2));
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings.iter().all(|w| w.ends_with("still watching")),
        "{warnings:?}"
    );
}

/// ExecuteChangeSet that keeps failing (a 500 through every retry) while
/// the change set re-reads as unexecuted: "not executed", not "unknown", and
/// the change set stays for the next apply.
#[tokio::test]
async fn a_persistently_failing_execute_is_not_executed_not_unknown() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(SENDING, SENDING_V1)]).await;
    let v2 = [artifact(SENDING, SENDING_V2)];
    let plans = plan(&aws, &v2).await;
    aws.fail("ExecuteChangeSet", 1);
    let out = apply(&aws, &v2, &plans, &[]).await;
    assert_eq!(out[0].kind, OutcomeKind::Failed, "{out:?}");
    let detail = out[0].detail.as_deref().unwrap_or_default();
    assert!(detail.starts_with("not executed"), "{detail}");
    assert!(
        out[0]
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("apply` again")
    );
    assert_eq!(aws.template(SENDING).as_deref(), Some(SENDING_V1));
    let kept = aws.change_sets(SENDING);
    assert!(
        kept.iter().any(|(_, _, e)| !e.started()),
        "the change set is kept: {kept:?}"
    );
    // The same plan then applies.
    let out = apply(&aws, &v2, &plans, &[]).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied, "{out:?}");
    assert_eq!(aws.template(SENDING).as_deref(), Some(SENDING_V2));
}

/// The pre-flight marks an identity that exists outside any stack, from one
/// listing, and apply's refusal names it.
#[tokio::test]
async fn an_identity_made_by_hand_is_marked_and_refused() {
    let aws = FakeAws::default();
    aws.add_identity(crate::aws::ses::IdentityState {
        name: "Example.com".into(),
        identity_type: "DOMAIN".into(),
        verified_for_sending: true,
        verification_status: Some("SUCCESS".into()),
        ..Default::default()
    });
    let stacks = [artifact(SENDING, SENDING_V1)];
    let mut plans = plan(&aws, &stacks).await;
    let apis: BTreeMap<String, FakeAws> = [(REGION.to_string(), aws.clone())].into();
    let marked = preflight::mark_existing(&mut plans, &stacks, &apis)
        .await
        .unwrap();
    assert_eq!(marked, 1);
    assert_eq!(aws.calls("ListEmailIdentities"), 1);
    let why = guards::refusal(&plans, &[], &[]).expect("a refusal");
    assert!(
        why.contains("IdentityExampleCom (AWS::SES::EmailIdentity) is SES identity `example.com` in us-east-1 (verified)"),
        "{why}"
    );
}

/// A drift-aware plan of an unchanged stack makes a change set (it compares
/// with the live resources); CloudFormation finds nothing to do, marks it
/// FAILED with "didn't contain changes", and the plan is empty and deletes it.
#[tokio::test]
async fn an_empty_change_set_is_no_changes_and_is_deleted() {
    let aws = FakeAws::default();
    let stacks = [artifact(SENDING, SENDING_V1)];
    deploy(&aws, &stacks).await;
    let mut o = opts(Keep::ChangeSets);
    o.revert_drift = true;
    let created = aws.calls("CreateChangeSet");
    let plans = plan_all(&regions(&aws), &stacks, &o).await.unwrap();
    assert_eq!(plans[0].status, PlanStatus::NoChanges, "{plans:?}");
    assert!(plans[0].change_set_arn.is_none());
    assert_eq!(aws.calls("CreateChangeSet"), created + 1);
    assert_eq!(aws.calls("DeleteChangeSet"), 1);
    let left = aws.change_sets(SENDING);
    assert_eq!(left.len(), 1, "only the executed one: {left:?}");
    assert_eq!(left[0].2, ExecutionStatus::ExecuteComplete);
}

const SECONDARY: &str = "demo-us-west-2-sending";
const INDEPENDENT: &str = r#"{"Resources":{
    "IdentityExampleCom":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"example.com"}}}}"#;
const REPLICA: &str = r#"{"Resources":{
    "IdentityExampleCom":{"Type":"Custom::SesReplicaIdentity","Properties":{"ServiceToken":"arn:aws:lambda:us-west-2:1:function:f","Identity":"example.com","Origin":"AWS_SES_US_EAST_1"}}}}"#;

/// A resource whose type changes under one logical id (an independent
/// identity becoming a DEED replica): CloudFormation fails such a change set,
/// so none is made; the plan shows the change as not possible, with the
/// steps, and every apply (a saved plan too) refuses it.
#[tokio::test]
async fn a_type_change_is_not_possible_and_makes_no_change_set() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(SECONDARY, INDEPENDENT)]).await;
    let before = aws.calls("CreateChangeSet");
    let v2 = [artifact(SECONDARY, REPLICA)];
    let plans = plan(&aws, &v2).await;
    assert_eq!(
        aws.calls("CreateChangeSet"),
        before,
        "no change set for a type change"
    );
    assert_eq!(plans[0].change_set_arn, None);
    let why = plans[0].changes[0].blocked.as_deref().expect("blocked");
    assert!(
        why.contains("from AWS::SES::EmailIdentity to Custom::SesReplicaIdentity"),
        "{why}"
    );
    assert!(why.contains("--allow-destroy IdentityExampleCom"), "{why}");
    let refusal = guards::refusal(&plans, &["IdentityExampleCom".into()], &[]).expect("refused");
    assert!(
        refusal.contains("CloudFormation cannot make these changes"),
        "{refusal}"
    );
    // Saved and read back: the reason is worked out again, not taken from the file.
    let mut file = PlanFile::parse(&PlanFile::new("spec", plans).render()).unwrap();
    file.stacks[0].changes[0].blocked = None;
    guards::reread(&aws, &mut file.stacks[0], &v2[0].body)
        .await
        .unwrap();
    assert!(
        guards::impossible(&file.stacks).is_some(),
        "{:?}",
        file.stacks[0].changes
    );
}

const ENDPOINT: &str = "demo-us-east-1-shared";
fn endpoint(name: &str, secondary: &str) -> String {
    format!(
        r#"{{"Resources":{{"GlobalEndpoint":{{"Type":"AWS::SES::MultiRegionEndpoint","DeletionPolicy":"Retain",
        "Properties":{{"EndpointName":"{name}","Details":{{"RouteDetails":[{{"Region":"{secondary}"}}]}}}}}}}}}}"#
    )
}

/// Replacing a custom-named resource under the same name (the global
/// endpoint routed to another region) is blocked with the way out, even when
/// the user allows the destruction; CloudFormation would fail the update.
/// Under a new name it is an ordinary (gated) replacement.
#[tokio::test]
async fn replacing_a_custom_named_resource_under_its_name_is_blocked() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(ENDPOINT, &endpoint("mail", "us-west-2"))]).await;
    let moved = [artifact(ENDPOINT, &endpoint("mail", "eu-west-1"))];
    let plans = plan(&aws, &moved).await;
    let c = &plans[0].changes[0];
    assert_eq!(c.replacement, diff::Replacement::Always);
    let why = c.blocked.as_deref().expect("blocked");
    assert!(why.contains("EndpointName `mail`"), "{why}");
    let allowed = ["GlobalEndpoint".to_string()];
    assert!(guards::refusal(&plans, &allowed, &[]).is_some_and(|r| r.contains("custom name")));
    // What CloudFormation does with it: the update fails and rolls back.
    let out = apply(&aws, &moved, &plans, &allowed).await;
    assert_ne!(out[0].kind, OutcomeKind::Applied, "{out:?}");

    let renamed = [artifact(ENDPOINT, &endpoint("mail-eu", "eu-west-1"))];
    let plans = plan(&aws, &renamed).await;
    assert_eq!(plans[0].changes[0].blocked, None, "{:?}", plans[0].changes);
    assert!(
        guards::refusal(&plans, &[], &[])
            .is_some_and(|r| r.contains("--allow-destroy GlobalEndpoint"))
    );
    assert_eq!(guards::refusal(&plans, &allowed, &[]), None);
}

const PRIMARY_V1: &str = r#"{"Resources":{
    "IdentityExampleCom":{"Type":"AWS::SES::EmailIdentity","Properties":{"EmailIdentity":"example.com"}},
    "DeedPolicyExampleCom":{"Type":"Custom::SesIdentityPolicy",
        "Metadata":{"mailinfra:WaitsForVerified":{"Identity":"example.com","Region":"us-east-1"}},
        "Properties":{"ServiceToken":"arn:aws:lambda:us-east-1:1:function:f","Identity":{"Ref":"IdentityExampleCom"}}}}}"#;

/// An identity that is not verified yet: its policy is held back from the
/// change set (nothing tries to create it), the rest is applied; once it is
/// verified the next plan adds exactly the policy. A resource the stack holds
/// is never held back, verified or not.
#[tokio::test]
async fn resources_waiting_for_verification_are_held_back_until_it() {
    let aws = FakeAws::default();
    let a = [artifact(SENDING, PRIMARY_V1)];
    let mut o = opts(Keep::ChangeSets);
    o.verified = Some(std::sync::Arc::new(waits::Verified::default()));
    let plans = plan_all(&regions(&aws), &a, &o).await.unwrap();
    let waiting: Vec<&str> = plans[0]
        .waiting
        .iter()
        .map(|w| w.logical_id.as_str())
        .collect();
    assert_eq!(waiting, ["DeedPolicyExampleCom"]);
    let added: Vec<&str> = plans[0]
        .changes
        .iter()
        .map(|c| c.logical_id.as_str())
        .collect();
    assert_eq!(
        added,
        ["IdentityExampleCom"],
        "nothing tries to create the policy"
    );
    let out = apply_all(&regions(&aws), &a, &plans, &[], &o, &quiet()).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied, "{out:?}");
    assert!(
        !aws.template(SENDING)
            .unwrap()
            .contains("DeedPolicyExampleCom")
    );

    // Still not verified: nothing to do, the policy still waits. (Each plan
    // has an id of its own: its change sets' names and tokens.)
    o.plan_id = new_plan_id();
    let again = plan_all(&regions(&aws), &a, &o).await.unwrap();
    assert!(
        !again[0].has_changes() && again[0].waiting.len() == 1,
        "{again:?}"
    );

    // Verified (`None`: nothing is held back).
    o.verified = None;
    o.plan_id = new_plan_id();
    let done = plan_all(&regions(&aws), &a, &o).await.unwrap();
    let added: Vec<(&str, diff::Action)> = done[0]
        .changes
        .iter()
        .map(|c| (c.logical_id.as_str(), c.action))
        .collect();
    assert_eq!(added, [("DeedPolicyExampleCom", diff::Action::Add)]);
    assert!(done[0].waiting.is_empty());
}

/// Events that cannot be read are said, never dropped in silence: before
/// execution, while following (once per run of failures), and at the end,
/// where the outcome says the cause of a failure may be missing.
#[tokio::test]
async fn unreadable_events_are_said_not_dropped() {
    let aws = FakeAws::default();
    deploy(&aws, &[artifact(SENDING, SENDING_V1)]).await;
    let v2 = [artifact(SENDING, SENDING_V2)];
    let plans = plan(&aws, &v2).await;
    aws.fail("DescribeStackEvents", 1_000);
    let (out, warnings) = apply_warned(&aws, &v2, &plans).await;
    assert_eq!(out[0].kind, OutcomeKind::Applied, "{out:?}");
    assert!(
        warnings.iter().any(|w| w.contains("earlier events")),
        "{warnings:?}"
    );
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.starts_with("cannot read the stack's events"))
            .count(),
        1,
        "{warnings:?}"
    );
    assert!(
        out[0]
            .warnings
            .iter()
            .any(|w| w.contains("last events could not be read")),
        "{:?}",
        out[0].warnings
    );
}
