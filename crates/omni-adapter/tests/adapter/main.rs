//! The adapter crate's integration tests: the outbound consumer over a
//! real (embedded) bus, and the conformance kit against a reference adapter.

mod kit;
mod outbound;
mod support;
