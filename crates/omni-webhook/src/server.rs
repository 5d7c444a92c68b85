//! The webhook adapter's HTTP routes, called by the app:
//!
//! | route | what | answers |
//! |---|---|---|
//! | `POST /webhook/v1/messages` | a customer's message ([`AppMessage`]) | 202 once durably on the bus |
//! | `POST /webhook/v1/status` | what became of a reply ([`AppStatus`]) | 202 once reported |
//! | `GET /healthz` | probes | 200 |
//!
//! Both POSTs are signed ([`crate::signature`]). Every refusal is a JSON
//! error with a precise code ([`omni_adapter::http::Refusal`]), and a log
//! line with the request's trace id:
//!
//! | refusal | status | code |
//! |---|---|---|
//! | no `X-Omni-Timestamp` or `X-Omni-Signature` | 401 | `missing_signature` |
//! | timestamp further than `webhook.tolerance_secs` from now | 401 | `stale_timestamp` |
//! | signature under neither active key | 401 | `invalid_signature` |
//! | body over `webhook.max_body_bytes`, text over the channel's `max_text_chars` | 413 | `too_large` |
//! | not the JSON described, unknown fields included | 400 | `invalid_json` |
//! | an empty id or text, a customer id its kind refuses, an unknown status | 400 | `missing_message_id`, `empty_text`, `invalid_customer_id`, `invalid_status` |
//! | a status for a conversation that does not exist, or a message not in it | 404 | `unknown_conversation`, `unknown_message` |
//! | the bus cannot store it now, or the context service cannot check a status | 503 + `Retry-After` | `unavailable` |

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::adapter::{AppMessage, AppStatus};
use crate::error::WebhookError;
use crate::{WebhookAdapter, signature};

/// Requests refused, by route and code.
static REFUSED: std::sync::LazyLock<omni_telemetry::metrics::Counters> =
    std::sync::LazyLock::new(|| {
        omni_telemetry::metrics::counter(
            "omni_webhook_refused_total",
            "webhook requests refused, by route and code",
        )
    });

/// The routes, for embedding or testing.
pub fn routes(adapter: Arc<WebhookAdapter>) -> Router {
    Router::new()
        .route("/webhook/v1/messages", post(messages))
        .route("/webhook/v1/status", post(status))
        .route("/healthz", get(|| async { "ok" }))
        // The body cap is ours, answered as a JSON 413.
        .layer(DefaultBodyLimit::disable())
        .with_state(adapter)
}

/// Serves on an already bound `listener` until `shutdown` with
/// [`omni_web::serve`] (header-read timeout, per-address limits, security
/// headers).
pub async fn serve(
    listener: TcpListener,
    adapter: Arc<WebhookAdapter>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = adapter.limits().clone();
    omni_web::serve("webhook", listener, routes(adapter), &limits, shutdown).await
}

/// The trace a request belongs to, from inside its `span`: the app's own
/// when it sent a `traceparent` (the span continues it), else a new one
/// whose root is the span.
fn trace_of(span: &tracing::Span, headers: &HeaderMap) -> TraceContext {
    let incoming = headers
        .get(omni_bus::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse);
    match incoming {
        Some(incoming) => {
            omni_telemetry::continue_trace(span, &incoming);
            omni_telemetry::outgoing(span, &incoming)
        }
        None => omni_telemetry::start_trace(span),
    }
}

async fn messages(
    State(adapter): State<Arc<WebhookAdapter>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let span = tracing::info_span!("webhook.accept");
    let trace = trace_of(&span, &headers);
    let result = async {
        let message: AppMessage = authentic(&adapter, &headers, body).await?;
        adapter.accept(message, &trace).await
    }
    .instrument(span)
    .await;
    answer("messages", &trace, result.map(|ack| ack.duplicate))
}

async fn status(
    State(adapter): State<Arc<WebhookAdapter>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let span = tracing::info_span!("webhook.status");
    let trace = trace_of(&span, &headers);
    let result = async {
        let status: AppStatus = authentic(&adapter, &headers, body).await?;
        adapter.status(status, &trace).await
    }
    .instrument(span)
    .await;
    answer("status", &trace, result.map(|()| false))
}

fn answer(
    route: &'static str,
    trace: &TraceContext,
    result: Result<bool, WebhookError>,
) -> Response {
    match result {
        Ok(duplicate) => (
            StatusCode::ACCEPTED,
            [(header::CONTENT_TYPE, "application/json")],
            format!(r#"{{"accepted":true,"duplicate":{duplicate}}}"#),
        )
            .into_response(),
        Err(e) => e.refusal().answer("webhook", route, trace, &REFUSED),
    }
}

/// The request's body, once it is within the size cap, fresh and signed by
/// the app, parsed as `T`.
async fn authentic<T: DeserializeOwned>(
    adapter: &WebhookAdapter,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, WebhookError> {
    let config = adapter.config();
    let max = config.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || WebhookError::TooLarge(format!("body exceeds the maximum of {max} bytes"));
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let body: Bytes = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())?;
    let (Some(timestamp), Some(signed)) = (
        headers
            .get(signature::TIMESTAMP)
            .and_then(|v| v.to_str().ok()),
        headers
            .get(signature::SIGNATURE)
            .and_then(|v| v.to_str().ok()),
    ) else {
        return Err(WebhookError::unauthorized(
            "missing_signature",
            "X-Omni-Timestamp and X-Omni-Signature are required",
        ));
    };
    if let Some(reason) = signature::stale(timestamp, now_ms() / 1000, config.tolerance_secs) {
        return Err(WebhookError::unauthorized("stale_timestamp", reason));
    }
    if !signature::verify(&adapter.keys(), timestamp, &body, signed) {
        return Err(WebhookError::unauthorized(
            "invalid_signature",
            "X-Omni-Signature is not the HMAC-SHA256 of \"<timestamp>.<body>\" under an active key",
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|e| WebhookError::bad_request("invalid_json", e.to_string()))
}
