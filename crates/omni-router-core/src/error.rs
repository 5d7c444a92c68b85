//! Why the engine refused an event. A refused event changes nothing.

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

/// Why [`Engine::apply`](crate::Engine::apply) refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No agent has this id.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// No queue has this id.
    #[error("unknown queue {0}")]
    UnknownQueue(QueueId),
    /// The conversation is not in the engine (never arrived, or released).
    #[error("unknown contact {0}")]
    UnknownContact(ConversationId),
    /// No live offer has this id: it never existed, or was already accepted,
    /// declined, rescinded or timed out.
    #[error("unknown offer {0}")]
    UnknownOffer(String),
    /// The offer's time ran out; the next tick rescinds it.
    #[error("offer {offer_id} expired at {expires_at_ms}")]
    OfferExpired {
        /// The offer.
        offer_id: String,
        /// When it expired.
        expires_at_ms: Millis,
    },
    /// The offer belongs to another agent.
    #[error("offer {offer_id} is for agent {offered_to}, not {agent_id}")]
    OfferNotForAgent {
        /// The offer.
        offer_id: String,
        /// The agent who tried to settle it.
        agent_id: AgentId,
        /// The agent it was offered to.
        offered_to: AgentId,
    },
    /// A transfer's target agent is not available, has no room on the
    /// contact's channel, or already holds the contact.
    #[error("agent {0} cannot take the contact now")]
    AgentNotAvailable(AgentId),
    /// An agent or queue specification is not valid.
    #[error("invalid specification: {0}")]
    InvalidSpec(String),
    /// The channel is not among the channels the engine routes (the
    /// declared set).
    #[error("channel {0} is not declared (declare it in [channels.{0}])")]
    UndeclaredChannel(Channel),
    /// The queue holds its bound of contacts
    /// ([`QueueSpec::max_waiting`](crate::QueueSpec::max_waiting)).
    #[error("queue {0} is full")]
    QueueFull(QueueId),
    /// The conversation is already queued, offered or assigned; a redelivered
    /// request can be treated as done.
    #[error("contact {0} is already routed")]
    DuplicateContact(ConversationId),
}
