//! Assembles Omniroute's parts into a running process.
//!
//! # Layout
//! - [`embedded`]: every part in one process over the embedded bus and
//!   store: `start(config, listeners)` returns a handle whose `shutdown`
//!   stops the parts in order (ingress first, storage last).
//! - [`distributed`]: one part per process over NATS JetStream and Redis.
//! - [`part`]: the parts and what each needs (bus, store, APIs, ports).
//! - [`parts`]: starts any set of parts over given backends and stops them
//!   in order; both modes go through it.
//! - [`grpc`]: the gRPC server with health and reflection.
//! - [`grpc_measure`]: every admitted gRPC call counted and timed.
//! - [`metrics`]: `/metrics` and `/healthz` on the metrics listener of every process.

#![forbid(unsafe_code)]

pub mod distributed;
pub mod embedded;
pub mod grpc;
pub mod grpc_measure;
pub mod metrics;
pub mod part;
pub mod parts;

pub use part::{Part, Port};
pub use parts::{Listeners, Running};
