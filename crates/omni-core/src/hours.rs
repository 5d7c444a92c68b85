//! Business hours: a weekly schedule in an IANA time zone with holidays
//! ([`Schedule`]), checked from its configuration ([`HoursConfig`]) and
//! evaluated at a given instant.
//!
//! Evaluation is pure: the caller passes the time, and the time zone
//! database is compiled into the binary (jiff's bundled tzdb), so looking a
//! zone up reads no file and a slim image without tzdata works.
//!
//! Local times that do not exist (a daylight-saving gap) move forward by
//! the gap; local times that happen twice take the first. A range ends at
//! its end minute (`09:00-18:00` is open at 17:59, closed at 18:00);
//! ranges that touch, also across midnight (`mon = ["00:00-24:00"]`,
//! `tue = ["00:00-06:00"]`), are one opening.
//!
//! The closed reply's opening is written in the customer's language by
//! [`written`].

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::config::HoursConfig;
use crate::time::Millis;

pub mod written;

/// The weekday keys of [`HoursConfig::weekly`], Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// How far ahead an opening is looked for: a schedule whose next opening
/// is further (holidays all year) counts as not opening.
const HORIZON_DAYS: i32 = 400;

/// The reply when a queue without its own is closed.
pub const DEFAULT_CLOSED_REPLY: &str = "We are closed right now. We open {opens_at}.";

/// Why business hours were refused: the key at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct HoursError {
    /// The key, relative to the queue, e.g. `hours.weekly.mon[1]`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A checked weekly schedule with holidays, in one time zone.
#[derive(Clone)]
pub struct Schedule {
    config: HoursConfig,
    zone: TimeZone,
    /// Per weekday (Monday first): open ranges in minutes of the day,
    /// sorted, not overlapping.
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeMap<Date, Option<String>>,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("zone", &self.config.zone)
            .field("week", &self.week)
            .field("holidays", &self.holidays)
            .finish()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
    }
}

impl Eq for Schedule {}

impl Schedule {
    /// Checks `config`: a known zone, weekdays `mon`..`sun`, ranges
    /// `HH:MM-HH:MM` with the end after the start and no two overlapping on
    /// a day, holidays `YYYY-MM-DD` listed once each.
    pub fn parse(config: &HoursConfig) -> Result<Self, HoursError> {
        let err = |field: String, message: String| HoursError { field, message };
        let zone = TimeZone::get(&config.zone).map_err(|_| {
            err(
                "hours.zone".into(),
                format!(
                    "unknown time zone {:?} (expected an IANA name such as \"Europe/Madrid\")",
                    config.zone
                ),
            )
        })?;
        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        for (day, ranges) in &config.weekly {
            let Some(d) = WEEKDAYS.iter().position(|w| w == day) else {
                return Err(err(
                    format!("hours.weekly.{day}"),
                    "unknown day (expected mon, tue, wed, thu, fri, sat or sun)".into(),
                ));
            };
            let mut parsed: Vec<(u16, u16, usize)> = Vec::with_capacity(ranges.len());
            for (i, text) in ranges.iter().enumerate() {
                let field = format!("hours.weekly.{day}[{i}]");
                let (start, end) = parse_range(text).map_err(|m| err(field.clone(), m))?;
                if end <= start {
                    return Err(err(
                        field,
                        format!(
                            "{text:?} ends before it starts (a range cannot cross midnight; split it over two days)"
                        ),
                    ));
                }
                parsed.push((start, end, i));
            }
            parsed.sort_unstable();
            for pair in parsed.windows(2) {
                let ((_, e0, i0), (s1, _, i1)) = (pair[0], pair[1]);
                if s1 < e0 {
                    return Err(err(
                        format!("hours.weekly.{day}"),
                        format!("{:?} and {:?} overlap", ranges[i0], ranges[i1]),
                    ));
                }
            }
            week[d] = parsed.into_iter().map(|(s, e, _)| (s, e)).collect();
        }
        let mut holidays = BTreeMap::new();
        for (i, holiday) in config.holidays.iter().enumerate() {
            let field = format!("hours.holidays[{i}].date");
            let date: Date = holiday.date.parse().map_err(|_| {
                err(
                    field.clone(),
                    format!("{:?} is not a date (expected YYYY-MM-DD)", holiday.date),
                )
            })?;
            if holidays.insert(date, holiday.name.clone()).is_some() {
                return Err(err(field, format!("{date} is listed twice")));
            }
        }
        Ok(Self {
            config: config.clone(),
            zone,
            week,
            holidays,
        })
    }

    /// The configuration this schedule was checked from.
    pub fn config(&self) -> &HoursConfig {
        &self.config
    }

    /// The IANA name of the schedule's zone.
    pub fn zone(&self) -> &str {
        &self.config.zone
    }

    /// Whether the queue is open at `at_ms`.
    pub fn is_open(&self, at_ms: Millis) -> bool {
        self.state_at(at_ms).0
    }

    /// Whether the queue is open at `at_ms`, and when that next changes
    /// (`None`: never within the horizon, e.g. a schedule with no range).
    pub fn state_at(&self, at_ms: Millis) -> (bool, Option<Millis>) {
        let (open, next, _) = self.status(at_ms);
        (open, next)
    }

    /// When the opening `at_ms` falls in began (`None` when closed).
    pub fn opened_at(&self, at_ms: Millis) -> Option<Millis> {
        self.status(at_ms).2
    }

    /// All at once: open or not at `at_ms`, when that next changes, and
    /// when the current opening began (`None` when closed).
    pub fn status(&self, at_ms: Millis) -> (bool, Option<Millis>, Option<Millis>) {
        let Some(start) = self.local_date(at_ms) else {
            return (false, None, None);
        };
        // From the day before: a range of yesterday may run into today
        // through midnight.
        let Ok(mut day) = start.yesterday() else {
            return (false, None, None);
        };
        let mut current: Option<(Millis, Millis)> = None;
        for _ in 0..=HORIZON_DAYS {
            for (s, e) in self.openings_on(day) {
                match &mut current {
                    Some((_, end)) if s <= *end => *end = (*end).max(e),
                    _ => {
                        if let Some(found) = current.and_then(|c| judge(c, at_ms)) {
                            return found;
                        }
                        current = Some((s, e));
                    }
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        current
            .and_then(|c| judge(c, at_ms))
            .unwrap_or((false, None, None))
    }

    /// When the queue next opens, if it is closed at `at_ms` (`None` when
    /// open, or when it does not open within the horizon).
    pub fn opens_at(&self, at_ms: Millis) -> Option<Millis> {
        match self.state_at(at_ms) {
            (false, next) => next,
            (true, _) => None,
        }
    }

    /// The holiday `at_ms` falls on, if any: its date and name.
    pub fn holiday(&self, at_ms: Millis) -> Option<(String, Option<&str>)> {
        let date = self.local_date(at_ms)?;
        self.holidays
            .get(&date)
            .map(|name| (date.to_string(), name.as_deref()))
    }

    /// Where a closed queue's contacts go when it is open: the
    /// configuration's `closed_overflow`.
    pub fn closed_overflow(&self) -> Option<&str> {
        self.config.closed_overflow.as_deref()
    }

    /// `at_ms` in the schedule's zone for people, e.g. `Mon 7 Dec 09:00 CET`.
    pub fn format_local(&self, at_ms: Millis) -> String {
        match Timestamp::from_millisecond(at_ms) {
            Ok(ts) => ts
                .to_zoned_datetime(self.zone.clone())
                .strftime("%a %-d %b %H:%M %Z")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// `at_ms` in the schedule's zone as a weekday and time, e.g. `Mon
    /// 09:00` (for a wall that says when a queue opens or closes).
    pub fn format_weekday_time(&self, at_ms: Millis) -> String {
        match Timestamp::from_millisecond(at_ms) {
            Ok(ts) => ts
                .to_zoned_datetime(self.zone.clone())
                .strftime("%a %H:%M")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// `at_ms` in the schedule's zone written for people speaking
    /// `language`, e.g. `lunes, 7 de diciembre, 9:00 CET` (see
    /// [`written`]).
    pub fn format_written(&self, at_ms: Millis, language: &str) -> String {
        match Timestamp::from_millisecond(at_ms) {
            Ok(ts) => written::written(&ts.to_zoned_datetime(self.zone.clone()), language),
            Err(_) => String::new(),
        }
    }

    /// The closed reply for `language` (its own, else English, else the
    /// first given, else [`DEFAULT_CLOSED_REPLY`]) with `{opens_at}`
    /// replaced by the opening after `at_ms` in the queue's zone, written
    /// in the reply's language.
    pub fn closed_reply(&self, language: Option<&str>, at_ms: Millis) -> String {
        let replies = &self.config.closed_reply;
        let (written_in, template) = language
            .and_then(|l| replies.get_key_value(l))
            .or_else(|| replies.get_key_value("en"))
            .or_else(|| replies.iter().next())
            .map_or(("en", DEFAULT_CLOSED_REPLY), |(l, t)| {
                (l.as_str(), t.as_str())
            });
        let opens = self
            .opens_at(at_ms)
            .map(|at| self.format_written(at, written_in))
            .unwrap_or_else(|| later(written_in).to_owned());
        template.replace("{opens_at}", &opens)
    }

    fn local_date(&self, at_ms: Millis) -> Option<Date> {
        let ts = Timestamp::from_millisecond(at_ms).ok()?;
        Some(self.zone.to_datetime(ts).date())
    }

    /// The open ranges of local `day` as instants, in order (none on a
    /// holiday).
    fn openings_on(&self, day: Date) -> Vec<(Millis, Millis)> {
        if self.holidays.contains_key(&day) {
            return Vec::new();
        }
        let d = usize::from(day.weekday().to_monday_zero_offset().unsigned_abs());
        self.week[d]
            .iter()
            .filter_map(|(s, e)| Some((self.instant(day, *s)?, self.instant(day, *e)?)))
            .filter(|(s, e)| s < e)
            .collect()
    }

    /// Minute `minute` (0-1440) of local `day` as an instant.
    fn instant(&self, day: Date, minute: u16) -> Option<Millis> {
        let (day, minute) = if minute >= 24 * 60 {
            (day.checked_add(1.day()).ok()?, minute - 24 * 60)
        } else {
            (day, minute)
        };
        let hour = i8::try_from(minute / 60).ok()?;
        let min = i8::try_from(minute % 60).ok()?;
        let local: DateTime = day.at(hour, min, 0, 0);
        let ts = self.zone.to_timestamp(local).ok()?;
        Some(ts.as_millisecond())
    }
}

/// `{opens_at}` when no opening is in sight, in `language`.
fn later(language: &str) -> &'static str {
    let primary = language.split(['-', '_']).next().unwrap_or_default();
    match primary.to_ascii_lowercase().as_str() {
        "es" => "más adelante",
        "fr" => "plus tard",
        "de" => "später",
        _ => "later",
    }
}

/// For one whole opening `(start, end)`: `Some` when it decides the state
/// at `at` (before it: closed until `start`; inside: open since `start`
/// until `end`).
fn judge(
    (start, end): (Millis, Millis),
    at: Millis,
) -> Option<(bool, Option<Millis>, Option<Millis>)> {
    if at < start {
        Some((false, Some(start), None))
    } else if at < end {
        Some((true, Some(end), Some(start)))
    } else {
        None
    }
}

/// `HH:MM-HH:MM` as minutes of the day; the end may be `24:00`.
fn parse_range(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("{text:?} is not a range (expected HH:MM-HH:MM, e.g. \"09:00-18:00\")");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let start = parse_minute(a.trim()).ok_or_else(bad)?;
    let end = parse_minute(b.trim()).ok_or_else(bad)?;
    if start >= 24 * 60 {
        return Err(format!("{text:?}: a range starts before 24:00"));
    }
    Ok((start, end))
}

fn parse_minute(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    let minute = h.checked_mul(60)?.checked_add(m)?;
    (m < 60 && minute <= 24 * 60).then_some(minute)
}

#[cfg(test)]
#[path = "hours_tests.rs"]
mod tests;
