//! Trace continuation across processes: W3C `traceparent` (see
//! `omni_core::trace`) from bus headers and gRPC metadata into spans, and
//! from spans into the next hop's headers and metadata.
//!
//! [`continue_trace`] makes a span the continuation of an incoming context;
//! [`outgoing`] gives the context to send on, from the current span, so trace
//! and span ids agree in logs, in exported spans and on the wire.
//! [`start_trace`] starts one where a customer's message arrives.
//! [`inject`] and [`extract`] carry the context in gRPC metadata.

use omni_core::trace::TraceContext;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::logs::LocalIds;

/// The gRPC metadata key and bus header of the W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

fn remote(incoming: &TraceContext) -> SpanContext {
    let flags = if incoming.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    SpanContext::new(
        TraceId::from_bytes(incoming.trace_id),
        SpanId::from_bytes(incoming.span_id),
        flags,
        true,
        TraceState::default(),
    )
}

/// Makes `span` the continuation of `incoming`: its parent when spans are
/// exported, its trace id in log lines either way.
pub fn continue_trace(span: &Span, incoming: &TraceContext) {
    if crate::exporting() {
        let _ = span
            .set_parent(opentelemetry::Context::new().with_remote_span_context(remote(incoming)));
    } else {
        set_local(span, incoming.child());
    }
}

/// Starts a trace at `span` (a customer's message arriving from outside):
/// with export the span is the trace's root; returns the context to send on.
pub fn start_trace(span: &Span) -> TraceContext {
    if crate::exporting()
        && let Some(own) = current(span)
    {
        return own;
    }
    let root = TraceContext::new_root();
    set_local(span, root);
    root
}

/// The trace context to send on from inside `span`: the span's own when it
/// belongs to a trace, else a child of `incoming`.
pub fn outgoing(span: &Span, incoming: &TraceContext) -> TraceContext {
    if crate::exporting() {
        let context = span.context();
        let own = context.span().span_context().clone();
        if own.is_valid() {
            return TraceContext {
                trace_id: own.trace_id().to_bytes(),
                span_id: own.span_id().to_bytes(),
                sampled: own.is_sampled(),
            };
        }
    } else if let Some(own) = local(span) {
        return own;
    }
    incoming.child()
}

/// The trace context of `span` when it belongs to one (to send on when
/// there is no incoming context, e.g. an action that starts a trace).
pub fn current(span: &Span) -> Option<TraceContext> {
    if crate::exporting() {
        let context = span.context();
        let own = context.span().span_context().clone();
        own.is_valid().then(|| TraceContext {
            trace_id: own.trace_id().to_bytes(),
            span_id: own.span_id().to_bytes(),
            sampled: own.is_sampled(),
        })
    } else {
        local(span)
    }
}

/// The trace context in a gRPC request's metadata, if well-formed.
pub fn extract<T>(request: &tonic::Request<T>) -> Option<TraceContext> {
    request
        .metadata()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::parse)
}

/// Puts the trace context of the current span into `request`'s metadata
/// (a new trace's when the current span belongs to none).
pub fn inject<T>(request: &mut tonic::Request<T>) {
    let context = current(&Span::current()).unwrap_or_else(TraceContext::new_root);
    if let Ok(value) = context.to_string().parse() {
        request.metadata_mut().insert(TRACEPARENT, value);
    }
}

fn set_local(span: &Span, ids: TraceContext) {
    span.with_subscriber(|(id, dispatch)| {
        if let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>()
            && let Some(data) = tracing_subscriber::registry::LookupSpan::span(registry, id)
        {
            data.extensions_mut().replace(LocalIds(ids));
        }
    });
}

fn local(span: &Span) -> Option<TraceContext> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let data = tracing_subscriber::registry::LookupSpan::span(registry, id)?;
        data.extensions().get::<LocalIds>().map(|l| l.0)
    })
    .flatten()
}
