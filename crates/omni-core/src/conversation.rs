//! Conversations and customers.

use serde::{Deserialize, Serialize};

use crate::time::Millis;
use crate::{AgentId, Channel, ConversationId, CustomerId, Identity, QueueId};

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// Waiting for an agent.
    Queued,
    /// Accepted by an agent.
    Assigned,
    /// Closed by an agent; a new customer message may reopen it.
    Resolved,
}

/// One customer's conversation, across channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// The conversation id.
    pub id: ConversationId,
    /// Whose conversation it is.
    pub customer_id: CustomerId,
    /// Where it stands.
    pub status: ConversationStatus,
    /// The queue it routes through.
    pub queue: QueueId,
    /// The channel the customer used last; replies go there by default.
    pub last_channel: Channel,
    /// The identity the customer used last, on `last_channel`.
    pub last_identity: Identity,
    /// When it was opened.
    pub created_at_ms: Millis,
    /// When anything last changed.
    pub updated_at_ms: Millis,
    /// When it last entered the queue (its routing age); `None` unless queued.
    pub queued_at_ms: Option<Millis>,
    /// The agent handling it, while assigned.
    pub assigned_agent: Option<AgentId>,
    /// The agent who handled it last, kept after resolve.
    pub last_agent: Option<AgentId>,
    /// When it was resolved, while resolved.
    pub resolved_at_ms: Option<Millis>,
    /// How many messages its timeline holds; the last message's seq.
    pub message_count: u64,
}

/// A customer and every identity they are known by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer id.
    pub id: CustomerId,
    /// Every identity, in the order they were learned.
    pub identities: Vec<Identity>,
    /// A display name the customer gave, if any.
    pub display_name: Option<String>,
    /// When the customer was first seen.
    pub created_at_ms: Millis,
}
