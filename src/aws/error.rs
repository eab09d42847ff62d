//! AWS errors, classified once: every SDK failure becomes an [`AwsError`]
//! with the service's code and message and whether it is transient. The same
//! rule ([`retry_kind`]) is the SDK's extra retry classifier
//! ([`TransientErrors`]), so every error called transient here was retried by
//! the SDK before it got here.

use aws_sdk_cloudformation::config::interceptors::InterceptorContext;
use aws_sdk_cloudformation::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

#[derive(Debug)]
pub struct AwsError {
    pub code: Option<String>,
    pub message: String,
    /// Throttling, a 5xx, a timeout or a dropped connection: the SDK retried
    /// it up to its attempts, and it may still go away later.
    pub transient: bool,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AwsError {}

/// Whether an error is transient (throttling, 5xx, network): a poll that
/// fails so backs off and goes on.
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

/// Error codes that mean "too many requests": the SDK's standard classifier
/// knows them all too.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// Error codes of a service-side failure, whatever the HTTP status they come
/// with: the SDK's standard classifiers only see them through a 5xx status.
const SERVER_CODES: &[&str] = &["InternalFailure", "ServiceUnavailable"];

/// Why an answer is worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Too many requests (a throttling code, or HTTP 429).
    Throttling,
    /// The service failed (a server code, or any HTTP 5xx).
    ServerError,
}

/// The one rule for service answers: which are worth another attempt.
/// (Timeouts and failed connections are the SDK's own business: always retried.)
pub fn retry_kind(status: Option<u16>, code: Option<&str>) -> Option<Retry> {
    if status == Some(429) || code.is_some_and(|c| THROTTLING_CODES.contains(&c)) {
        Some(Retry::Throttling)
    } else if status.is_some_and(|s| s >= 500) || code.is_some_and(|c| SERVER_CODES.contains(&c)) {
        Some(Retry::ServerError)
    } else {
        None
    }
}

/// The error code of an AWS error response, read as the SDK's protocol
/// parsers read it: the `x-amzn-ErrorType` header (JSON protocols), else the
/// `<Code>` of an XML body (query and REST-XML protocols), else `__type` or
/// `code` of a JSON body; a namespace (`aws.foo#Code`) or URI
/// (`Code:http://…`) around the code is cut off.
pub fn response_error_code(error_type_header: Option<&str>, body: &[u8]) -> Option<String> {
    let raw = match error_type_header {
        Some(h) => h.to_string(),
        None => {
            let text = std::str::from_utf8(body).ok()?.trim_start();
            if text.starts_with('<') {
                let start = text.find("<Code>")? + "<Code>".len();
                let len = text[start..].find("</Code>")?;
                text[start..start + len].trim().to_string()
            } else {
                let doc: serde_json::Value = serde_json::from_str(text).ok()?;
                ["__type", "code", "Code"]
                    .iter()
                    .find_map(|k| doc.get(*k)?.as_str())?
                    .to_string()
            }
        }
    };
    let code = raw.split(':').next()?;
    let code = code.rsplit('#').next()?.trim();
    (!code.is_empty()).then(|| code.to_string())
}

/// The SDK retry classifier for what its standard ones miss: server codes
/// with a 4xx status, 429 without a throttling code, 5xx other than 500,
/// 502, 503 and 504. It reads the raw response (the code of any operation,
/// any protocol) and only ever adds retries.
#[derive(Debug, Default)]
pub struct TransientErrors;

impl ClassifyRetry for TransientErrors {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        if !matches!(ctx.output_or_error(), Some(Err(_))) {
            return RetryAction::NoActionIndicated;
        }
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        let code = response_error_code(
            response.headers().get("x-amzn-errortype"),
            response.body().bytes().unwrap_or_default(),
        );
        match retry_kind(Some(response.status().as_u16()), code.as_deref()) {
            Some(Retry::Throttling) => RetryAction::throttling_error(),
            Some(Retry::ServerError) => RetryAction::transient_error(),
            None => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "mailinfra transient errors"
    }
}

/// One readable error for an SDK failure: the service's code and message when
/// the service answered, the full cause chain otherwise (network,
/// credentials); classified as transient or not. The SDK has already retried
/// it as far as its policy goes. Every AWS SDK crate re-exports the same
/// `SdkError`, so the other services' clients (`crate::ses`) use this too.
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
        _ => retry_kind(status, code.as_deref()).is_some(),
    };
    let message = format!("{what}: {}", sdk_causes(&e));
    anyhow::Error::new(AwsError {
        code,
        message,
        transient,
    })
}

/// An error and its causes on one line, `outer: inner: …`, walking
/// `source()`: what the user reads instead of the SDK's `Debug` structures
/// (`DispatchFailure { … }`, which `DisplayErrorContext` appends). A cause
/// that repeats the one before it (`io error: io error`) is said once; a
/// service error shows its code: `message (Code)`.
pub fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        let text = text.trim();
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(text)) {
            parts.push(text.to_string());
        }
        next = err.source();
    }
    if parts.is_empty() {
        parts.push("unknown error".into());
    }
    parts.join(": ")
}

/// [`causes`] for an SDK error: the service's message and code when the
/// service answered, else the chain of causes (network, credentials).
pub(crate) fn sdk_causes<E>(e: &aws_sdk_cloudformation::error::SdkError<E>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    match e.as_service_error() {
        Some(se) if se.code().is_some() => format!(
            "{} ({})",
            se.message().unwrap_or("no message"),
            se.code().unwrap_or_default()
        ),
        _ => causes(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn causes_walk_the_chain_once_each_and_never_debug_print() {
        let e = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "io error",
                Some(Box::new(Layer(
                    "io error",
                    Some(Box::new(Layer("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        let text = causes(&e);
        assert_eq!(
            text,
            "dispatch failure: io error: Connection refused (os error 111)"
        );
        assert!(!text.contains("Layer"), "{text}");
        assert_eq!(causes(&Layer("", None)), "unknown error");
    }

    /// The SDK's own dispatch failure (a connection refused) renders without
    /// its `Debug` form; a service answer renders as `message (Code)`.
    #[test]
    fn sdk_errors_render_as_causes_and_service_codes() {
        use aws_sdk_cloudformation::error::{ConnectorError, SdkError};
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e: SdkError<DescribeStacksError, ()> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let text = causes(&e);
        assert!(text.contains("connection refused"), "{text}");
        assert!(!text.contains("DispatchFailure"), "{text}");
        assert!(!text.contains('{'), "{text}");
        // What every adapter reports (the termination-protection warning among them).
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e: SdkError<DescribeStacksError, aws_sdk_cloudformation::config::http::HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let err = sdk_err("cannot change the termination protection of `s`", e);
        let shown = format!("{err:#}");
        assert!(
            shown.starts_with("cannot change the termination protection of `s`: dispatch failure"),
            "{shown}"
        );
        assert!(
            !shown.contains("DispatchFailure") && !shown.contains('{'),
            "{shown}"
        );
        assert!(is_transient(&err));
    }

    #[test]
    fn codes_are_read_from_every_protocol() {
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert_eq!(
            response_error_code(None, query).as_deref(),
            Some("Throttling")
        );
        let rest_xml = b"<?xml version=\"1.0\"?>\n<Error><Code>SlowDown</Code></Error>";
        assert_eq!(
            response_error_code(None, rest_xml).as_deref(),
            Some("SlowDown")
        );
        let json = br#"{"__type":"com.amazonaws.sesv2#TooManyRequestsException","message":"x"}"#;
        assert_eq!(
            response_error_code(None, json).as_deref(),
            Some("TooManyRequestsException")
        );
        assert_eq!(
            response_error_code(None, br#"{"code":"InternalFailure"}"#).as_deref(),
            Some("InternalFailure")
        );
        assert_eq!(
            response_error_code(
                Some("ServiceUnavailable:http://internal.amazon.com/coral/"),
                b""
            )
            .as_deref(),
            Some("ServiceUnavailable")
        );
        assert_eq!(response_error_code(None, b""), None);
        assert_eq!(
            response_error_code(None, b"Mock HTTP client dummy response"),
            None
        );
        assert_eq!(
            response_error_code(None, b"<Error><Code></Code></Error>"),
            None
        );
    }

    #[test]
    fn one_rule_says_what_is_worth_another_attempt() {
        use Retry::*;
        for (status, code, want) in [
            (Some(400), Some("Throttling"), Some(Throttling)),
            (Some(400), Some("RequestLimitExceeded"), Some(Throttling)),
            (
                Some(400),
                Some("TooManyRequestsException"),
                Some(Throttling),
            ),
            (Some(429), None, Some(Throttling)),
            (Some(400), Some("InternalFailure"), Some(ServerError)),
            (Some(400), Some("ServiceUnavailable"), Some(ServerError)),
            (Some(500), None, Some(ServerError)),
            (Some(501), None, Some(ServerError)),
            (Some(400), Some("ValidationError"), None),
            (Some(403), Some("ExpiredToken"), None),
            (Some(403), Some("AccessDeniedException"), None),
            (None, None, None),
        ] {
            assert_eq!(retry_kind(status, code), want, "{status:?} {code:?}");
        }
    }
}
