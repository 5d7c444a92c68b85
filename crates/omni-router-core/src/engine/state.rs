//! The engine's internal records of agents and queues, and the key that
//! orders waiting contacts.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use omni_core::AgentId;
use omni_core::time::Millis;

use crate::agent::Presence;
use crate::channels::PerChannel;
use crate::compile::Compiled;
use crate::contact::WaitKey;
use crate::index::{self, NameId};
use crate::position::AnswerPace;
use crate::queue::{QueueSpec, QueueStats};
use crate::small::SmallList;

/// An agent inside the engine.
#[derive(Debug, Clone)]
pub(super) struct AgentState {
    pub(super) id: AgentId,
    pub(super) name: String,
    /// (skill, level), sorted by skill.
    pub(super) skills: Vec<(NameId, u8)>,
    pub(super) langs: Vec<NameId>,
    /// By the engine's dense channel slot, like every per-channel record.
    pub(super) capacity: PerChannel<u32>,
    pub(super) total: Option<u32>,
    pub(super) presence: Presence,
    /// Assigned per channel.
    pub(super) load: PerChannel<u32>,
    /// Live offers per channel.
    pub(super) offered: PerChannel<u32>,
    /// Live offer sequences, oldest first.
    pub(super) offers: SmallList<u64, 3>,
    /// Assigned contact slots.
    pub(super) assigned: SmallList<u32, 6>,
    pub(super) last_assigned_ms: Option<Millis>,
    pub(super) consecutive_misses: u32,
    /// Position in id order.
    pub(super) rank: u32,
    /// Base index key per channel, valid where `indexed` has the bit.
    pub(super) keys: PerChannel<u128>,
    /// The channels the index holds the agent on, with `keys`. Stale while
    /// `pending` (see `Engine::pending`).
    pub(super) indexed: u64,
    /// How many channels the engine routes.
    pub(super) channels: u8,
    /// Listed in `Engine::pending`.
    pub(super) pending: bool,
    /// (queue slot, mask of steps met), highest priority first.
    pub(super) queues: Vec<(u32, u32)>,
}

impl AgentState {
    pub(super) fn occupied(&self, ch: usize) -> u32 {
        self.load[ch].saturating_add(self.offered[ch])
    }

    pub(super) fn has_room(&self, ch: usize) -> bool {
        if self.occupied(ch) >= self.capacity[ch] {
            return false;
        }
        match self.total {
            None => true,
            Some(total) => {
                let all: u64 = (0..usize::from(self.channels))
                    .map(|c| u64::from(self.occupied(c)))
                    .sum();
                all < u64::from(total)
            }
        }
    }

    /// Whether the agent could take a contact on `ch` now: available, with
    /// room. (The index may lag behind for a pending agent; this does not.)
    pub(super) fn is_open(&self, ch: usize) -> bool {
        self.presence.is_available() && self.has_room(ch)
    }

    pub(super) fn is_open_anywhere(&self) -> bool {
        (0..usize::from(self.channels)).any(|ch| self.is_open(ch))
    }

    /// The agent's base index key on `ch` as of now.
    pub(super) fn base_key(&self, ch: usize) -> u128 {
        index::base_key(
            self.occupied(ch),
            self.capacity[ch],
            self.last_assigned_ms,
            self.rank,
        )
    }
}

/// A queue inside the engine.
#[derive(Debug, Clone)]
pub(super) struct QueueState {
    pub(super) spec: QueueSpec,
    /// Step 0 is the base requirement.
    pub(super) steps: Vec<Compiled>,
    /// When each step starts; `starts[0]` is `Millis::MIN`.
    pub(super) starts: Vec<Millis>,
    /// The selection order ranks like the index.
    pub(super) index_order: bool,
    /// Waiting contacts per channel, oldest first.
    pub(super) waiting: PerChannel<BTreeSet<WaitKey>>,
    /// The first key of each `waiting` set, kept at hand: an agent freeing
    /// up usually takes it, without a walk down the tree.
    pub(super) oldest: PerChannel<Option<WaitKey>>,
    pub(super) stats: QueueStats,
    /// Live offers of the queue's contacts: with `waiting`, the contacts
    /// its bound counts.
    pub(super) offered: u32,
    /// The bound in force: the spec's, else the engine's default.
    pub(super) max_waiting: Option<u32>,
    /// Channels whose line changed (a contact joined or left the waiting
    /// set, or an answer moved the pace) since positions were last taken.
    pub(super) changed: u64,
    /// Set on a queue that exists only because a restored assignment names
    /// a queue no longer configured: the assignment keeps its queue id and
    /// its agent's capacity, but the queue is not listed, not accepted by
    /// events and never routes new contacts.
    pub(super) hidden: bool,
    /// Open by its business hours now (always, without hours).
    pub(super) open: bool,
    /// When the current opening began (`Millis::MIN`: always open, or not
    /// known): waits count against the service level from then.
    pub(super) opened_at: Millis,
    /// When `open` next changes (`Millis::MAX`: never); the key of its
    /// entry in `Engine::hours`.
    pub(super) hours_next: Millis,
}

impl QueueState {
    /// The part of a wait of `waited` ms ending at `now` that counts
    /// against the service level: the time since the queue's current
    /// opening, when that is later than the contact's queued time.
    pub(super) fn counted_wait(&self, now: Millis, waited: Millis) -> Millis {
        waited.min(now.saturating_sub(self.opened_at))
    }

    pub(super) fn step_at(&self, waited_ms: Millis) -> usize {
        self.starts
            .iter()
            .rposition(|s| waited_ms >= *s)
            .unwrap_or(0)
    }

    pub(super) fn all_steps(&self) -> u32 {
        (1u32 << self.steps.len()) - 1
    }

    /// Contacts waiting or offered: what the queue's bound counts.
    pub(super) fn held(&self) -> u32 {
        let waiting: usize = self.waiting.iter().map(BTreeSet::len).sum();
        u32::try_from(waiting)
            .unwrap_or(u32::MAX)
            .saturating_add(self.offered)
    }

    /// Whether one more contact would break the queue's bound.
    pub(super) fn is_full(&self) -> bool {
        self.max_waiting.is_some_and(|max| self.held() >= max)
    }
}

/// A queue's answering pace per channel, for expected waits; apart from
/// [`QueueState`] so the records decisions read stay small.
#[derive(Debug, Clone)]
pub(super) struct QueuePace {
    /// The times of the latest answers per channel.
    pub(super) pace: PerChannel<AnswerPace>,
    /// When each channel's pace stops being a basis for estimates
    /// (`Millis::MAX` when it is none).
    pub(super) until: PerChannel<Millis>,
}

impl QueuePace {
    /// No answers yet on any of `channels` channels.
    pub(super) fn new(channels: usize) -> Self {
        Self {
            pace: PerChannel::new(channels, AnswerPace::default()),
            until: PerChannel::new(channels, Millis::MAX),
        }
    }
}

/// A waiting contact's place in the routing order: its queue's priority,
/// then its place in its queue ([`WaitKey`]: its own priority, queued time,
/// admission order, slot).
pub(super) type RouteKey = (Reverse<u32>, WaitKey);
