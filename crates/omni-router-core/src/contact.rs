//! Contacts: conversations the engine routes, their state and their place in
//! the routing order.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, CustomerId, QueueId};

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
    /// The customer.
    pub customer_id: CustomerId,
    /// The queue it waits in.
    pub queue: QueueId,
    /// The channel it needs capacity on.
    pub channel: Channel,
    /// Its age, kept across re-queues.
    pub queued_at_ms: Millis,
    /// The agent to try first, if eligible.
    pub preferred_agent: Option<AgentId>,
    /// Where it stands.
    pub state: ContactState,
    /// Agents not offered this contact until the given time (they declined
    /// it or let its offer time out). Entries may outlive their time until
    /// the next tick; an entry whose time has come no longer excludes.
    pub excluded: BTreeMap<AgentId, Millis>,
}

/// A contact's routing state inside the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    Waiting,
    /// The live offer's id.
    Offered(String),
    Assigned(AgentId),
}

/// A contact inside the engine.
#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) id: ConversationId,
    pub(crate) customer_id: CustomerId,
    pub(crate) queue: QueueId,
    pub(crate) channel: Channel,
    pub(crate) queued_at_ms: Millis,
    pub(crate) preferred_agent: Option<AgentId>,
    pub(crate) slot: Slot,
    /// Agent to the time its cooldown for this contact ends.
    pub(crate) excluded: BTreeMap<AgentId, Millis>,
}

impl Contact {
    /// Whether `agent` is in this contact's decline/miss cooldown at `now_ms`.
    pub(crate) fn excludes(&self, agent: &AgentId, now_ms: Millis) -> bool {
        self.excluded
            .get(agent)
            .is_some_and(|until| *until > now_ms)
    }

    /// This contact's place in the routing order, in a queue of `priority`.
    pub(crate) fn wait_key(&self, priority: u32) -> WaitKey {
        WaitKey {
            priority: Reverse(priority),
            queued_at_ms: self.queued_at_ms,
            id: self.id.clone(),
        }
    }
}

/// Routing order: higher priority first, then older, then conversation id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WaitKey {
    pub(crate) priority: Reverse<u32>,
    pub(crate) queued_at_ms: Millis,
    pub(crate) id: ConversationId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_keys_order_by_priority_then_age_then_id() {
        let key = |p, t, id: &str| WaitKey {
            priority: Reverse(p),
            queued_at_ms: t,
            id: id.into(),
        };
        let mut keys = [
            key(0, 1, "a"),
            key(5, 9, "b"),
            key(5, 3, "d"),
            key(5, 3, "c"),
        ];
        keys.sort();
        let ids: Vec<_> = keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["c", "d", "b", "a"]);
    }
}
