//! Omniroute's test kit.
//!
//! Starts the embedded app on free loopback ports with its own temporary
//! data directory, and gives tests the clients a browser would use: a chat
//! WebSocket, the desk's JSON API and its event WebSocket.
//!
//! # Layout
//! - [`app`]: `TestApp`, the app under test, restartable on the same data.
//! - [`http`]: a small JSON-over-HTTP client.
//! - [`ws`]: a JSON WebSocket client with receive timeouts.

#![forbid(unsafe_code)]

pub mod app;
pub mod http;
pub mod ws;

pub use app::TestApp;
pub use http::HttpClient;
pub use ws::JsonSocket;
