//! Sign-in rate limits: a GCRA bucket (the `governor` crate) per account
//! name as typed and per client address. Every attempt counts, successful
//! or not, so guessing is slow whichever account or address it spreads over.
//! Buckets of keys not seen for a while are dropped by [`Throttle::sweep`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::AccountsError;

/// The sign-in rate limits.
pub struct Throttle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Throttle {
    /// `per_account` attempts per minute per account name, `per_address`
    /// per client address (each also the burst).
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            per_account: RateLimiter::keyed(per_minute(per_account)),
            per_address: RateLimiter::keyed(per_minute(per_address)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt for `account` (lowercased) from `from`; refuses
    /// with how long to wait when either is over its limit.
    pub fn attempt(&self, account: &str, from: Option<IpAddr>) -> Result<(), AccountsError> {
        let wait = |d: Duration| AccountsError::Throttled { retry_after: d };
        if let Some(ip) = from {
            self.per_address
                .check_key(&ip)
                .map_err(|n| wait(n.wait_time_from(self.clock.now())))?;
        }
        self.per_account
            .check_key(&account.to_lowercase())
            .map_err(|n| wait(n.wait_time_from(self.clock.now())))
    }

    /// Forgets buckets that are full again (keys not seen for a while).
    pub fn sweep(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_account_and_address_has_its_own_budget() {
        let throttle = Throttle::new(2, 2);
        let here: IpAddr = "192.0.2.1".parse().expect("ip");
        let there: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(throttle.attempt("alice", Some(here)).is_ok());
        assert!(throttle.attempt("Alice", Some(there)).is_ok());
        match throttle.attempt("ALICE", Some(there)) {
            Err(AccountsError::Throttled { retry_after }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(30))
            }
            other => panic!("third attempt for alice: {other:?}"),
        }
        // The address budget: 2 a minute, whatever the account.
        assert!(throttle.attempt("bob", Some(here)).is_ok());
        assert!(matches!(
            throttle.attempt("carol", Some(here)),
            Err(AccountsError::Throttled { .. })
        ));
        let elsewhere: IpAddr = "192.0.2.3".parse().expect("ip");
        assert!(throttle.attempt("carol", Some(elsewhere)).is_ok());
    }
}
