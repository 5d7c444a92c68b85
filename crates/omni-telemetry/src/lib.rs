//! Logging and tracing setup shared by every Omniroute binary.
//!
//! Logs go to stderr, human-readable by default or one JSON object per line
//! with `OMNI_LOG_FORMAT=json`. The filter comes from `OMNI_LOG` (same syntax
//! as `RUST_LOG`), default `info`; noisy transport crates are held at `warn`.
//! Trace context travels as W3C `traceparent` (see `omni_core::trace`), and
//! every log line about a customer message carries its `trace_id` field.

#![forbid(unsafe_code)]

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// How to log.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Filter directives, e.g. `info,omni_router=debug`; `None` means `info`.
    pub filter: Option<String>,
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
}

impl LogOptions {
    /// Reads `OMNI_LOG` and `OMNI_LOG_FORMAT` from a map of the environment.
    pub fn from_env(env: &std::collections::BTreeMap<String, String>) -> Self {
        Self {
            filter: env.get("OMNI_LOG").cloned(),
            json: env.get("OMNI_LOG_FORMAT").is_some_and(|f| f == "json"),
        }
    }
}

/// Installs the global subscriber. A second call (e.g. in tests) is a no-op.
pub fn init(options: &LogOptions) {
    let base = options.filter.as_deref().unwrap_or("info");
    let directives =
        format!("{base},h2=warn,tonic=warn,tower=warn,hyper=warn,hyper_util=warn,tungstenite=warn");
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let _ = if options.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
