//! The contact center's counts as the router makes them: each is added to
//! the process's exported counters at once and, batched every
//! [`FLUSH_EVERY`], to the store's count for the day, queue, channel and
//! number ([`RouterStore::add_counts`]), and to the same count under the
//! day [`ALL_DAYS`] (in the same write). At start the exported counters are
//! raised to those totals (one read), so a restart neither zeroes
//! them nor makes them go backwards (a crash loses at most the last batch).
//! Today's counts (`omni_queue_today`, `omni_service_level_ratio`) are read
//! back from the store after every flush, so they are the store's, shared by
//! every router process.
//!
//! A day is cut at midnight UTC shifted by `[metrics] utc_offset_minutes`.
//!
//! The supervisor's wall's numbers (sums for averages, the day's intervals,
//! missed offers per agent) are written in the same batches: see [`day`].

pub mod day;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use omni_core::config::MetricsConfig;
use omni_core::time::{Millis, now_ms};
use omni_core::{AgentId, ConversationId, QueueId};
use omni_store::{DayCount, RouterStore, StoreError};
use omni_telemetry::metrics::Sample;
use omni_telemetry::metrics::contact::{Number, contact_center, service_level};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How often pending counts are written to the store.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The store's "day" that sums every day: what the exported counters are
/// restored from, in one read however many days the store holds.
pub const ALL_DAYS: &str = "all";

type CountKey = (String, String, Number);

/// Counts per day, pending and today's as stored.
pub struct Tally {
    store: Arc<dyn RouterStore>,
    offset_ms: i64,
    pending: Mutex<BTreeMap<(String, String, String, Number), u64>>,
    today: Mutex<(String, BTreeMap<CountKey, u64>)>,
    thresholds: Mutex<HashMap<QueueId, Millis>>,
    answered_at: Mutex<HashMap<ConversationId, Millis>>,
    to_bot: Mutex<HashSet<ConversationId>>,
    presence: Mutex<HashMap<AgentId, (&'static str, Millis)>>,
    book: Mutex<day::Daybook>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub use omni_core::time::day_of;

impl Tally {
    /// Counts kept in `store`, days cut as `config` says.
    pub fn new(store: Arc<dyn RouterStore>, config: &MetricsConfig) -> Self {
        Self {
            store,
            offset_ms: i64::from(config.utc_offset_minutes) * 60_000,
            pending: Mutex::new(BTreeMap::new()),
            today: Mutex::new((String::new(), BTreeMap::new())),
            thresholds: Mutex::new(HashMap::new()),
            answered_at: Mutex::new(HashMap::new()),
            to_bot: Mutex::new(HashSet::new()),
            presence: Mutex::new(HashMap::new()),
            book: Mutex::new(day::Daybook::default()),
        }
    }

    /// Today's day string.
    pub fn today(&self) -> String {
        day_of(now_ms(), self.offset_ms)
    }

    /// Raises the exported counters to the store's totals over every day and
    /// reads today's counts.
    pub async fn restore(&self) -> Result<(), StoreError> {
        let mut totals: BTreeMap<CountKey, u64> = BTreeMap::new();
        for c in self.store.counts(Some(ALL_DAYS)).await? {
            if let Some(n) = Number::parse(&c.number) {
                let t = totals.entry((c.queue, c.channel, n)).or_default();
                *t = t.saturating_add(c.value);
            }
        }
        let restored = totals.len();
        for ((queue, channel, n), total) in totals {
            contact_center().restore(n, &queue, &channel, total);
        }
        info!(
            counts = restored,
            "contact center counts restored from the store"
        );
        self.refresh_today().await
    }

    /// Sets the service-level threshold of `queue`.
    pub fn set_threshold(&self, queue: &QueueId, threshold_ms: Millis) {
        lock(&self.thresholds).insert(queue.clone(), threshold_ms);
    }

    fn threshold(&self, queue: &QueueId) -> Millis {
        lock(&self.thresholds)
            .get(queue)
            .copied()
            .unwrap_or(Millis::MAX)
    }

    /// Adds one to `number` of `queue` on `channel`.
    pub fn count(&self, number: Number, queue: &str, channel: &str) {
        contact_center().add(number, queue, channel, 1);
        self.count_interval(number, queue, channel);
        let day = self.today();
        *lock(&self.pending)
            .entry((day, queue.to_owned(), channel.to_owned(), number))
            .or_default() += 1;
    }

    /// An agent accepted a contact that waited since `queued_at_ms`.
    pub fn answered(
        &self,
        conversation_id: &ConversationId,
        queue: &QueueId,
        channel: &str,
        queued_at_ms: Millis,
    ) {
        let now = now_ms();
        let waited = now.saturating_sub(queued_at_ms).max(0);
        self.count(Number::OfferAccepted, queue.as_str(), channel);
        self.count(Number::Answered, queue.as_str(), channel);
        if waited <= self.threshold(queue) {
            self.count(Number::AnsweredWithinTarget, queue.as_str(), channel);
        }
        contact_center().observe_wait(queue.as_str(), channel, waited as f64 / 1000.0);
        self.add_sum(queue.as_str(), channel, "answer_wait_ms", waited as u64);
        lock(&self.answered_at).insert(conversation_id.clone(), now);
    }

    /// The contact about to be released leaves for a bot (a closed queue's
    /// `closed_bot`): if it is still waiting when it goes, it counts as
    /// [`Number::ToBot`], not as abandoned.
    pub fn leaving_for_bot(&self, conversation_id: &ConversationId) {
        lock(&self.to_bot).insert(conversation_id.clone());
    }

    /// A contact left the router: resolved after an answer (handle time),
    /// handed to a bot while it waited, or abandoned while it waited or was
    /// offered.
    pub fn released(
        &self,
        conversation_id: &ConversationId,
        queue: &QueueId,
        channel: &str,
        queued_at_ms: Millis,
        was_assigned: bool,
    ) {
        let now = now_ms();
        let answered_at = lock(&self.answered_at).remove(conversation_id);
        let to_bot = lock(&self.to_bot).remove(conversation_id);
        if to_bot && !was_assigned {
            self.count(Number::ToBot, queue.as_str(), channel);
            return;
        }
        if was_assigned {
            if let Some(at) = answered_at {
                let held = now.saturating_sub(at).max(0);
                contact_center().observe_handle(queue.as_str(), channel, held as f64 / 1000.0);
                self.add_sum(queue.as_str(), channel, "handled", 1);
                self.add_sum(queue.as_str(), channel, "handle_ms", held as u64);
            }
            return;
        }
        let waited = now.saturating_sub(queued_at_ms).max(0);
        self.count(Number::Abandoned, queue.as_str(), channel);
        if waited > self.threshold(queue) {
            self.count(Number::AbandonedAfterTarget, queue.as_str(), channel);
        }
        contact_center().observe_wait(queue.as_str(), channel, waited as f64 / 1000.0);
    }

    /// `agent`'s presence became `presence` at `at_ms`.
    pub fn presence_changed(&self, agent: &AgentId, presence: &'static str, at_ms: Millis) {
        lock(&self.presence).insert(agent.clone(), (presence, at_ms));
    }

    /// Since when `agent` has been `presence` (first seen so at `now`, when
    /// the change happened before this process started).
    pub fn presence_since(&self, agent: &AgentId, presence: &'static str, now: Millis) -> Millis {
        let mut known = lock(&self.presence);
        match known.get(agent) {
            Some((p, since)) if *p == presence => *since,
            _ => {
                known.insert(agent.clone(), (presence, now));
                now
            }
        }
    }

    /// Writes the pending counts to the store (kept for the next try when
    /// the store fails) and reads today's back.
    pub async fn flush(&self) {
        let mut batch: Vec<DayCount> = std::mem::take(&mut *lock(&self.pending))
            .into_iter()
            .flat_map(|((day, queue, channel, n), value)| {
                let count = DayCount {
                    day,
                    queue,
                    channel,
                    number: n.as_str().to_owned(),
                    value,
                };
                let total = DayCount {
                    day: ALL_DAYS.to_owned(),
                    ..count.clone()
                };
                [count, total]
            })
            .collect();
        batch.extend(self.take_rows());
        if !batch.is_empty()
            && let Err(e) = self.store.add_counts(&batch).await
        {
            warn!(error = %e, counts = batch.len(), "contact center counts not stored yet; retrying");
            let mut rows = Vec::new();
            let mut pending = lock(&self.pending);
            for c in batch.into_iter().filter(|c| c.day != ALL_DAYS) {
                match Number::parse(&c.number) {
                    Some(n) if !c.day.contains('/') => {
                        *pending.entry((c.day, c.queue, c.channel, n)).or_default() += c.value;
                    }
                    _ => rows.push(c),
                }
            }
            drop(pending);
            self.restore_rows(rows);
            return;
        }
        if let Err(e) = self.refresh_today().await {
            warn!(error = %e, "today's counts not read from the store");
        }
    }

    async fn refresh_today(&self) -> Result<(), StoreError> {
        let day = self.today();
        let mut counts = BTreeMap::new();
        let rows = self.store.counts(Some(&day)).await?;
        self.refresh_book(&day, &rows).await?;
        for c in rows {
            if let Some(n) = Number::parse(&c.number) {
                counts.insert((c.queue, c.channel, n), c.value);
            }
        }
        *lock(&self.today) = (day, counts);
        Ok(())
    }

    /// Flushes every [`FLUSH_EVERY`] until `shutdown`, then once more.
    /// Before each flush, `depths` says how many contacts wait per queue
    /// (the day's queue depth, [`day`]).
    pub async fn run(&self, shutdown: CancellationToken, depths: impl Fn() -> Vec<(String, u32)>) {
        let mut every = tokio::time::interval(FLUSH_EVERY);
        let mut last = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = every.tick() => {
                    let elapsed = u64::try_from(last.elapsed().as_millis()).unwrap_or(u64::MAX);
                    last = tokio::time::Instant::now();
                    for (queue, waiting) in depths() {
                        self.waited(&queue, waiting, elapsed);
                    }
                    self.flush().await;
                }
            }
        }
        self.flush().await;
    }

    /// Today's counts from the store: `omni_queue_today{queue,channel,number}`
    /// and `omni_service_level_ratio{queue}` (queues with an answer or a
    /// late abandon today).
    pub fn read_gauges(&self, out: &mut Vec<Sample>) {
        let today = lock(&self.today);
        if today.0 != self.today() {
            // A new day began: nothing counted yet until the next flush.
            return;
        }
        let mut per_queue: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
        for ((queue, channel, n), value) in &today.1 {
            out.push(Sample {
                name: "omni_queue_today",
                labels: vec![
                    ("queue", queue.clone()),
                    ("channel", channel.clone()),
                    ("number", n.as_str().to_owned()),
                ],
                value: *value as f64,
            });
            let slot = match n {
                Number::Answered => 0,
                Number::AnsweredWithinTarget => 1,
                Number::AbandonedAfterTarget => 2,
                _ => continue,
            };
            per_queue.entry(queue).or_default()[slot] += value;
        }
        for (queue, [answered, within, late]) in per_queue {
            if let Some(ratio) = service_level(answered, within, late) {
                out.push(Sample {
                    name: "omni_service_level_ratio",
                    labels: vec![("queue", queue.to_owned())],
                    value: ratio,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::day_of;

    #[test]
    fn days_are_cut_at_the_offset_midnight() {
        assert_eq!(day_of(0, 0), "1970-01-01");
        // 2026-12-06T23:30:00Z
        let t = 1_796_599_800_000;
        assert_eq!(day_of(t, 0), "2026-12-06");
        assert_eq!(day_of(t, 60 * 60_000), "2026-12-07");
        assert_eq!(day_of(t, -24 * 60 * 60_000), "2026-12-05");
        // A leap day.
        assert_eq!(day_of(951_782_400_000, 0), "2000-02-29");
        assert_eq!(day_of(-1, 0), "1969-12-31");
    }
}
