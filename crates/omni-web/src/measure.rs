//! Every request of every HTTP server, counted and timed:
//! `omni_http_requests_total{part,route,status}` and
//! `omni_http_request_seconds{part,route}`. `part` is the server's name
//! (`chat`, `desk`, `sms`, `webhook`, `metrics`); `route` is the matched
//! route's pattern (`/api/conversations/{id}`), never the raw path, so the
//! labels stay bounded; a request no route matched is `unmatched`. A
//! WebSocket is timed until its upgrade.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use omni_telemetry::metrics::{self, Counters, Histograms, SECONDS_BUCKETS};

fn requests() -> &'static Counters {
    static FAMILY: OnceLock<Counters> = OnceLock::new();
    FAMILY.get_or_init(|| {
        metrics::counter(
            "omni_http_requests_total",
            "HTTP requests by server, route pattern and status",
        )
    })
}

fn seconds() -> &'static Histograms {
    static FAMILY: OnceLock<Histograms> = OnceLock::new();
    FAMILY.get_or_init(|| {
        metrics::histogram(
            "omni_http_request_seconds",
            "HTTP request duration by server and route pattern",
            SECONDS_BUCKETS,
        )
    })
}

/// Counts and times one request of the server `part`.
pub async fn middleware(
    State(part): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    requests().inc(&[
        ("part", part),
        ("route", &route),
        ("status", response.status().as_str()),
    ]);
    seconds().observe(
        &[("part", part), ("route", &route)],
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn requests_are_counted_by_route_pattern_and_status() {
        let app = Router::new()
            .route("/items/{id}", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                "measure_test",
                super::middleware,
            ));
        for path in ["/items/1", "/items/2", "/nowhere"] {
            let request = Request::get(path).body(Body::empty()).unwrap_or_default();
            let _ = app.clone().oneshot(request).await;
        }
        let text = omni_telemetry::metrics::render();
        assert!(
            text.contains(
                "omni_http_requests_total{part=\"measure_test\",route=\"/items/{id}\",status=\"200\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "omni_http_request_seconds_count{part=\"measure_test\",route=\"/items/{id}\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("/items/1"),
            "raw paths never become labels: {text}"
        );
    }
}
