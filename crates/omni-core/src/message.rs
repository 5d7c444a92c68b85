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
    /// What an email adds: threading headers, HTML, quoted text, attachments.
    pub email: Option<EmailDetails>,
    /// What an SMS adds: provider ids and opt-out/opt-in keywords.
    pub sms: Option<SmsDetails>,
}

/// What an inbound email adds to its message. The message text is the new
/// text only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDetails {
    /// The Message-ID header, without angle brackets.
    pub message_id: String,
    /// In-Reply-To, without angle brackets.
    pub in_reply_to: Option<String>,
    /// References, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The decoded subject.
    pub subject: String,
    /// The envelope recipient it was delivered to.
    pub to: String,
    /// The sanitized HTML body; empty for plain-text mail.
    pub html: String,
    /// Quoted earlier text removed from the text.
    pub quoted: String,
    /// The signature removed from the text.
    pub signature: String,
    /// Files that came with it.
    pub attachments: Vec<Attachment>,
}

/// A file that came with a message, with its content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name as sent, without a path.
    pub name: String,
    /// The MIME type.
    pub content_type: String,
    /// The content.
    pub content: Vec<u8>,
}

/// What an inbound SMS adds to its message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsDetails {
    /// `twilio` or `kannel`.
    pub provider: String,
    /// The provider's message id.
    pub provider_message_id: String,
    /// Our number it was sent to.
    pub to: String,
    /// Segments the provider reported; 0 when unknown.
    #[serde(default)]
    pub segments: u32,
    /// An opt-out or opt-in keyword, if the text is one.
    pub opt: Option<OptChange>,
}

/// An SMS keyword that changes whether the customer may be texted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptChange {
    /// STOP and its synonyms: nothing may be sent to the number.
    Out,
    /// START and its synonyms: sending is allowed again.
    In,
}

/// Email threading data kept with a stored message, inbound or outbound.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEmail {
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// In-Reply-To, without angle brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// References, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The sanitized HTML body; empty for plain text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub html: String,
    /// Quoted earlier text, separated from the new text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub quoted: String,
    /// The signature, separated from the new text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
    /// The attachments, without their content (see [`AttachmentInfo`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentInfo>,
    /// The reply address, for outbound mail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply_to: String,
    /// The sender's address, for inbound mail (empty in mail stored before
    /// it was kept): the desk shows it with the message, marked when it is
    /// not one of the customer's verified identities.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
}

/// An attachment as the timeline shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// Its position among the message's attachments, from 1.
    pub index: u32,
    /// The file name.
    pub name: String,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the content is stored (false when it exceeded the size limit).
    pub stored: bool,
}

/// Something that happened in a conversation that is not a message: shown in
/// the timeline between the messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// The customer opted out of SMS on a number.
    SmsOptOut {
        /// The phone number (E.164).
        phone: String,
        /// The keyword they sent.
        keyword: String,
    },
    /// The customer opted in again.
    SmsOptIn {
        /// The phone number (E.164).
        phone: String,
        /// The keyword they sent.
        keyword: String,
    },
    /// The router turned the conversation away because its queue (and its
    /// overflow queue) was full; the message carrying this notice is the
    /// automatic answer the customer got, and the conversation was
    /// resolved (their next message routes again).
    QueueFull {
        /// The queue it asked for.
        queue: String,
    },
    /// The conversation's queue was closed (business hours); the message
    /// carrying this notice is the automatic answer the customer got. The
    /// conversation waits for the opening.
    QueueClosed {
        /// The closed queue.
        queue: String,
        /// When it opens, epoch ms; `None` when not within a year.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opens_at_ms: Option<crate::time::Millis>,
    },
    /// The message is an agent's internal note: shown to agents only, never
    /// delivered to the customer nor shown in their history.
    InternalNote {
        /// Where the conversation was transferred right after the note
        /// (`queue <id>` or `agent <id>`), when it came with a transfer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer_to: Option<String>,
        /// The wrap-up code the conversation was resolved with, when the
        /// note came with a resolve.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrapup_code: Option<String>,
    },
}

impl Notice {
    /// Whether the message carrying it is an internal note (agents only).
    pub fn is_internal(&self) -> bool {
        matches!(self, Notice::InternalNote { .. })
    }
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
    /// The customer's page showed it (chat).
    Read,
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
    /// Email threading, HTML, quoted text, signature and attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<StoredEmail>,
    /// Why delivery failed, in the provider's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the message changed, when it is also an event (an SMS STOP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// The bot that wrote it (outbound only); `None` for an agent's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// Quick-reply options offered with it (a bot's, a survey's scores):
    /// buttons on a channel that has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl StoredMessage {
    /// Whether it is an agent's internal note, never for the customer.
    pub fn is_internal(&self) -> bool {
        self.notice.as_ref().is_some_and(Notice::is_internal)
    }
}

impl DeliveryStatus {
    /// How far along the way to the recipient: a report never moves a
    /// message back (a late `Sent` after `Delivered` is ignored).
    pub fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Received | DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered | DeliveryStatus::Failed => 2,
            DeliveryStatus::Read => 3,
        }
    }
}
