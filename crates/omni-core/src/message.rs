//! Messages: the canonical inbound form every adapter produces, and the
//! entries of a conversation's timeline.

use serde::{Deserialize, Serialize};

use crate::time::Millis;
use crate::{AgentId, Channel, ConversationId, Identity, MessageId};

/// A customer message as an adapter publishes it, whatever the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Unique per provider message: redelivery with the same key is a duplicate.
    pub idempotency_key: String,
    /// The channel it arrived on.
    pub channel: Channel,
    /// Who sent it.
    pub from: Identity,
    /// The message text.
    pub text: String,
    /// When the adapter accepted it.
    pub received_at_ms: Millis,
    /// The entry point the customer chose (e.g. `sales`), if any.
    pub topic: Option<String>,
    /// A name the customer gave, if any. Never used to merge customers.
    pub display_name: Option<String>,
}

/// Who a timeline entry is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// From an agent.
    Outbound,
}

/// Where a message stands on its way to its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// An inbound message, received.
    Received,
    /// An outbound message waiting for its adapter.
    Queued,
    /// Handed to the provider or the customer's connection.
    Sent,
    /// The provider confirmed delivery.
    Delivered,
    /// It could not be delivered.
    Failed,
}

/// One entry of a conversation's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// The message id.
    pub id: MessageId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Position in the timeline, from 1, without gaps.
    pub seq: u64,
    /// From the customer or from an agent.
    pub direction: Direction,
    /// The channel it travelled on.
    pub channel: Channel,
    /// The agent, for outbound messages.
    pub agent_id: Option<AgentId>,
    /// The text.
    pub text: String,
    /// When it was accepted.
    pub at_ms: Millis,
    /// Delivery status.
    pub delivery: DeliveryStatus,
    /// The key it was accepted under; a second message with it is a duplicate.
    pub idempotency_key: String,
}
