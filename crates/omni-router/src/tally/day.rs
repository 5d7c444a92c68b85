//! The supervisor's wall's numbers beside the tally's counts, kept in the
//! same store rows ([`RouterStore::add_counts`]) so they survive a restart
//! and are the same for every router process:
//!
//! | day | queue | channel | number | what |
//! |---|---|---|---|---|
//! | `YYYY-MM-DD` | queue | channel | `answer_wait_ms` | sum of answered contacts' waits |
//! | `YYYY-MM-DD` | queue | channel | `handled`, `handle_ms` | resolves after an answer, sum of handle times |
//! | `YYYY-MM-DD` | queue | channel | `first_responses`, `first_response_ms` | first agent replies, sum of first-response times |
//! | `YYYY-MM-DD/15m` | queue | channel | `<number>@<i>` | a count in interval `i` of the day ([`INTERVAL_MS`]) |
//! | `YYYY-MM-DD/15m` | queue | `all` | `waiting_ms@<i>` | contacts waiting summed over the interval's milliseconds |
//! | `YYYY-MM-DD/agents` | agent | `all` | `offers_missed` | offers the agent declined or let time out |
//!
//! The sums sit under the day's own key, so the one read that gives today's
//! counts gives them too; they are not in the `all` running total (nothing
//! restores a Prometheus counter from them). The intervals and the agents'
//! rows have keys of their own, read back after every flush.

use std::collections::BTreeMap;

use omni_core::time::{Millis, now_ms};
use omni_proto::routing as pb;
use omni_store::{DayCount, StoreError};
use omni_telemetry::metrics::contact::{Number, service_level};

use super::{Tally, lock};

/// Length of an interval of the day's charts: 15 minutes.
pub const INTERVAL_MS: Millis = 15 * 60_000;

/// The channel of a row that counts every channel together.
pub const ALL_CHANNELS: &str = "all";

/// A stored row's key, pending: (day, queue, channel, number).
pub(super) type RowKey = (String, String, String, String);

/// The wall's numbers: pending writes and today's as last read.
#[derive(Default)]
pub(super) struct Daybook {
    pub(super) pending: BTreeMap<RowKey, u64>,
    /// Today's sums per queue: number to value (every channel together).
    sums: BTreeMap<String, BTreeMap<String, u64>>,
    /// Today's intervals per queue: index to (number to value).
    intervals: BTreeMap<String, BTreeMap<u32, BTreeMap<String, u64>>>,
    /// Today's missed offers per agent.
    missed: BTreeMap<String, u64>,
}

/// The interval key of `day`.
pub fn intervals_day(day: &str) -> String {
    format!("{day}/15m")
}

/// The agents' key of `day`.
pub fn agents_day(day: &str) -> String {
    format!("{day}/agents")
}

/// The interval number name of `number` in interval `index`.
pub fn interval_number(number: &str, index: u32) -> String {
    format!("{number}@{index}")
}

/// `name@index` back to its parts.
fn parse_interval(number: &str) -> Option<(&str, u32)> {
    let (name, index) = number.rsplit_once('@')?;
    Some((name, index.parse().ok()?))
}

/// The numbers counted per interval too (the charts' lines).
fn in_intervals(number: Number) -> bool {
    matches!(
        number,
        Number::Offered
            | Number::Answered
            | Number::AnsweredWithinTarget
            | Number::AbandonedAfterTarget
    )
}

impl Tally {
    /// When the day of `at_ms` began, and the index of the interval it is in.
    fn interval_of(&self, at_ms: Millis) -> (Millis, u32) {
        let local = at_ms.saturating_add(self.offset_ms);
        let start = local - local.rem_euclid(86_400_000) - self.offset_ms;
        let index = (at_ms - start) / INTERVAL_MS;
        (start, u32::try_from(index).unwrap_or(0))
    }

    fn add_row(&self, day: String, queue: &str, channel: &str, number: String, value: u64) {
        if value == 0 {
            return;
        }
        let mut book = lock(&self.book);
        let v = book
            .pending
            .entry((day, queue.to_owned(), channel.to_owned(), number))
            .or_default();
        *v = v.saturating_add(value);
    }

    /// Adds `value` to one of the wall's sums of today.
    pub(super) fn add_sum(&self, queue: &str, channel: &str, number: &str, value: u64) {
        self.add_row(self.today(), queue, channel, number.to_owned(), value);
    }

    /// Counts `number` in today's current interval, when the charts show it.
    pub(super) fn count_interval(&self, number: Number, queue: &str, channel: &str) {
        if !in_intervals(number) {
            return;
        }
        let now = now_ms();
        let (_, index) = self.interval_of(now);
        let day = intervals_day(&super::day_of(now, self.offset_ms));
        self.add_row(
            day,
            queue,
            channel,
            interval_number(number.as_str(), index),
            1,
        );
    }

    /// `agent` declined an offer or let it time out.
    pub fn offer_missed(&self, agent: &str) {
        let day = agents_day(&self.today());
        self.add_row(day, agent, ALL_CHANNELS, "offers_missed".to_owned(), 1);
    }

    /// A first agent reply `ms` after the customer's first message.
    pub fn first_response(&self, queue: &str, channel: &str, ms: u64) {
        self.add_sum(queue, channel, "first_responses", 1);
        self.add_sum(queue, channel, "first_response_ms", ms);
    }

    /// `waiting` contacts waited in `queue` for the last `elapsed_ms`.
    pub fn waited(&self, queue: &str, waiting: u32, elapsed_ms: u64) {
        let now = now_ms();
        let (_, index) = self.interval_of(now);
        let day = intervals_day(&super::day_of(now, self.offset_ms));
        self.add_row(
            day,
            queue,
            ALL_CHANNELS,
            interval_number("waiting_ms", index),
            u64::from(waiting).saturating_mul(elapsed_ms),
        );
    }

    /// Takes the pending rows for a write.
    pub(super) fn take_rows(&self) -> Vec<DayCount> {
        std::mem::take(&mut lock(&self.book).pending)
            .into_iter()
            .map(|((day, queue, channel, number), value)| DayCount {
                day,
                queue,
                channel,
                number,
                value,
            })
            .collect()
    }

    /// Puts back rows a write failed to store.
    pub(super) fn restore_rows(&self, rows: Vec<DayCount>) {
        let mut book = lock(&self.book);
        for c in rows {
            let v = book
                .pending
                .entry((c.day, c.queue, c.channel, c.number))
                .or_default();
            *v = v.saturating_add(c.value);
        }
    }

    /// Reads today's intervals and agents' rows, and keeps today's sums out
    /// of `day_rows` (the day's own rows).
    pub(super) async fn refresh_book(
        &self,
        day: &str,
        day_rows: &[DayCount],
    ) -> Result<(), StoreError> {
        let mut sums: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for c in day_rows
            .iter()
            .filter(|c| Number::parse(&c.number).is_none())
        {
            *sums
                .entry(c.queue.clone())
                .or_default()
                .entry(c.number.clone())
                .or_default() += c.value;
        }
        let mut intervals: BTreeMap<String, BTreeMap<u32, BTreeMap<String, u64>>> = BTreeMap::new();
        for c in self.store.counts(Some(&intervals_day(day))).await? {
            if let Some((name, index)) = parse_interval(&c.number) {
                *intervals
                    .entry(c.queue)
                    .or_default()
                    .entry(index)
                    .or_default()
                    .entry(name.to_owned())
                    .or_default() += c.value;
            }
        }
        let missed = self
            .store
            .counts(Some(&agents_day(day)))
            .await?
            .into_iter()
            .filter(|c| c.number == "offers_missed")
            .map(|c| (c.queue, c.value))
            .collect();
        let mut book = lock(&self.book);
        book.sums = sums;
        book.intervals = intervals;
        book.missed = missed;
        Ok(())
    }

    /// Today's numbers of `queue`, as stored.
    pub fn queue_today(&self, queue: &str) -> pb::QueueToday {
        let mut n: BTreeMap<Number, u64> = BTreeMap::new();
        {
            let today = lock(&self.today);
            if today.0 == self.today() {
                for ((q, _, number), value) in &today.1 {
                    if q == queue {
                        *n.entry(*number).or_default() += value;
                    }
                }
            }
        }
        let get = |number| n.get(&number).copied().unwrap_or(0);
        let book = lock(&self.book);
        let sums = book.sums.get(queue);
        let sum = |name: &str| sums.and_then(|s| s.get(name)).copied().unwrap_or(0);
        pb::QueueToday {
            offered: get(Number::Offered),
            answered: get(Number::Answered),
            answered_within_target: get(Number::AnsweredWithinTarget),
            abandoned: get(Number::Abandoned),
            abandoned_after_target: get(Number::AbandonedAfterTarget),
            transferred: get(Number::Transferred),
            overflowed: get(Number::Overflowed),
            service_level: service_level(
                get(Number::Answered),
                get(Number::AnsweredWithinTarget),
                get(Number::AbandonedAfterTarget),
            ),
            answer_wait_ms: sum("answer_wait_ms"),
            handled: sum("handled"),
            handle_ms: sum("handle_ms"),
            first_responses: sum("first_responses"),
            first_response_ms: sum("first_response_ms"),
        }
    }

    /// Offers `agent` missed today, as stored.
    pub fn offers_missed_today(&self, agent: &str) -> u32 {
        let missed = lock(&self.book).missed.get(agent).copied().unwrap_or(0);
        u32::try_from(missed).unwrap_or(u32::MAX)
    }

    /// Today's intervals of every queue, as stored.
    pub fn queue_day(&self) -> pb::QueueDayResponse {
        let now = now_ms();
        let (start, _) = self.interval_of(now);
        let book = lock(&self.book);
        let queues = book
            .intervals
            .iter()
            .map(|(queue, by_index)| pb::QueueIntervals {
                queue: queue.clone(),
                intervals: by_index
                    .iter()
                    .map(|(index, numbers)| {
                        let get = |name: &str| numbers.get(name).copied().unwrap_or(0);
                        pb::DayInterval {
                            index: *index,
                            arrivals: get(Number::Offered.as_str()),
                            answered: get(Number::Answered.as_str()),
                            answered_within_target: get(Number::AnsweredWithinTarget.as_str()),
                            abandoned_after_target: get(Number::AbandonedAfterTarget.as_str()),
                            waiting_ms: get("waiting_ms"),
                        }
                    })
                    .collect(),
            })
            .collect();
        pb::QueueDayResponse {
            day: super::day_of(now, self.offset_ms),
            day_start_ms: start,
            interval_ms: INTERVAL_MS,
            queues,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_numbers_round_trip() {
        let name = interval_number("answered_within_target", 41);
        assert_eq!(name, "answered_within_target@41");
        assert_eq!(parse_interval(&name), Some(("answered_within_target", 41)));
        assert_eq!(parse_interval("answered"), None);
        assert_eq!(parse_interval("answered@x"), None);
        assert_eq!(intervals_day("2026-12-06"), "2026-12-06/15m");
        assert_eq!(agents_day("2026-12-06"), "2026-12-06/agents");
    }

    #[test]
    fn intervals_are_cut_from_the_offset_midnight() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = omni_store::EmbeddedStore::open(&dir.path().join("s.redb")).expect("store");
        let config = |minutes| omni_core::config::MetricsConfig {
            utc_offset_minutes: minutes,
            ..Default::default()
        };
        // 2026-12-06T23:30:00Z
        let t = 1_796_599_800_000;
        let utc = Tally::new(store.clone(), &config(0));
        assert_eq!(utc.interval_of(t), (t - 23 * 3_600_000 - 1_800_000, 94));
        // An hour east: 00:30 on the 7th, the day began at 23:00Z.
        let east = Tally::new(store, &config(60));
        assert_eq!(east.interval_of(t), (t - 1_800_000, 2));
    }
}
