//! What the router tells an agent's watchers, in domain terms; `convert`
//! gives the proto form the gRPC API sends.

use omni_core::{AgentId, ConversationId};
use omni_router_core::{AgentView, Offer, RescindReason};

/// One event for one agent.
#[derive(Debug, Clone)]
pub struct AgentEvent {
    /// The agent it is for.
    pub agent_id: AgentId,
    /// What happened.
    pub kind: AgentEventKind,
}

/// What happened to an agent.
#[derive(Debug, Clone)]
pub enum AgentEventKind {
    /// The agent's state after a change (presence, load, offers, assignments).
    State(Box<AgentView>),
    /// A new offer.
    Offered(Offer),
    /// An offer taken back.
    Rescinded {
        /// The offer.
        offer: Offer,
        /// Why.
        reason: RescindReason,
    },
    /// An offer accepted: the conversation is the agent's.
    Assigned {
        /// The conversation.
        conversation_id: ConversationId,
        /// The accepted offer.
        offer_id: String,
    },
    /// A conversation left the agent (resolved or transferred away).
    Released {
        /// The conversation.
        conversation_id: ConversationId,
    },
}
