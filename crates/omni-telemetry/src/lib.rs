//! Logging, tracing and OpenTelemetry export, shared by every Omniroute
//! binary.
//!
//! Logs go to stderr, human-readable by default (coloured only when stderr
//! is a terminal) or one JSON object per line with `OMNI_LOG_FORMAT=json`;
//! every line written inside a span of a trace carries `trace_id` and
//! `span_id`. The filter comes from `OMNI_LOG` (same syntax as `RUST_LOG`,
//! per-module levels included), default `info`, with noisy transport crates
//! held at `warn`.
//!
//! Spans are exported over OTLP (gRPC or HTTP/protobuf) when the standard
//! OpenTelemetry variables name an endpoint ([`config`] has the table;
//! `OMNI_OTLP_ENDPOINT` and `OMNI_SERVICE_NAME` are aliases, the `OTEL_*`
//! variables win). Without an endpoint there is no exporter and no
//! OpenTelemetry layer at all.
//!
//! # Layout
//! - this file: [`init`] (the subscriber, the exporter, [`Telemetry`] to
//!   flush it at exit).
//! - [`config`]: [`TelemetryOptions`] and the variables they are read from.
//! - `export`: the OTLP exporter and tracer provider.
//! - `logs`: trace and span ids on log lines.
//! - `grpc`: [`ServerTraceLayer`], a span per gRPC call served that
//!   continues the caller's trace.
//! - `propagate`: trace context in and out of spans, bus headers and gRPC
//!   metadata ([`start_trace`], [`continue_trace`], [`outgoing`], [`inject`],
//!   [`extract`]).
//! - [`metrics`]: Prometheus metrics on `prometheus-client` (OpenMetrics
//!   text), the contact center's families in [`metrics::contact`]; every
//!   metric is listed in `docs/metrics.md`.

#![forbid(unsafe_code)]

pub mod config;
mod export;
mod grpc;
mod logs;
pub mod metrics;
mod propagate;

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use config::{Export, Protocol, Sampler, TelemetryOptions};
pub use grpc::{ServerTrace, ServerTraceLayer, server_span};
pub use propagate::{TRACEPARENT, continue_trace, current, extract, inject, outgoing, start_trace};

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A variable holds something unusable.
    #[error("telemetry: {0}")]
    Config(String),
    /// The log filter does not parse.
    #[error("telemetry: invalid OMNI_LOG filter: {0}")]
    Filter(String),
    /// The exporter could not be built.
    #[error("telemetry: {0}")]
    Export(String),
}

/// How long a stop waits for the last spans to reach the collector.
pub const FLUSH_AT_STOP: std::time::Duration = std::time::Duration::from_millis(500);

/// Whether this process exports spans (set once by [`init`]).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported by this process's subscriber.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

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

/// Installs the global subscriber. With export, must run inside a tokio
/// runtime. A second call (e.g. in tests) installs nothing.
pub fn init(options: &TelemetryOptions) -> Result<Telemetry, TelemetryError> {
    let base = options.filter.as_deref().unwrap_or("info");
    let directives = format!(
        "{base},h2=warn,tonic=warn,tower=warn,hyper=warn,hyper_util=warn,tungstenite=warn,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn"
    );
    let filter = EnvFilter::try_new(&directives)
        .map_err(|e| TelemetryError::Filter(format!("{base:?}: {e}")))?;
    let provider = match &options.export {
        Some(export) => Some(export::provider(export, options.service_name())?),
        None => None,
    };
    let exporting = provider.is_some();
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("omniroute")));
    let local_ids = (!exporting).then_some(logs::LocalIdsLayer);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(otel_layer)
        .with(local_ids);
    // Colour codes only for a person at a terminal, never in a file or pipe.
    let colour = std::io::stderr().is_terminal();
    let installed = if options.json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .map_event_format(|inner| logs::WithIds {
                        inner,
                        json: true,
                        exporting,
                    }),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(colour)
                    .with_writer(std::io::stderr)
                    .map_event_format(|inner| logs::WithIds {
                        inner: inner.with_ansi(colour),
                        json: false,
                        exporting,
                    }),
            )
            .try_init()
    };
    let installed = installed.is_ok();
    if installed {
        EXPORTING.store(exporting, Ordering::Relaxed);
    }
    Ok(Telemetry {
        provider: if installed { provider } else { None },
    })
}
