//! The webhook adapter against a real bus (embedded; NATS for the kit too)
//! and a real HTTP peer playing the company's app: it posts signed
//! messages and statuses, and receives, checks and answers the replies.

mod conformance;
mod inbound;
mod outbound;
mod support;
