//! How long a message that the provider could not take waits before the
//! next attempt: exponential, capped, with jitter so that messages failed
//! together do not come back together; and how many attempts it gets.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with jitter and a bounded number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failed attempt, before jitter.
    pub base: Duration,
    /// The longest delay, before jitter.
    pub max: Duration,
    /// Attempts in all; after the last, the message is reported failed.
    pub max_attempts: u32,
}

impl Default for Backoff {
    /// 250 ms doubling to 16 s, 30 attempts (about seven minutes).
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            max: Duration::from_secs(16),
            max_attempts: 30,
        }
    }
}

impl Backoff {
    /// The delay before the attempt after `attempt` (1 for the first):
    /// `base * 2^(attempt-1)`, at most `max`, then a random point in its
    /// upper half ("equal jitter"), so the delay still grows while
    /// attempts spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.max.max(self.base));
        let half = full / 2;
        let spread = u64::try_from((full - half).as_micros()).unwrap_or(u64::MAX);
        let extra = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        half + Duration::from_micros(extra)
    }

    /// Whether `attempt` (1 for the first) was the last one allowed.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Backoff {
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
            max_attempts: 4,
        }
    }

    #[test]
    fn delays_double_within_the_upper_half_and_stop_at_the_cap() {
        let backoff = policy();
        for (attempt, full_ms) in [
            (1, 100u64),
            (2, 200),
            (3, 400),
            (5, 1600),
            (6, 2000),
            (40, 2000),
        ] {
            for _ in 0..200 {
                let d = backoff.delay(attempt);
                let full = Duration::from_millis(full_ms);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d:?} outside [{:?}, {full:?}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn jitter_spreads_delays_of_the_same_attempt() {
        let backoff = policy();
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|_| backoff.delay(3)).collect();
        assert!(
            delays.len() > 1,
            "50 delays of attempt 3 were all {delays:?}"
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let backoff = policy();
        assert!(!backoff.exhausted(1));
        assert!(!backoff.exhausted(3));
        assert!(backoff.exhausted(4));
        assert!(backoff.exhausted(5));
        let once = Backoff {
            max_attempts: 0,
            ..policy()
        };
        assert!(once.exhausted(1), "at least one attempt, never zero");
    }
}
