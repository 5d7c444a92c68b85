//! Prometheus metrics on [`prometheus_client`]: one registry for the
//! process, rendered in the OpenMetrics text format by [`render`].
//!
//! Counters and histograms are families created once by name
//! ([`counter`], [`histogram`]) and held as handles ([`Counters`],
//! [`Histograms`]) where things happen: an increment looks the label set up
//! in its own family (a shared read lock) and adds atomically, with no
//! process-wide lock. The registry's own lock is taken only when a family is
//! created and when `/metrics` is scraped. Gauges that describe the parts'
//! state (queue depth, agent load, connections) are read at scrape time from
//! the closures registered with [`gauges`], the process's own
//! (`process_resident_memory_bytes`, `process_open_fds`) included. The
//! contact center's numbers have typed label sets in [`contact`].
//!
//! Every metric, with its type, labels and meaning, is listed in
//! `docs/metrics.md`.
//!
//! # Layout
//! - this file: the registry, name-keyed families and scrape-time gauges.
//! - [`contact`]: the contact center's numbers per queue and channel, per
//!   agent and per channel, with typed label sets.

pub mod contact;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label set built at the call site: fixed keys, values of the moment.
pub type Labels = Vec<(&'static str, String)>;

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

/// Upper bounds (seconds) of the latency histograms: 5 ms to an hour.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0,
];

#[derive(Clone)]
enum Known {
    Counter(Counters),
    Histogram(Histograms),
}

struct State {
    registry: Registry,
    families: BTreeMap<&'static str, Known>,
    gauges: Arc<Mutex<BTreeMap<&'static str, GaugeFn>>>,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let mut sources: BTreeMap<&'static str, GaugeFn> = BTreeMap::new();
            sources.insert("process", Box::new(process));
            let gauges = Arc::new(Mutex::new(sources));
            let mut registry = Registry::default();
            registry.register_collector(Box::new(GaugeCollector(gauges.clone())));
            Mutex::new(State {
                registry,
                families: BTreeMap::new(),
                gauges,
            })
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The process's resident memory and open file descriptors (sockets
/// included), from `/proc` where there is one.
fn process(out: &mut Vec<Sample>) {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
    {
        out.push(Sample {
            name: "process_resident_memory_bytes",
            labels: Vec::new(),
            value: kb * 1024.0,
        });
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.push(Sample {
            name: "process_open_fds",
            labels: Vec::new(),
            value: fds.count() as f64,
        });
    }
}

/// Registers `metric` under `name` (the registry adds `_total` to counters).
pub(crate) fn register(name: &str, help: &str, metric: impl Metric) {
    state().registry.register(name, help, metric);
}

fn key(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// A counter family: one monotonic count per label set.
#[derive(Clone, Debug, Default)]
pub struct Counters(Family<Labels, Counter>);

impl Counters {
    /// Adds one for `labels`.
    pub fn inc(&self, labels: &[(&'static str, &str)]) {
        self.add(labels, 1);
    }

    /// Adds `n` for `labels`.
    pub fn add(&self, labels: &[(&'static str, &str)], n: u64) {
        self.0.get_or_create(&key(labels)).inc_by(n);
    }

    /// The count for `labels` (0 when never counted).
    pub fn get(&self, labels: &[(&'static str, &str)]) -> u64 {
        self.0.get(&key(labels)).map_or(0, |c| c.get())
    }
}

/// Builds a histogram with [`Histograms`]' bounds.
#[derive(Clone, Debug)]
pub struct Buckets(&'static [f64]);

impl prometheus_client::metrics::family::MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// A histogram family: one distribution per label set.
#[derive(Clone, Debug)]
pub struct Histograms(Family<Labels, Histogram, Buckets>);

impl Histograms {
    /// Records `value` for `labels`.
    pub fn observe(&self, labels: &[(&'static str, &str)], value: f64) {
        self.0.get_or_create(&key(labels)).observe(value);
    }
}

/// The counter family `name` (which ends in `_total`), created on first use;
/// hold the handle. Labels are given at each increment, always in the same
/// order for a name.
pub fn counter(name: &'static str, help: &'static str) -> Counters {
    let mut state = state();
    if let Some(Known::Counter(c)) = state.families.get(name) {
        return c.clone();
    }
    let family = Counters::default();
    let base = name.strip_suffix("_total").unwrap_or(name);
    state.registry.register(base, help, family.0.clone());
    state.families.insert(name, Known::Counter(family.clone()));
    family
}

/// The histogram family `name` with upper bounds `buckets`, created on first
/// use; hold the handle.
pub fn histogram(name: &'static str, help: &'static str, buckets: &'static [f64]) -> Histograms {
    let mut state = state();
    if let Some(Known::Histogram(h)) = state.families.get(name) {
        return h.clone();
    }
    let family = Histograms(Family::new_with_constructor(Buckets(buckets)));
    state.registry.register(name, help, family.0.clone());
    state
        .families
        .insert(name, Known::Histogram(family.clone()));
    family
}

/// Adds one to the counter family `name` (help `help`) for `labels`,
/// through a handle this call site makes once and keeps.
#[macro_export]
macro_rules! count {
    ($name:literal, $help:literal, $labels:expr $(,)?) => {
        $crate::count_by!($name, $help, $labels, 1)
    };
}

/// Adds `n` to the counter family `name` for `labels`, like [`count!`].
#[macro_export]
macro_rules! count_by {
    ($name:literal, $help:literal, $labels:expr, $n:expr $(,)?) => {{
        static FAMILY: ::std::sync::OnceLock<$crate::metrics::Counters> =
            ::std::sync::OnceLock::new();
        FAMILY
            .get_or_init(|| $crate::metrics::counter($name, $help))
            .add($labels, $n)
    }};
}

/// Registers (or replaces) a source of gauge readings, read at each scrape.
pub fn gauges(source: &'static str, read: impl Fn(&mut Vec<Sample>) + Send + Sync + 'static) {
    let gauges = state().gauges.clone();
    gauges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(source, Box::new(read));
}

/// Removes a source of gauge readings (when its part stops).
pub fn remove_gauges(source: &'static str) {
    let gauges = state().gauges.clone();
    gauges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(source);
}

/// Every metric in the OpenMetrics text format ([`CONTENT_TYPE`]).
pub fn render() -> String {
    let mut out = String::new();
    let state = state();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &state.registry) {
        tracing::warn!(error = %e, "could not encode the metrics");
    }
    out
}

/// Reads the registered gauge closures at scrape time.
struct GaugeCollector(Arc<Mutex<BTreeMap<&'static str, GaugeFn>>>);

impl std::fmt::Debug for GaugeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GaugeCollector")
    }
}

impl Collector for GaugeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut samples = Vec::new();
        for read in self.0.lock().unwrap_or_else(|p| p.into_inner()).values() {
            read(&mut samples);
        }
        samples.sort_by(|a, b| a.name.cmp(b.name));
        for group in samples.chunk_by(|a, b| a.name == b.name) {
            let mut metric =
                encoder.encode_descriptor(group[0].name, "", None, MetricType::Gauge)?;
            for s in group {
                let family = metric.encode_family(&s.labels)?;
                GaugeValue(s.value).encode(family)?;
            }
        }
        Ok(())
    }
}

/// A gauge reading, written as an integer when it is one.
#[derive(Debug)]
struct GaugeValue(f64);

impl EncodeMetric for GaugeValue {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder,
    ) -> Result<(), std::fmt::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            encoder.encode_gauge(&(v as i64))
        } else {
            encoder.encode_gauge(&v)
        }
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let c = counter("omni_test_total", "a test counter");
        c.inc(&[("channel", "chat")]);
        c.inc(&[("channel", "chat")]);
        c.inc(&[("channel", "say \"hi\"")]);
        assert_eq!(c.get(&[("channel", "chat")]), 2);
        // The same name gives the same family.
        counter("omni_test_total", "a test counter").inc(&[("channel", "chat")]);
        let h = histogram("omni_test_seconds", "a test histogram", &[1.0, 10.0]);
        h.observe(&[("queue", "sales")], 0.5);
        h.observe(&[("queue", "sales")], 5.0);
        gauges("test", |s| {
            s.push(Sample {
                name: "omni_test_gauge",
                labels: vec![("queue", "sales".into())],
                value: 3.0,
            });
            s.push(Sample {
                name: "omni_test_ratio",
                labels: vec![],
                value: 0.5,
            });
        });
        let text = render();
        assert!(text.contains("# TYPE omni_test counter\n"), "{text}");
        assert!(
            text.contains("omni_test_total{channel=\"chat\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("omni_test_total{channel=\"say \\\"hi\\\"\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("omni_test_seconds_bucket{le=\"1.0\",queue=\"sales\"} 1\n")
                || text.contains("omni_test_seconds_bucket{queue=\"sales\",le=\"1.0\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("omni_test_seconds_count{queue=\"sales\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("omni_test_gauge{queue=\"sales\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("omni_test_ratio 0.5\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        if cfg!(target_os = "linux") {
            let value = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            assert!(value("process_resident_memory_bytes ") > 1e6, "{text}");
            assert!(value("process_open_fds ") >= 3.0, "{text}");
        }
        remove_gauges("test");
        assert!(!render().contains("omni_test_gauge"));
    }
}
