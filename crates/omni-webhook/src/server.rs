//! The webhook adapter's HTTP routes, called by the app:
//!
//! | route | what | answers |
//! |---|---|---|
//! | `POST /webhook/v1/messages` | a customer's message ([`AppMessage`]) | 202 once durably on the bus |
//! | `POST /webhook/v1/status` | what became of a reply ([`AppStatus`]) | 202 once reported |
//! | `GET /healthz` | probes | 200 |
//!
//! Both POSTs are signed ([`crate::signature`]). Every refusal is a JSON
//! error with a precise code, and a log line with the request's trace id:
//!
//! | refusal | status | code |
//! |---|---|---|
//! | no `X-Omni-Timestamp` or `X-Omni-Signature` | 401 | `missing_signature` |
//! | timestamp further than `webhook.tolerance_secs` from now | 401 | `stale_timestamp` |
//! | signature under neither active key | 401 | `invalid_signature` |
//! | body over `webhook.max_body_bytes`, text over the channel's `max_text_bytes` | 413 | `too_large` |
//! | not the JSON described, unknown fields included | 400 | `invalid_json` |
//! | an empty id or text, a customer id its kind refuses, an unknown status | 400 | `missing_message_id`, `empty_text`, `invalid_customer_id`, `invalid_status` |
//! | the bus cannot store it now | 503 + `Retry-After` | `unavailable` |

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
use tracing::warn;

use crate::adapter::{AppMessage, AppStatus};
use crate::error::WebhookError;
use crate::{WebhookAdapter, signature};

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

fn trace_of(headers: &HeaderMap) -> TraceContext {
    headers
        .get(omni_bus::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
        .map(|t| t.child())
        .unwrap_or_else(TraceContext::new_root)
}

async fn messages(
    State(adapter): State<Arc<WebhookAdapter>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let trace = trace_of(&headers);
    let result = async {
        let message: AppMessage = authentic(&adapter, &headers, body).await?;
        adapter.accept(message, &trace).await
    }
    .await;
    answer("messages", &trace, result.map(|ack| ack.duplicate))
}

async fn status(
    State(adapter): State<Arc<WebhookAdapter>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let trace = trace_of(&headers);
    let result = async {
        let status: AppStatus = authentic(&adapter, &headers, body).await?;
        adapter.status(status, &trace).await
    }
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
        Err(e) => {
            warn!(
                trace_id = %trace.trace_id_hex(),
                route,
                status = e.status().as_u16(),
                code = e.code(),
                error = %e,
                "webhook request refused"
            );
            omni_telemetry::count!(
                "omni_webhook_refused_total",
                "webhook requests refused, by route and code",
                &[("route", route), ("code", e.code())],
            );
            e.into_response()
        }
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
