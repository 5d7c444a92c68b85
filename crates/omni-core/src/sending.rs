//! Sending hours: the daily window in which a message the customer did not
//! ask for (a survey, a follow-up) may go out, in the customer's time zone
//! ([`SendingHours`]). Pure: the caller passes the instant and the zone.
//!
//! A window `09:00-20:00` allows 09:00 up to (not including) 20:00 local
//! time every day; a window whose end is before its start runs through
//! midnight (`20:00-08:00`). A local start that does not exist (a
//! daylight-saving gap) moves forward by the gap; one that happens twice
//! takes the first.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::time::Millis;

/// The window used when the configuration sets none.
pub const DEFAULT_SENDING_HOURS: &str = "09:00-20:00";

/// Why a sending window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sending hours {value:?}: {message}")]
pub struct SendingHoursError {
    /// The value given.
    pub value: String,
    /// What is wrong.
    pub message: String,
}

/// A daily window in minutes of the local day.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendingHours {
    start: u16,
    end: u16,
}

impl fmt::Debug for SendingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

impl Default for SendingHours {
    fn default() -> Self {
        Self {
            start: 9 * 60,
            end: 20 * 60,
        }
    }
}

fn minute(value: &str, text: &str) -> Result<u16, SendingHoursError> {
    let err = |message: &str| SendingHoursError {
        value: value.to_owned(),
        message: message.to_owned(),
    };
    let (h, m) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| err("expected HH:MM-HH:MM"))?;
    let (h, m): (u16, u16) = (
        h.parse().map_err(|_| err("expected HH:MM-HH:MM"))?,
        m.parse().map_err(|_| err("expected HH:MM-HH:MM"))?,
    );
    if h > 24 || m > 59 || (h == 24 && m != 0) {
        return Err(err("a time is out of range"));
    }
    Ok(h * 60 + m)
}

impl SendingHours {
    /// Parses `HH:MM-HH:MM`; the start and end must differ (`00:00-24:00`
    /// is every hour).
    pub fn parse(value: &str) -> Result<Self, SendingHoursError> {
        let (start, end) = value.split_once('-').ok_or_else(|| SendingHoursError {
            value: value.to_owned(),
            message: "expected HH:MM-HH:MM".into(),
        })?;
        let (start, end) = (minute(value, start)?, minute(value, end)?);
        if start == end || start == 24 * 60 {
            return Err(SendingHoursError {
                value: value.to_owned(),
                message: "the window is empty".into(),
            });
        }
        Ok(Self { start, end })
    }

    fn allows_minute(&self, m: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&m)
        } else {
            m >= self.start || m < self.end
        }
    }

    /// The first instant at or after `at_ms` inside the window, in `zone`
    /// (an IANA name; an unknown or empty one is UTC).
    pub fn next_allowed(&self, at_ms: Millis, zone: &str) -> Millis {
        let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
        let Ok(ts) = Timestamp::from_millisecond(at_ms) else {
            return at_ms;
        };
        let local = ts.to_zoned_datetime(tz.clone());
        let now_minute = (local.hour() as u16) * 60 + local.minute() as u16;
        if self.allows_minute(now_minute) {
            return at_ms;
        }
        // Closed now: the window opens at `start` today if that is still
        // ahead, else tomorrow.
        let date = local.date();
        let today = start_on(date, self.start, &tz);
        match today {
            Some(at) if at > at_ms => at,
            _ => date
                .tomorrow()
                .ok()
                .and_then(|d| start_on(d, self.start, &tz))
                .unwrap_or(at_ms),
        }
    }
}

/// The instant the local minute `start` of `date` is in `tz` (gaps move
/// forward, folds take the first).
fn start_on(date: Date, start: u16, tz: &TimeZone) -> Option<Millis> {
    let time = Time::new((start / 60) as i8, (start % 60) as i8, 0, 0).ok()?;
    let zoned = tz
        .to_ambiguous_zoned_datetime(date.to_datetime(time))
        .compatible()
        .ok()?;
    Some(zoned.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Millis {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn inside_the_window_is_now() {
        let hours = SendingHours::default();
        assert_eq!(
            hours.next_allowed(ms("2026-03-04T10:00:00Z"), "UTC"),
            ms("2026-03-04T10:00:00Z")
        );
    }

    #[test]
    fn before_and_after_move_to_the_next_start() {
        let hours = SendingHours::default();
        assert_eq!(
            hours.next_allowed(ms("2026-03-04T06:30:00Z"), "UTC"),
            ms("2026-03-04T09:00:00Z")
        );
        assert_eq!(
            hours.next_allowed(ms("2026-03-04T20:00:00Z"), ""),
            ms("2026-03-05T09:00:00Z"),
            "the end minute is outside"
        );
    }

    #[test]
    fn uses_the_customers_zone() {
        let hours = SendingHours::default();
        // 03:00 UTC is 22:00 the evening before in New York (EST).
        assert_eq!(
            hours.next_allowed(ms("2026-01-15T03:00:00Z"), "America/New_York"),
            ms("2026-01-15T14:00:00Z")
        );
        // 15:00 UTC is 10:00 in New York: allowed.
        assert_eq!(
            hours.next_allowed(ms("2026-01-15T15:00:00Z"), "America/New_York"),
            ms("2026-01-15T15:00:00Z")
        );
    }

    #[test]
    fn across_daylight_saving_changes() {
        let hours = SendingHours::default();
        // Berlin springs forward on 2026-03-29: 09:00 local is 07:00 UTC
        // that day, 08:00 UTC the day before.
        assert_eq!(
            hours.next_allowed(ms("2026-03-28T20:00:00Z"), "Europe/Berlin"),
            ms("2026-03-29T07:00:00Z")
        );
        // And falls back on 2026-10-25: 09:00 local is 08:00 UTC.
        assert_eq!(
            hours.next_allowed(ms("2026-10-24T19:00:00Z"), "Europe/Berlin"),
            ms("2026-10-25T08:00:00Z")
        );
        // A window starting in the gap (02:30 does not exist that night)
        // opens when the clock reaches 03:00 local.
        let gap = SendingHours::parse("02:30-05:00").unwrap();
        assert_eq!(
            gap.next_allowed(ms("2026-03-28T23:00:00Z"), "Europe/Berlin"),
            ms("2026-03-29T01:30:00Z")
        );
    }

    #[test]
    fn a_window_through_midnight() {
        let night = SendingHours::parse("20:00-08:00").unwrap();
        assert_eq!(
            night.next_allowed(ms("2026-03-04T23:00:00Z"), "UTC"),
            ms("2026-03-04T23:00:00Z")
        );
        assert_eq!(
            night.next_allowed(ms("2026-03-04T12:00:00Z"), "UTC"),
            ms("2026-03-04T20:00:00Z")
        );
    }

    #[test]
    fn parse_refuses_bad_windows() {
        assert!(SendingHours::parse("9-20").is_err());
        assert!(SendingHours::parse("09:00-09:00").is_err());
        assert!(SendingHours::parse("25:00-26:00").is_err());
        assert_eq!(
            SendingHours::parse(DEFAULT_SENDING_HOURS).unwrap(),
            SendingHours::default()
        );
    }
}
