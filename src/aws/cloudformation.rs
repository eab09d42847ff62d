//! CloudFormation as mailinfra sees it: the operations it uses behind one
//! narrow trait, [`StackApi`], and the plain types they return. Nothing here
//! names an SDK type; the real implementation is [`super::cloudformation_sdk`].
//!
//! Stack, change-set and execution statuses are enums, parsed once from the
//! API's text by the implementation; a value this version does not know (AWS
//! adds statuses over time) is kept as `Other` with the API's spelling, so it
//! is shown as AWS wrote it and matches none of the cases the deployer acts on.

use std::future::Future;

use crate::diff::ResourceChange;

/// A status enum over the API's spellings, with an `Other` fallback.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, as the API spelled it.
            Other(String),
        }

        impl $name {
            /// Every known value, in the API's order.
            pub const KNOWN: &[$name] = &[$($name::$variant,)*];

            /// The status the API's text names.
            pub fn parse(text: &str) -> $name {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }

            /// The API's spelling: what plans, outcomes and the journal show.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }
        }

        impl Default for $name {
            /// No status given (an answer that left it out).
            fn default() -> $name {
                $name::Other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> $name {
                $name::parse(text)
            }
        }
    };
}

api_enum! {
    /// A stack's status (`StackStatus`).
    StackStatus {
        CreateInProgress = "CREATE_IN_PROGRESS",
        CreateFailed = "CREATE_FAILED",
        CreateComplete = "CREATE_COMPLETE",
        RollbackInProgress = "ROLLBACK_IN_PROGRESS",
        RollbackFailed = "ROLLBACK_FAILED",
        RollbackComplete = "ROLLBACK_COMPLETE",
        DeleteInProgress = "DELETE_IN_PROGRESS",
        DeleteFailed = "DELETE_FAILED",
        DeleteComplete = "DELETE_COMPLETE",
        UpdateInProgress = "UPDATE_IN_PROGRESS",
        UpdateCompleteCleanupInProgress = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        UpdateComplete = "UPDATE_COMPLETE",
        UpdateFailed = "UPDATE_FAILED",
        UpdateRollbackInProgress = "UPDATE_ROLLBACK_IN_PROGRESS",
        UpdateRollbackFailed = "UPDATE_ROLLBACK_FAILED",
        UpdateRollbackCompleteCleanupInProgress = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        UpdateRollbackComplete = "UPDATE_ROLLBACK_COMPLETE",
        /// Holds an unexecuted CREATE change set and nothing else.
        ReviewInProgress = "REVIEW_IN_PROGRESS",
        ImportInProgress = "IMPORT_IN_PROGRESS",
        ImportComplete = "IMPORT_COMPLETE",
        ImportRollbackInProgress = "IMPORT_ROLLBACK_IN_PROGRESS",
        ImportRollbackFailed = "IMPORT_ROLLBACK_FAILED",
        ImportRollbackComplete = "IMPORT_ROLLBACK_COMPLETE",
    }
}

impl StackStatus {
    /// An operation is running on the stack (any `*_IN_PROGRESS`, a status
    /// AWS adds later too), or it is under review.
    pub fn is_in_progress(&self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS")
    }

    /// A stack that exists only as the holder of an unexecuted CREATE change set.
    pub fn is_review(&self) -> bool {
        *self == StackStatus::ReviewInProgress
    }

    /// Another operation is changing the stack: in progress, not under review.
    pub fn is_busy(&self) -> bool {
        self.is_in_progress() && !self.is_review()
    }

    /// A terminal state that means the operation worked.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::ImportComplete
        )
    }
}

api_enum! {
    /// A change set's status (`ChangeSetStatus`): how its creation went.
    ChangeSetStatus {
        CreatePending = "CREATE_PENDING",
        CreateInProgress = "CREATE_IN_PROGRESS",
        CreateComplete = "CREATE_COMPLETE",
        DeletePending = "DELETE_PENDING",
        DeleteInProgress = "DELETE_IN_PROGRESS",
        DeleteComplete = "DELETE_COMPLETE",
        DeleteFailed = "DELETE_FAILED",
        Failed = "FAILED",
    }
}

impl ChangeSetStatus {
    /// CloudFormation is still working out the changes.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress
        )
    }
}

api_enum! {
    /// Whether a change set can be executed (`ExecutionStatus`).
    ExecutionStatus {
        Unavailable = "UNAVAILABLE",
        Available = "AVAILABLE",
        ExecuteInProgress = "EXECUTE_IN_PROGRESS",
        ExecuteComplete = "EXECUTE_COMPLETE",
        ExecuteFailed = "EXECUTE_FAILED",
        /// The stack was updated after the change set was made.
        Obsolete = "OBSOLETE",
    }
}

impl ExecutionStatus {
    /// The change set was executed (it may still be running or have failed).
    pub fn started(&self) -> bool {
        matches!(
            self,
            ExecutionStatus::ExecuteInProgress
                | ExecutionStatus::ExecuteComplete
                | ExecutionStatus::ExecuteFailed
        )
    }
}

/// What a stack looks like now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackInfo {
    pub arn: String,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    /// RFC 3339; creation time when never updated.
    pub last_updated: Option<String>,
    pub outputs: Vec<(String, String)>,
    /// The parameter values the stack was deployed with.
    pub parameters: Vec<(String, String)>,
    /// Termination protection is on: CloudFormation refuses to delete the stack.
    pub termination_protection: bool,
}

/// One stack of the account and region, as `ListStacks` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct StackSummary {
    pub name: String,
    pub arn: String,
    pub status: StackStatus,
    /// The template's `Description`.
    pub description: Option<String>,
}

impl StackInfo {
    /// A stack that exists only as the holder of an unexecuted CREATE change set.
    pub fn is_review(&self) -> bool {
        self.status.is_review()
    }

    pub fn is_in_progress(&self) -> bool {
        self.status.is_in_progress()
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
    pub status: ChangeSetStatus,
    pub execution_status: ExecutionStatus,
    pub status_reason: Option<String>,
    /// Every page, in order.
    pub changes: Vec<ResourceChange>,
}

impl ChangeSetInfo {
    pub fn is_pending(&self) -> bool {
        self.status.is_pending()
    }

    /// Ready to execute: created, and neither executed nor obsolete.
    pub fn is_executable(&self) -> bool {
        self.status == ChangeSetStatus::CreateComplete
            && self.execution_status == ExecutionStatus::Available
    }

    /// CloudFormation's way of saying "nothing to do" (prefix match: AWS has
    /// appended text to these messages before).
    pub fn is_empty_failure(&self) -> bool {
        self.status == ChangeSetStatus::Failed
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
    pub status: ChangeSetStatus,
    pub execution_status: ExecutionStatus,
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

/// Resource statuses stay text (events are shown as CloudFormation wrote
/// them); these are the questions the deployer asks of them.
impl StackEvent {
    /// The resource (or the stack) failed an operation (`*_FAILED`).
    pub fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }

    /// The stack started to roll back (`ROLLBACK_IN_PROGRESS`,
    /// `UPDATE_ROLLBACK_IN_PROGRESS`, `IMPORT_ROLLBACK_IN_PROGRESS`).
    pub fn is_rollback_start(&self) -> bool {
        self.status.ends_with("ROLLBACK_IN_PROGRESS")
    }

    /// A resource could not be deleted (`DELETE_FAILED`).
    pub fn is_delete_failure(&self) -> bool {
        self.status == "DELETE_FAILED"
    }
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

impl StackResource {
    /// Deleted, being deleted, or left out of a deletion (`DELETE_*`).
    pub fn is_deleted(&self) -> bool {
        self.status.starts_with("DELETE")
    }

    /// Still exists after its stack was deleted: kept by a retain policy
    /// (`DELETE_SKIPPED`), or never deleted (`*_COMPLETE` other than `DELETE_COMPLETE`).
    pub fn outlives_its_stack(&self) -> bool {
        self.status == "DELETE_SKIPPED"
            || (self.status.ends_with("_COMPLETE") && self.status != "DELETE_COMPLETE")
    }

    /// The last operation on it failed (`*_FAILED`).
    pub fn is_failed(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
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
    /// Every stack of the region that is not deleted (`ListStacks`, every page).
    fn list_stacks(&self) -> impl Future<Output = anyhow::Result<Vec<StackSummary>>> + Send;
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
    /// Deletes a stack: the empty `REVIEW_IN_PROGRESS` stacks our own plans
    /// created, `ROLLBACK_COMPLETE` leftovers of a failed first create, and the
    /// stacks of a project that an approved plan or `destroy` removes.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_as_the_api_spells_them() {
        for s in StackStatus::KNOWN {
            assert_eq!(&StackStatus::parse(s.as_str()), s);
        }
        for s in ChangeSetStatus::KNOWN {
            assert_eq!(&ChangeSetStatus::parse(s.as_str()), s);
        }
        for s in ExecutionStatus::KNOWN {
            assert_eq!(&ExecutionStatus::parse(s.as_str()), s);
        }
        assert_eq!(
            StackStatus::parse("UPDATE_ROLLBACK_FAILED"),
            StackStatus::UpdateRollbackFailed
        );
        assert_eq!(
            StackStatus::UpdateRollbackFailed.to_string(),
            "UPDATE_ROLLBACK_FAILED"
        );
    }

    /// A status AWS adds later is kept as it was written, counts as in
    /// progress by its suffix, and matches nothing the deployer acts on.
    #[test]
    fn an_unknown_status_is_kept_and_judged_by_its_suffix() {
        let s = StackStatus::parse("UPDATE_REFACTOR_IN_PROGRESS");
        assert_eq!(s, StackStatus::Other("UPDATE_REFACTOR_IN_PROGRESS".into()));
        assert_eq!(s.as_str(), "UPDATE_REFACTOR_IN_PROGRESS");
        assert!(s.is_in_progress() && s.is_busy() && !s.succeeded());
        let done = StackStatus::parse("REFACTOR_COMPLETE");
        assert!(!done.is_in_progress() && !done.succeeded());
        assert_eq!(StackStatus::default().as_str(), "");
        assert!(StackStatus::ReviewInProgress.is_in_progress());
        assert!(!StackStatus::ReviewInProgress.is_busy());
        let cs = ChangeSetInfo {
            arn: String::new(),
            stack_arn: String::new(),
            status: ChangeSetStatus::parse("CREATE_COMPLETE"),
            execution_status: ExecutionStatus::parse("SOMETHING_NEW"),
            status_reason: None,
            changes: Vec::new(),
        };
        assert!(!cs.is_executable() && !cs.is_pending() && !cs.execution_status.started());
    }
}
