//! Queue positions for waiting customers: every [`POSITION_EVERY`] the
//! shell takes the positions of the lines that changed from the engine
//! ([`Engine::take_positions`], at most [`POSITIONS_PER_LINE`] per queue
//! and channel) and publishes a `QueuePosition` on
//! `omni.queue.position.<conversation id>` (fan-out) for each waiting
//! conversation whose position or expected wait changed since it was last
//! published. Nothing is published for the others.
//!
//! What was published lives only in this task: after a restart the engine
//! reports every line again, so every waiting customer hears their place
//! again. A publish that fails is tried again at the next round.
//!
//! [`Engine::take_positions`]: omni_router_core::Engine::take_positions

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use omni_bus::Message;
use omni_bus::topology::subjects;
use omni_core::time::Millis;
use omni_core::{Channel, ConversationId, QueueId};
use omni_proto::common as pbc;
use omni_proto::events as ev;
use omni_router_core::{PositionReport, QueuePosition};
use prost::Message as _;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::RouterShell;

/// How often positions are taken and published.
pub const POSITION_EVERY: Duration = Duration::from_secs(1);

/// Contacts per queue and channel whose position is published: those
/// further back are told only that they wait.
pub const POSITIONS_PER_LINE: usize = 100;

impl RouterShell {
    /// Publishes changed queue positions every [`POSITION_EVERY`] until
    /// `shutdown`.
    pub(super) async fn run_positions(self: Arc<Self>, shutdown: CancellationToken) {
        let mut published = Published::default();
        // The first pass a period after start, not at once: in one process
        // the chat adapter subscribes as it starts beside the router, and a
        // position published before that would be lost.
        let mut every =
            tokio::time::interval_at(tokio::time::Instant::now() + POSITION_EVERY, POSITION_EVERY);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            let now = self.now();
            let report = self.lock_engine().take_positions(now, POSITIONS_PER_LINE);
            let due = published.changes(report);
            for position in due {
                let id = position.conversation_id.clone();
                let message = Message::new(
                    subjects::queue_position(id.as_str()),
                    encode(&position, now).encode_to_vec(),
                );
                match self.bus.notify(message).await {
                    Ok(()) => {
                        debug!(conversation_id = %id, position = position.position, expected_wait_ms = ?position.expected_wait_ms, "queue position published");
                    }
                    Err(e) => {
                        warn!(conversation_id = %id, error = %e, "queue position not published; trying again");
                        published.failed(id);
                    }
                }
            }
        }
    }
}

/// The proto form of `position`, as of `at_ms`.
fn encode(position: &QueuePosition, at_ms: Millis) -> ev::QueuePosition {
    ev::QueuePosition {
        conversation_id: position.conversation_id.to_string(),
        queue: position.queue.to_string(),
        channel: pbc::Channel::from(position.channel) as i32,
        channel_name: position.channel.as_str().to_owned(),
        position: position.position,
        // 0 means "no estimate" on the wire: an estimate of 0 (answers
        // within the same millisecond) goes out as 1 ms.
        expected_wait_ms: position.expected_wait_ms.map_or(0, |ms| ms.max(1)),
        at_ms,
    }
}

/// What each waiting conversation was last told, and what is still to be
/// told after a failed publish.
#[derive(Debug, Default)]
struct Published {
    told: HashMap<ConversationId, QueuePosition>,
    unsent: HashSet<ConversationId>,
}

impl Published {
    /// Takes in a report; returns the positions to publish: new or changed
    /// ones, and those whose last publish failed and are still current.
    fn changes(&mut self, report: PositionReport) -> Vec<QueuePosition> {
        let listed: HashSet<&ConversationId> = report
            .positions
            .iter()
            .map(|p| &p.conversation_id)
            .collect();
        let refreshed: HashSet<(QueueId, Channel)> = report.refreshed.into_iter().collect();
        // Whoever left a refreshed line (answered, offered, gone, or beyond
        // the limit) is forgotten: if they come back, they are told again.
        self.told.retain(|id, p| {
            listed.contains(id) || !refreshed.contains(&(p.queue.clone(), p.channel))
        });
        self.unsent.retain(|id| self.told.contains_key(id));
        let mut due: Vec<QueuePosition> = Vec::new();
        for position in report.positions {
            if self.told.get(&position.conversation_id) == Some(&position) {
                continue;
            }
            self.unsent.remove(&position.conversation_id);
            self.told
                .insert(position.conversation_id.clone(), position.clone());
            due.push(position);
        }
        for id in self.unsent.drain() {
            if let Some(p) = self.told.get(&id) {
                due.push(p.clone());
            }
        }
        due
    }

    /// The publish of `id`'s position failed: it is due again next round.
    fn failed(&mut self, id: ConversationId) {
        self.unsent.insert(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(id: &str, position: u32, wait: Option<Millis>) -> QueuePosition {
        QueuePosition {
            conversation_id: id.into(),
            queue: "q".into(),
            channel: Channel::CHAT,
            position,
            expected_wait_ms: wait,
        }
    }

    fn report(positions: Vec<QueuePosition>) -> PositionReport {
        PositionReport {
            refreshed: vec![("q".into(), Channel::CHAT)],
            positions,
        }
    }

    fn ids(due: &[QueuePosition]) -> Vec<(String, u32)> {
        due.iter()
            .map(|p| (p.conversation_id.to_string(), p.position))
            .collect()
    }

    #[test]
    fn the_wire_form_keeps_a_zero_estimate_apart_from_none() {
        assert_eq!(encode(&at("a", 2, None), 5).expected_wait_ms, 0);
        assert_eq!(encode(&at("a", 2, Some(0)), 5).expected_wait_ms, 1);
        let p = encode(&at("a", 2, Some(90_000)), 5);
        assert_eq!(
            (
                p.conversation_id.as_str(),
                p.position,
                p.expected_wait_ms,
                p.at_ms
            ),
            ("a", 2, 90_000, 5)
        );
    }

    #[test]
    fn only_changed_positions_are_published() {
        let mut published = Published::default();
        let first = published.changes(report(vec![at("a", 1, None), at("b", 2, None)]));
        assert_eq!(ids(&first), [("a".into(), 1), ("b".into(), 2)]);
        // c joins behind: only c is told.
        let second = published.changes(report(vec![
            at("a", 1, None),
            at("b", 2, None),
            at("c", 3, None),
        ]));
        assert_eq!(ids(&second), [("c".into(), 3)]);
        // a is answered: b and c move up; a is forgotten.
        let third = published.changes(report(vec![at("b", 1, None), at("c", 2, None)]));
        assert_eq!(ids(&third), [("b".into(), 1), ("c".into(), 2)]);
        // An estimate appearing is a change too.
        let fourth = published.changes(report(vec![
            at("b", 1, Some(60_000)),
            at("c", 2, Some(120_000)),
        ]));
        assert_eq!(fourth.len(), 2);
        // a comes back (its offer was declined): told again.
        let fifth = published.changes(report(vec![
            at("a", 1, Some(60_000)),
            at("b", 2, Some(120_000)),
            at("c", 3, Some(180_000)),
        ]));
        assert_eq!(ids(&fifth)[0], ("a".into(), 1));
        // Nothing changed: nothing published.
        assert!(published.changes(PositionReport::default()).is_empty());
    }

    #[test]
    fn a_failed_publish_is_tried_again_while_current() {
        let mut published = Published::default();
        published.changes(report(vec![at("a", 1, None), at("b", 2, None)]));
        published.failed("a".into());
        published.failed("b".into());
        let again = published.changes(PositionReport::default());
        let mut again = ids(&again);
        again.sort();
        assert_eq!(again, [("a".into(), 1), ("b".into(), 2)]);
        published.failed("a".into());
        // a left the line before the retry: nothing to tell it.
        assert!(published.changes(report(vec![at("b", 1, None)])).len() == 1);
        assert!(published.changes(PositionReport::default()).is_empty());
    }

    #[test]
    fn lines_not_refreshed_keep_what_they_were_told() {
        let mut published = Published::default();
        published.changes(report(vec![at("a", 1, None)]));
        let other = PositionReport {
            refreshed: vec![("other".into(), Channel::EMAIL)],
            positions: Vec::new(),
        };
        assert!(published.changes(other).is_empty());
        assert!(
            published.changes(report(vec![at("a", 1, None)])).is_empty(),
            "a was not forgotten by another line's refresh"
        );
    }
}
