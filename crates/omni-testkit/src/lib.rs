//! Omniroute's test kit.
//!
//! Starts the embedded app on free loopback ports with its own temporary
//! data directory, and gives tests the clients a browser would use: a chat
//! WebSocket, the desk's JSON API and its event WebSocket.
//!
//! # Layout
//! - [`app`]: `TestApp`, the embedded app under test, restartable on the
//!   same data.
//! - [`cluster`]: `Cluster`, every part as its own `omni` process over a
//!   real nats-server and redis-server, with kill and restart.
//! - [`actors`]: a desk agent and a chat customer, for either.
//! - [`bench`]: the end-to-end measurements shared by the benchmarks.
//! - [`http`]: a small JSON-over-HTTP client.
//! - [`ws`]: a JSON WebSocket client with receive timeouts.

#![forbid(unsafe_code)]

pub mod actors;
pub mod app;
pub mod bench;
pub mod cluster;
pub mod http;
pub mod ws;

pub use actors::Endpoints;
pub use app::TestApp;
pub use cluster::Cluster;
pub use http::HttpClient;
pub use ws::JsonSocket;
