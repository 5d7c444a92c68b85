//! The SMS adapter: Twilio's incoming-message webhook and status callbacks,
//! Kannel's `get-url` and delivery reports, and outbound messages through
//! Twilio's Messages API (or a compatible one) or Kannel's `sendsms`.
//!
//! A customer's text is answered 2xx only once it is durably on the bus as
//! an `InboundMessage` on `omni.inbound.sms` (idempotency key
//! `twilio:<MessageSid>` or `kannel:<id>`); when the bus cannot take it the
//! provider gets 503 and retries. Requests not from the provider (bad
//! Twilio signature, wrong account, wrong Kannel secret) get 403. Each step
//! of an outbound message is reported on `omni.delivery.sms`.
//!
//! # Layout
//! - [`adapter`]: the adapter, inbound publishing and delivery reports (on
//!   `omni-adapter`'s `Inbound` and `Reporter`), opt-out memory.
//! - [`server`]: the HTTP routes and `serve(listener, adapter, shutdown)`;
//!   its child `reports` reads the providers' delivery reports and
//!   continues the delivery's trace.
//! - [`outbound`]: SMS as an `omni_adapter::Provider`, run by the
//!   `omni-adapter` outbound consumer on `sms-outbound`.
//! - [`twilio`], [`kannel`]: the providers' outbound APIs and status meanings.
//! - [`signature`]: Twilio's `X-Twilio-Signature`.
//! - [`segments`]: GSM-7 / UCS-2 segment accounting (from `omni-core`, which
//!   the desk shares to hold back a reply that is too long).
//! - [`keywords`]: opt-out / opt-in keywords.
//! - [`phone`]: E.164 normalization.
//! - [`http`]: the HTTP client for provider APIs (`omni_adapter::http`).
//! - [`error`]: errors and their HTTP form.

#![forbid(unsafe_code)]

pub mod adapter;
pub mod error;
pub use omni_adapter::http;
pub mod kannel;
pub mod keywords;
pub mod outbound;
pub mod phone;
pub use omni_core::segments;
pub mod server;
pub mod signature;
pub mod twilio;

pub use adapter::SmsAdapter;
pub use error::SmsError;
pub use server::serve;
