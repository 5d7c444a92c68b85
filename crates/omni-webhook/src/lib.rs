//! The webhook channel: a company's own app posts its customers' messages
//! to Omniroute and receives agents' replies at its own webhook, both over
//! signed JSON HTTP. It is built only on `omni-adapter`, as the worked
//! example of a channel (`docs/adapters.md`, "Walk-through: the webhook
//! channel").
//!
//! A message is answered 202 only once it is durably on the bus as an
//! `InboundMessage` on `omni.inbound.<channel>` (idempotency key
//! `webhook:<channel>:<message_id>`, so the app's retry is stored once).
//! Requests are signed with HMAC-SHA256 over `"<timestamp>.<body>"`; two
//! keys are active during a rotation. Replies the app keeps failing are
//! dead-lettered on `omni.deadletter.<channel>` after the last retry.
//!
//! # Layout
//! - [`adapter`]: the adapter, the app's JSON, inbound publishing and
//!   delivery reports (on `omni-adapter`'s `Inbound` and `Reporter`).
//! - [`server`]: the HTTP routes and `serve(listener, adapter, shutdown)`.
//! - [`outbound`]: the app's webhook as an `omni_adapter::Provider`, and
//!   dead letters.
//! - [`client`]: the HTTP client for the app's webhook.
//! - [`lookup`]: whether a status the app posts names one of our replies
//!   (asked of the context service).
//! - [`signature`]: `X-Omni-Timestamp` and `X-Omni-Signature` (re-exported
//!   from `omni_adapter::http::signature`, shared with webhook bots).
//! - [`error`]: errors and their HTTP form.

#![forbid(unsafe_code)]

pub mod adapter;
pub mod client;
pub mod error;
pub mod lookup;
pub mod outbound;
pub mod server;
/// The request signature, shared with webhook bots (moved to the adapter
/// kit so both use one implementation).
pub use omni_adapter::http::signature;

pub use adapter::WebhookAdapter;
pub use error::WebhookError;
pub use server::serve;
