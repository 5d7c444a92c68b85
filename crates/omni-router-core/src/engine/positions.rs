//! Positions in line: the first waiting contacts of every line (queue and
//! channel) that changed, with their places and expected waits (see
//! [`crate::position`] for what they mean).
//!
//! Routing decisions only mark a line changed (a bit per queue and
//! channel, set when a contact joins or leaves the waiting set or an
//! answer moves the pace); the positions are computed when the caller
//! asks, on its own timer, so no decision pays for them.

use omni_core::time::Millis;

use crate::position::{PositionReport, QueuePosition};

use super::Engine;

impl Engine {
    /// The first `limit` waiting contacts of every line that changed since
    /// the last call, in line order, with their positions (from 1) and
    /// expected waits at `now_ms`. A line whose pace stopped being a basis
    /// for estimates counts as changed. The first call after the engine is
    /// built reports every line with contacts (restored ones included).
    ///
    /// Meant for a periodic caller (the router asks every second): the
    /// cost is that of the lines reported, at most `limit` contacts each.
    pub fn take_positions(&mut self, now_ms: Millis, limit: usize) -> PositionReport {
        let now = now_ms.max(self.now_ms);
        let mut report = PositionReport::default();
        for q in 0..self.queues.len() {
            let line = &mut self.paces[q];
            let queue = &mut self.queues[q];
            for ch in 0..self.chans.len() {
                if line.until[ch] <= now {
                    line.until[ch] = Millis::MAX;
                    queue.changed |= 1 << ch;
                }
            }
            let changed = std::mem::take(&mut queue.changed);
            if changed == 0 || queue.hidden {
                continue;
            }
            let queue = &self.queues[q];
            for (ch, channel) in self.chans.all().iter().copied().enumerate() {
                if changed & (1 << ch) == 0 {
                    continue;
                }
                report.refreshed.push((queue.spec.id.clone(), channel));
                let pace = &self.paces[q].pace[ch];
                for (i, key) in queue.waiting[ch].iter().take(limit).enumerate() {
                    let Some(contact) = self.contact_ref(key.slot) else {
                        continue;
                    };
                    let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
                    report.positions.push(QueuePosition {
                        conversation_id: contact.id.clone(),
                        queue: queue.spec.id.clone(),
                        channel,
                        position,
                        expected_wait_ms: pace.estimate(now, position),
                    });
                }
            }
        }
        report
    }
}
