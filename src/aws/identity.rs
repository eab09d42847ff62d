//! Who we are in AWS, asked once before anything else: the named profile
//! exists, the credential chain gives credentials within
//! [`PROVIDER_TIMEOUT`], and STS `GetCallerIdentity` accepts them within a
//! few seconds and [`ATTEMPTS`] attempts. A failure becomes a
//! [`CredentialsProblem`] that says what to do (sign in again, which
//! variables to set, which profiles exist) instead of an SDK error after a
//! long retry storm.
//!
//! `GetCallerIdentity` needs no permission and cannot be denied, so any
//! error it returns is about the credentials or the way to AWS
//! (docs/aws-behaviours.md, 54).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::ProvideErrorMetadata as _;

use super::config::{Connection, sdk_config};
use super::error::causes;

/// How long the credential chain may take (environment, profile, SSO,
/// container, instance metadata) before we say there are no credentials.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts of the one `GetCallerIdentity` call: a second one for a dropped
/// connection or a throttled answer, never the deploy's seven.
pub const ATTEMPTS: u32 = 2;

/// Time to connect to STS, and for one attempt of the call.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The account and principal the credentials belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    /// The caller's ARN (a user, or an assumed role's session).
    pub arn: String,
}

/// Why we cannot act in AWS, each with what to do about it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsProblem {
    /// `--profile` (or `AWS_PROFILE`) names no profile of the shared files.
    #[error("{}", unknown_profile(.profile, .known))]
    UnknownProfile { profile: String, known: Vec<String> },
    /// The chain found nothing to sign with.
    #[error(
        "no AWS credentials found: set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` \
         (and `AWS_SESSION_TOKEN` for temporary credentials), run `aws configure`, or sign in with \
         `aws sso login --profile NAME` and pass `--profile NAME` ({detail})"
    )]
    NoCredentials { detail: String },
    /// An SSO profile whose sign-in is missing or expired.
    #[error(
        "the AWS SSO sign-in of profile `{profile}` is missing or has expired ({detail}); \
         run `aws sso login --profile {profile}` and try again"
    )]
    SsoSignIn { profile: String, detail: String },
    /// AWS answered and refused the credentials.
    #[error("{}", rejected(.code, .message, .profile.as_deref()))]
    Rejected {
        code: String,
        message: String,
        profile: Option<String>,
    },
    /// STS could not be reached at all.
    #[error(
        "cannot reach AWS STS at {endpoint} ({detail}); check the network connection, a proxy \
         (`HTTPS_PROXY`) or `--endpoint-url`"
    )]
    Unreachable { endpoint: String, detail: String },
    /// Anything else the chain or STS said.
    #[error("cannot find out who the AWS credentials belong to: {detail}")]
    Other { detail: String },
}

fn unknown_profile(profile: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!(
            "AWS profile `{profile}` does not exist: no profiles were found in the shared config \
             and credentials files (~/.aws/config, ~/.aws/credentials, or `AWS_CONFIG_FILE` and \
             `AWS_SHARED_CREDENTIALS_FILE`); create it with `aws configure --profile {profile}` or \
             `aws configure sso --profile {profile}`"
        );
    }
    let hint = match crate::diag::suggest(profile, known.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`? "),
        None => String::new(),
    };
    format!(
        "AWS profile `{profile}` does not exist in ~/.aws/config or ~/.aws/credentials; {hint}\
         the profiles found: {}",
        known.join(", ")
    )
}

fn rejected(code: &str, message: &str, profile: Option<&str>) -> String {
    let sso = match profile {
        Some(p) => format!("`aws sso login --profile {p}`"),
        None => "`aws sso login --profile NAME`".to_string(),
    };
    let what = match code {
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => format!(
            "the AWS credentials have expired; get new ones ({sso} for SSO, a new \
             `AWS_SESSION_TOKEN` with its keys for temporary credentials) and try again"
        ),
        "InvalidClientTokenId" | "UnrecognizedClientException" => {
            "AWS does not know the access key id (deleted, deactivated, or from another \
             partition); check `AWS_ACCESS_KEY_ID` or the profile's `aws_access_key_id`, or run \
             `aws configure`"
                .to_string()
        }
        "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidSignatureException" => {
            "the secret access key does not match the access key id (or the clock is far off); \
             check `AWS_SECRET_ACCESS_KEY` or the profile's `aws_secret_access_key`, or run \
             `aws configure`"
                .to_string()
        }
        _ => "AWS refused the credentials".to_string(),
    };
    format!("{what} (STS GetCallerIdentity: {message} ({code}))")
}

/// The profiles of the shared config and credentials files, sorted (`None`
/// when the files cannot be read or parsed: the SDK then says why), and
/// whether `selected` is one signed in through SSO (itself, or the profile
/// its role is assumed from). The files are read as the SDK reads them
/// (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `HOME`).
pub async fn profiles(selected: Option<&str>) -> (Option<Vec<String>>, bool) {
    let set = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::real(),
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        None,
    )
    .await;
    let Ok(set) = set else {
        return (None, false);
    };
    let mut known: Vec<String> = set.profiles().map(str::to_string).collect();
    known.sort();
    let mut sso = false;
    let mut at = selected.and_then(|s| set.get_profile(s));
    // A role profile's credentials come from its `source_profile` (a bounded walk: they may loop).
    for _ in 0..8 {
        let Some(p) = at else { break };
        if p.get("sso_session").is_some() || p.get("sso_start_url").is_some() {
            sso = true;
            break;
        }
        at = p.get("source_profile").and_then(|s| set.get_profile(s));
    }
    (Some(known), sso)
}

/// The short timeouts of the one identity call.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The retries of the one identity call: [`ATTEMPTS`], backing off from
/// `first_backoff` (an emulator) or a second.
pub fn retries(first_backoff: Option<Duration>) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(ATTEMPTS)
        .with_initial_backoff(first_backoff.unwrap_or(Duration::from_secs(1)))
}

/// Resolves the credentials of `c` and asks STS whose they are.
pub async fn whoami(c: &Connection) -> Result<Identity, CredentialsProblem> {
    let selected = c.profile.as_deref().unwrap_or("default");
    let (known, sso) = profiles(Some(selected)).await;
    if let (Some(p), Some(known)) = (&c.profile, known)
        && !known.iter().any(|k| k == p)
    {
        return Err(CredentialsProblem::UnknownProfile {
            profile: p.clone(),
            known,
        });
    }
    let conf = sdk_config(c).await;
    let creds = credentials(&conf, sso.then_some(selected)).await?;
    let sts = aws_sdk_sts::config::Builder::from(&conf)
        .credentials_provider(creds)
        .retry_config(retries(c.retry_backoff))
        .timeout_config(timeouts())
        .build();
    let answer = aws_sdk_sts::Client::from_conf(sts)
        .get_caller_identity()
        .send()
        .await;
    match answer {
        Ok(out) => Ok(Identity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        }),
        Err(e) => Err(sts_problem(e, c)),
    }
}

/// The credentials the chain gives within [`PROVIDER_TIMEOUT`].
async fn credentials(
    conf: &aws_config::SdkConfig,
    sso_profile: Option<&str>,
) -> Result<aws_credential_types::Credentials, CredentialsProblem> {
    let Some(provider) = conf.credentials_provider() else {
        return Err(CredentialsProblem::NoCredentials {
            detail: "no credential provider is configured".into(),
        });
    };
    let found = tokio::time::timeout(PROVIDER_TIMEOUT, provider.provide_credentials()).await;
    let e = match found {
        Ok(Ok(creds)) => return Ok(creds),
        Ok(Err(e)) => e,
        Err(_) => {
            return Err(CredentialsProblem::NoCredentials {
                detail: format!(
                    "the credential chain found nothing within {} s",
                    PROVIDER_TIMEOUT.as_secs()
                ),
            });
        }
    };
    let detail = causes(&e);
    if let Some(profile) = sso_profile {
        return Err(CredentialsProblem::SsoSignIn {
            profile: profile.to_string(),
            detail,
        });
    }
    Err(match e {
        CredentialsError::CredentialsNotLoaded(_) | CredentialsError::ProviderTimedOut(_) => {
            CredentialsProblem::NoCredentials { detail }
        }
        _ => CredentialsProblem::Other { detail },
    })
}

/// What a failed `GetCallerIdentity` means.
fn sts_problem(
    e: aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
    >,
    c: &Connection,
) -> CredentialsProblem {
    use aws_sdk_sts::error::SdkError;
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.as_service_error().and_then(|se| se.code());
    if super::error::retry_kind(status, code).is_some() {
        return CredentialsProblem::Other {
            detail: format!(
                "STS failed {ATTEMPTS} times ({}); try again in a while",
                super::error::sdk_causes(&e)
            ),
        };
    }
    if let Some(code) = code {
        return CredentialsProblem::Rejected {
            code: code.to_string(),
            message: e
                .as_service_error()
                .and_then(|se| se.message())
                .unwrap_or("no message")
                .to_string(),
            profile: c.profile.clone(),
        };
    }
    match &e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            CredentialsProblem::Unreachable {
                endpoint: c
                    .endpoint_url
                    .clone()
                    .unwrap_or_else(|| format!("sts.{}.amazonaws.com", c.region)),
                detail: causes(&e),
            }
        }
        _ => CredentialsProblem::Other { detail: causes(&e) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_call_is_short_and_tried_twice_at_most() {
        let t = timeouts();
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(3)));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(retries(None).max_attempts(), 2);
        assert_eq!(PROVIDER_TIMEOUT, Duration::from_secs(5));
    }

    #[test]
    fn every_problem_says_what_to_do() {
        let p = CredentialsProblem::UnknownProfile {
            profile: "prdo".into(),
            known: vec!["default".into(), "prod".into()],
        };
        let text = p.to_string();
        assert!(text.contains("did you mean `prod`?"), "{text}");
        assert!(text.contains("the profiles found: default, prod"), "{text}");
        let none = CredentialsProblem::UnknownProfile {
            profile: "x".into(),
            known: vec![],
        };
        assert!(none.to_string().contains("aws configure --profile x"));
        let expired = CredentialsProblem::Rejected {
            code: "ExpiredToken".into(),
            message: "The security token included in the request is expired".into(),
            profile: Some("work".into()),
        };
        let text = expired.to_string();
        assert!(text.contains("have expired"), "{text}");
        assert!(text.contains("`aws sso login --profile work`"), "{text}");
        assert!(text.contains("(ExpiredToken)"), "{text}");
        for (code, says) in [
            ("InvalidClientTokenId", "AWS_ACCESS_KEY_ID"),
            ("SignatureDoesNotMatch", "AWS_SECRET_ACCESS_KEY"),
            ("AccessDenied", "refused the credentials"),
        ] {
            let p = CredentialsProblem::Rejected {
                code: code.into(),
                message: "m".into(),
                profile: None,
            };
            assert!(p.to_string().contains(says), "{code}: {p}");
        }
        let sso = CredentialsProblem::SsoSignIn {
            profile: "work".into(),
            detail: "no token".into(),
        };
        assert!(
            sso.to_string()
                .contains("run `aws sso login --profile work`")
        );
        let none = CredentialsProblem::NoCredentials { detail: "d".into() };
        for says in ["AWS_ACCESS_KEY_ID", "aws configure", "aws sso login"] {
            assert!(none.to_string().contains(says), "{says}");
        }
    }
}
