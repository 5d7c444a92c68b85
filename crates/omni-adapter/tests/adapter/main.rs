//! The adapter crate's integration tests: the outbound consumer over a
//! real (embedded) bus, and the conformance kit against a reference adapter,
//! in process and through a conformance hook as an adapter out of process
//! offers it.

mod kit;
mod outbound;
mod remote;
mod support;
