//! Prometheus metrics in the text exposition format, without a metrics
//! framework: counters are incremented where things happen, gauges are read
//! from the parts' state when scraped.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `omni_inbound_messages_total` | counter | `channel`, `result` (`stored`, `duplicate`, `failed`) |
//! | `omni_outbound_messages_total` | counter | `channel` |
//! | `omni_routing_offers_total` | counter | |
//! | `omni_routing_offers_rescinded_total` | counter | `reason` |
//! | `omni_routing_assignments_total` | counter | |
//! | `omni_queue_waiting` | gauge | `queue` |
//! | `omni_queue_longest_wait_seconds` | gauge | `queue` |
//! | `omni_agents` | gauge | `presence` |
//! | `omni_agent_load`, `omni_agent_capacity` | gauge | `channel` |
//! | `omni_chat_connections` | gauge | |
//! | `omni_retention_sweeps_total` | counter | `result` (`ok`, `failed`) |
//! | `omni_retention_conversations_deleted_total` | counter | |
//! | `omni_retention_messages_deleted_total` | counter | |
//! | `omni_customers_erased_total`, `omni_customers_exported_total` | counter | |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

type GaugeFn = Box<dyn Fn(&mut Vec<Sample>) + Send + Sync>;

/// One gauge reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: &'static str,
    /// Label pairs.
    pub labels: Vec<(&'static str, String)>,
    /// Value.
    pub value: f64,
}

#[derive(Default)]
struct Registry {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    gauges: Mutex<BTreeMap<&'static str, GaugeFn>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

fn label_text(labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Adds one to a counter.
pub fn inc(name: &'static str, labels: &[(&str, &str)]) {
    add(name, labels, 1);
}

/// Adds `n` to a counter.
pub fn add(name: &'static str, labels: &[(&str, &str)], n: u64) {
    let key = (name, label_text(labels));
    let mut counters = registry()
        .counters
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let value = counters.entry(key).or_insert(0);
    *value = value.saturating_add(n);
}

/// Registers (or replaces) a source of gauge readings, read at each scrape.
pub fn gauges(source: &'static str, read: impl Fn(&mut Vec<Sample>) + Send + Sync + 'static) {
    registry()
        .gauges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(source, Box::new(read));
}

/// Removes a source of gauge readings (when its part stops).
pub fn remove_gauges(source: &'static str) {
    registry()
        .gauges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(source);
}

/// Every metric in the Prometheus text format.
pub fn render() -> String {
    let mut out = String::new();
    let counters = registry()
        .counters
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut last = "";
    for ((name, labels), value) in &counters {
        if *name != last {
            let _ = writeln!(out, "# TYPE {name} counter");
            last = name;
        }
        let _ = writeln!(out, "{name}{labels} {value}");
    }
    let mut samples = Vec::new();
    for read in registry()
        .gauges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
    {
        read(&mut samples);
    }
    samples.sort_by(|a, b| a.name.cmp(b.name));
    let mut last = "";
    for s in &samples {
        if s.name != last {
            let _ = writeln!(out, "# TYPE {} gauge", s.name);
            last = s.name;
        }
        let labels: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let _ = writeln!(out, "{}{} {}", s.name, label_text(&labels), s.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        inc("omni_test_total", &[("channel", "chat")]);
        inc("omni_test_total", &[("channel", "chat")]);
        inc("omni_test_total", &[("channel", "say \"hi\"")]);
        gauges("test", |s| {
            s.push(Sample {
                name: "omni_test_gauge",
                labels: vec![("queue", "sales".into())],
                value: 3.0,
            })
        });
        let text = render();
        assert!(text.contains("# TYPE omni_test_total counter\n"), "{text}");
        assert!(
            text.contains("omni_test_total{channel=\"chat\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("omni_test_total{channel=\"say \\\"hi\\\"\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("omni_test_gauge{queue=\"sales\"} 3\n"),
            "{text}"
        );
        remove_gauges("test");
        assert!(!render().contains("omni_test_gauge"));
    }
}
