//! The web chat adapter: serves the customer chat page and speaks its
//! WebSocket protocol, turning each customer message into the canonical
//! inbound form on the bus, and pushing agents' replies back to the page.
//!
//! A customer message is acknowledged to the page (`ack`) only once it is
//! durably on the bus. Replies come from the durable `chat-outbound`
//! consumer; a customer who is not connected finds them in the history the
//! page receives on its next `welcome`.
//!
//! # Layout
//! - [`protocol`]: the JSON frames, both directions, and their limits.
//! - [`error`]: [`ChatError`], why a frame was refused, and its codes.
//! - [`bounds`]: messages per address, new conversations per visitor and
//!   per address.
//! - [`adapter`]: connection registry, inbound publishing (on
//!   `omni-adapter`'s `Inbound`), history.
//! - [`socket`]: one WebSocket connection's read and write loops.
//! - [`left`]: a waiting customer who left the chat is closed (abandoned)
//!   after the grace period.
//! - [`outbound`]: chat as an `omni_adapter::Provider`: replies pushed to
//!   connected customers by the `omni-adapter` outbound consumer.
//! - [`status`]: conversation changes (waiting, agent joined, resolved) and
//!   the router's place in line while waiting, for the customer's pages.
//! - [`topics`]: the topics a customer can pick, from the configuration.
//! - [`receipts`]: `delivered` and `read` reports for replies a page was sent.
//! - [`sites`]: the websites that embed the widget: which site a frame
//!   belongs to, whether its host page may frame it, its CSP and its text
//!   in a language.
//! - [`widget`]: `/widget.js`, the site's frame and its settings.
//! - [`upload`]: a customer's file (images, PDF), type-checked by content.
//! - [`typing`]: the customer's typing for the agent; the agent's typing and
//!   reading for the customer's page.
//! - [`survey`]: one-click survey links from email: the choice on GET,
//!   recorded on the form's POST through the context service;
//!   [`survey_page`] its page and text.
//! - [`server`]: the HTTP routes and `serve(listener, shutdown)`.

#![forbid(unsafe_code)]

pub mod adapter;
pub mod bounds;
pub mod error;
pub mod left;
pub mod outbound;
pub mod protocol;
pub mod receipts;
pub mod server;
pub mod sites;
pub mod socket;
pub mod status;
pub mod survey;
pub mod survey_page;
pub mod topics;
pub mod typing;
pub mod upload;
pub mod widget;

pub use adapter::ChatAdapter;
pub use error::ChatError;
pub use server::serve;
#[cfg(test)]
mod catalogs;
