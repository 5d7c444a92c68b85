//! Every gRPC call the gate admitted, counted and timed:
//! `omni_grpc_requests_total{service,method,code}` and
//! `omni_grpc_request_seconds{service,method}`. The code is the call's
//! `grpc-status` when the answer carries it in its headers (every error of
//! a unary call), else `0` (OK); the time runs to the answer's headers, so a
//! stream is timed to its start. Behind the gate, the method names are
//! those of the method tables (and health, reflection): bounded labels.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use omni_telemetry::metrics::{self, Counters, Histograms, SECONDS_BUCKETS};
use tonic::codegen::http;

fn requests() -> &'static Counters {
    static FAMILY: OnceLock<Counters> = OnceLock::new();
    FAMILY.get_or_init(|| {
        metrics::counter(
            "omni_grpc_requests_total",
            "gRPC calls by service, method and status code",
        )
    })
}

fn seconds() -> &'static Histograms {
    static FAMILY: OnceLock<Histograms> = OnceLock::new();
    FAMILY.get_or_init(|| {
        metrics::histogram(
            "omni_grpc_request_seconds",
            "gRPC call duration to the answer's headers, by service and method",
            SECONDS_BUCKETS,
        )
    })
}

/// `/pkg.Service/Method` as (`pkg.Service`, `Method`).
fn split(path: &str) -> (String, String) {
    let path = path.trim_start_matches('/');
    match path.split_once('/') {
        Some((service, method)) => (service.to_owned(), method.to_owned()),
        None => (path.to_owned(), String::new()),
    }
}

/// The tower layer of [`Measured`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MeasureLayer;

impl<S> tower::Layer<S> for MeasureLayer {
    type Service = Measured<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Measured { inner }
    }
}

/// A gRPC service whose calls are counted and timed.
#[derive(Debug, Clone)]
pub struct Measured<S> {
    inner: S,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for Measured<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = split(request.uri().path());
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let answer = call.await;
            let code = match &answer {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                // The transport failed: no status reached the client.
                Err(_) => "transport".to_owned(),
            };
            requests().inc(&[("service", &service), ("method", &method), ("code", &code)]);
            seconds().observe(
                &[("service", &service), ("method", &method)],
                started.elapsed().as_secs_f64(),
            );
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            split("/omni.context.v1.ContextService/ResolveConversation"),
            (
                "omni.context.v1.ContextService".to_owned(),
                "ResolveConversation".to_owned()
            )
        );
        assert_eq!(split("/odd"), ("odd".to_owned(), String::new()));
    }
}
