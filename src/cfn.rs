//! cfn: CloudFormation behind one narrow trait, [`StackApi`], with the real SDK
//! implementation. AWS quirks live here and nowhere else: a missing stack is a
//! `ValidationError`, an empty change set is a `FAILED` one whose reason says it
//! "didn't contain changes", change-set descriptions are paginated.

use std::future::Future;

use anyhow::{Context as _, anyhow};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, TemplateStage};

use crate::diff::{Action, Replacement, ResourceChange};

/// What a stack looks like now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackInfo {
    pub arn: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// RFC 3339; creation time when never updated.
    pub last_updated: Option<String>,
    pub outputs: Vec<(String, String)>,
    /// The parameter values the stack was deployed with.
    pub parameters: Vec<(String, String)>,
}

impl StackInfo {
    /// A stack that exists only as the holder of an unexecuted CREATE change set.
    pub fn is_review(&self) -> bool {
        self.status == "REVIEW_IN_PROGRESS"
    }

    pub fn is_in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS")
    }

    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSetInfo {
    pub arn: String,
    pub stack_arn: String,
    pub status: String,
    pub execution_status: String,
    pub status_reason: Option<String>,
    /// Every page, in order.
    pub changes: Vec<ResourceChange>,
}

impl ChangeSetInfo {
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status.as_str(),
            "CREATE_PENDING" | "CREATE_IN_PROGRESS"
        )
    }

    /// CloudFormation's way of saying "nothing to do" (prefix match: AWS has
    /// appended text to these messages before).
    pub fn is_empty_failure(&self) -> bool {
        self.status == "FAILED"
            && self.status_reason.as_deref().is_some_and(|r| {
                r.starts_with("The submitted information didn't contain changes")
                    || r.starts_with("No updates are to be performed")
            })
    }
}

/// One change set of a stack, as ListChangeSets shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSetSummary {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub execution_status: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StackEvent {
    pub id: String,
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    /// The `ClientRequestToken` of the operation that caused the event.
    pub token: Option<String>,
}

/// One page of `DescribeStackEvents`: events newest first, and the token of the next page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventPage {
    pub events: Vec<StackEvent>,
    pub next_token: Option<String>,
}

/// One resource of a deployed stack.
#[derive(Clone, Debug, PartialEq)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub status: String,
}

/// A resource whose live configuration differs from its template.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    /// `MODIFIED` or `DELETED` (`IN_SYNC` and `NOT_CHECKED` are not returned).
    pub status: String,
    /// Property paths that differ.
    pub properties: Vec<String>,
}

/// Where a drift detection stands.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftStatus {
    /// `DETECTION_IN_PROGRESS`, `DETECTION_COMPLETE` or `DETECTION_FAILED`.
    pub detection: String,
    /// `DRIFTED`, `IN_SYNC`, `UNKNOWN` or `NOT_CHECKED`.
    pub stack: String,
    pub reason: Option<String>,
}

/// A request to create a change set.
#[derive(Clone, Debug)]
pub struct NewChangeSet<'a> {
    pub stack: &'a str,
    pub name: &'a str,
    pub template_body: &'a str,
    /// Set for templates over the inline limit: the body was uploaded here.
    pub template_url: Option<&'a str>,
    pub parameters: &'a [(String, String)],
    pub create: bool,
    pub capabilities: &'a [String],
    pub client_token: &'a str,
    pub description: &'a str,
    /// The CloudFormation service role the stack operations run as.
    pub role_arn: Option<&'a str>,
    /// A drift-aware change set (`REVERT_DRIFT`; updates only).
    pub revert_drift: bool,
    /// Import resources of the template that already exist under their name
    /// (`ImportExistingResources`) instead of failing to create them.
    pub import_existing: bool,
}

/// An error an AWS service (or the network) returned, classified once here.
#[derive(Debug)]
pub struct AwsError {
    pub code: Option<String>,
    pub message: String,
    /// Throttling, a 5xx, a timeout or a dropped connection: worth retrying.
    pub transient: bool,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AwsError {}

/// Whether an error is worth retrying (throttling, 5xx, network).
pub fn is_transient(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<AwsError>().is_some_and(|a| a.transient))
}

/// The AWS error code behind an error, if any.
pub fn error_code(e: &anyhow::Error) -> Option<&str> {
    e.chain()
        .find_map(|c| c.downcast_ref::<AwsError>().and_then(|a| a.code.as_deref()))
}

/// Expired or missing credentials: we lose sight of a deploy, the deploy goes on.
pub fn is_credentials_error(e: &anyhow::Error) -> bool {
    matches!(
        error_code(e),
        Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired" | "InvalidClientTokenId")
    )
}

/// The CloudFormation operations mailinfra uses.
pub trait StackApi: Sync {
    fn describe_stack(
        &self,
        stack: &str,
    ) -> impl Future<Output = anyhow::Result<Option<StackInfo>>> + Send;
    /// The deployed template body (`Original` stage).
    fn get_template(
        &self,
        stack: &str,
    ) -> impl Future<Output = anyhow::Result<Option<String>>> + Send;
    /// Returns the change set's ARN.
    fn create_change_set(
        &self,
        req: NewChangeSet<'_>,
    ) -> impl Future<Output = anyhow::Result<String>> + Send;
    fn describe_change_set(
        &self,
        arn: &str,
    ) -> impl Future<Output = anyhow::Result<ChangeSetInfo>> + Send;
    fn execute_change_set(
        &self,
        arn: &str,
        token: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn delete_change_set(&self, arn: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The change sets of a stack (used to tell our own leftovers from a colleague's plans).
    fn list_change_sets(
        &self,
        stack: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<ChangeSetSummary>>> + Send;
    /// Deletes a stack: only the empty `REVIEW_IN_PROGRESS` stacks our own plans
    /// created, and `ROLLBACK_COMPLETE` leftovers of a failed first create.
    fn delete_stack(
        &self,
        stack_arn: &str,
        token: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// One page of events, newest first as CloudFormation returns them, and
    /// the token of the next (older) page.
    fn stack_events(
        &self,
        stack: &str,
        next_token: Option<&str>,
    ) -> impl Future<Output = anyhow::Result<EventPage>> + Send;
    /// Why a change set failed, resource by resource (early validation, hooks,
    /// template errors): its failed events from `DescribeEvents`, every page.
    fn change_set_failures(
        &self,
        change_set_arn: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;
    fn update_termination_protection(
        &self,
        stack: &str,
        enable: bool,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// CancelUpdateStack: stops an update in progress and rolls it back.
    fn cancel_update_stack(
        &self,
        stack: &str,
        token: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// ContinueUpdateRollback, skipping exactly `skip` (logical ids the user named).
    fn continue_update_rollback(
        &self,
        stack: &str,
        skip: &[String],
        token: &str,
        role_arn: Option<&str>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn stack_resources(
        &self,
        stack: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<StackResource>>> + Send;
    /// Starts drift detection; returns the detection id.
    fn detect_drift(&self, stack: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
    fn drift_status(&self, id: &str) -> impl Future<Output = anyhow::Result<DriftStatus>> + Send;
    /// Resources that drifted (`MODIFIED` or `DELETED`).
    fn resource_drifts(
        &self,
        stack: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<ResourceDrift>>> + Send;
}

/// Where large templates go: an S3 object whose URL CreateChangeSet reads.
pub trait TemplateStore: Sync {
    /// Uploads `body` under a content-addressed key; returns its URL.
    fn put_template(&self, body: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// The S3 key of a template: its SHA-256, so a concurrent plan cannot replace
/// the object a reviewed change set was made from.
pub fn template_key(body: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "mailinfra/{}.json",
        crate::pipeline::hex(&Sha256::digest(body.as_bytes()))
    )
}

/// The bucket used when `--template-bucket` is not given.
pub fn default_template_bucket(account: &str, region: &str) -> String {
    format!("mailinfra-templates-{account}-{region}")
}

/// Templates uploaded to S3, with the bucket's owner checked on every request
/// (`ExpectedBucketOwner`): the default bucket name is predictable.
pub struct S3TemplateStore {
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    bucket: Option<String>,
    region: String,
    endpoint_url: Option<String>,
    account: tokio::sync::OnceCell<String>,
}

impl S3TemplateStore {
    pub async fn connect(c: &Connection, bucket: Option<String>) -> S3TemplateStore {
        let conf = sdk_config(c).await;
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(c.endpoint_url.is_some())
            .build();
        S3TemplateStore {
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::new(&conf),
            bucket,
            region: c.region.clone(),
            endpoint_url: c.endpoint_url.clone(),
            account: tokio::sync::OnceCell::new(),
        }
    }

    /// From clients built elsewhere (tests); `account` skips the STS call.
    pub fn from_clients(
        s3: aws_sdk_s3::Client,
        sts: aws_sdk_sts::Client,
        bucket: Option<String>,
        region: &str,
        account: Option<String>,
    ) -> S3TemplateStore {
        S3TemplateStore {
            s3,
            sts,
            bucket,
            region: region.to_string(),
            endpoint_url: None,
            account: tokio::sync::OnceCell::new_with(account),
        }
    }

    async fn account(&self) -> anyhow::Result<&str> {
        self.account
            .get_or_try_init(|| async {
                let out = self.sts.get_caller_identity().send().await.map_err(|e| {
                    anyhow!(
                        "cannot find the AWS account (needed to check who owns the template bucket): {}",
                        DisplayErrorContext(e)
                    )
                })?;
                out.account()
                    .map(str::to_string)
                    .context("GetCallerIdentity returned no account")
            })
            .await
            .map(String::as_str)
    }
}

impl TemplateStore for S3TemplateStore {
    async fn put_template(&self, body: &str) -> anyhow::Result<String> {
        let account = self.account().await?.to_string();
        let bucket = self
            .bucket
            .clone()
            .unwrap_or_else(|| default_template_bucket(&account, &self.region));
        let key = template_key(body);
        self.s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .expected_bucket_owner(&account)
            .content_type("application/json")
            .body(aws_sdk_s3::primitives::ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| {
                let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
                if code == "NoSuchBucket" {
                    anyhow!(
                        "the template is over {} bytes and must be uploaded to S3, but bucket `{bucket}` does not exist: create it (`aws s3 mb s3://{bucket} --region {}`) or name one with `--template-bucket`",
                        crate::build::INLINE_TEMPLATE_LIMIT,
                        self.region
                    )
                } else {
                    anyhow!(
                        "cannot upload the template to `s3://{bucket}/{key}` (the bucket must belong to account {account}): {}",
                        DisplayErrorContext(e)
                    )
                }
            })?;
        Ok(match &self.endpoint_url {
            Some(e) => format!("{}/{bucket}/{key}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", self.region),
        })
    }
}

/// For stacks whose templates all fit inline: uploading is an error.
pub struct NoTemplateStore;

impl TemplateStore for NoTemplateStore {
    async fn put_template(&self, _body: &str) -> anyhow::Result<String> {
        anyhow::bail!("no template bucket is configured for templates over the inline limit")
    }
}

/// The real thing.
pub struct SdkStackApi {
    client: Client,
}

/// Where and as whom to talk to AWS.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// First retry backoff of the SDK (default 1 s); tests against a local emulator use less.
    pub retry_backoff: Option<std::time::Duration>,
}

/// The SDK configuration for one region: the standard credential chain, and a
/// retry policy generous enough for many stacks in parallel (CloudFormation
/// throttles hard): 7 attempts, exponential backoff with jitter from 1 s to 15 s.
pub async fn sdk_config(c: &Connection) -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(c.region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(7)
                .with_initial_backoff(c.retry_backoff.unwrap_or(std::time::Duration::from_secs(1)))
                .with_max_backoff(
                    c.retry_backoff
                        .map_or(std::time::Duration::from_secs(15), |b| b * 4),
                ),
        );
    if let Some(p) = &c.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &c.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

impl SdkStackApi {
    pub async fn connect(c: &Connection) -> SdkStackApi {
        SdkStackApi {
            client: Client::new(&sdk_config(c).await),
        }
    }

    pub fn from_client(client: Client) -> SdkStackApi {
        SdkStackApi { client }
    }
}

/// One line for a failed operation event: the resource, the check or hook that
/// failed, and the reason.
fn failure_line(e: &aws_sdk_cloudformation::types::OperationEvent) -> Option<String> {
    let reason = e
        .validation_status_reason()
        .or(e.hook_status_reason())
        .or(e.resource_status_reason())?;
    let what = match (e.validation_name(), e.hook_type()) {
        (Some(v), _) => format!(" failed {v}"),
        (None, Some(h)) => format!(" failed hook {h}"),
        _ => String::new(),
    };
    let resource = match (e.logical_resource_id(), e.resource_type()) {
        (Some(id), Some(t)) => format!("{id} ({t})"),
        (Some(id), None) => id.to_string(),
        _ => "the stack".to_string(),
    };
    let path = e
        .validation_path()
        .map(|p| format!(" at {p}"))
        .unwrap_or_default();
    Some(format!("{resource}{what}{path}: {reason}"))
}

/// One readable error for an SDK failure: the service's code and message when
/// the service answered, the full cause chain otherwise (network,
/// credentials); classified as transient or not for the retry loops. Every AWS
/// SDK crate re-exports the same `SdkError`, so the other services' clients
/// (`crate::ses`) use this too.
pub(crate) fn sdk_err<E>(what: &str, e: aws_sdk_cloudformation::error::SdkError<E>) -> anyhow::Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    use aws_sdk_cloudformation::error::SdkError;
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e
        .as_service_error()
        .and_then(|se| se.code())
        .map(str::to_string);
    let transient = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => {
            status.is_some_and(|s| s >= 500 || s == 429)
                || matches!(
                    code.as_deref(),
                    Some(
                        "Throttling"
                            | "ThrottlingException"
                            | "RequestLimitExceeded"
                            | "TooManyRequestsException"
                            | "InternalFailure"
                            | "ServiceUnavailable"
                    )
                )
        }
    };
    let message = match e.as_service_error() {
        Some(se) if se.code().is_some() => format!(
            "{what}: {} ({})",
            se.message().unwrap_or("no message"),
            se.code().unwrap_or_default()
        ),
        _ => format!("{what}: {}", DisplayErrorContext(&e)),
    };
    anyhow::Error::new(AwsError {
        code,
        message,
        transient,
    })
}

fn is_missing_stack<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
}

fn replacement(r: Option<&aws_sdk_cloudformation::types::Replacement>) -> Replacement {
    match r.map(|r| r.as_str()) {
        Some("True") => Replacement::Always,
        Some("Conditional") => Replacement::Conditional,
        _ => Replacement::Never,
    }
}

impl StackApi for SdkStackApi {
    async fn describe_stack(&self, stack: &str) -> anyhow::Result<Option<StackInfo>> {
        let out = match self.client.describe_stacks().stack_name(stack).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(is_missing_stack) => return Ok(None),
            Err(e) => return Err(sdk_err(&format!("cannot describe stack `{stack}`"), e)),
        };
        let Some(s) = out.stacks().first() else {
            return Ok(None);
        };
        if s.stack_status()
            .is_some_and(|st| st.as_str() == "DELETE_COMPLETE")
        {
            return Ok(None);
        }
        Ok(Some(StackInfo {
            arn: s.stack_id().unwrap_or_default().to_string(),
            status: s
                .stack_status()
                .map(|st| st.as_str().to_string())
                .unwrap_or_default(),
            status_reason: s.stack_status_reason().map(str::to_string),
            last_updated: s
                .last_updated_time()
                .or(s.creation_time())
                .map(|t| t.to_string()),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect(),
            parameters: s
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_string(),
                        p.parameter_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
        }))
    }

    async fn get_template(&self, stack: &str) -> anyhow::Result<Option<String>> {
        match self
            .client
            .get_template()
            .stack_name(stack)
            .template_stage(TemplateStage::Original)
            .send()
            .await
        {
            Ok(o) => Ok(o.template_body().map(str::to_string)),
            Err(e) if e.as_service_error().is_some_and(is_missing_stack) => Ok(None),
            Err(e) => Err(sdk_err(
                &format!("cannot read the template of `{stack}`"),
                e,
            )),
        }
    }

    async fn create_change_set(&self, req: NewChangeSet<'_>) -> anyhow::Result<String> {
        let mut call = self
            .client
            .create_change_set()
            .stack_name(req.stack)
            .change_set_name(req.name)
            .change_set_type(if req.create {
                ChangeSetType::Create
            } else {
                ChangeSetType::Update
            })
            .client_token(req.client_token)
            .description(req.description)
            .set_role_arn(req.role_arn.map(str::to_string));
        if req.import_existing {
            call = call.import_existing_resources(true);
        }
        if req.revert_drift && !req.create {
            call = call.deployment_mode(aws_sdk_cloudformation::types::DeploymentMode::RevertDrift);
        }
        call = match req.template_url {
            Some(url) => call.template_url(url),
            None => call.template_body(req.template_body),
        };
        for (k, v) in req.parameters {
            call = call.parameters(
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build(),
            );
        }
        for c in req.capabilities {
            call = call.capabilities(Capability::from(c.as_str()));
        }
        let out = call.send().await.map_err(|e| {
            sdk_err(
                &format!("cannot create a change set for `{}`", req.stack),
                e,
            )
        })?;
        out.id()
            .map(str::to_string)
            .context("CreateChangeSet returned no id")
    }

    async fn describe_change_set(&self, arn: &str) -> anyhow::Result<ChangeSetInfo> {
        let mut info: Option<ChangeSetInfo> = None;
        let mut token: Option<String> = None;
        // Read every page: a replacement on page 2 must not go unseen.
        loop {
            let out = self
                .client
                .describe_change_set()
                .change_set_name(arn)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_err("cannot describe the change set", e))?;
            let page: Vec<ResourceChange> = out
                .changes()
                .iter()
                .filter_map(|c| c.resource_change())
                .map(|rc| {
                    let rtype = rc.resource_type().unwrap_or_default().to_string();
                    let mut properties: Vec<String> = rc
                        .details()
                        .iter()
                        .filter_map(|d| d.target()?.name().map(str::to_string))
                        .collect();
                    properties.sort();
                    properties.dedup();
                    let action = match rc.action().map(|a| a.as_str()) {
                        Some("Add") => Action::Add,
                        Some("Remove") => Action::Remove,
                        Some("Import") => Action::Import,
                        _ => Action::Modify,
                    };
                    // A policy action of `Delete`/`ReplaceAndDelete` or a detail that
                    // always recreates is a replacement even if `Replacement` says less.
                    let mut repl = replacement(rc.replacement());
                    let recreates = rc.details().iter().any(|d| {
                        d.target()
                            .and_then(|t| t.requires_recreation())
                            .is_some_and(|r| r.as_str() == "Always")
                    });
                    if repl == Replacement::Never && recreates && action == Action::Modify {
                        repl = Replacement::Conditional;
                    }
                    let logical_id = rc.logical_resource_id().unwrap_or_default();
                    let mut change =
                        ResourceChange::new(logical_id, &rtype, action, repl, properties);
                    // Only drift-aware change sets carry it.
                    change.drift = rc
                        .resource_drift_status()
                        .map(|d| d.as_str().to_string())
                        .filter(|d| d == "MODIFIED" || d == "DELETED");
                    change
                })
                .collect();
            let entry = info.get_or_insert_with(|| ChangeSetInfo {
                arn: out.change_set_id().unwrap_or(arn).to_string(),
                stack_arn: out.stack_id().unwrap_or_default().to_string(),
                status: out
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                execution_status: out
                    .execution_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                status_reason: out.status_reason().map(str::to_string),
                changes: Vec::new(),
            });
            entry.changes.extend(page);
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        info.context("DescribeChangeSet returned nothing")
    }

    async fn execute_change_set(&self, arn: &str, token: &str) -> anyhow::Result<()> {
        self.client
            .execute_change_set()
            .change_set_name(arn)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| sdk_err("cannot execute the change set", e))?;
        Ok(())
    }

    async fn delete_change_set(&self, arn: &str) -> anyhow::Result<()> {
        self.client
            .delete_change_set()
            .change_set_name(arn)
            .send()
            .await
            .map_err(|e| sdk_err("cannot delete the change set", e))?;
        Ok(())
    }

    async fn delete_stack(&self, stack_arn: &str, token: &str) -> anyhow::Result<()> {
        self.client
            .delete_stack()
            .stack_name(stack_arn)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| sdk_err("cannot delete the empty stack", e))?;
        Ok(())
    }

    async fn stack_events(
        &self,
        stack: &str,
        next_token: Option<&str>,
    ) -> anyhow::Result<EventPage> {
        let out = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .set_next_token(next_token.map(str::to_string))
            .send()
            .await
            .map_err(|e| sdk_err(&format!("cannot read the events of `{stack}`"), e))?;
        let events = out
            .stack_events()
            .iter()
            .map(|e| StackEvent {
                id: e.event_id().unwrap_or_default().to_string(),
                timestamp: e.timestamp().map(|t| t.to_string()).unwrap_or_default(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_string),
                token: e.client_request_token().map(str::to_string),
            })
            .collect();
        Ok(EventPage {
            events,
            next_token: out.next_token().map(str::to_string),
        })
    }

    async fn change_set_failures(&self, change_set_arn: &str) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_events()
                .change_set_name(change_set_arn)
                .filters(
                    aws_sdk_cloudformation::types::EventFilter::builder()
                        .failed_events(true)
                        .build(),
                )
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_err("cannot read why the change set failed", e))?;
            out.extend(page.operation_events().iter().filter_map(failure_line));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.dedup();
        Ok(out)
    }

    async fn list_change_sets(&self, stack: &str) -> anyhow::Result<Vec<ChangeSetSummary>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_change_sets()
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_err(&format!("cannot list the change sets of `{stack}`"), e))?;
            // Only this stack's (some emulators ignore the filter and list the whole region).
            let mine = |c: &&aws_sdk_cloudformation::types::ChangeSetSummary| {
                c.stack_id() == Some(stack) || c.stack_name() == Some(stack)
            };
            out.extend(page.summaries().iter().filter(mine).map(|c| {
                ChangeSetSummary {
                    name: c.change_set_name().unwrap_or_default().to_string(),
                    arn: c.change_set_id().unwrap_or_default().to_string(),
                    status: c
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    execution_status: c
                        .execution_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                }
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn update_termination_protection(&self, stack: &str, enable: bool) -> anyhow::Result<()> {
        self.client
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(enable)
            .send()
            .await
            .map_err(|e| {
                sdk_err(
                    &format!("cannot change the termination protection of `{stack}`"),
                    e,
                )
            })?;
        Ok(())
    }

    async fn cancel_update_stack(&self, stack: &str, token: &str) -> anyhow::Result<()> {
        self.client
            .cancel_update_stack()
            .stack_name(stack)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| sdk_err(&format!("cannot cancel the update of `{stack}`"), e))?;
        Ok(())
    }

    async fn continue_update_rollback(
        &self,
        stack: &str,
        skip: &[String],
        token: &str,
        role_arn: Option<&str>,
    ) -> anyhow::Result<()> {
        self.client
            .continue_update_rollback()
            .stack_name(stack)
            .set_resources_to_skip(Some(skip.to_vec()).filter(|s| !s.is_empty()))
            .client_request_token(token)
            .set_role_arn(role_arn.map(str::to_string))
            .send()
            .await
            .map_err(|e| sdk_err(&format!("cannot continue the rollback of `{stack}`"), e))?;
        Ok(())
    }

    async fn stack_resources(&self, stack: &str) -> anyhow::Result<Vec<StackResource>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_stack_resources()
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_err(&format!("cannot list the resources of `{stack}`"), e))?;
            out.extend(page.stack_resource_summaries().iter().map(|r| {
                StackResource {
                    logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                    physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                    resource_type: r.resource_type().unwrap_or_default().to_string(),
                    status: r
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                }
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn detect_drift(&self, stack: &str) -> anyhow::Result<String> {
        let out = self
            .client
            .detect_stack_drift()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| sdk_err(&format!("cannot start drift detection on `{stack}`"), e))?;
        out.stack_drift_detection_id()
            .map(str::to_string)
            .context("DetectStackDrift returned no detection id")
    }

    async fn drift_status(&self, id: &str) -> anyhow::Result<DriftStatus> {
        let out = self
            .client
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(id)
            .send()
            .await
            .map_err(|e| sdk_err("cannot read the drift detection status", e))?;
        Ok(DriftStatus {
            detection: out
                .detection_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            stack: out
                .stack_drift_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: out.detection_status_reason().map(str::to_string),
        })
    }

    async fn resource_drifts(&self, stack: &str) -> anyhow::Result<Vec<ResourceDrift>> {
        use aws_sdk_cloudformation::types::StackResourceDriftStatus as S;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_stack_resource_drifts()
                .stack_name(stack)
                .stack_resource_drift_status_filters(S::Modified)
                .stack_resource_drift_status_filters(S::Deleted)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_err(&format!("cannot read the drift of `{stack}`"), e))?;
            out.extend(page.stack_resource_drifts().iter().map(|d| {
                ResourceDrift {
                    logical_id: d.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: d.resource_type().unwrap_or_default().to_string(),
                    status: d
                        .stack_resource_drift_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    properties: d
                        .property_differences()
                        .iter()
                        .filter_map(|p| p.property_path().map(str::to_string))
                        .collect(),
                }
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }
}
