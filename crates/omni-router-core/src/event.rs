//! What goes into the engine ([`Event`]) and what comes out ([`Effect`]).

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, CustomerId, QueueId};

use crate::agent::Presence;
use crate::offer::{Offer, RescindReason};

/// Something that happened, for [`Engine::apply`](crate::Engine::apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A conversation needs an agent.
    ContactArrived {
        /// The conversation.
        conversation_id: ConversationId,
        /// The customer.
        customer_id: CustomerId,
        /// The queue to wait in.
        queue: QueueId,
        /// The channel it needs capacity on.
        channel: Channel,
        /// Its age; it keeps this across re-queues.
        queued_at_ms: Millis,
        /// The agent to try first (e.g. the customer's last agent).
        preferred_agent: Option<AgentId>,
    },
    /// Rebuild after restart: like [`Event::ContactArrived`], but
    /// `assigned_agent: Some` re-occupies that agent's capacity directly,
    /// even beyond capacity, without offering.
    ContactRestored {
        /// The conversation.
        conversation_id: ConversationId,
        /// The customer.
        customer_id: CustomerId,
        /// The queue it waits (or waited) in.
        queue: QueueId,
        /// The channel it needs capacity on.
        channel: Channel,
        /// Its age.
        queued_at_ms: Millis,
        /// The agent to try first.
        preferred_agent: Option<AgentId>,
        /// The agent already holding it, if any.
        assigned_agent: Option<AgentId>,
    },
    /// Resolved or the customer left: removes it from its queue, rescinds its
    /// live offer, or frees the assigned agent's capacity.
    ContactReleased {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// An agent changed presence. Away or offline takes back the agent's live
    /// offers; assigned conversations stay.
    SetPresence {
        /// The agent.
        agent_id: AgentId,
        /// The new presence.
        presence: Presence,
    },
    /// An agent accepts an offer before it expires.
    Accept {
        /// The agent.
        agent_id: AgentId,
        /// The offer.
        offer_id: String,
    },
    /// An agent declines an offer; the contact goes to someone else.
    Decline {
        /// The agent.
        agent_id: AgentId,
        /// The offer.
        offer_id: String,
    },
    /// Time passed: expire offers and cooldowns due at `now`.
    Tick,
}

/// A decision for the service to carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A contact was offered to an agent.
    Offered(Offer),
    /// An offer was taken back.
    OfferRescinded {
        /// The offer.
        offer: Offer,
        /// Why.
        reason: RescindReason,
    },
    /// An agent accepted a contact.
    Assigned {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent.
        agent_id: AgentId,
        /// The accepted offer.
        offer_id: String,
    },
    /// The contact is (again) waiting in its queue: a new arrival, or after a
    /// decline, a timeout or its agent leaving. For persistence.
    Queued {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// The contact left the engine (released).
    Removed {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// The engine changed an agent's presence (e.g. away after missed offers).
    PresenceChanged {
        /// The agent.
        agent_id: AgentId,
        /// The new presence.
        presence: Presence,
    },
}
