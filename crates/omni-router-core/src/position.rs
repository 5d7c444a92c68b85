//! A waiting contact's place in line and its expected wait, as the engine
//! can tell them ([`QueuePosition`], from [`Engine::take_positions`]).
//!
//! # What the position means
//!
//! Position 1 is the contact an agent of its queue takes next on its
//! channel: waiting contacts of one queue and channel are offered oldest
//! first (queued time, then admission order), which is the order of the
//! queue's waiting set. Relaxation steps go by age, so an older contact is
//! always under the same or a later step than a younger one: an agent who
//! meets only a relaxed requirement takes the oldest contact it may serve,
//! which is still the first in line among those. A contact that overflows
//! keeps its age and takes its place by age in the new queue (it may go
//! ahead of contacts already there). What the position cannot foresee: a
//! contact of a higher-priority queue that the same agents serve, arriving
//! later, is answered first; an agent the contact declined (or let an offer
//! time out) is not offered it again during the cooldown; a preferred agent
//! who frees up takes their own customer first. The position then stays or
//! grows; it is never a promise.
//!
//! # The expected wait
//!
//! Each queue remembers, per channel, the times of its last
//! [`PACE_ANSWERS`] answers (accepted offers). With at least
//! [`MIN_ANSWERS`] of them and the latest no older than
//! [`PACE_WINDOW_MS`], the queue's pace is the mean time between those
//! answers, and a contact at position `p` expects `p` times that pace. With
//! fewer answers, or none recently (nobody answering, or the queue is new),
//! there is no basis and the estimate is `None`: the customer is told only
//! the position. The pace measures how fast the queue was answered lately,
//! not how many agents are staffed now; it is a rough figure, shown as
//! "about N minutes".
//!
//! [`Engine::take_positions`]: crate::Engine::take_positions

use omni_core::time::Millis;
use omni_core::{Channel, ConversationId, QueueId};

/// Answers remembered per queue and channel for the pace.
pub const PACE_ANSWERS: usize = 16;

/// Answers needed before the engine estimates a wait.
pub const MIN_ANSWERS: usize = 3;

/// The pace counts only while the latest answer is this recent (15
/// minutes); after that the estimate is `None` until answers come again.
pub const PACE_WINDOW_MS: Millis = 15 * 60 * 1000;

/// One waiting contact's place in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePosition {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The queue it waits in.
    pub queue: QueueId,
    /// The channel it waits on.
    pub channel: Channel,
    /// 1 for the next to be answered.
    pub position: u32,
    /// The expected wait from now, when the queue's pace gives a basis.
    pub expected_wait_ms: Option<Millis>,
}

/// What one call of [`Engine::take_positions`](crate::Engine::take_positions)
/// found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionReport {
    /// The (queue, channel) lines computed afresh. A contact last reported
    /// in one of these lines and not listed in `positions` is no longer
    /// among the first contacts of any line (answered, offered, gone, or
    /// beyond the limit).
    pub refreshed: Vec<(QueueId, Channel)>,
    /// The first waiting contacts of every refreshed line, in line order.
    pub positions: Vec<QueuePosition>,
}

/// The times of a line's last answers, oldest first, as a ring.
#[derive(Debug, Clone, Default)]
pub(crate) struct AnswerPace {
    times: [Millis; PACE_ANSWERS],
    len: u8,
    next: u8,
}

impl AnswerPace {
    /// Records an answer at `at_ms`.
    pub(crate) fn push(&mut self, at_ms: Millis) {
        self.times[self.next as usize] = at_ms;
        self.next = ((self.next as usize + 1) % PACE_ANSWERS) as u8;
        self.len = (self.len as usize + 1).min(PACE_ANSWERS) as u8;
    }

    fn oldest(&self) -> Millis {
        let start = (self.next as usize + PACE_ANSWERS - self.len as usize) % PACE_ANSWERS;
        self.times[start]
    }

    fn latest(&self) -> Millis {
        self.times[(self.next as usize + PACE_ANSWERS - 1) % PACE_ANSWERS]
    }

    /// The mean time between the remembered answers, when there is a
    /// basis at `now`.
    pub(crate) fn interval(&self, now: Millis) -> Option<Millis> {
        let n = self.len as usize;
        if n < MIN_ANSWERS || now.saturating_sub(self.latest()) > PACE_WINDOW_MS {
            return None;
        }
        let span = self.latest().saturating_sub(self.oldest()).max(0);
        Some(span / (n as Millis - 1))
    }

    /// When the basis runs out (the latest answer leaves the window), if
    /// there is one.
    pub(crate) fn basis_until(&self) -> Option<Millis> {
        (self.len as usize >= MIN_ANSWERS).then(|| {
            self.latest()
                .saturating_add(PACE_WINDOW_MS)
                .saturating_add(1)
        })
    }

    /// The expected wait at `position`, when there is a basis at `now`.
    pub(crate) fn estimate(&self, now: Millis, position: u32) -> Option<Millis> {
        self.interval(now)
            .map(|i| i.saturating_mul(Millis::from(position)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_basis_before_enough_answers_or_after_the_window() {
        let mut pace = AnswerPace::default();
        pace.push(0);
        pace.push(60_000);
        assert_eq!(pace.interval(60_000), None, "two answers are no basis");
        pace.push(120_000);
        assert_eq!(pace.interval(120_000), Some(60_000));
        assert_eq!(pace.estimate(120_000, 3), Some(180_000));
        assert_eq!(pace.interval(120_000 + PACE_WINDOW_MS), Some(60_000));
        assert_eq!(pace.interval(120_001 + PACE_WINDOW_MS), None, "stale");
        assert_eq!(pace.basis_until(), Some(120_001 + PACE_WINDOW_MS));
    }

    #[test]
    fn the_pace_follows_the_latest_answers_only() {
        let mut pace = AnswerPace::default();
        // Slow answers first, then PACE_ANSWERS quick ones replace them.
        for i in 0..10 {
            pace.push(i * 600_000);
        }
        let start = 6_000_000;
        for i in 0..PACE_ANSWERS as Millis {
            pace.push(start + i * 10_000);
        }
        let last = start + (PACE_ANSWERS as Millis - 1) * 10_000;
        assert_eq!(pace.interval(last), Some(10_000));
    }
}
