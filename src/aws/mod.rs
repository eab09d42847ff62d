//! The AWS layer: CloudFormation, S3 and SES behind narrow traits, with the
//! real SDK implementations. Errors are classified once ([`error`]); calls are
//! retried by one policy ([`retry`]). Nothing above this module sees an SDK
//! type, and nothing here knows about plans or applies.

pub mod cloudformation;
pub mod cloudformation_sdk;
pub mod config;
pub mod error;
pub mod retry;
pub mod s3;
pub mod ses;

pub use cloudformation::*;
pub use cloudformation_sdk::SdkStackApi;
pub use config::{Connection, sdk_config};
pub use error::{AwsError, error_code, is_credentials_error, is_transient};
pub use s3::{
    NoTemplateStore, S3TemplateStore, TemplateStore, default_template_bucket, template_key,
};
