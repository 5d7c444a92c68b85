//! `/metrics` (Prometheus) and `/healthz` on `listen.metrics`, for every
//! process in both modes: metrics stay off the public ports (the desk's
//! included), so only what reaches the metrics address can scrape them.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use omni_core::config::LimitsConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves on `listener` until `shutdown`, with the HTTP servers' header-read
/// timeout and headers ([`omni_web::serve`]).
pub async fn serve(
    listener: TcpListener,
    limits: LimitsConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, omni_telemetry::metrics::CONTENT_TYPE)],
                    omni_telemetry::metrics::render(),
                )
                    .into_response()
            }),
        );
    omni_web::serve("metrics", listener, routes, &limits, shutdown).await
}
