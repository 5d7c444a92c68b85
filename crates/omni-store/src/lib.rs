//! Omniroute's state store.
//!
//! Two traits, each a set of atomic domain operations rather than raw keys,
//! so that every implementation can make them race-free its own way (one
//! write transaction in the embedded store, one script in Redis):
//! [`ContextStore`] for customers, conversations and history, and
//! [`RouterStore`] for the router's recoverable state.
//!
//! # Layout
//! - [`embedded`]: the durable on-disk implementation (redb) used by default.
//! - [`conformance`]: the suite every implementation must pass.

#![forbid(unsafe_code)]

use async_trait::async_trait;
use omni_core::config::{AgentConfig, QueueConfig};
use omni_core::time::Millis;
use omni_core::{
    AgentId, Channel, Conversation, ConversationId, Customer, CustomerId, DeliveryStatus, Identity,
    InboundMessage, MessageId, QueueId, StoredMessage,
};
use serde::{Deserialize, Serialize};

pub mod conformance;
pub mod embedded;

pub use embedded::EmbeddedStore;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or cannot write now; retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record that must exist does not.
    #[error("{kind} {id} not found")]
    NotFound {
        /// `conversation`, `customer`, ...
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The operation does not fit the record's current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored record could not be decoded.
    #[error("corrupt record {key}: {reason}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// How a customer message continues or opens a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuityPolicy {
    /// A message this long after resolve (or sooner) reopens the conversation.
    pub reopen_window_ms: Millis,
}

/// What [`ContextStore::ingest`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The customer, created or found by identity.
    pub customer: Customer,
    /// The conversation after the message was added.
    pub conversation: Conversation,
    /// The stored message.
    pub message: StoredMessage,
    /// The idempotency key had been ingested before: nothing changed, and
    /// `message` is the one stored then.
    pub duplicate: bool,
    /// The conversation is queued and the router must be asked for an agent
    /// (new or reopened conversation; also on a duplicate whose conversation
    /// is still queued, because the first routing request may have been lost).
    pub needs_routing: bool,
    /// A new conversation was opened.
    pub opened: bool,
    /// A resolved conversation was reopened.
    pub reopened: bool,
}

/// An agent's message, to add to a conversation's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbound {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The agent writing.
    pub agent_id: AgentId,
    /// The text.
    pub text: String,
    /// The channel it goes out on.
    pub channel: Channel,
    /// A retried send with the same key is stored once.
    pub idempotency_key: String,
    /// When it was written.
    pub at_ms: Millis,
}

/// Customers, identities, conversations and their timelines.
#[async_trait]
pub trait ContextStore: Send + Sync + 'static {
    /// Atomically: deduplicates by `message.idempotency_key`; finds or
    /// creates the customer of `message.from`; continues the customer's open
    /// conversation, reopens their last one if resolved within the policy's
    /// window, or opens a new one on `queue_for_new` (queued since
    /// `message.received_at_ms`); appends the message at the next seq.
    async fn ingest(
        &self,
        message: &InboundMessage,
        queue_for_new: &QueueId,
        policy: ContinuityPolicy,
    ) -> Result<Ingested, StoreError>;

    /// Atomically appends an agent's message (deduplicated by its key: a
    /// retry returns the message stored the first time) with delivery
    /// `Queued`. Fails with `NotFound` for an unknown conversation.
    async fn append_outbound(&self, message: NewOutbound) -> Result<StoredMessage, StoreError>;

    /// Sets the delivery status of one message of a conversation.
    async fn set_delivery(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        status: DeliveryStatus,
    ) -> Result<(), StoreError>;

    /// Marks the conversation assigned to `agent` (and remembers the agent as
    /// its last agent). A resolved conversation stays resolved (`Conflict`).
    async fn assign(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError>;

    /// Marks the conversation resolved. Resolving twice is not an error.
    async fn resolve(
        &self,
        conversation_id: &ConversationId,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError>;

    /// One conversation.
    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError>;

    /// One customer.
    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError>;

    /// The customer known by `identity`, if any.
    async fn customer_by_identity(
        &self,
        identity: &Identity,
    ) -> Result<Option<CustomerId>, StoreError>;

    /// The customer's most recent conversation, open or not.
    async fn latest_conversation(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<Conversation>, StoreError>;

    /// Up to `limit` messages with seq greater than `after_seq`, oldest first.
    async fn messages(
        &self,
        conversation_id: &ConversationId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// Every conversation not resolved, for rebuilding routing state.
    async fn open_conversations(&self) -> Result<Vec<Conversation>, StoreError>;
}

/// An agent's presence as the router last recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceRecord {
    /// The agent.
    pub agent_id: AgentId,
    /// `available`, `away` or `offline`.
    pub presence: String,
    /// Why the agent is away, if set by the router or the agent.
    pub reason: Option<String>,
    /// When it was set.
    pub at_ms: Millis,
}

/// A contact the router holds: queued, or assigned to an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRecord {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its customer.
    pub customer_id: CustomerId,
    /// The queue it routes through.
    pub queue: QueueId,
    /// The channel whose capacity it uses.
    pub channel: Channel,
    /// Its routing age.
    pub queued_at_ms: Millis,
    /// Sticky routing target, if any.
    pub preferred_agent: Option<AgentId>,
    /// The agent it is assigned to, once accepted.
    pub assigned_agent: Option<AgentId>,
}

/// The router's recoverable state: contacts it holds, agents' presence, and
/// agents and queues set through the administration API.
#[async_trait]
pub trait RouterStore: Send + Sync + 'static {
    /// Inserts or replaces a contact.
    async fn put_contact(&self, contact: &ContactRecord) -> Result<(), StoreError>;
    /// Removes a contact; removing an absent one is not an error.
    async fn remove_contact(&self, conversation_id: &ConversationId) -> Result<(), StoreError>;
    /// Every contact held.
    async fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError>;
    /// Inserts or replaces an agent's presence.
    async fn put_presence(&self, presence: &PresenceRecord) -> Result<(), StoreError>;
    /// Every recorded presence.
    async fn presences(&self) -> Result<Vec<PresenceRecord>, StoreError>;
    /// Inserts or replaces an agent set through the administration API; it
    /// overrides the configuration file's agent of the same id at start.
    async fn put_agent_config(&self, agent: &AgentConfig) -> Result<(), StoreError>;
    /// Every agent set through the administration API.
    async fn agent_configs(&self) -> Result<Vec<AgentConfig>, StoreError>;
    /// Inserts or replaces a queue set through the administration API; it
    /// overrides the configuration file's queue of the same id at start.
    async fn put_queue_config(&self, queue: &QueueConfig) -> Result<(), StoreError>;
    /// Every queue set through the administration API.
    async fn queue_configs(&self) -> Result<Vec<QueueConfig>, StoreError>;
}
