//! The email adapter: receives customer mail over SMTP, turns each message
//! into the canonical inbound form on the bus, and sends agents' replies
//! through an SMTP relay with the headers that keep them in the customer's
//! thread.
//!
//! Inbound, a message is acknowledged to the sending server (`250`) only
//! once it is durably on the bus (`omni.inbound.email`), keyed by its
//! Message-ID scoped by sender (`email:<sender>:<Message-ID>`); when the bus cannot take it, the reply is `451` and the
//! sender retries. Outbound, the durable `email-outbound` consumer hands
//! each reply to the relay and publishes a delivery report on
//! `omni.delivery.email`.
//!
//! # Layout
//! - [`server`]: the SMTP server, `serve(listener, adapter, shutdown)`.
//! - [`limits`]: what one client address may take: sessions at once, messages a minute.
//! - `line`: reading the client's lines with a length limit.
//! - [`command`]: SMTP command syntax.
//! - [`adapter`]: [`EmailAdapter`]: parsing, publishing, SMTP replies for errors.
//! - [`mime`]: MIME parsing (charsets, encodings, attachments, threading headers).
//! - [`recover`]: reading damaged mail: raw 8-bit headers, broken MIME structure.
//! - [`quote`]: separating new text from quoted text and signatures.
//! - [`html`]: sanitizing HTML bodies.
//! - [`tls`]: the certificate for STARTTLS on the SMTP server.
//! - [`outbound`]: sending replies through the relay, delivery reports.

#![forbid(unsafe_code)]

pub mod adapter;
pub mod command;
pub mod html;
pub mod limits;
mod line;
pub mod mime;
pub mod outbound;
pub mod quote;
pub mod recover;
pub mod server;
pub mod tls;

pub use adapter::EmailAdapter;
pub use server::serve;
