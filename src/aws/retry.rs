//! Retries of AWS calls on transient errors (throttling, 5xx, network), with
//! exponential backoff and jitter; and the timing of polls and waits.

use std::future::Future;
use std::time::Duration;

/// How long to wait, how often to look, how hard to retry.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub poll: Duration,
    pub change_set_timeout: Duration,
    pub stack_timeout: Duration,
    /// Attempts of one call on transient errors (throttling, 5xx, network).
    pub attempts: u32,
    /// First backoff; doubles per attempt, with jitter, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(2),
            change_set_timeout: Duration::from_secs(600),
            stack_timeout: Duration::from_secs(3600),
            attempts: 6,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl Timing {
    /// Tiny intervals for tests and local emulators.
    pub fn fast(poll: Duration) -> Timing {
        Timing {
            poll,
            backoff: poll,
            max_backoff: poll * 4,
            ..Timing::default()
        }
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        // Full jitter over the upper half: many stacks polling in parallel spread out.
        let half = base / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// Retries `call` on transient errors with exponential backoff and jitter.
/// Mutating calls pass the same idempotency token on every attempt.
pub async fn retrying<T, F, Fut>(timing: &Timing, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(e) if crate::aws::is_transient(&e) && attempt + 1 < timing.attempts => {
                tokio::time::sleep(timing.backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
