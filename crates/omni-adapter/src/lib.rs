//! What every Omniroute channel adapter needs, written once.
//!
//! An adapter connects one channel's provider to the bus under the contract
//! of `proto/omni/adapter/v1/adapter.proto` (see `docs/adapters.md`): it
//! publishes customers' messages durably as the canonical
//! `InboundMessage` before it acknowledges the provider, consumes the
//! channel's outbound messages, hands each to the provider, and reports
//! what became of it.
//!
//! An integrator implements [`Provider`] (send one message, give the
//! channel's [`Capabilities`] as the configuration declares them) and
//! calls [`Inbound::accept`] from the provider's webhook or socket;
//! [`outbound::run`] does the rest: retries with backoff and jitter, a rate
//! limit toward the provider, delivery reports, trace propagation and
//! graceful shutdown.
//!
//! The channel is taken as a value ([`omni_core::Channel`]); nothing here
//! depends on which channel it is.
//!
//! # Layout
//! - [`capabilities`]: what a channel can carry, built from its
//!   `[channels.<name>]` declaration, and its announcement.
//! - [`inbound`]: the canonical message, idempotency keys, and "publish
//!   durably, then acknowledge the provider".
//! - [`provider`]: the trait an integrator implements, its receipt and error.
//! - [`outbound`]: the consumer of `omni.outbound.<channel>`.
//! - [`backoff`]: exponential backoff with jitter and bounded attempts.
//! - [`report`]: delivery reports on `omni.delivery.<channel>`.
//! - `http` (feature `http`): the HTTP(S) client toward a provider (through
//!   the `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` proxy, `Proxy`) and
//!   `Refusal`, the one HTTP answer to a refused provider request, and
//!   `signature`, the signed-request headers shared with webhook bots.
//! - `conformance` (feature `conformance`): the kit every adapter runs
//!   against itself, over a real bus.

#![forbid(unsafe_code)]

pub mod backoff;
pub mod capabilities;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "http")]
pub mod http;
pub mod inbound;
pub mod outbound;
pub mod provider;
pub mod report;

/// The channel as the event payloads carry it, the enum (unspecified for a
/// channel that is not built in) and the name: the one place the crate
/// turns a [`omni_core::Channel`] into its wire form.
pub fn wire_channel(channel: omni_core::Channel) -> (i32, String) {
    omni_proto::convert::channel_to_pb(channel)
}

/// The channel an event payload names (the name when set, else the enum),
/// if this process knows it.
pub fn channel_of(value: i32, name: &str) -> Option<omni_core::Channel> {
    omni_proto::convert::channel_from_pb(value, name)
}

pub use backoff::Backoff;
pub use capabilities::{Capabilities, CapabilityError, HardLimit};
pub use governor::Quota;
pub use inbound::{Inbound, InboundError, idempotency_key};
pub use outbound::OutboundOptions;
pub use provider::{Outbound, Provider, ProviderError, ProviderReceipt};
pub use report::{Report, Reporter};
