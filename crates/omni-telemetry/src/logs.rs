//! Log lines that name their trace: `trace_id` and `span_id` on every line
//! written inside a span of a trace, as JSON fields or, in text, at the end
//! of the line.
//!
//! With export on, the ids are the exported span's (so a line leads to its
//! span in the traces backend). With export off, a span that continues an
//! incoming trace ([`crate::continue_trace`]) carries that trace's id and a
//! span id of its own in its extensions ([`LocalIds`]), and its child spans
//! inherit the trace id: no OpenTelemetry machinery runs.

use std::fmt;

use omni_core::trace::TraceContext;
use opentelemetry::trace::TraceContextExt as _;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The trace a span belongs to when spans are not exported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalIds(pub(crate) TraceContext);

/// Gives each new span inside a traced span the same trace id and a span
/// id of its own (installed only with export off).
pub(crate) struct LocalIdsLayer;

impl<S> Layer<S> for LocalIdsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        _attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let Some(span) = ctx.span(id) else { return };
        let inherited = span
            .parent()
            .and_then(|p| p.extensions().get::<LocalIds>().copied());
        if let Some(LocalIds(parent)) = inherited {
            span.extensions_mut().insert(LocalIds(parent.child()));
        }
    }
}

/// Wraps a formatter so each line inside a trace names it.
pub(crate) struct WithIds<F> {
    pub(crate) inner: F,
    pub(crate) json: bool,
    pub(crate) exporting: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(ids) = self.ids(ctx) else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let (trace_id, span_id) = (hex(&ids.trace_id), hex(&ids.span_id));
        if self.json
            && let Some(rest) = line.strip_prefix('{')
        {
            write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            )
        } else {
            let body = line.strip_suffix('\n').unwrap_or(&line);
            writeln!(writer, "{body} trace_id={trace_id} span_id={span_id}")
        }
    }
}

impl<F> WithIds<F> {
    /// The ids of the innermost span of the event that belongs to a trace.
    fn ids<S, N>(&self, ctx: &FmtContext<'_, S, N>) -> Option<TraceContext>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        let leaf = ctx.event_scope()?.next()?;
        if self.exporting {
            let id = leaf.id();
            let otel = tracing::dispatcher::get_default(|dispatch| {
                tracing_opentelemetry::get_otel_context(&id, dispatch)
            })?;
            let span = otel.span();
            let own = span.span_context();
            return own.is_valid().then(|| TraceContext {
                trace_id: own.trace_id().to_bytes(),
                span_id: own.span_id().to_bytes(),
                sampled: own.is_sampled(),
            });
        }
        leaf.scope()
            .find_map(|s| s.extensions().get::<LocalIds>().map(|l| l.0))
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Log output captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Logs a line outside any trace, then one in a span continuing
    /// `incoming` and one in its child; returns the lines.
    fn lines(json: bool, incoming: &TraceContext) -> Vec<String> {
        let out = Captured::default();
        let writer = out.clone();
        let fmt = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone());
        let subscriber = tracing_subscriber::registry().with(LocalIdsLayer);
        let run = || {
            tracing::info!("before any trace");
            let span = tracing::info_span!("outer");
            crate::continue_trace(&span, incoming);
            span.in_scope(|| {
                tracing::info!(conversation_id = "c1", "inside the trace");
                tracing::info_span!("inner").in_scope(|| tracing::info!("in a child span"));
            });
        };
        if json {
            let fmt = fmt.json().map_event_format(|inner| WithIds {
                inner,
                json: true,
                exporting: false,
            });
            tracing::subscriber::with_default(subscriber.with(fmt), run);
        } else {
            let fmt = fmt.map_event_format(|inner| WithIds {
                inner,
                json: false,
                exporting: false,
            });
            tracing::subscriber::with_default(subscriber.with(fmt), run);
        }
        let bytes = out.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn text_lines_inside_a_trace_end_with_its_ids() {
        let incoming = TraceContext::new_root();
        let trace = incoming.trace_id_hex();
        let lines = lines(false, &incoming);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(!lines[0].contains("trace_id="), "{}", lines[0]);
        let ids: Vec<(&str, &str)> = lines[1..]
            .iter()
            .map(|l| {
                let (_, ids) = l.rsplit_once(" trace_id=").unwrap_or_default();
                ids.split_once(" span_id=").unwrap_or_default()
            })
            .collect();
        assert!(ids.iter().all(|(t, _)| *t == trace), "{lines:?}");
        assert!(ids.iter().all(|(_, s)| s.len() == 16), "{lines:?}");
        assert_ne!(ids[0].1, ids[1].1, "the child span has its own id");
        assert!(lines[1].contains("conversation_id=\"c1\""), "{}", lines[1]);
    }

    #[test]
    fn json_lines_inside_a_trace_carry_its_ids_as_fields() {
        let incoming = TraceContext::new_root();
        let lines = lines(true, &incoming);
        assert_eq!(lines.len(), 3, "{lines:?}");
        let parsed: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert!(parsed[0].get("trace_id").is_none(), "{}", lines[0]);
        for line in &parsed[1..] {
            assert_eq!(line["trace_id"], incoming.trace_id_hex().as_str(), "{line}");
            assert_eq!(line["span_id"].as_str().map(str::len), Some(16), "{line}");
        }
        assert_eq!(parsed[1]["fields"]["message"], "inside the trace");
    }
}
