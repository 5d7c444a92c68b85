//! Omniroute's domain types, shared by every part, and its configuration.
//!
//! These types carry no protocol or storage concerns: generated protobuf
//! types convert to and from them in `omni-proto`.
//!
//! # Layout
//! - [`access`]: roles and the person a call is made for.
//! - [`ids`]: typed identifiers.
//! - [`channel`]: the channels a customer can use: interned names, the
//!   built-in `chat`, `email`, `sms` and the ones the configuration declares.
//! - [`hours`]: business hours: a queue's weekly schedule in a time zone
//!   with holidays ([`hours::Schedule`]), evaluated at a time passed in;
//!   the closed reply's opening written in the customer's language
//!   ([`hours::written`]).
//! - [`identity`]: how a customer is known on a channel (built-in and
//!   declared identity kinds) and how raw values are normalized.
//! - [`message`]: inbound messages in canonical form and stored timeline entries.
//! - [`conversation`]: conversations and customers.
//! - [`contact_rules`]: the contact rules language routing rules are
//!   written in (`intent == "refund" AND sentiment <= -0.5`).
//! - [`config`]: the configuration file, its defaults and validation,
//!   including the declared channel set ([`config::ChannelSet`]).
//! - [`error_body`]: the JSON body of every HTTP error.
//! - [`requirement`]: the queue requirements language (`billing >= 5 AND lang == "es"`).
//! - [`sending`]: sending hours: the daily window for messages the
//!   customer did not ask for (surveys, follow-ups), in their time zone.
//! - [`segments`]: SMS segment accounting (GSM-7 / UCS-2), for the SMS
//!   adapter and the desk's reply limit.
//! - [`time`]: wall-clock milliseconds.
//! - [`trace`]: W3C trace context propagation.

#![forbid(unsafe_code)]

pub mod access;
pub mod channel;
pub mod config;
pub mod contact_rules;
pub mod conversation;
pub mod error_body;
pub mod hours;
pub mod identity;
pub mod ids;
pub mod message;
pub mod requirement;
pub mod segments;
pub mod sending;
pub mod time;
pub mod trace;

pub use access::{Actor, Role};
pub use channel::Channel;
pub use conversation::{
    BotHandoff, BotState, Closure, Conversation, ConversationStatus, Customer, CustomerUpdate,
    MergeRecord, OpenTurn, OptOut, Provenance,
};
pub use error_body::ErrorBody;
pub use identity::{Identity, IdentityError, IdentityNormalizer, Region};
pub use ids::{AgentId, ConversationId, CustomerId, MessageId, QueueId};
pub use message::{
    Attachment, AttachmentInfo, DeliveryStatus, Direction, EmailDetails, InboundMessage, Notice,
    OptChange, SmsDetails, StoredEmail, StoredMessage,
};
