//! cfn: CloudFormation behind one narrow trait, [`StackApi`], with the real SDK
//! implementation. AWS quirks live here and nowhere else: a missing stack is a
//! `ValidationError`, an empty change set is a `FAILED` one whose reason says it
//! "didn't contain changes", change-set descriptions are paginated.

use std::future::Future;

use anyhow::{Context as _, anyhow};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, TemplateStage};

use crate::diff::{Action, Replacement, ResourceChange, is_stateful};

/// What a stack looks like now.
#[derive(Clone, Debug, PartialEq)]
pub struct StackInfo {
    pub arn: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// RFC 3339; creation time when never updated.
    pub last_updated: Option<String>,
    pub outputs: Vec<(String, String)>,
}

impl StackInfo {
    /// A stack that exists only as the holder of an unexecuted CREATE change set.
    pub fn is_review(&self) -> bool {
        self.status == "REVIEW_IN_PROGRESS"
    }

    pub fn is_in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS")
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

#[derive(Clone, Debug, PartialEq)]
pub struct StackEvent {
    pub id: String,
    pub timestamp: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

/// A request to create a change set.
#[derive(Clone, Debug)]
pub struct NewChangeSet<'a> {
    pub stack: &'a str,
    pub name: &'a str,
    pub template_body: &'a str,
    pub create: bool,
    pub capabilities: &'a [String],
    pub client_token: &'a str,
    pub description: &'a str,
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
    /// Deletes a stack (used only for the empty `REVIEW_IN_PROGRESS` stacks our own plans created).
    fn delete_stack(
        &self,
        stack_arn: &str,
        token: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Newest first, as CloudFormation returns them (first page only: callers poll).
    fn stack_events(
        &self,
        stack: &str,
    ) -> impl Future<Output = anyhow::Result<Vec<StackEvent>>> + Send;
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
}

impl SdkStackApi {
    pub async fn connect(c: &Connection) -> SdkStackApi {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(c.region.clone()));
        if let Some(p) = &c.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &c.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        SdkStackApi {
            client: Client::new(&loader.load().await),
        }
    }

    pub fn from_client(client: Client) -> SdkStackApi {
        SdkStackApi { client }
    }
}

/// One readable line for an SDK error: the service's code and message when
/// CloudFormation answered, the full cause chain otherwise (network, credentials).
fn sdk_err<E>(what: &str, e: aws_sdk_cloudformation::error::SdkError<E>) -> anyhow::Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    match e.as_service_error() {
        Some(se) if se.code().is_some() => {
            anyhow!(
                "{what}: {} ({})",
                se.message().unwrap_or("no message"),
                se.code().unwrap_or_default()
            )
        }
        _ => anyhow!("{what}: {}", DisplayErrorContext(e)),
    }
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
            .template_body(req.template_body)
            .change_set_type(if req.create {
                ChangeSetType::Create
            } else {
                ChangeSetType::Update
            })
            .client_token(req.client_token)
            .description(req.description);
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
                    ResourceChange {
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                        stateful: is_stateful(&rtype),
                        resource_type: rtype,
                        action: match rc.action().map(|a| a.as_str()) {
                            Some("Add") => Action::Add,
                            Some("Remove") => Action::Remove,
                            _ => Action::Modify,
                        },
                        replacement: replacement(rc.replacement()),
                        properties,
                    }
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

    async fn stack_events(&self, stack: &str) -> anyhow::Result<Vec<StackEvent>> {
        let out = self
            .client
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| sdk_err(&format!("cannot read the events of `{stack}`"), e))?;
        Ok(out
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
            })
            .collect())
    }
}
