//! A span per gRPC call served, continuing the caller's trace from its
//! `traceparent` metadata: every API of a part (context, router, accounts)
//! gets it from one layer on the server.

use std::task::{Context, Poll};

use omni_core::trace::TraceContext;
use tonic::codegen::http;
use tracing::Span;
use tracing::instrument::{Instrument, Instrumented};

use crate::propagate::{TRACEPARENT, continue_trace};

/// The span of one call to `path` (`/package.Service/Method`), continuing
/// `traceparent` when given; named after the method for the traces backend.
pub fn server_span(path: &str, traceparent: Option<&str>) -> Span {
    let method = path.trim_start_matches('/');
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %method,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.method = %method,
    );
    if let Some(incoming) = traceparent.and_then(TraceContext::parse) {
        continue_trace(&span, &incoming);
    }
    span
}

/// A tower layer giving each call its [`server_span`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerTraceLayer;

impl<S> tower::Layer<S> for ServerTraceLayer {
    type Service = ServerTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerTrace { inner }
    }
}

/// A service whose calls run in their [`server_span`].
#[derive(Debug, Clone)]
pub struct ServerTrace<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for ServerTrace<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let traceparent = request
            .headers()
            .get(TRACEPARENT)
            .and_then(|v| v.to_str().ok());
        let span = server_span(request.uri().path(), traceparent);
        let future = span.in_scope(|| self.inner.call(request));
        future.instrument(span)
    }
}
