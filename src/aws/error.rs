//! AWS errors, classified once: every SDK failure becomes an [`AwsError`]
//! with the service's code and message and whether it is worth retrying.

use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata};

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
