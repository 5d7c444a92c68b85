//! Contacts: conversations the engine routes, their state and their place in
//! the routing order.

use std::collections::BTreeMap;

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

use crate::explain::Rec;
use crate::index::NameId;
use crate::offer::Offer;

/// Where a contact stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactState {
    /// In its queue, waiting for an eligible agent.
    Waiting,
    /// Offered to an agent, who has until the offer expires to accept.
    Offered(Offer),
    /// Held by an agent.
    Assigned(AgentId),
}

/// A snapshot of one contact, for APIs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    /// The conversation.
    pub id: ConversationId,
    /// The queue it waits in.
    pub queue: QueueId,
    /// The channel it needs capacity on.
    pub channel: Channel,
    /// Its age, kept across re-queues.
    pub queued_at_ms: Millis,
    /// Its priority in its queue (0-10, set by routing rules): a higher one
    /// is offered first, then the older.
    pub priority: u8,
    /// The language its agent must speak while its queue's base
    /// requirement is in force (routing rules' `require_language`).
    pub language: Option<String>,
    /// The agent to try first, if eligible.
    pub preferred_agent: Option<AgentId>,
    /// Where it stands.
    pub state: ContactState,
    /// The step of its queue in force, counted from 1: step 1 is the base
    /// requirement, step 2 the first relaxation step, and so on.
    pub step: u32,
    /// Agents not offered this contact until the given time (they declined
    /// it or let its offer time out). Entries may outlive their time until
    /// the next tick; an entry whose time has come no longer excludes.
    pub excluded: BTreeMap<AgentId, Millis>,
}

/// A contact's routing state inside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Waiting,
    /// The live offer's sequence.
    Offered(u64),
    /// The agent's slot.
    Assigned(u32),
}

/// A contact inside the engine. Queues and agents are referred to by slot.
#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) id: ConversationId,
    pub(crate) queue: u32,
    pub(crate) channel: Channel,
    pub(crate) queued_at_ms: Millis,
    /// Its priority in its queue, 0-[`MAX_CONTACT_PRIORITY`].
    pub(crate) priority: u8,
    /// The language its agent must speak while its queue's base
    /// requirement is in force (step 0).
    pub(crate) lang: Option<NameId>,
    /// Admission order: the last tie-break of the routing order.
    pub(crate) seq: u64,
    pub(crate) preferred_agent: Option<Box<AgentId>>,
    pub(crate) slot: Slot,
    /// The relaxation step in force when last looked at.
    pub(crate) step: u8,
    /// When its next step or overflow falls due, while waiting;
    /// [`NO_TIMER`] when none.
    pub(crate) timer: Millis,
    /// (agent slot, until): agents not offered this contact until then.
    /// Boxed (8 bytes instead of a `Vec`'s 24): most contacts never have
    /// one.
    #[allow(clippy::box_collection)]
    pub(crate) excluded: Option<Box<Vec<(u32, Millis)>>>,
    /// Told that its queue is closed ([`crate::Effect::QueueClosed`]).
    pub(crate) told_closed: bool,
    pub(crate) log: Vec<Rec>,
}

impl Contact {
    /// Whether agent `agent` is in this contact's decline/miss cooldown at
    /// `now_ms`.
    pub(crate) fn excludes(&self, agent: u32, now_ms: Millis) -> bool {
        self.exclusions()
            .iter()
            .any(|(a, until)| *a == agent && *until > now_ms)
    }

    /// (agent slot, until) of every cooldown entry.
    pub(crate) fn exclusions(&self) -> &[(u32, Millis)] {
        self.excluded
            .as_deref()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// This contact's key in its queue's waiting set.
    pub(crate) fn wait_key(&self, slot: u32) -> WaitKey {
        WaitKey {
            rank: MAX_CONTACT_PRIORITY - self.priority.min(MAX_CONTACT_PRIORITY),
            at: self.queued_at_ms,
            seq: self.seq,
            slot,
        }
    }
}

/// [`Contact::timer`] when nothing is due.
pub(crate) const NO_TIMER: Millis = Millis::MAX;

/// The highest contact priority (`[[rules]] priority`).
pub const MAX_CONTACT_PRIORITY: u8 = 10;

/// A waiting contact's place in its queue: the higher priority first, then
/// the older, then the earlier admitted. Ordered by its fields in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct WaitKey {
    /// [`MAX_CONTACT_PRIORITY`] less the contact's priority: the highest
    /// priority sorts first.
    pub(crate) rank: u8,
    /// Queued time.
    pub(crate) at: Millis,
    /// Admission order.
    pub(crate) seq: u64,
    /// The contact's slot.
    pub(crate) slot: u32,
}

impl WaitKey {
    /// The first possible key of rank `rank` queued at `at`.
    pub(crate) fn first_at(rank: u8, at: Millis) -> Self {
        Self {
            rank,
            at,
            seq: 0,
            slot: 0,
        }
    }

    /// The last possible key of rank `rank` queued at `at`.
    pub(crate) fn last_at(rank: u8, at: Millis) -> Self {
        Self {
            rank,
            at,
            seq: u64::MAX,
            slot: u32::MAX,
        }
    }
}
