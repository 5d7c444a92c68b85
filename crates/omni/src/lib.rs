//! Assembles Omniroute's parts into a running process.
//!
//! # Layout
//! - [`embedded`]: every part in one process over the embedded bus and
//!   store: `start(config, listeners)` returns a handle whose `shutdown`
//!   stops the parts in order (ingress first, storage last).
//! - [`grpc`]: the gRPC server with health and reflection.

#![forbid(unsafe_code)]

pub mod embedded;
pub mod grpc;

pub use embedded::{Listeners, Running};
