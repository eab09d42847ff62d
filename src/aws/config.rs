//! Where and as whom to talk to AWS: one SDK configuration per region.

#[derive(Clone, Debug, Default)]
pub struct Connection {
    pub region: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// First retry backoff of the SDK (default 1 s); tests against a local emulator use less.
    pub retry_backoff: Option<std::time::Duration>,
}

/// The SDK configuration for one region: the standard credential chain, and a
/// retry policy generous enough for many stacks in parallel (CloudFormation
/// throttles hard): 7 attempts, exponential backoff with jitter from 1 s to 15 s.
pub async fn sdk_config(c: &Connection) -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(c.region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(7)
                .with_initial_backoff(c.retry_backoff.unwrap_or(std::time::Duration::from_secs(1)))
                .with_max_backoff(
                    c.retry_backoff
                        .map_or(std::time::Duration::from_secs(15), |b| b * 4),
                ),
        );
    if let Some(p) = &c.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &c.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}
