//! The bot crate's integration tests: the runner and the FAQ bot over a
//! real bus (embedded, and NATS through omni-testservers), and the
//! conformance kit catching bots that break its rules.

mod kit;
mod runner;
mod support;
