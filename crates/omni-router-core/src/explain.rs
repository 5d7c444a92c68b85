//! The decision log: why the engine did what it did, per conversation.
//!
//! Memory stays bounded: each conversation keeps its last
//! [`MAX_RECORDS_PER_CONVERSATION`] records, and the logs of released
//! conversations are kept for the last [`MAX_RELEASED_CONVERSATIONS`]
//! releases only.

use std::collections::{HashMap, VecDeque};

use omni_core::ConversationId;
use omni_core::time::Millis;

/// Records kept per conversation; older ones are dropped.
pub const MAX_RECORDS_PER_CONVERSATION: usize = 32;

/// Released conversations whose log is kept; the oldest releases are
/// forgotten first.
pub const MAX_RELEASED_CONVERSATIONS: usize = 10_000;

/// One decision about a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    /// When it was made.
    pub at_ms: Millis,
    /// What was decided and why, e.g. `offered to alice: 3 of 5 agents
    /// eligible; won on proficiency (9 vs 5 for bob)`.
    pub summary: String,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    records: VecDeque<DecisionRecord>,
    /// The release that may forget this entry; `None` while routed.
    released: Option<u64>,
}

/// Bounded decision records for every conversation.
#[derive(Debug, Clone)]
pub(crate) struct DecisionLog {
    entries: HashMap<ConversationId, Entry>,
    /// Releases, oldest first.
    releases: VecDeque<(ConversationId, u64)>,
    next_release: u64,
    max_released: usize,
}

impl DecisionLog {
    pub(crate) fn new(max_released: usize) -> Self {
        Self {
            entries: HashMap::new(),
            releases: VecDeque::new(),
            next_release: 0,
            max_released,
        }
    }

    pub(crate) fn record(&mut self, id: &ConversationId, at_ms: Millis, summary: String) {
        let entry = self.entries.entry(id.clone()).or_default();
        if entry.records.len() >= MAX_RECORDS_PER_CONVERSATION {
            entry.records.pop_front();
        }
        entry.records.push_back(DecisionRecord { at_ms, summary });
    }

    /// The conversation is routed again: keep its log while it is.
    pub(crate) fn reopened(&mut self, id: &ConversationId) {
        if let Some(entry) = self.entries.get_mut(id) {
            entry.released = None;
        }
    }

    /// The conversation left the engine: its log may now be forgotten.
    pub(crate) fn released(&mut self, id: &ConversationId) {
        let release = self.next_release;
        self.next_release = self.next_release.wrapping_add(1);
        if let Some(entry) = self.entries.get_mut(id) {
            entry.released = Some(release);
            self.releases.push_back((id.clone(), release));
        }
        while self.releases.len() > self.max_released {
            let Some((old, release)) = self.releases.pop_front() else {
                break;
            };
            // Skip releases superseded by a later reopen or release.
            if self
                .entries
                .get(&old)
                .is_some_and(|e| e.released == Some(release))
            {
                self.entries.remove(&old);
            }
        }
    }

    pub(crate) fn newest_first(&self, id: &ConversationId) -> Vec<DecisionRecord> {
        self.entries
            .get(id)
            .map(|e| e.records.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_records_newest_first() {
        let mut log = DecisionLog::new(10);
        let id = ConversationId::from("c");
        for i in 0..40 {
            log.record(&id, i, format!("step {i}"));
        }
        let records = log.newest_first(&id);
        assert_eq!(records.len(), MAX_RECORDS_PER_CONVERSATION);
        assert_eq!(records[0].summary, "step 39");
        assert_eq!(records[MAX_RECORDS_PER_CONVERSATION - 1].at_ms, 8);
    }

    #[test]
    fn forgets_the_oldest_released_but_not_reopened_ones() {
        let mut log = DecisionLog::new(2);
        let ids: Vec<ConversationId> = ["a", "b", "c", "d"].into_iter().map(Into::into).collect();
        for id in &ids {
            log.record(id, 0, "queued".into());
        }
        log.released(&ids[0]);
        log.reopened(&ids[0]);
        log.released(&ids[1]);
        log.released(&ids[2]);
        assert_eq!(log.newest_first(&ids[0]).len(), 1, "a was reopened, kept");
        assert_eq!(log.newest_first(&ids[1]).len(), 1);
        log.released(&ids[3]);
        assert!(
            log.newest_first(&ids[1]).is_empty(),
            "b was the oldest release"
        );
        assert_eq!(log.newest_first(&ids[2]).len(), 1);
        assert_eq!(log.newest_first(&ids[3]).len(), 1);
        assert_eq!(log.newest_first(&ids[0]).len(), 1, "a is still routed");
    }
}
