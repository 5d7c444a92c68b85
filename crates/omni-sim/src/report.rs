//! What a run measured, per queue, per agent group and overall, as a text
//! table, JSON or CSV.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use omni_core::Channel;
use serde::Serialize;

use crate::erlang::Prediction;
use crate::reference::reference;
use crate::scenario::Scenario;
use crate::sim::{QueueBatch, Tally};
use crate::stats::{Estimate, Ratio, ratio_estimate};

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Measured simulated time after the warm-up, seconds.
    pub duration_secs: f64,
    /// Unmeasured simulated time before it, seconds.
    pub warmup_secs: f64,
    /// The seed.
    pub seed: u64,
    /// Batches behind the confidence intervals.
    pub batches: u32,
    /// Virtual time at which the run stopped, seconds.
    pub simulated_secs: f64,
    /// Events the simulator processed.
    pub events: u64,
    /// Contacts generated, measured or not.
    pub contacts: u64,
    /// One entry per queue, in scenario order.
    pub queues: Vec<QueueReport>,
    /// One entry per agent group, in scenario order.
    pub groups: Vec<GroupReport>,
    /// Every queue and group together.
    pub overall: OverallReport,
}

/// Figures of one queue. Rates are shares of offered contacts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueReport {
    /// The queue's id.
    pub id: String,
    /// Its channel.
    pub channel: Channel,
    /// Contacts that arrived in the measured period.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned while waiting.
    pub abandoned: u64,
    /// Of those, still waiting when the run stopped.
    pub unresolved: u64,
    /// The most contacts waiting at once in the measured period (seen at
    /// arrivals): with business hours, the backlog a closure leaves for
    /// the opening.
    pub peak_waiting: u64,
    /// Whether the queue has business hours.
    pub business_hours: bool,
    /// The service level threshold T, seconds.
    pub service_level_secs: f64,
    /// Share answered within T.
    pub service_level: Option<Estimate>,
    /// Average speed of answer: mean wait of answered contacts, seconds.
    pub asa_secs: Option<Estimate>,
    /// Share that found no agent on arrival.
    pub p_wait: Option<Estimate>,
    /// Share that abandoned.
    pub abandon_rate: Option<Estimate>,
    /// Mean wait of answered and abandoned contacts, seconds.
    pub mean_wait_secs: Option<Estimate>,
    /// Erlang C or Erlang A, when one describes this queue exactly.
    pub reference: Option<Prediction>,
}

/// Figures of one agent group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group's name.
    pub group: String,
    /// Agents in it.
    pub agents: u32,
    /// Share of time an agent held at least one contact.
    pub occupancy: Option<Estimate>,
    /// Mean number of contacts an agent held at once.
    pub mean_load: Option<Estimate>,
    /// Mean load over the agent's capacity on the scenario's channels
    /// (capped by its total).
    pub capacity_utilization: Option<Estimate>,
}

/// Every queue and group together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverallReport {
    /// Contacts that arrived in the measured period.
    pub offered: u64,
    /// Of those, answered.
    pub answered: u64,
    /// Of those, abandoned.
    pub abandoned: u64,
    /// Of those, still waiting when the run stopped.
    pub unresolved: u64,
    /// Share answered within their queue's threshold.
    pub service_level: Option<Estimate>,
    /// Share of time an agent held at least one contact.
    pub occupancy: Option<Estimate>,
}

impl Report {
    pub(crate) fn new(scenario: &Scenario, tally: &Tally) -> Self {
        let per_batch = |f: &dyn Fn(usize) -> Ratio| -> Vec<Ratio> {
            (0..scenario.batches as usize).map(f).collect()
        };
        let queues = scenario
            .queues
            .iter()
            .enumerate()
            .map(|(q, spec)| {
                let b = &tally.queues[q];
                let sum = |f: &dyn Fn(&QueueBatch) -> u64| b.iter().map(f).sum::<u64>();
                let share = |f: &dyn Fn(&QueueBatch) -> f64| {
                    ratio_estimate(&per_batch(&|i| Ratio {
                        num: f(&b[i]),
                        den: b[i].offered as f64,
                    }))
                };
                let secs = |num: &dyn Fn(&QueueBatch) -> f64, den: &dyn Fn(&QueueBatch) -> f64| {
                    ratio_estimate(&per_batch(&|i| Ratio {
                        num: num(&b[i]) / 1000.0,
                        den: den(&b[i]),
                    }))
                };
                QueueReport {
                    id: spec.id.clone(),
                    channel: spec.channel,
                    offered: sum(&|x| x.offered),
                    answered: sum(&|x| x.answered),
                    abandoned: sum(&|x| x.abandoned),
                    unresolved: tally.unresolved[q],
                    peak_waiting: tally.peak_waiting[q],
                    business_hours: spec.hours.is_some(),
                    service_level_secs: spec.service_level_secs,
                    service_level: share(&|x| x.answered_in_time as f64),
                    asa_secs: secs(&|x| x.answered_wait_ms, &|x| x.answered as f64),
                    p_wait: share(&|x| x.waited as f64),
                    abandon_rate: share(&|x| x.abandoned as f64),
                    mean_wait_secs: secs(&|x| x.wait_ms, &|x| (x.answered + x.abandoned) as f64),
                    reference: reference(scenario, q),
                }
            })
            .collect::<Vec<_>>();

        let channels: BTreeSet<Channel> = scenario.queues.iter().map(|q| q.channel).collect();
        let groups = scenario
            .agents
            .iter()
            .enumerate()
            .map(|(g, spec)| {
                let b = &tally.groups[g];
                let staffed = f64::from(spec.count) * tally.batch_ms;
                let slots = channels
                    .iter()
                    .map(|c| spec.capacity.get(c).copied().unwrap_or(0))
                    .sum::<u32>()
                    .min(spec.total.unwrap_or(u32::MAX));
                let ratio = |num: &dyn Fn(usize) -> f64, scale: f64| {
                    ratio_estimate(&per_batch(&|i| Ratio {
                        num: num(i),
                        den: staffed * scale,
                    }))
                };
                GroupReport {
                    group: spec.group.clone(),
                    agents: spec.count,
                    occupancy: ratio(&|i| b[i].busy_ms, 1.0),
                    mean_load: ratio(&|i| b[i].load_ms, 1.0),
                    capacity_utilization: if slots > 0 {
                        ratio(&|i| b[i].load_ms, f64::from(slots))
                    } else {
                        None
                    },
                }
            })
            .collect();

        let all_agents: f64 = scenario.agents.iter().map(|g| f64::from(g.count)).sum();
        let overall = OverallReport {
            offered: queues.iter().map(|q| q.offered).sum(),
            answered: queues.iter().map(|q| q.answered).sum(),
            abandoned: queues.iter().map(|q| q.abandoned).sum(),
            unresolved: queues.iter().map(|q| q.unresolved).sum(),
            service_level: ratio_estimate(&per_batch(&|i| Ratio {
                num: tally
                    .queues
                    .iter()
                    .map(|b| b[i].answered_in_time as f64)
                    .sum(),
                den: tally.queues.iter().map(|b| b[i].offered as f64).sum(),
            })),
            occupancy: ratio_estimate(&per_batch(&|i| Ratio {
                num: tally.groups.iter().map(|b| b[i].busy_ms).sum(),
                den: all_agents * tally.batch_ms,
            })),
        };

        Report {
            duration_secs: scenario.duration_secs,
            warmup_secs: scenario.warmup_secs,
            seed: scenario.seed,
            batches: scenario.batches,
            simulated_secs: tally.ended_ms as f64 / 1000.0,
            events: tally.events,
            contacts: tally.contacts,
            queues,
            groups,
            overall,
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain numbers, strings and options cannot fail; NaN
        // and infinities become null.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as CSV: one row per queue, per group and overall, with the
    /// columns of [`CSV_COLUMNS`]. Empty cells where a figure does not apply.
    pub fn to_csv(&self) -> String {
        let mut out = CSV_COLUMNS.join(",");
        out.push('\n');
        for q in &self.queues {
            let mut row = CsvRow::new("queue");
            row.set("id", csv_field(&q.id));
            row.set("channel", q.channel.as_str().to_owned());
            row.counts(q.offered, q.answered, q.abandoned, q.unresolved);
            row.set("service_level_secs", num(q.service_level_secs));
            row.estimate("service_level", &q.service_level);
            row.estimate("asa_secs", &q.asa_secs);
            row.estimate("p_wait", &q.p_wait);
            row.estimate("abandon_rate", &q.abandon_rate);
            row.estimate("mean_wait_secs", &q.mean_wait_secs);
            if let Some(p) = &q.reference {
                row.set("reference_model", p.model.label().to_owned());
                row.set("reference_service_level", num(p.service_level));
                row.set("reference_asa_secs", num(p.asa_secs));
                row.set("reference_p_wait", num(p.p_wait));
                row.set("reference_abandon_rate", num(p.abandon_rate));
                row.set("reference_occupancy", num(p.occupancy));
            }
            row.write(&mut out);
        }
        for g in &self.groups {
            let mut row = CsvRow::new("group");
            row.set("id", csv_field(&g.group));
            row.set("agents", g.agents.to_string());
            row.estimate("occupancy", &g.occupancy);
            row.estimate("mean_load", &g.mean_load);
            row.estimate("capacity_utilization", &g.capacity_utilization);
            row.write(&mut out);
        }
        let o = &self.overall;
        let mut row = CsvRow::new("overall");
        let agents: u64 = self.groups.iter().map(|g| u64::from(g.agents)).sum();
        row.set("agents", agents.to_string());
        row.counts(o.offered, o.answered, o.abandoned, o.unresolved);
        row.estimate("service_level", &o.service_level);
        row.estimate("occupancy", &o.occupancy);
        row.write(&mut out);
        out
    }

    /// The report as text tables for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "simulated {} after {} of warm-up (seed {}, {} contacts, {} events); ± is a 95% confidence interval over {} batches",
            hours(self.duration_secs),
            hours(self.warmup_secs),
            self.seed,
            self.contacts,
            self.events,
            self.batches
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>9} {:>9} {:>24} {:>16} {:>16} {:>16}",
            "queue",
            "offered",
            "answered",
            "abandoned",
            "service level",
            "ASA",
            "P(wait)",
            "abandon rate"
        );
        for q in &self.queues {
            let _ = writeln!(
                out,
                "{:<16} {:>9} {:>9} {:>9} {:>24} {:>16} {:>16} {:>16}",
                q.id,
                q.offered,
                q.answered,
                q.abandoned,
                format!(
                    "{} in {}s",
                    pct(&q.service_level),
                    num(q.service_level_secs)
                ),
                secs(&q.asa_secs),
                pct(&q.p_wait),
                pct(&q.abandon_rate),
            );
            if let Some(p) = &q.reference {
                let _ = writeln!(
                    out,
                    "{:<16} {:>9} {:>9} {:>9} {:>24} {:>16} {:>16} {:>16}",
                    format!("  {}", p.model.label()),
                    "",
                    "",
                    "",
                    format!("{:.2}%", p.service_level * 100.0),
                    format!("{:.2}s", p.asa_secs),
                    format!("{:.2}%", p.p_wait * 100.0),
                    format!("{:.2}%", p.abandon_rate * 100.0),
                );
            }
            if q.business_hours {
                let _ = writeln!(
                    out,
                    "  business hours: at most {} waiting at once (the backlog at the opening); the service level counts waits from the opening",
                    q.peak_waiting
                );
            }
            if q.unresolved > 0 {
                let _ = writeln!(
                    out,
                    "  warning: {} contacts of {} were still waiting when the run stopped (overloaded without abandonment?)",
                    q.unresolved, q.id
                );
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<16} {:>7} {:>16} {:>14} {:>20}",
            "agent group", "agents", "occupancy", "mean load", "capacity utilization"
        );
        for g in &self.groups {
            let _ = writeln!(
                out,
                "{:<16} {:>7} {:>16} {:>14} {:>20}",
                g.group,
                g.agents,
                pct(&g.occupancy),
                plain(&g.mean_load),
                pct(&g.capacity_utilization),
            );
        }
        let _ = writeln!(
            out,
            "{:<16} {:>7} {:>16}",
            "overall",
            self.groups.iter().map(|g| u64::from(g.agents)).sum::<u64>(),
            pct(&self.overall.occupancy)
        );
        out
    }
}

/// The columns of [`Report::to_csv`], in order. `*_ci95` columns hold the
/// half-width of the 95% confidence interval of the column before them.
pub const CSV_COLUMNS: [&str; 31] = [
    "kind",
    "id",
    "channel",
    "agents",
    "offered",
    "answered",
    "abandoned",
    "unresolved",
    "service_level_secs",
    "service_level",
    "service_level_ci95",
    "asa_secs",
    "asa_secs_ci95",
    "p_wait",
    "p_wait_ci95",
    "abandon_rate",
    "abandon_rate_ci95",
    "mean_wait_secs",
    "mean_wait_secs_ci95",
    "occupancy",
    "occupancy_ci95",
    "mean_load",
    "mean_load_ci95",
    "capacity_utilization",
    "capacity_utilization_ci95",
    "reference_model",
    "reference_service_level",
    "reference_asa_secs",
    "reference_p_wait",
    "reference_abandon_rate",
    "reference_occupancy",
];

/// One CSV row, filled by column name.
struct CsvRow([String; CSV_COLUMNS.len()]);

impl CsvRow {
    fn new(kind: &str) -> Self {
        let mut row = Self(std::array::from_fn(|_| String::new()));
        row.set("kind", kind.to_owned());
        row
    }

    fn set(&mut self, column: &str, value: String) {
        let index = CSV_COLUMNS.iter().position(|c| *c == column);
        debug_assert!(index.is_some(), "no CSV column {column}");
        if let Some(i) = index {
            self.0[i] = value;
        }
    }

    fn counts(&mut self, offered: u64, answered: u64, abandoned: u64, unresolved: u64) {
        self.set("offered", offered.to_string());
        self.set("answered", answered.to_string());
        self.set("abandoned", abandoned.to_string());
        self.set("unresolved", unresolved.to_string());
    }

    fn estimate(&mut self, column: &str, estimate: &Option<Estimate>) {
        if let Some(e) = estimate {
            self.set(column, num(e.value));
            self.set(
                &format!("{column}_ci95"),
                e.ci95.map(num).unwrap_or_default(),
            );
        }
    }

    fn write(&self, out: &mut String) {
        out.push_str(&self.0.join(","));
        out.push('\n');
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        String::new()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn pct(e: &Option<Estimate>) -> String {
    match e {
        Some(Estimate {
            value,
            ci95: Some(ci),
            ..
        }) => format!("{:.2}% ±{:.2}", value * 100.0, ci * 100.0),
        Some(e) => format!("{:.2}%", e.value * 100.0),
        None => "-".to_owned(),
    }
}

fn secs(e: &Option<Estimate>) -> String {
    match e {
        Some(Estimate {
            value,
            ci95: Some(ci),
            ..
        }) => format!("{value:.2}s ±{ci:.2}"),
        Some(e) => format!("{:.2}s", e.value),
        None => "-".to_owned(),
    }
}

fn plain(e: &Option<Estimate>) -> String {
    match e {
        Some(Estimate {
            value,
            ci95: Some(ci),
            ..
        }) => format!("{value:.3} ±{ci:.3}"),
        Some(e) => format!("{:.3}", e.value),
        None => "-".to_owned(),
    }
}

fn hours(secs: f64) -> String {
    if secs >= 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{secs} s")
    }
}
