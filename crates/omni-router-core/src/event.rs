//! What goes into the engine ([`Event`]) and what comes out ([`Effect`]).

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

use crate::agent::Presence;
use crate::offer::{Offer, RescindReason};

/// Something that happened, for [`Engine::apply`](crate::Engine::apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A conversation needs an agent.
    ContactArrived {
        /// The conversation. (The engine routes conversations; who the
        /// customer is stays with the context service and the shell.)
        conversation_id: ConversationId,
        /// The queue to wait in.
        queue: QueueId,
        /// The channel it needs capacity on.
        channel: Channel,
        /// Its age; it keeps this across re-queues.
        queued_at_ms: Millis,
        /// The agent to try first (e.g. the customer's last agent).
        preferred_agent: Option<AgentId>,
        /// Its priority in its queue, 0-10 (routing rules): a higher one is
        /// offered first. Kept across re-queues.
        priority: u8,
        /// A language its agent must speak (routing rules'
        /// `require_language`), while its queue's base requirement is in
        /// force: from the queue's first relaxation step on, any agent the
        /// step allows may take it. A code that is not 2-3 ASCII letters is
        /// ignored.
        language: Option<String>,
    },
    /// Rebuild after restart: like [`Event::ContactArrived`], but
    /// `assigned_agent: Some` re-occupies that agent's capacity directly,
    /// even beyond capacity, without offering.
    ContactRestored {
        /// The conversation.
        conversation_id: ConversationId,
        /// The queue it waits (or waited) in.
        queue: QueueId,
        /// The channel it needs capacity on.
        channel: Channel,
        /// Its age.
        queued_at_ms: Millis,
        /// The agent to try first.
        preferred_agent: Option<AgentId>,
        /// Its priority in its queue.
        priority: u8,
        /// A language its agent must speak (see [`Event::ContactArrived`]).
        language: Option<String>,
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
    /// Time passed: expire offers due at `now`. (Relaxation steps,
    /// overflows and ended cooldowns are applied at every event.)
    Tick,
    /// Moves a contact (waiting, offered or assigned) to another queue,
    /// where it waits from now. A live offer is rescinded
    /// ([`RescindReason::Transferred`]); an assigned agent's capacity is
    /// freed.
    TransferToQueue {
        /// The conversation.
        conversation_id: ConversationId,
        /// The queue it moves to.
        queue: QueueId,
    },
    /// Offers a contact (waiting, offered or assigned) to one agent,
    /// regardless of the queue's requirement; the agent must be available
    /// with room on the contact's channel, and not already hold it. A live
    /// offer is rescinded ([`RescindReason::Transferred`]); an assigned
    /// agent's capacity is freed. If the agent declines or lets it time
    /// out, the contact waits in its queue, from the transfer time.
    TransferToAgent {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent to offer it to.
        agent_id: AgentId,
    },
    /// The customer moved the conversation to another channel: it needs
    /// capacity there from now on. A waiting contact waits (and is matched)
    /// on the new channel, keeping its age; a live offer is rescinded
    /// ([`RescindReason::ChannelChanged`]) and the contact waits on the new
    /// channel at its original age; an assigned contact stays with its agent
    /// (continuity first), its load moving to the new channel, even beyond
    /// the agent's capacity there, and the agent's live offers that no
    /// longer fit beside it are rescinded
    /// ([`RescindReason::AgentUnavailable`]). The same channel changes
    /// nothing.
    ChannelChanged {
        /// The conversation.
        conversation_id: ConversationId,
        /// The channel it is on now.
        channel: Channel,
    },
    /// A later message of the conversation matched a routing rule with a
    /// higher priority: the contact takes `priority` if it is higher than
    /// its own, keeping its age (never lowered; the same priority again
    /// changes nothing). A waiting contact moves up its queue; an offered
    /// or assigned one keeps it for a later re-queue.
    PriorityRaised {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its new priority, 0-10.
        priority: u8,
    },
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
    /// The contact moved to another queue (overflow or transfer). For
    /// persistence.
    Requeued {
        /// The conversation.
        conversation_id: ConversationId,
        /// Its queue now.
        queue: QueueId,
        /// Its routing age now.
        queued_at_ms: Millis,
    },
    /// An assigned contact left its agent by a transfer; the agent's
    /// capacity is free again.
    Unassigned {
        /// The conversation.
        conversation_id: ConversationId,
        /// The agent who held it.
        agent_id: AgentId,
    },
    /// A new contact was turned away: its queue held its bound
    /// ([`QueueSpec::max_waiting`](crate::QueueSpec::max_waiting)) and so
    /// did every queue it overflows to. The engine holds nothing of it.
    Refused {
        /// The conversation.
        conversation_id: ConversationId,
        /// The queue it asked for.
        queue: QueueId,
    },
    /// A contact waits in a queue that is closed (business hours): the
    /// customer is told when it opens. Once per contact (a contact restored
    /// after a restart was told before).
    QueueClosed {
        /// The conversation.
        conversation_id: ConversationId,
        /// The closed queue.
        queue: QueueId,
        /// When it opens; `None` when it does not open within a year.
        opens_at_ms: Option<Millis>,
    },
    /// The engine changed an agent's presence (e.g. away after missed offers).
    PresenceChanged {
        /// The agent.
        agent_id: AgentId,
        /// The new presence.
        presence: Presence,
    },
}
