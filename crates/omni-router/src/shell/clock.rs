//! The router's clock: the time the engine's events carry, and so what
//! decides offers' expiry, relaxation steps and business hours. It is the
//! wall clock plus an offset that only tests move
//! ([`RouterShell::advance_clock`]): an end-to-end test reaches a queue's
//! opening without waiting for it.

use std::sync::atomic::Ordering;

use omni_core::time::{Millis, now_ms};

use super::RouterShell;

impl RouterShell {
    /// The router's time now: the wall clock, plus what
    /// [`RouterShell::advance_clock`] added.
    pub fn now(&self) -> Millis {
        now_ms().saturating_add(self.clock_offset.load(Ordering::Relaxed))
    }

    /// Moves the router's clock `by_ms` forward, for tests (the process
    /// keeps no other way to change it): deadlines that fall due, a
    /// queue's opening among them, are applied at once.
    pub fn advance_clock(&self, by_ms: Millis) {
        self.clock_offset.fetch_add(by_ms.max(0), Ordering::Relaxed);
        self.wake.notify_one();
    }
}
