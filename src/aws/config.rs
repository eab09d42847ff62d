//! Where and as whom to talk to AWS, and how hard to try: one SDK
//! configuration per region, and one retry policy for every call of every
//! client.
//!
//! Calls are retried by the SDK alone (standard retry mode): throttling,
//! 5xx, timeouts and dropped connections, [`MAX_ATTEMPTS`] attempts with
//! exponential backoff and jitter, each attempt the same request (so the
//! client tokens of mutating calls stay the same). Nothing above this layer
//! retries a call; the deployer's polls back off on their own
//! (`deploy::Timing`).

use std::time::Duration;

use aws_config::retry::RetryConfig;

use super::error::TransientErrors;

/// Attempts of one call, the first included. CloudFormation throttles hard
/// when many stacks are planned or followed in parallel.
pub const MAX_ATTEMPTS: u32 = 7;

/// The first retry's backoff; it doubles per retry, with full jitter, up to
/// [`MAX_BACKOFF`].
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);

pub const MAX_BACKOFF: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, Default)]
pub struct Connection {
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// A shorter first retry backoff than [`INITIAL_BACKOFF`], for a local
    /// emulator (`MAILINFRA_POLL_MS`); the attempts stay the same.
    pub retry_backoff: Option<Duration>,
}

/// The retry configuration of every client: standard mode, [`MAX_ATTEMPTS`],
/// backoff from [`INITIAL_BACKOFF`] to [`MAX_BACKOFF`]; a shorter
/// `first_backoff` (an emulator, tests) caps it at four times that.
pub fn retry_config(first_backoff: Option<Duration>) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(first_backoff.unwrap_or(INITIAL_BACKOFF))
        .with_max_backoff(first_backoff.map_or(MAX_BACKOFF, |b| b * 4))
}

/// The one retry policy, on a service client's configuration: [`retry_config`]
/// and the [`TransientErrors`] classifier, which adds the answers the SDK's
/// standard classifiers miss (see `aws::error::retry_kind`). The real clients
/// and the tests' mocked clients get it the same way.
pub trait WithRetryPolicy: Sized {
    fn with_retry_policy(self, first_backoff: Option<Duration>) -> Self;
}

macro_rules! with_retry_policy {
    ($($service:ident),*) => {$(
        impl WithRetryPolicy for $service::config::Builder {
            fn with_retry_policy(self, first_backoff: Option<Duration>) -> Self {
                self.retry_config(retry_config(first_backoff))
                    .retry_classifier(TransientErrors)
            }
        }
    )*};
}

with_retry_policy!(
    aws_sdk_cloudformation,
    aws_sdk_kms,
    aws_sdk_s3,
    aws_sdk_sesv2,
    aws_sdk_sts
);

/// The SDK configuration for one region: the standard credential chain, the
/// region, an endpoint override, and [`retry_config`] (service clients add the
/// classifier: [`WithRetryPolicy`]).
pub async fn sdk_config(c: &Connection) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(c.region.clone()))
        .retry_config(retry_config(c.retry_backoff));
    if let Some(p) = &c.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &c.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_seven_attempts_from_one_to_fifteen_seconds() {
        let real = retry_config(None);
        assert_eq!(real.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(real.max_attempts(), 7);
        assert_eq!(real.initial_backoff(), Duration::from_secs(1));
        assert_eq!(real.max_backoff(), Duration::from_secs(15));
        let fast = retry_config(Some(Duration::from_millis(20)));
        assert_eq!(fast.max_attempts(), 7, "an emulator gets the same attempts");
        assert_eq!(fast.initial_backoff(), Duration::from_millis(20));
        assert_eq!(fast.max_backoff(), Duration::from_millis(80));
    }
}
