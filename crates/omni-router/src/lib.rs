//! The router service: the I/O shell around the pure routing core
//! (`omni-router-core`).
//!
//! The shell feeds the engine events with the wall-clock time and carries out
//! the effects it returns: it persists contacts and presence, publishes
//! assignments and refusals (a full queue: the context service answers the
//! customer), tells watching desks about offers, wakes the engine when an
//! offer or cooldown is due, and publishes waiting customers' places in
//! line when they change.
//!
//! # Layout
//! - [`shell`]: the engine behind a lock, the operations, the timer; its
//!   children carry out effects, recover at start, publish queue
//!   positions and raise a held contact's priority.
//! - [`events`]: the agent events the shell broadcasts (domain types).
//! - [`connections`]: who has a desk open; presence follows it.
//! - [`settled`]: what became of recent offers, for precise late answers.
//! - [`intake`]: the durable bus consumer of routing requests and releases.
//! - [`tally`]: the contact center's counts, exported and kept per day in
//!   the store.
//! - [`grpc`]: the `omni.routing.v1.RouterService` gRPC API (serving only).
//! - [`convert`]: every conversion to and from proto, configuration and
//!   store forms (specs checked field by field, state, offers, events,
//!   presence records).
//! - [`authority`]: the method table the gRPC gate enforces and whom
//!   each call may act for.
//! - [`error`]: the service's error type and its one mapping to gRPC status
//!   and structured reason.

#![forbid(unsafe_code)]

pub mod authority;
pub mod connections;
pub mod convert;
pub mod error;
pub mod events;
pub mod grpc;
pub mod intake;
pub mod settled;
pub mod shell;
pub mod tally;

pub use error::RouterError;
pub use grpc::RouterApi;
pub use shell::RouterShell;
