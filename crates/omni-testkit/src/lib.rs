//! Omniroute's app harness for tests.
//!
//! Starts the embedded app on free loopback ports with its own temporary
//! data directory, or every part as its own process, and holds the
//! scenarios run against both. The clients tests drive them with (HTTP,
//! WebSocket, a desk agent, customers on chat, email and SMS, a fake of
//! Twilio's API) live in the light `omni-testclients` crate, which depends
//! on no part, so an adapter's own tests use them without building the
//! app; they are re-exported here for the app's tests.
//!
//! # Layout
//! - [`app`]: `TestApp`, the embedded app under test, restartable on the
//!   same data.
//! - [`bot`]: `TestBot`, a scripted bot on the bus (the bot protocol's
//!   other side), for the tests of bots in front of queues.
//! - [`cluster`]: `Cluster`, every part as its own `omni` process over a
//!   real nats-server and redis-server, with kill and restart.
//! - [`grpc`]: the test accounts and tokens, and channels that present them.
//! - [`providers`]: the email and SMS settings (domain, numbers, Twilio
//!   account) the multichannel tests configure, for either.
//! - [`scenario`]: scenarios written once and run against the embedded app
//!   and the cluster ([`Deployment`]).
//! - [`bench`]: the end-to-end measurements shared by the benchmarks.

#![forbid(unsafe_code)]

pub mod app;
pub mod bench;
pub mod bot;
pub mod cluster;
pub mod grpc;
pub mod providers;
pub mod scenario;

pub use app::TestApp;
pub use cluster::Cluster;
pub use omni_testclients::{Endpoints, HttpClient, JsonSocket, actors, http, mail, twilio, ws};
pub use scenario::Deployment;
