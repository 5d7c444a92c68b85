//! A provider's request refused, or not taken now, as every adapter
//! answers it: one status, one JSON body ([`omni_core::ErrorBody`]), one
//! `Retry-After` rule, one log line and one counter.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use omni_core::trace::TraceContext;
use tracing::warn;

/// Seconds a provider is asked to wait before retrying a 503.
const RETRY_AFTER_SECS: &str = "5";

/// A refused request: an adapter's error in its HTTP form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status: 4xx for what must not be retried as it is, 503 for
    /// "not now".
    pub status: StatusCode,
    /// The machine-readable reason, e.g. `invalid_signature`.
    pub code: &'static str,
    /// What was wrong, for a person.
    pub message: String,
}

impl Refusal {
    /// A refusal with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// Logs the refusal of a request to `route` of `adapter` on `trace`,
    /// counts it in `metric` (labels `route`, `code`), and answers it.
    pub fn answer(
        self,
        adapter: &'static str,
        route: &'static str,
        trace: &TraceContext,
        metric: &omni_telemetry::metrics::Counters,
    ) -> Response {
        metric.inc(&[("route", route), ("code", self.code)]);
        warn!(
            trace_id = %trace.trace_id_hex(),
            adapter,
            route,
            status = self.status.as_u16(),
            code = self.code,
            error = %self.message,
            "adapter request refused"
        );
        self.into_response()
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let unavailable = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let body = omni_core::ErrorBody::new(self.code, self.message);
        let mut response = (self.status, Json(body)).into_response();
        if unavailable {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn parts(refusal: Refusal) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = refusal.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, retry, serde_json::from_slice(&body).expect("json"))
    }

    #[tokio::test]
    async fn a_refusal_is_its_status_and_the_json_error_body() {
        let (status, retry, body) = parts(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "bad signature",
        ))
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(retry, None);
        assert_eq!(
            body,
            serde_json::json!({"error": "invalid_signature", "message": "bad signature"})
        );
    }

    #[tokio::test]
    async fn not_now_asks_the_provider_to_retry_later() {
        let (status, retry, body) = parts(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "bus down",
        ))
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("5"));
        assert_eq!(body["error"], "unavailable");
    }
}
