//! A queue's business hours between their proto form (`BusinessHours`,
//! set by `UpsertQueue`, shown in `QueueState.hours`) and the
//! configuration's [`HoursConfig`], checked by [`Schedule::parse`] with the
//! same messages as the configuration file.

use std::collections::BTreeMap;

use omni_core::config::{HolidayConfig, HoursConfig};
use omni_core::hours::Schedule;
use omni_core::time::Millis;
use omni_proto::routing as pb;

use super::invalid;
use crate::RouterError;

/// A schedule from `UpsertQueue`'s hours, checked like `[queues.hours]`;
/// an error names the field (`hours.weekly.mon[1]: ...`).
pub fn hours_from_pb(hours: pb::BusinessHours) -> Result<Schedule, RouterError> {
    // In key order, so the first fault named is always the same.
    let closed_reply: BTreeMap<String, String> = hours.closed_reply.into_iter().collect();
    for (lang, text) in &closed_reply {
        if lang.trim().is_empty() {
            return Err(invalid("hours.closed_reply", "a language key is empty"));
        }
        if text.trim().is_empty() {
            return Err(invalid(
                &format!("hours.closed_reply.{lang}"),
                "the reply is empty",
            ));
        }
    }
    let config = HoursConfig {
        zone: hours.zone,
        weekly: hours
            .weekly
            .into_iter()
            .map(|(day, ranges)| (day, ranges.ranges))
            .collect(),
        holidays: hours
            .holidays
            .into_iter()
            .map(|h| HolidayConfig {
                date: h.date,
                name: (!h.name.is_empty()).then_some(h.name),
            })
            .collect(),
        closed_overflow: (!hours.closed_overflow.is_empty()).then_some(hours.closed_overflow),
        // Not the router's: the context service reads it from its file.
        closed_bot: None,
        closed_reply,
    };
    Schedule::parse(&config).map_err(|e| RouterError::InvalidArgument(e.to_string()))
}

/// The proto form of a queue's hours as configured.
pub fn hours_to_pb(config: &HoursConfig) -> pb::BusinessHours {
    pb::BusinessHours {
        zone: config.zone.clone(),
        weekly: config
            .weekly
            .iter()
            .map(|(day, ranges)| {
                (
                    day.clone(),
                    pb::DayRanges {
                        ranges: ranges.clone(),
                    },
                )
            })
            .collect(),
        holidays: config
            .holidays
            .iter()
            .map(|h| pb::Holiday {
                date: h.date.clone(),
                name: h.name.clone().unwrap_or_default(),
            })
            .collect(),
        closed_overflow: config.closed_overflow.clone().unwrap_or_default(),
        closed_reply: config
            .closed_reply
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// A queue's hours at `at_ms`: open or not, when that next changes, the
/// holiday it is, and the schedule.
pub fn queue_hours(schedule: &Schedule, at_ms: Millis) -> pb::QueueHours {
    let (open, next) = schedule.state_at(at_ms);
    let (holiday_date, holiday_name) = schedule
        .holiday(at_ms)
        .map(|(date, name)| (date, name.unwrap_or_default().to_owned()))
        .unwrap_or_default();
    pb::QueueHours {
        zone: schedule.zone().to_owned(),
        open,
        next_change_ms: next.unwrap_or(0),
        next_change_local: next
            .map(|n| schedule.format_weekday_time(n))
            .unwrap_or_default(),
        holiday_date,
        holiday_name,
        schedule: Some(hours_to_pb(schedule.config())),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn sample() -> pb::BusinessHours {
        pb::BusinessHours {
            zone: "Europe/Madrid".into(),
            weekly: HashMap::from([(
                "mon".to_owned(),
                pb::DayRanges {
                    ranges: vec!["09:00-14:00".into(), "15:00-18:00".into()],
                },
            )]),
            holidays: vec![
                pb::Holiday {
                    date: "2026-12-25".into(),
                    name: "Christmas Day".into(),
                },
                pb::Holiday {
                    date: "2027-01-01".into(),
                    name: String::new(),
                },
            ],
            closed_overflow: "support".into(),
            closed_reply: HashMap::from([("es".to_owned(), "Abrimos {opens_at}.".to_owned())]),
        }
    }

    #[test]
    fn hours_go_through_their_proto_form_unchanged() {
        let schedule = hours_from_pb(sample()).unwrap();
        assert_eq!(schedule.config().holidays[1].name, None);
        assert_eq!(schedule.closed_overflow(), Some("support"));
        let back = hours_from_pb(hours_to_pb(schedule.config())).unwrap();
        assert_eq!(back, schedule);
    }

    /// A change that makes the sample's hours wrong.
    type Change = fn(&mut pb::BusinessHours);

    #[test]
    fn bad_hours_are_refused_naming_the_field() {
        let cases: [(Change, &str); 5] = [
            (|h| h.zone = "Europe/Atlantis".into(), "hours.zone: "),
            (
                |h| {
                    h.weekly.insert(
                        "tue".into(),
                        pb::DayRanges {
                            ranges: vec!["09:00-14:00".into(), "13:00-18:00".into()],
                        },
                    );
                },
                "hours.weekly.tue: ",
            ),
            (
                |h| h.holidays[0].date = "25/12/2026".into(),
                "hours.holidays[0].date: ",
            ),
            (
                |h| {
                    h.closed_reply.insert("fr".into(), " ".into());
                },
                "hours.closed_reply.fr: ",
            ),
            (
                |h| {
                    h.weekly.insert("xyz".into(), pb::DayRanges::default());
                },
                "hours.weekly.xyz: ",
            ),
        ];
        for (change, field) in cases {
            let mut hours = sample();
            change(&mut hours);
            match hours_from_pb(hours) {
                Err(RouterError::InvalidArgument(m)) => assert!(m.starts_with(field), "{m}"),
                other => panic!("expected {field}: {other:?}"),
            }
        }
    }
}
