//! The router service: the I/O shell around the pure routing core
//! (`omni-router-core`).
//!
//! The shell feeds the engine events with the wall-clock time and carries out
//! the effects it returns: it persists contacts and presence, publishes
//! assignments, tells watching desks about offers, and wakes the engine when
//! an offer or cooldown is due.
//!
//! # Layout
//! - [`shell`]: the engine behind a lock, effect execution, the timer, restart recovery.
//! - [`intake`]: the durable bus consumer of routing requests and releases.
//! - [`grpc`]: the `omni.routing.v1.RouterService` gRPC API.
//! - [`admin`]: agent and queue specs to and from their proto and
//!   configuration forms, checked field by field.
//! - [`error`]: the service's error type and its one mapping to gRPC status.

#![forbid(unsafe_code)]

pub mod admin;
pub mod error;
pub mod grpc;
pub mod intake;
pub mod shell;

pub use error::RouterError;
pub use grpc::RouterApi;
pub use shell::RouterShell;
