//! Omniroute's state store.
//!
//! Two traits, each a set of atomic domain operations rather than raw keys,
//! so that every implementation can make them race-free its own way (one
//! write transaction in the embedded store, one script in Redis):
//! [`ContextStore`] for customers, conversations and history, and
//! [`RouterStore`] for the router's recoverable state, and [`AccountStore`]
//! for accounts, sessions and the audit log.
//!
//! # Layout
//! - [`accounts`]: accounts, sessions and the audit log, and when a session holds.
//! - [`bots`]: a bot's records on a conversation (a closed queue's bot
//!   taking it, open turn, messages, attributes, handoff), planned once for
//!   every implementation ([`BotStore`], a part of every [`ContextStore`]).
//! - [`canned`]: canned responses, shared and personal ([`CannedStore`],
//!   a part of every [`AccountStore`]).
//! - [`deadletters`]: outbound messages adapters gave up on, kept for
//!   operators ([`DeadLetterStore`], a part of every [`ContextStore`]).
//! - [`embedded`]: the durable on-disk implementation (redb) used by default.
//! - [`merge`]: linking, merging and unmerging customers, planned once for
//!   every implementation from the records involved.
//! - [`lifecycle`]: deleting a customer's records step by step, for erasure
//!   and retention ([`CustomerRecords`], a part of every [`ContextStore`]).
//! - `conformance` (feature `conformance`): the suite every implementation
//!   must pass, for their tests; production builds leave it out.
//! - [`schedule`]: the durable scheduler of surveys and follow-ups
//!   ([`ScheduleStore`], a part of every [`ContextStore`] and
//!   [`RouterStore`]).
//! - [`timed`]: [`Timed`], any store with each call's latency in
//!   `omni_store_operation_seconds` (operation, backend).

#![forbid(unsafe_code)]

use async_trait::async_trait;
use omni_core::config::{AgentConfig, QueueConfig};
use omni_core::time::Millis;
use omni_core::{
    AgentId, AttachmentInfo, Channel, Conversation, ConversationId, ConversationStatus, Customer,
    CustomerId, CustomerUpdate, DeliveryStatus, Identity, InboundMessage, MergeRecord, MessageId,
    Provenance, QueueId, StoredEmail, StoredMessage,
};
use serde::{Deserialize, Serialize};

pub mod accounts;
pub mod bots;
pub mod canned;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod deadletters;
pub mod embedded;
pub mod lifecycle;
pub mod merge;
pub mod schedule;
pub mod timed;

pub use accounts::{Account, AccountStore, AuditEvent, Session, SessionPolicy};
pub use bots::{BotChange, BotStore, NewBotMessage};
pub use canned::{CannedResponse, CannedStore};
pub use deadletters::{DeadLetterRecord, DeadLetterStore};
pub use embedded::EmbeddedStore;
pub use lifecycle::{CustomerRecords, DeletedConversation, DeletedCustomer};
pub use schedule::{ScheduleKind, ScheduleState, ScheduleStore, ScheduledItem};
pub use timed::Timed;

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

/// How [`ContextStore::ingest_with`] places a customer message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// The queue a new conversation routes through.
    pub queue_for_new: QueueId,
    /// The reopen window.
    pub policy: ContinuityPolicy,
    /// The conversation the message threads into (an email to the
    /// conversation's reply address, or replying to one of its messages). It
    /// is continued (or reopened within the window) whoever the sender is;
    /// a sender that is not one of its customer's identities is recorded as
    /// an unverified identity of that customer (an agent may confirm it),
    /// is never linked on that alone, and does not become the reply target:
    /// anyone can write to a reply address or quote a Message-ID.
    pub thread: Option<ConversationId>,
    /// Why the message belongs to `thread`, in words, for the log.
    pub thread_evidence: String,
    /// Attachment contents larger than this are not stored (only recorded).
    pub max_attachment_bytes: u64,
    /// The W3C `traceparent` the message arrived with, kept on the
    /// conversation ([`Conversation::trace`]); `None` keeps the one it has.
    pub trace: Option<String>,
    /// The bot of the queue: a new (or reopened) conversation starts held
    /// by it, in `Bot` status, instead of queued ([`Ingested::needs_bot`]).
    pub bot: Option<String>,
}

impl IngestOptions {
    /// Options for a message that continues its sender's conversation.
    pub fn new(queue_for_new: QueueId, policy: ContinuityPolicy) -> Self {
        Self {
            queue_for_new,
            policy,
            thread: None,
            thread_evidence: String::new(),
            max_attachment_bytes: 10 * 1024 * 1024,
            trace: None,
            bot: None,
        }
    }
}

/// The attachment infos of an inbound email and which contents are kept.
pub fn attachment_infos(message: &InboundMessage, max_bytes: u64) -> Vec<AttachmentInfo> {
    let Some(email) = &message.email else {
        return Vec::new();
    };
    email
        .attachments
        .iter()
        .zip(1u32..)
        .map(|(a, index)| AttachmentInfo {
            index,
            name: a.name.clone(),
            content_type: a.content_type.clone(),
            size: a.content.len() as u64,
            stored: a.content.len() as u64 <= max_bytes,
        })
        .collect()
}

/// What an inbound message stores beside its text: email details (without
/// attachment contents) and the opt-out notice of an SMS keyword.
pub fn inbound_extras(
    message: &InboundMessage,
    max_attachment_bytes: u64,
) -> (Option<StoredEmail>, Option<omni_core::Notice>) {
    let email = message.email.as_ref().map(|e| StoredEmail {
        message_id: e.message_id.clone(),
        in_reply_to: e.in_reply_to.clone().filter(|s| !s.is_empty()),
        references: e.references.clone(),
        subject: e.subject.clone(),
        html: e.html.clone(),
        quoted: e.quoted.clone(),
        signature: e.signature.clone(),
        attachments: attachment_infos(message, max_attachment_bytes),
        reply_to: String::new(),
        from: match &message.from {
            Identity::Email(address) => address.clone(),
            _ => String::new(),
        },
    });
    let notice = match (&message.from, message.sms.as_ref().and_then(|s| s.opt)) {
        (Identity::Phone(phone) | Identity::SmsSender(phone), Some(omni_core::OptChange::Out)) => {
            Some(omni_core::Notice::SmsOptOut {
                phone: phone.clone(),
                keyword: message.text.trim().to_owned(),
            })
        }
        (Identity::Phone(phone) | Identity::SmsSender(phone), Some(omni_core::OptChange::In)) => {
            Some(omni_core::Notice::SmsOptIn {
                phone: phone.clone(),
                keyword: message.text.trim().to_owned(),
            })
        }
        _ => None,
    };
    (email, notice)
}

/// Most unverified identities one customer holds (agents' additions and
/// email thread participants): a mail from one more stranger into the
/// thread is kept without recording its sender, and an agent adding one
/// more is refused by the context service. The Redis store's scripts keep
/// the same number (`lua/ingest.lua`).
pub const MAX_UNVERIFIED: usize = 20;

/// What [`ContextStore::link_identity`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// The customer after the link.
    pub customer: Customer,
    /// The identity belonged to another customer, merged into this one.
    pub merge: Option<MergeRecord>,
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
    /// The conversation is held by a bot (`Bot` status): the bot takes the
    /// message as a turn, and it is not routed. Also on a duplicate, since
    /// the first turn may have been lost (turns are deduplicated by id).
    pub needs_bot: bool,
    /// A new conversation was opened.
    pub opened: bool,
    /// A resolved conversation was reopened.
    pub reopened: bool,
    /// The customer wrote on another channel than the conversation's last
    /// (never for a new conversation or a duplicate).
    pub channel_changed: bool,
}

impl Ingested {
    /// The answer to a message ingested before: nothing changed, and routing
    /// is asked again only while the conversation still waits in a queue.
    pub fn duplicate(
        customer: Customer,
        conversation: Conversation,
        message: StoredMessage,
    ) -> Ingested {
        Ingested {
            needs_routing: conversation.status == ConversationStatus::Queued,
            needs_bot: conversation.status == ConversationStatus::Bot,
            customer,
            conversation,
            message,
            duplicate: true,
            opened: false,
            reopened: false,
            channel_changed: false,
        }
    }
}

/// An agent's message, to add to a conversation's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbound {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The agent writing; `None` for an automatic message of the service
    /// (stored without an agent, as the customer's channel marks it).
    pub agent_id: Option<AgentId>,
    /// The text.
    pub text: String,
    /// The channel it goes out on.
    pub channel: Channel,
    /// A retried send with the same key is stored once.
    pub idempotency_key: String,
    /// When it was written.
    pub at_ms: Millis,
    /// The id the message gets if it is new (a retry keeps the first one's).
    pub id: MessageId,
    /// Email threading for the outbound mail, if it goes out by email.
    pub email: Option<StoredEmail>,
    /// What the message records besides its text (an automatic answer's
    /// reason).
    pub notice: Option<omni_core::Notice>,
    /// Quick-reply options offered with it (a survey's scores).
    pub options: Vec<String>,
}

/// Customers, identities, conversations and their timelines.
#[async_trait]
pub trait ContextStore:
    CustomerRecords + DeadLetterStore + BotStore + ScheduleStore + Send + Sync + 'static
{
    /// Atomically: deduplicates by `message.idempotency_key`; finds or
    /// creates the customer of `message.from`; continues the customer's open
    /// conversation, reopens their last one if resolved within the policy's
    /// window, or opens a new one on `queue_for_new` (queued since
    /// `message.received_at_ms`); adds the message to the timeline.
    ///
    /// The timeline is in the order the adapters accepted the messages
    /// (`message.received_at_ms`), not the order they reach the store: a
    /// message stamped before some already stored (its ingest was retried,
    /// or it was redelivered after a consumer crashed) takes the seq after
    /// the last message stamped at or before it, and the later ones move one
    /// seq up; equal stamps keep their arrival order. Seqs stay gapless.
    async fn ingest(
        &self,
        message: &InboundMessage,
        queue_for_new: &QueueId,
        policy: ContinuityPolicy,
    ) -> Result<Ingested, StoreError> {
        self.ingest_with(message, &IngestOptions::new(queue_for_new.clone(), policy))
            .await
    }

    /// [`ContextStore::ingest`] with threading: see [`IngestOptions`]. Also,
    /// atomically with the message: an email's Message-ID is indexed for
    /// [`ContextStore::conversation_by_email_id`]; its attachments' contents
    /// up to the size limit are stored for [`ContextStore::attachment`]; a new
    /// conversation joins the customer's list; an SMS opt-out or opt-in
    /// keyword updates the customer's opt-outs and marks the message with its
    /// notice.
    async fn ingest_with(
        &self,
        message: &InboundMessage,
        options: &IngestOptions,
    ) -> Result<Ingested, StoreError>;

    /// Records a delivery report: moves the message's status forward (never
    /// back: see [`DeliveryStatus::rank`]) and keeps the error of a failure.
    /// Returns the updated message, or `None` when the report changed nothing
    /// (a redelivered or late report). `NotFound` for an unknown message.
    async fn record_delivery(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<Option<StoredMessage>, StoreError>;

    /// Applies an attribute update; `NotFound` for an unknown customer,
    /// `Conflict` for one merged into another.
    async fn update_customer(
        &self,
        id: &CustomerId,
        update: &CustomerUpdate,
    ) -> Result<Customer, StoreError>;

    /// The customer's conversations, newest first: `limit` of them after
    /// skipping `offset`.
    async fn customer_conversations(
        &self,
        id: &CustomerId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// Records an identity the customer gave but nobody verified (a pre-chat
    /// form): shown on the profile, never used to find or merge customers.
    async fn claim_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
    ) -> Result<Customer, StoreError>;

    /// Atomically makes `identity` one of the customer's identities. If it
    /// belongs to another customer, that customer is merged into this one
    /// (see [`ContextStore::merge_customers`]).
    async fn link_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
        provenance: &Provenance,
    ) -> Result<Linked, StoreError>;

    /// Atomically merges `absorbed` into `survivor`: identities, attributes
    /// the survivor lacks, opt-outs and conversations move; the absorbed
    /// customer remains as a tombstone pointing at the survivor. The returned
    /// record undoes it ([`ContextStore::unmerge`]).
    async fn merge_customers(
        &self,
        survivor: &CustomerId,
        absorbed: &CustomerId,
        provenance: &Provenance,
    ) -> Result<MergeRecord, StoreError>;

    /// Atomically undoes a merge: the absorbed customer comes back with its
    /// identities, attributes and the conversations that were its own
    /// (messages added to them since included). Returns (survivor,
    /// restored). `Conflict` when already undone or when the survivor was
    /// merged again since (undo that first).
    async fn unmerge(
        &self,
        merge_id: &str,
        provenance: &Provenance,
    ) -> Result<(Customer, Customer), StoreError>;

    /// One merge record.
    async fn merge_record(&self, merge_id: &str) -> Result<Option<MergeRecord>, StoreError>;

    /// The conversation holding the email with this Message-ID (inbound or
    /// sent), if any.
    async fn conversation_by_email_id(
        &self,
        message_id: &str,
    ) -> Result<Option<ConversationId>, StoreError>;

    /// One stored attachment's content, by message id and index (from 1).
    async fn attachment(
        &self,
        message_id: &MessageId,
        index: u32,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Atomically appends an agent's message (deduplicated by its key: a
    /// retry returns the message stored the first time) with delivery
    /// `Queued`. Fails with `NotFound` for an unknown conversation.
    async fn append_outbound(&self, message: NewOutbound) -> Result<StoredMessage, StoreError>;

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
    ) -> Result<Conversation, StoreError> {
        self.resolve_with(conversation_id, at_ms, None).await
    }

    /// [`ContextStore::resolve`] keeping `wrapup_code` on the conversation
    /// ([`Conversation::wrapup_code`]). Resolving a resolved conversation
    /// changes nothing, its code included.
    async fn resolve_with(
        &self,
        conversation_id: &ConversationId,
        at_ms: Millis,
        wrapup_code: Option<&str>,
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

    /// Up to `limit` messages with seq greater than `after_seq`, in timeline
    /// order (see [`ContextStore::ingest`]).
    async fn messages(
        &self,
        conversation_id: &ConversationId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// Every conversation not resolved, for rebuilding routing state.
    async fn open_conversations(&self) -> Result<Vec<Conversation>, StoreError>;

    /// Keeps the contents of an agent's message's attachments, by index
    /// (from 1, as its `StoredEmail::attachments` lists them), for
    /// [`ContextStore::attachment`] and erasure, where inbound attachments
    /// are kept. Writing them again (a retried reply) changes nothing.
    async fn put_attachments(
        &self,
        message_id: &MessageId,
        contents: &[(u32, Vec<u8>)],
    ) -> Result<(), StoreError>;
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
    /// Its priority in its queue (0-10), set by routing rules; kept
    /// across re-queues and restarts. Absent in older records: 0.
    #[serde(default)]
    pub priority: u8,
    /// Why its queue and priority are what they are (the routing rules
    /// that chose them, with the facts they quoted), for the router's
    /// explanation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// A language its agent must speak (routing rules'
    /// `require_language`), while its queue's base requirement is in
    /// force. Absent in older records: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// One day's count of one of the contact center's numbers for one queue and
/// channel (e.g. `answered` for `sales` on `chat` on `2026-12-06`); the
/// router adds to these as things happen, so the counts outlive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    /// The day, `YYYY-MM-DD`, as the router's day boundary cuts it (the
    /// router also keeps a running total under the day `all`).
    pub day: String,
    /// The queue.
    pub queue: String,
    /// The declared channel's name.
    pub channel: String,
    /// Which number (`offered`, `answered`, ...).
    pub number: String,
    /// The count.
    pub value: u64,
}

/// The router's recoverable state: contacts it holds, agents' presence,
/// agents and queues set through the administration API, and the contact
/// center's daily counts.
#[async_trait]
pub trait RouterStore: ScheduleStore + Send + Sync + 'static {
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
    /// Adds each count's `value` to the stored count of its day, queue,
    /// channel and number (absent counts start at 0), all or none.
    async fn add_counts(&self, counts: &[DayCount]) -> Result<(), StoreError>;
    /// The stored counts of `day` (`YYYY-MM-DD`), or of every day with
    /// `None`, ordered by day, queue, channel and number.
    async fn counts(&self, day: Option<&str>) -> Result<Vec<DayCount>, StoreError>;
}
