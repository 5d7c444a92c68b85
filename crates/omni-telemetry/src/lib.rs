//! Logging, tracing and OpenTelemetry export, shared by every Omniroute
//! binary.
//!
//! Logs go to stderr, human-readable by default (coloured only when stderr
//! is a terminal) or one JSON object per line with `OMNI_LOG_FORMAT=json`;
//! the filter comes from `OMNI_LOG` (same syntax as `RUST_LOG`), default
//! `info`, with noisy transport crates held at `warn`. With `OMNI_OTLP_ENDPOINT` (e.g. `http://127.0.0.1:4317`) spans
//! are also exported over OTLP/gRPC, batched, under the service name
//! `OMNI_SERVICE_NAME` (default `omniroute`).
//!
//! Trace context travels as W3C `traceparent` (see `omni_core::trace`) in
//! bus headers and gRPC metadata. [`continue_trace`] makes a span the
//! continuation of an incoming context; [`outgoing`] gives the context to
//! send on, from the current span when export is on, else a child of the
//! incoming one, so trace ids agree in logs and in exported spans alike.
//!
//! # Layout
//! - this file: [`init`] (logging, the OTLP exporter, [`Telemetry`] to
//!   flush it at exit) and trace continuation ([`continue_trace`],
//!   [`outgoing`]).
//! - [`metrics`]: Prometheus metrics on `prometheus-client` (OpenMetrics
//!   text), the contact center's families in [`metrics::contact`]; every
//!   metric is listed in `docs/metrics.md`.

#![forbid(unsafe_code)]

pub mod metrics;

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use omni_core::trace::TraceContext;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// How to log and trace.
#[derive(Debug, Clone, Default)]
pub struct TelemetryOptions {
    /// Filter directives, e.g. `info,omni_router=debug`; `None` means `info`.
    pub filter: Option<String>,
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
    /// OTLP/gRPC collector endpoint; `None` exports nothing.
    pub otlp_endpoint: Option<String>,
    /// Service name on exported spans.
    pub service_name: Option<String>,
}

impl TelemetryOptions {
    /// Reads `OMNI_LOG`, `OMNI_LOG_FORMAT`, `OMNI_OTLP_ENDPOINT` and
    /// `OMNI_SERVICE_NAME` from a map of the environment.
    pub fn from_env(env: &BTreeMap<String, String>) -> Self {
        Self {
            filter: env.get("OMNI_LOG").cloned(),
            json: env.get("OMNI_LOG_FORMAT").is_some_and(|f| f == "json"),
            otlp_endpoint: env
                .get("OMNI_OTLP_ENDPOINT")
                .filter(|e| !e.is_empty())
                .cloned(),
            service_name: env.get("OMNI_SERVICE_NAME").cloned(),
        }
    }
}

/// Why telemetry could not start.
#[derive(Debug)]
pub struct TelemetryError(String);

impl std::fmt::Display for TelemetryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "telemetry: {}", self.0)
    }
}

impl std::error::Error for TelemetryError {}

/// How long a stop waits for the last spans to reach the collector.
pub const FLUSH_AT_STOP: std::time::Duration = std::time::Duration::from_millis(500);

/// Keeps the exporter alive; [`Telemetry::shutdown`] flushes it.
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporter (blocking work runs off the async
    /// threads), waiting at most [`FLUSH_AT_STOP`]: a collector that is
    /// slow or away must not hold up a stop (the SDK's own default waits
    /// 5 s). Spans it could not take in that time are lost, and the log
    /// says so.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let flushed =
                tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_AT_STOP))
                    .await;
            match flushed {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(
                    wait_ms = FLUSH_AT_STOP.as_millis() as u64,
                    error = %e,
                    "trace export did not finish at stop; the last spans may be lost"
                ),
                Err(e) => tracing::warn!(error = %e, "trace export shutdown failed"),
            }
        }
    }
}

/// Installs the global subscriber. With an OTLP endpoint, must run inside a
/// tokio runtime. A second call (e.g. in tests) installs nothing.
pub fn init(options: &TelemetryOptions) -> Result<Telemetry, TelemetryError> {
    let base = options.filter.as_deref().unwrap_or("info");
    let directives = format!(
        "{base},h2=warn,tonic=warn,tower=warn,hyper=warn,hyper_util=warn,tungstenite=warn,opentelemetry=warn"
    );
    let filter = EnvFilter::try_new(&directives)
        .map_err(|e| TelemetryError(format!("invalid OMNI_LOG filter {base:?}: {e}")))?;
    let (provider, otel_layer) = match &options.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()
                .map_err(|e| TelemetryError(format!("cannot export to {endpoint}: {e}")))?;
            let service = options
                .service_name
                .clone()
                .unwrap_or_else(|| "omniroute".into());
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name(service).build())
                .build();
            let tracer = provider.tracer("omniroute");
            (
                Some(provider),
                Some(tracing_opentelemetry::layer().with_tracer(tracer)),
            )
        }
        None => (None, None),
    };
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    // Colour codes only for a person at a terminal, never in a file or pipe.
    let colour = std::io::stderr().is_terminal();
    let installed = if options.json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(colour)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    Ok(Telemetry {
        provider: if installed.is_ok() { provider } else { None },
    })
}

/// Makes `span` the continuation of `incoming` (a no-op without export).
pub fn continue_trace(span: &Span, incoming: &TraceContext) {
    let flags = if incoming.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let remote = SpanContext::new(
        TraceId::from_bytes(incoming.trace_id),
        SpanId::from_bytes(incoming.span_id),
        flags,
        true,
        TraceState::default(),
    );
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
}

/// The trace context to send on from inside `span`: the span's own when it
/// is exported, else a child of `incoming`.
pub fn outgoing(span: &Span, incoming: &TraceContext) -> TraceContext {
    let context = span.context();
    let own = context.span().span_context().clone();
    if own.is_valid() {
        TraceContext {
            trace_id: own.trace_id().to_bytes(),
            span_id: own.span_id().to_bytes(),
            sampled: own.is_sampled(),
        }
    } else {
        incoming.child()
    }
}
