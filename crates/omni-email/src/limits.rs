//! What one client address may take of the SMTP server: sessions at once
//! and messages per minute. Without these, one address holding 256 idle
//! sessions (NOOP every few minutes keeps each alive) locks every real mail
//! server out; with them it holds at most its cap, and the session
//! lifetime (`email.max_session_secs`) ends even a busy session.
//!
//! Sessions are counted in a map guarded by a mutex (an entry lives while
//! its address has a session open); messages are counted by a keyed
//! `governor` rate limiter whose stale keys are dropped as it grows.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys kept by the rate limiter before stale ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// The per-address limits of one SMTP server.
pub struct PeerLimits {
    max_sessions: usize,
    sessions: Mutex<HashMap<IpAddr, usize>>,
    messages: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// One open session of an address; the count goes down on drop.
pub struct SessionSlot {
    limits: Arc<PeerLimits>,
    ip: IpAddr,
}

impl PeerLimits {
    /// At most `max_sessions` sessions per address at once, and
    /// `messages_per_minute` messages per address (0: no message limit).
    pub fn new(max_sessions: usize, messages_per_minute: u32) -> Arc<Self> {
        Arc::new(Self {
            max_sessions,
            sessions: Mutex::new(HashMap::new()),
            messages: NonZeroU32::new(messages_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        })
    }

    /// A session slot for `ip`, or `None` when the address already holds
    /// its cap.
    pub fn open(self: &Arc<Self>, ip: IpAddr) -> Option<SessionSlot> {
        let mut sessions = self.lock();
        let count = sessions.entry(ip).or_insert(0);
        if *count >= self.max_sessions {
            return None;
        }
        *count += 1;
        Some(SessionSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Sessions `ip` has open now.
    pub fn open_sessions(&self, ip: IpAddr) -> usize {
        self.lock().get(&ip).copied().unwrap_or(0)
    }

    /// Whether `ip` may send one more message now (and counts it).
    pub fn message(&self, ip: IpAddr) -> bool {
        let Some(limiter) = &self.messages else {
            return true;
        };
        if limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).is_ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // A panic while holding the lock leaves the counts consistent (each
        // update is one statement), so a poisoned lock is still usable.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut sessions = self.limits.lock();
        if let Some(count) = sessions.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                sessions.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_gets_slots_back() {
        let limits = PeerLimits::new(2, 0);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = limits.open(a).expect("first");
        let _second = limits.open(a).expect("second");
        assert!(limits.open(a).is_none(), "third over the cap");
        assert!(limits.open(b).is_some(), "another address is not affected");
        drop(first);
        assert_eq!(limits.open_sessions(a), 1);
        assert!(limits.open(a).is_some(), "a closed session frees its slot");
    }

    #[test]
    fn messages_per_address_are_limited() {
        let limits = PeerLimits::new(1, 3);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!((0..3).all(|_| limits.message(a)));
        assert!(!limits.message(a), "the fourth in a minute");
        assert!(limits.message(b));
        let unlimited = PeerLimits::new(1, 0);
        assert!((0..1000).all(|_| unlimited.message(a)));
    }
}
