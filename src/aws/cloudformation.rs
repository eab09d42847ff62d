//! CloudFormation as mailinfra sees it: the operations it uses behind one
//! narrow trait, [`StackApi`], and the plain types they return. Nothing here
//! names an SDK type; the real implementation is [`super::cloudformation_sdk`].

use std::future::Future;

use crate::diff::ResourceChange;

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
