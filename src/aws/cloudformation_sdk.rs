//! [`StackApi`] on the real SDK. CloudFormation's quirks live here and nowhere
//! else: a missing stack is a `ValidationError`, an empty change set is a
//! `FAILED` one whose reason says it "didn't contain changes", change-set
//! descriptions are paginated. Every listing is read to its end through the
//! SDK's paginators; only `DescribeStackEvents` is read a page at a time (the
//! deployer stops paging at the first event it has already seen).

use anyhow::Context as _;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, TemplateStage};

use super::cloudformation::*;
use super::config::{Connection, WithRetryPolicy, sdk_config};
use super::error::sdk_err;
use crate::diff::{Action, Replacement, ResourceChange};

/// The real thing.
pub struct SdkStackApi {
    client: Client,
}

impl SdkStackApi {
    pub async fn connect(c: &Connection) -> SdkStackApi {
        let conf = aws_sdk_cloudformation::config::Builder::from(&sdk_config(c).await)
            .with_retry_policy(c.retry_backoff)
            .build();
        SdkStackApi {
            client: Client::from_conf(conf),
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

/// One change of a change set, as the plan shows it.
fn resource_change(rc: &aws_sdk_cloudformation::types::ResourceChange) -> ResourceChange {
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
    let mut change = ResourceChange::new(logical_id, &rtype, action, repl, properties);
    // Only drift-aware change sets carry it.
    change.drift = rc
        .resource_drift_status()
        .map(|d| d.as_str().to_string())
        .filter(|d| d == "MODIFIED" || d == "DELETED");
    change
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
        let status = s
            .stack_status()
            .map(|st| StackStatus::parse(st.as_str()))
            .unwrap_or_default();
        // A deleted stack is still described by ARN for a while.
        if status == StackStatus::DeleteComplete {
            return Ok(None);
        }
        Ok(Some(StackInfo {
            arn: s.stack_id().unwrap_or_default().to_string(),
            status,
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
            termination_protection: s.enable_termination_protection().unwrap_or(false),
        }))
    }

    async fn list_stacks(&self) -> anyhow::Result<Vec<StackSummary>> {
        let all = self
            .client
            .list_stacks()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err("cannot list the stacks", e))?;
        // Deleted stacks are listed for 90 days after; they are not stacks any more.
        Ok(all
            .iter()
            .map(|s| StackSummary {
                name: s.stack_name().unwrap_or_default().to_string(),
                arn: s.stack_id().unwrap_or_default().to_string(),
                status: s
                    .stack_status()
                    .map(|st| StackStatus::parse(st.as_str()))
                    .unwrap_or_default(),
                description: s.template_description().map(str::to_string),
            })
            .filter(|s| s.status != StackStatus::DeleteComplete)
            .collect())
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
        // Every page, before anything is rendered or guarded: a replacement on
        // page 2 must not go unseen.
        let pages = self
            .client
            .describe_change_set()
            .change_set_name(arn)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err("cannot describe the change set", e))?;
        let first = pages
            .first()
            .context("DescribeChangeSet returned nothing")?;
        Ok(ChangeSetInfo {
            arn: first.change_set_id().unwrap_or(arn).to_string(),
            stack_arn: first.stack_id().unwrap_or_default().to_string(),
            status: first
                .status()
                .map(|s| ChangeSetStatus::parse(s.as_str()))
                .unwrap_or_default(),
            execution_status: first
                .execution_status()
                .map(|s| ExecutionStatus::parse(s.as_str()))
                .unwrap_or_default(),
            status_reason: first.status_reason().map(str::to_string),
            changes: pages
                .iter()
                .flat_map(|page| page.changes())
                .filter_map(|c| c.resource_change())
                .map(resource_change)
                .collect(),
        })
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
        let mut out: Vec<String> = self
            .client
            .describe_events()
            .change_set_name(change_set_arn)
            .filters(
                aws_sdk_cloudformation::types::EventFilter::builder()
                    .failed_events(true)
                    .build(),
            )
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err("cannot read why the change set failed", e))?
            .iter()
            .filter_map(failure_line)
            .collect();
        out.dedup();
        Ok(out)
    }

    async fn list_change_sets(&self, stack: &str) -> anyhow::Result<Vec<ChangeSetSummary>> {
        let all = self
            .client
            .list_change_sets()
            .stack_name(stack)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err(&format!("cannot list the change sets of `{stack}`"), e))?;
        // Only this stack's (some emulators ignore the filter and list the whole region).
        Ok(all
            .iter()
            .filter(|c| c.stack_id() == Some(stack) || c.stack_name() == Some(stack))
            .map(|c| ChangeSetSummary {
                name: c.change_set_name().unwrap_or_default().to_string(),
                arn: c.change_set_id().unwrap_or_default().to_string(),
                status: c
                    .status()
                    .map(|s| ChangeSetStatus::parse(s.as_str()))
                    .unwrap_or_default(),
                execution_status: c
                    .execution_status()
                    .map(|s| ExecutionStatus::parse(s.as_str()))
                    .unwrap_or_default(),
            })
            .collect())
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
        let all = self
            .client
            .list_stack_resources()
            .stack_name(stack)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err(&format!("cannot list the resources of `{stack}`"), e))?;
        Ok(all
            .iter()
            .map(|r| StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                status: r
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            })
            .collect())
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
        // This paginator has no item view: pages, flattened here.
        let pages = self
            .client
            .describe_stack_resource_drifts()
            .stack_name(stack)
            .stack_resource_drift_status_filters(S::Modified)
            .stack_resource_drift_status_filters(S::Deleted)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_err(&format!("cannot read the drift of `{stack}`"), e))?;
        Ok(pages
            .iter()
            .flat_map(|page| page.stack_resource_drifts())
            .map(|d| ResourceDrift {
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
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every status this SDK knows has its own variant: only values newer
    /// than the SDK end up as `Other`.
    #[test]
    fn every_status_of_the_sdk_is_known() {
        use aws_sdk_cloudformation::types as sdk;
        for v in sdk::StackStatus::values() {
            assert!(
                !matches!(StackStatus::parse(v), StackStatus::Other(_)),
                "{v}"
            );
        }
        for v in sdk::ChangeSetStatus::values() {
            assert!(
                !matches!(ChangeSetStatus::parse(v), ChangeSetStatus::Other(_)),
                "{v}"
            );
        }
        for v in sdk::ExecutionStatus::values() {
            assert!(
                !matches!(ExecutionStatus::parse(v), ExecutionStatus::Other(_)),
                "{v}"
            );
        }
        assert_eq!(StackStatus::KNOWN.len(), sdk::StackStatus::values().len());
    }
}
