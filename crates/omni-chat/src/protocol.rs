//! The chat page's WebSocket protocol: JSON text frames, both directions.
//!
//! | direction | frame |
//! |---|---|
//! | page → server | `{"type":"hello","visitor":null\|"v_…","name":…,"topic":…}` first |
//! | page → server | `{"type":"message","client_id":"…","text":"…"}` |
//! | page → server | `{"type":"read","message_ids":["m_…",…]}` the page showed these agent replies (1-200 ids) |
//! | server → page | `{"type":"welcome","visitor":"v_…","conversation_id":…,"history":[…],"max_text_bytes":4096,"max_attachment_bytes":524288}` (0: no files; files go to `POST /attachments`, see [`crate::upload`]) |
//! | server → page | `{"type":"ack","client_id":"…"}` once the message is durably accepted |
//! | server → page | `{"type":"message","message":{…}}` an agent's or a bot's reply (a bot's has `"bot"`; quick replies are `"options":[…]`) |
//! | server → page | `{"type":"status","conversation_id":"…","status":"waiting"\|"assigned"\|"resolved","agent_name":…,"waiting_since_ms":…}` after `welcome` and on every change |
//! | server → page | `{"type":"position","conversation_id":"…","position":3,"expected_wait_secs":120}` while waiting, when the place in line changes (`expected_wait_secs` only when the queue can tell) |
//! | server → page | `{"type":"error","code":"…","message":"…","client_id":…}` |
//! | page → server | `{"type":"typing","typing":true\|false}` the customer types (throttled by the page and the server) |
//! | server → page | `{"type":"typing","conversation_id":"…","typing":…,"agent_name":…}` the agent types |
//! | server → page | `{"type":"read","conversation_id":"…","client_ids":[…]}` the agent has seen these messages of the customer |
//!
//! Error codes: `bad_frame` (not JSON, unknown type, missing field, binary
//! frame), `not_ready` (message before hello), `empty`, `too_large` (text
//! over `chat.max_text_bytes`), `bad_client_id`, `unavailable` (the bus
//! could not accept it now; resend with the same `client_id`),
//! `rate_limited` (over a bound of [`crate::bounds`]: too many messages from
//! the address, or too many new conversations from the visitor or address;
//! the message says when to retry). A frame over
//! `chat.max_frame_bytes` closes the connection with code 1009.
//!
//! Delivery of agents' replies (see [`crate::receipts`]): a reply written to
//! the page's socket, live or in a `welcome`'s history, is reported
//! `delivered`; a `read` frame reports the listed replies `read`. Ids the
//! page was not sent on this connection are ignored; there is no answer to
//! a `read` frame unless it is malformed (`bad_frame`: no ids, more than
//! 200) or comes before hello (`not_ready`). The desk shows each reply's
//! status: `queued` (no page had it yet), `delivered`, `read`.

use omni_proto::view::MessageView;
use serde::{Deserialize, Serialize};

use crate::error::ChatError;

/// Longest `client_id` accepted.
pub const MAX_CLIENT_ID: usize = 64;

/// A frame from the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Opens the session; must come first.
    Hello {
        /// A visitor id issued before, to continue as that visitor.
        #[serde(default)]
        visitor: Option<String>,
        /// A name the customer gave.
        #[serde(default)]
        name: Option<String>,
        /// The topic the customer picked (maps to a queue).
        #[serde(default)]
        topic: Option<String>,
    },
    /// A customer message.
    Message {
        /// The page's id for it; resending with the same id is idempotent.
        client_id: String,
        /// The text.
        text: String,
    },
    /// The page showed these agent replies to the customer.
    Read {
        /// The replies' message ids (`message.id` of `message` frames and
        /// of `welcome` history), 1 to [`MAX_READ_IDS`].
        message_ids: Vec<String>,
    },
    /// The customer is typing (true) or stopped (false); see [`crate::typing`].
    Typing {
        /// Whether they type.
        typing: bool,
    },
}

/// Most message ids in one `read` frame.
pub const MAX_READ_IDS: usize = 200;

/// A frame to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The session is open.
    Welcome {
        /// The visitor id to keep and present next time.
        visitor: String,
        /// The customer's current conversation, if any.
        conversation_id: Option<String>,
        /// Its latest messages, oldest first.
        history: Vec<MessageView>,
        /// Largest message text accepted, in bytes.
        max_text_bytes: usize,
        /// Largest file accepted at `POST /attachments`, in bytes; 0 when
        /// the chat takes no files.
        max_attachment_bytes: usize,
    },
    /// The message with this client id is durably accepted.
    Ack {
        /// The page's id for the message.
        client_id: String,
    },
    /// A message for the customer.
    Message {
        /// The message (boxed: the other frames are small).
        message: Box<MessageView>,
    },
    /// Where the customer's conversation stands: sent after `welcome` when
    /// there is a conversation, and whenever it changes.
    Status {
        /// The conversation.
        conversation_id: String,
        /// `waiting` (for an agent), `assigned`, `resolved` or `bot` (a bot
        /// answers first).
        status: &'static str,
        /// The display name of the agent handling it (or who last did).
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
        /// While waiting: since when, in milliseconds since the epoch.
        #[serde(skip_serializing_if = "Option::is_none")]
        waiting_since_ms: Option<i64>,
    },
    /// The conversation's place in its queue while it waits, from the
    /// router; sent when it changes.
    Position {
        /// The conversation.
        conversation_id: String,
        /// 1 for the next to be answered.
        position: u32,
        /// The expected wait in seconds, when the queue can tell.
        #[serde(skip_serializing_if = "Option::is_none")]
        expected_wait_secs: Option<u64>,
    },
    /// The agent types (or stopped); see [`crate::typing`].
    Typing {
        /// The conversation.
        conversation_id: String,
        /// Whether they type.
        typing: bool,
        /// The agent's display name.
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
    },
    /// The agent was shown the customer's messages with these client ids.
    Read {
        /// The conversation.
        conversation_id: String,
        /// The page's own ids of the messages read.
        client_ids: Vec<String>,
    },
    /// Something was wrong; the connection stays open.
    Error {
        /// Machine-readable code.
        code: &'static str,
        /// Human-readable explanation.
        message: String,
        /// The message it concerns, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

impl ServerFrame {
    /// The error frame for `error`, about the message `client_id` if any.
    pub fn error(error: &ChatError, client_id: Option<String>) -> Self {
        ServerFrame::Error {
            code: error.code(),
            message: error.to_string(),
            client_id,
        }
    }
}

/// A new visitor id: `v_` and 32 hex digits, unguessable (it is the
/// visitor's only credential).
pub fn new_visitor_id() -> String {
    format!("v_{}", uuid::Uuid::new_v4().simple())
}

/// Whether `id` has the form of an issued visitor id.
pub fn is_visitor_id(id: &str) -> bool {
    id.strip_prefix("v_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames() {
        let hello: ClientFrame =
            serde_json::from_str(r#"{"type":"hello","visitor":null,"topic":"sales"}"#).unwrap();
        assert_eq!(
            hello,
            ClientFrame::Hello {
                visitor: None,
                name: None,
                topic: Some("sales".into())
            }
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"message","text":"hi"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"shout"}"#).is_err());
        let typing: ClientFrame =
            serde_json::from_str(r#"{"type":"typing","typing":true}"#).unwrap();
        assert_eq!(typing, ClientFrame::Typing { typing: true });
        let read: ClientFrame =
            serde_json::from_str(r#"{"type":"read","message_ids":["m_1","m_2"]}"#).unwrap();
        assert_eq!(
            read,
            ClientFrame::Read {
                message_ids: vec!["m_1".into(), "m_2".into()]
            }
        );
    }

    #[test]
    fn visitor_ids() {
        let id = new_visitor_id();
        assert!(is_visitor_id(&id), "{id}");
        assert!(!is_visitor_id("v_123"));
        assert!(!is_visitor_id("someone-else"));
    }
}
