//! Omniroute's test kit.
//!
//! Starts the embedded app on free loopback ports with its own temporary
//! data directory, or every part as its own process, and gives tests the
//! clients a browser would use (a chat WebSocket, the desk's JSON API and
//! its event WebSocket), a mail program, Twilio's signed webhooks, and a
//! fake of Twilio's Messages API for replies.
//!
//! # Layout
//! - [`app`]: `TestApp`, the embedded app under test, restartable on the
//!   same data.
//! - [`cluster`]: `Cluster`, every part as its own `omni` process over a
//!   real nats-server and redis-server, with kill and restart.
//! - [`actors`]: a desk agent, and a customer on chat, email (a mail
//!   program) and SMS (a phone through Twilio), for either.
//! - [`bench`]: the end-to-end measurements shared by the benchmarks.
//! - [`http`]: a small JSON-over-HTTP client.
//! - [`twilio`]: a fake of Twilio's Messages API, in Twilio's wire format.
//! - [`ws`]: a JSON WebSocket client with receive timeouts.

#![forbid(unsafe_code)]

pub mod actors;
pub mod app;
pub mod bench;
pub mod cluster;
pub mod http;
pub mod twilio;
pub mod ws;

pub use actors::Endpoints;
pub use app::TestApp;
pub use cluster::Cluster;
pub use http::HttpClient;
pub use ws::JsonSocket;
