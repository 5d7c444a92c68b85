//! The agent desk: the agent's page and the HTTP/WebSocket API behind it,
//! over the context and router gRPC services.
//!
//! # Layout
//! - [`desk`]: sessions and the gRPC clients.
//! - [`api`]: the JSON HTTP routes for sessions, offers and conversations.
//! - [`channels`]: the enabled reply channels and their limits.
//! - [`customer_api`]: customer profiles, linking, merging, attachments.
//! - [`events`]: the live event WebSocket, merging router and context streams.
//! - [`error`]: the one mapping of errors to HTTP status and JSON body.
//! - [`server`]: the routes and `serve(listener, desk, limits, shutdown)`
//!   (through [`omni_web::serve`]).

#![forbid(unsafe_code)]

pub mod api;
pub mod channels;
pub mod customer_api;
pub mod desk;
pub mod error;
pub mod events;
pub mod server;

pub use desk::Desk;
pub use server::serve;
