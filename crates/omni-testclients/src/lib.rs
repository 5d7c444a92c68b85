//! Omniroute's light test clients: what a browser, a mail program, a phone
//! and Twilio would use to talk to a running Omniroute, and a fake of
//! Twilio's Messages API for replies.
//!
//! The crate depends on no part of Omniroute (a test kit never depends on
//! the app it tests): an adapter's own tests use it without building the
//! app, and the app harness (`omni-testkit`) builds on it.
//!
//! # Layout
//! - [`http`]: a small JSON-over-HTTP client.
//! - [`ws`]: a JSON WebSocket client with receive timeouts.
//! - [`actors`]: a desk agent, and a customer on chat, email (a mail
//!   program) and SMS (a phone through Twilio), against any [`Endpoints`].
//! - [`mail`]: the one Python mail client (`smtplib`) every test sends
//!   mail with.
//! - [`twilio`]: a fake of Twilio's Messages API, in Twilio's wire format,
//!   and Twilio's request signature.

#![forbid(unsafe_code)]

pub mod actors;
pub mod http;
pub mod mail;
pub mod twilio;
pub mod ws;

pub use actors::Endpoints;
pub use http::{DeskSession, HttpClient};
pub use ws::JsonSocket;
