//! `/metrics` (Prometheus) and `/healthz` on `listen.metrics`, for every
//! process in both modes: metrics stay off the public ports (the desk's
//! included), so only what reaches the metrics address can scrape them.
//!
//! With `[metrics] token` set (`OMNI_METRICS_TOKEN`), `/metrics` answers
//! only a request carrying `Authorization: Bearer <token>`, compared in
//! constant time over SHA-256 digests; any other gets 401 with
//! `WWW-Authenticate: Bearer`. `/healthz` stays open for probes. Unset,
//! `/metrics` is open to whoever reaches the address, as before.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use omni_core::config::LimitsConfig;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The body of a refused scrape.
const REFUSED: &str = r#"{"error":"unauthorized","message":"this /metrics requires Authorization: Bearer <metrics.token>"}"#;

/// The SHA-256 digest of the token a scraper must present, if any.
type Expected = Option<Arc<[u8; 32]>>;

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Serves on `listener` until `shutdown`, with the HTTP servers' header-read
/// timeout and headers ([`omni_web::serve`]); `token`, when set, guards
/// `/metrics`.
pub async fn serve(
    listener: TcpListener,
    limits: LimitsConfig,
    token: Option<SecretString>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    omni_web::serve("metrics", listener, routes(token), &limits, shutdown).await
}

/// The routes, for serving or testing.
pub fn routes(token: Option<SecretString>) -> Router {
    let expected: Expected = token.map(|t| Arc::new(digest(t.expose_secret().trim())));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .with_state(expected)
}

async fn metrics(State(expected): State<Expected>, headers: HeaderMap) -> Response {
    if let Some(expected) = expected
        && !presented(&headers).is_some_and(|p| bool::from(digest(p).ct_eq(&expected[..])))
    {
        tracing::info!("metrics scrape refused: missing or wrong bearer token");
        return (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""),
                (header::CONTENT_TYPE, "application/json"),
            ],
            REFUSED,
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, omni_telemetry::metrics::CONTENT_TYPE)],
        omni_telemetry::metrics::render(),
    )
        .into_response()
}

/// The bearer token of an `Authorization` header, if it has one.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get(app: &Router, path: &str, authorization: Option<&str>) -> StatusCode {
        let mut request = Request::get(path);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request.body(Body::empty()).expect("request");
        app.clone()
            .oneshot(request)
            .await
            .map(|r| r.status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    #[tokio::test]
    async fn a_set_token_is_required_and_an_unset_one_leaves_metrics_open() {
        let guarded = routes(Some(SecretString::from("scrape-token")));
        assert_eq!(
            get(&guarded, "/metrics", None).await,
            StatusCode::UNAUTHORIZED
        );
        for wrong in [
            "Bearer scrape-tokem",
            "Bearer ",
            "Basic scrape-token",
            "scrape-token",
            "Bearer scrape-token-and-more",
        ] {
            assert_eq!(
                get(&guarded, "/metrics", Some(wrong)).await,
                StatusCode::UNAUTHORIZED,
                "{wrong}"
            );
        }
        assert_eq!(
            get(&guarded, "/metrics", Some("Bearer scrape-token")).await,
            StatusCode::OK
        );
        assert_eq!(
            get(&guarded, "/metrics", Some("bearer scrape-token")).await,
            StatusCode::OK,
            "the scheme is case-insensitive"
        );
        assert_eq!(
            get(&guarded, "/healthz", None).await,
            StatusCode::OK,
            "probes need no token"
        );
        let open = routes(None);
        assert_eq!(get(&open, "/metrics", None).await, StatusCode::OK);
    }
}
