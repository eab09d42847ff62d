//! The timing of polls and waits: how often the deployer looks at a change
//! set or a stack, how long it waits, and the one backoff of a poll that
//! failed. AWS calls themselves are retried inside the SDK
//! ([`crate::aws::config`]); a poll that still fails backs off here and goes
//! on — it is never a failed deploy.

use std::time::Duration;

/// How long to wait and how often to look.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub poll: Duration,
    pub change_set_timeout: Duration,
    pub stack_timeout: Duration,
    /// The pause after a failed poll; doubles per failed poll in a row, with
    /// jitter, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How often apply reads whether an identity it waits for is verified
    /// (SES checks the DNS records on its own schedule; minutes, not seconds).
    pub verify_poll: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            poll: Duration::from_secs(2),
            change_set_timeout: Duration::from_secs(600),
            stack_timeout: Duration::from_secs(3600),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            verify_poll: Duration::from_secs(30),
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
            verify_poll: poll,
            ..Timing::default()
        }
    }

    /// The pause before the next poll: the poll interval, or after
    /// `failed_polls` failed polls in a row, the backoff.
    pub(crate) fn pause(&self, failed_polls: u32) -> Duration {
        if failed_polls == 0 {
            self.poll
        } else {
            self.backoff(failed_polls)
        }
    }

    fn backoff(&self, failed_polls: u32) -> Duration {
        let base = self
            .backoff
            .saturating_mul(1u32 << failed_polls.min(16))
            .min(self.max_backoff);
        // Full jitter over the upper half: many stacks polling in parallel spread out.
        let half = base / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_poll_backs_off_up_to_the_cap() {
        let t = Timing::default();
        assert_eq!(t.pause(0), Duration::from_secs(2));
        for failed in 1..30 {
            let p = t.pause(failed);
            let base = (Duration::from_secs(1) * (1 << failed.min(16))).min(t.max_backoff);
            assert!(p >= base / 2 && p <= base, "{failed}: {p:?}");
        }
        assert!(t.pause(40) <= Duration::from_secs(20));
    }
}
