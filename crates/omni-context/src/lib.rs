//! The customer-context service: it knows who the customer is, keeps one
//! conversation per customer across channels, and stores its history.
//!
//! # Layout
//! - [`service`]: the operations (ingest a customer message, record an
//!   assignment, send an agent's reply, resolve), over a store and a bus;
//!   `service/reply` holds the reply: who may send it and to which identity;
//!   `service/notes` agents' internal notes and the wrap-up of a resolve.
//!   `service/signal` an agent's typing and reading, told to the customer;
//!   `service/files` the files an agent attaches to an email reply.
//! - [`enrich`]: the enrichment stage (built-in analyzers, the external
//!   enricher over the bus, within a deadline) and the routing rules that
//!   choose a new conversation's queue and a contact's priority.
//! - [`customers`]: profiles, linking, merging, unmerging, attachments and
//!   delivery reports.
//! - [`deadletters`]: the durable consumer that keeps adapters' dead
//!   letters in the store, and listing them (admins).
//! - [`bots`]: bots in front of queues (docs/bots.md): a bot-held
//!   conversation's turns for its bot (bus or signed webhook), the bot's
//!   replies, handoffs (by the bot, by keyword, on too many turns, on a
//!   missed deadline), the sweeper of missed deadlines, and a closed
//!   queue's bot (`closed_bot`), once per closure.
//! - [`closed`]: the durable consumer that answers customers whose queue
//!   is closed (business hours) with the queue's closed reply, and hands
//!   them to the queue's closed bot when it has one.
//! - [`schedule`]: the durable consumer that sends due scheduled items
//!   (surveys, follow-ups; `service/survey`, `service/followup` and
//!   `service/aftercare` hold what they do; `service/survey_view` is a
//!   survey as the desk shows it on the conversation).
//! - [`survey_answers`]: scored survey answers by period, a page at a
//!   time (supervisors: the desk's CSV export and the wall).
//! - [`survey_links`]: the signed tokens of email surveys' one-click
//!   links; `service/survey_link` answers a survey by one (the chat
//!   service's `AnswerSurveyLink`).
//! - [`threading`]: reply addresses and email threading.
//! - [`intake`]: the durable bus consumers that feed the service.
//! - [`grpc`]: the `omni.context.v1.ContextService` gRPC API.
//! - [`authority`]: who may do what: the method table the gRPC gate
//!   enforces and the checks of the records each call touches.
//! - [`error`]: the service's error type and its one mapping to gRPC status.
//! - [`erasure`]: erasing a customer from the store and the bus streams.
//! - [`export`]: everything held about a customer as one JSON document.
//! - [`retention`]: the background task that deletes old resolved
//!   conversations in batches.
//! - [`audit`]: the service's lines in the audit log (merges, unmerges,
//!   erasures, exports).

#![forbid(unsafe_code)]

pub mod audit;
pub mod authority;
pub mod bots;
pub mod closed;
pub mod customers;
pub mod deadletters;
pub mod enrich;
pub mod erasure;
pub mod error;
pub mod export;
pub mod grpc;
pub mod intake;
pub mod retention;
pub mod schedule;
pub mod service;
pub mod survey_answers;
pub mod survey_links;
pub mod threading;

pub use error::ContextError;
pub use grpc::ContextApi;
pub use service::{ContextService, ContextSettings};
