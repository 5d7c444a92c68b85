//! What an adapter with an HTTP side needs (feature `http`): the client
//! toward a provider, and one way to refuse a provider's request.
//!
//! - [`client`]: [`HttpClient`], HTTP/1.1 and HTTPS with kept-alive
//!   connections, a whole-exchange timeout and a capped body.
//! - [`proxy`]: [`Proxy`], the `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`
//!   settings the client goes through (a `CONNECT` tunnel for HTTPS).
//! - [`refusal`]: [`Refusal`], a status and
//!   `{"error": "<code>", "message": "<text>"}` ([`omni_core::ErrorBody`]),
//!   `Retry-After` on 503, with its log line and count.
//! - [`signature`]: the `X-Omni-Timestamp`/`X-Omni-Signature` HMAC-SHA256
//!   signature of a request body, as the webhook channel and a webhook bot
//!   send and check it.

pub mod client;
pub mod proxy;
#[cfg(test)]
mod proxy_tests;
pub mod refusal;
pub mod signature;

pub use client::{HttpClient, HttpError, HttpResponse};
pub use proxy::Proxy;
pub use refusal::Refusal;
