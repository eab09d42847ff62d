//! The AWS layer: CloudFormation, S3, SES and KMS behind narrow traits, with the
//! real SDK implementations. Errors are classified once ([`error`]); calls are
//! retried inside the SDK by one policy ([`config`]), and nowhere else.
//! Nothing above this module sees an SDK type, and nothing here knows about
//! plans or applies.

pub mod cloudformation;
pub mod cloudformation_sdk;
pub mod config;
pub mod error;
#[cfg(test)]
pub mod fake;
#[cfg(test)]
mod fake_templates;
pub mod identity;
pub mod kms;
pub mod s3;
pub mod ses;

pub use cloudformation::*;
pub use cloudformation_sdk::SdkStackApi;
pub use config::{Connection, WithRetryPolicy, sdk_config};
pub use error::{AwsError, error_code, is_credentials_error, is_transient};
pub use s3::{
    NoTemplateStore, S3TemplateStore, TemplateStore, default_template_bucket, template_key,
};

/// A point in time as AWS writes timestamps (RFC 3339, UTC, e.g.
/// `2026-11-29T10:00:00.5Z`): the format of `StackInfo::last_updated` and
/// `StackEvent::timestamp`, for records kept beside them (the apply journal).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    use aws_sdk_cloudformation::primitives::{DateTime, DateTimeFormat};
    DateTime::from(t)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_as_aws_writes_them() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(100);
        assert_eq!(super::rfc3339(t), "1970-01-01T00:01:40Z");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_000_000_500);
        assert_eq!(super::rfc3339(t), "2026-11-18T11:06:40.5Z");
    }
}
