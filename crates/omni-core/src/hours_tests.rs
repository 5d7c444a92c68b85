use std::collections::BTreeMap;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::*;
use crate::config::{HolidayConfig, HoursConfig};

fn madrid() -> HoursConfig {
    HoursConfig {
        zone: "Europe/Madrid".into(),
        weekly: BTreeMap::from([
            (
                "mon".into(),
                vec!["09:00-14:00".into(), "15:00-18:00".into()],
            ),
            ("tue".into(), vec!["09:00-18:00".into()]),
            ("fri".into(), vec!["22:00-24:00".into()]),
            ("sat".into(), vec!["00:00-02:00".into()]),
        ]),
        holidays: vec![HolidayConfig {
            date: "2026-12-08".into(),
            name: Some("Inmaculada".into()),
        }],
        closed_overflow: None,
        closed_bot: None,
        closed_reply: BTreeMap::from([
            ("en".into(), "We open {opens_at}.".into()),
            ("es".into(), "Abrimos {opens_at}.".into()),
        ]),
    }
}

/// Local `text` (`YYYY-MM-DDTHH:MM`) in `zone`, as epoch milliseconds.
fn at(zone: &str, text: &str) -> Millis {
    let local: DateTime = text.parse().unwrap();
    TimeZone::get(zone)
        .unwrap()
        .to_timestamp(local)
        .unwrap()
        .as_millisecond()
}

fn madrid_at(text: &str) -> Millis {
    at("Europe/Madrid", text)
}

#[test]
fn open_inside_a_range_and_closed_at_its_end_and_between_ranges() {
    let s = Schedule::parse(&madrid()).unwrap();
    // 2026-12-07 is a Monday.
    assert!(!s.is_open(madrid_at("2026-12-07T08:59")));
    assert_eq!(
        s.state_at(madrid_at("2026-12-07T08:59")),
        (false, Some(madrid_at("2026-12-07T09:00")))
    );
    assert_eq!(
        s.state_at(madrid_at("2026-12-07T09:00")),
        (true, Some(madrid_at("2026-12-07T14:00")))
    );
    assert_eq!(
        s.state_at(madrid_at("2026-12-07T14:30")),
        (false, Some(madrid_at("2026-12-07T15:00")))
    );
    assert!(!s.is_open(madrid_at("2026-12-07T18:00")));
    assert_eq!(
        s.opened_at(madrid_at("2026-12-07T16:00")),
        Some(madrid_at("2026-12-07T15:00"))
    );
    assert_eq!(s.opened_at(madrid_at("2026-12-07T14:30")), None);
}

#[test]
fn a_holiday_is_closed_all_day_and_the_next_opening_skips_it() {
    let s = Schedule::parse(&madrid()).unwrap();
    // Tuesday 2026-12-08 is a holiday: after Monday's close the next
    // opening is Friday 22:00.
    assert!(!s.is_open(madrid_at("2026-12-08T10:00")));
    assert_eq!(
        s.opens_at(madrid_at("2026-12-07T18:00")),
        Some(madrid_at("2026-12-11T22:00"))
    );
    assert_eq!(
        s.holiday(madrid_at("2026-12-08T10:00")),
        Some(("2026-12-08".to_owned(), Some("Inmaculada")))
    );
    // The week after, Tuesday is open.
    assert!(s.is_open(madrid_at("2026-12-15T10:00")));
}

#[test]
fn ranges_touching_across_midnight_are_one_opening() {
    let s = Schedule::parse(&madrid()).unwrap();
    assert_eq!(
        s.state_at(madrid_at("2026-12-11T23:00")),
        (true, Some(madrid_at("2026-12-12T02:00")))
    );
    assert!(s.is_open(madrid_at("2026-12-12T00:00")));
}

#[test]
fn the_zone_decides_the_instant() {
    let mut config = madrid();
    config.zone = "America/New_York".into();
    let s = Schedule::parse(&config).unwrap();
    // 09:30 in Madrid is 03:30 in New York: closed there.
    assert!(!s.is_open(madrid_at("2026-12-07T09:30")));
    assert!(s.is_open(at("America/New_York", "2026-12-07T09:30")));
}

#[test]
fn a_daylight_saving_gap_moves_an_opening_forward() {
    let config = HoursConfig {
        zone: "Europe/Madrid".into(),
        // 2027-03-28 (a Sunday): 02:00 local jumps to 03:00.
        weekly: BTreeMap::from([("sun".into(), vec!["02:30-04:00".into()])]),
        ..HoursConfig::default()
    };
    let s = Schedule::parse(&config).unwrap();
    assert_eq!(
        s.opens_at(madrid_at("2027-03-28T01:00")),
        Some(madrid_at("2027-03-28T03:30"))
    );
}

#[test]
fn a_schedule_without_ranges_never_opens() {
    let config = HoursConfig {
        zone: "UTC".into(),
        ..HoursConfig::default()
    };
    let s = Schedule::parse(&config).unwrap();
    assert_eq!(s.state_at(0), (false, None));
    assert_eq!(s.opens_at(0), None);
}

#[test]
fn the_reply_is_in_the_customers_language_with_the_local_opening() {
    let s = Schedule::parse(&madrid()).unwrap();
    let now = madrid_at("2026-12-07T20:00");
    // The opening is written in the reply's language: Spanish for the
    // Spanish reply; a French customer gets the English reply, all English.
    assert_eq!(
        s.closed_reply(Some("es"), now),
        "Abrimos viernes, 11 de diciembre, 22:00 CET."
    );
    assert_eq!(
        s.closed_reply(Some("fr"), now),
        "We open Friday, December 11 at 10:00 PM CET."
    );
    let german = Schedule::parse(&HoursConfig {
        closed_reply: BTreeMap::from([("de".to_owned(), "Wir öffnen {opens_at}.".to_owned())]),
        ..madrid()
    })
    .unwrap();
    assert_eq!(
        german.closed_reply(Some("fr"), now),
        "Wir öffnen Freitag, 11. Dezember um 22:00 CET.",
        "the only reply given, in its own language"
    );
    let plain = Schedule::parse(&HoursConfig {
        closed_reply: BTreeMap::new(),
        ..madrid()
    })
    .unwrap();
    assert_eq!(
        plain.closed_reply(None, now),
        "We are closed right now. We open Friday, December 11 at 10:00 PM CET."
    );
}

#[test]
fn bad_hours_are_refused_with_the_key_and_the_reason() {
    let refuse = |edit: &dyn Fn(&mut HoursConfig)| {
        let mut config = madrid();
        edit(&mut config);
        Schedule::parse(&config).unwrap_err().to_string()
    };
    assert_eq!(
        refuse(&|c| c.zone = "Europe/Atlantis".into()),
        "hours.zone: unknown time zone \"Europe/Atlantis\" (expected an IANA name such as \"Europe/Madrid\")"
    );
    assert_eq!(
        refuse(&|c| {
            c.weekly.insert("mon".into(), vec!["18:00-09:00".into()]);
        }),
        "hours.weekly.mon[0]: \"18:00-09:00\" ends before it starts (a range cannot cross midnight; split it over two days)"
    );
    assert_eq!(
        refuse(&|c| {
            c.weekly.insert(
                "wed".into(),
                vec!["13:00-18:00".into(), "09:00-14:00".into()],
            );
        }),
        "hours.weekly.wed: \"09:00-14:00\" and \"13:00-18:00\" overlap"
    );
    assert_eq!(
        refuse(&|c| {
            c.weekly.insert("wed".into(), vec!["9-18".into()]);
        }),
        "hours.weekly.wed[0]: \"9-18\" is not a range (expected HH:MM-HH:MM, e.g. \"09:00-18:00\")"
    );
    assert_eq!(
        refuse(&|c| {
            c.weekly.insert("wed".into(), vec!["09:00-24:30".into()]);
        }),
        "hours.weekly.wed[0]: \"09:00-24:30\" is not a range (expected HH:MM-HH:MM, e.g. \"09:00-18:00\")"
    );
    assert_eq!(
        refuse(&|c| {
            c.weekly.insert("monday".into(), vec!["09:00-18:00".into()]);
        }),
        "hours.weekly.monday: unknown day (expected mon, tue, wed, thu, fri, sat or sun)"
    );
    assert_eq!(
        refuse(&|c| c.holidays.push(HolidayConfig {
            date: "2026-12-32".into(),
            name: None
        })),
        "hours.holidays[1].date: \"2026-12-32\" is not a date (expected YYYY-MM-DD)"
    );
    assert_eq!(
        refuse(&|c| c.holidays.push(HolidayConfig {
            date: "2026-12-08".into(),
            name: None
        })),
        "hours.holidays[1].date: 2026-12-08 is listed twice"
    );
}

#[test]
fn business_hours_parse_and_bad_hours_name_the_queue_and_key() {
    let config = |hours: &str| {
        crate::config::Config::parse(&format!(
            "[[queues]]\nid = \"q\"\n[queues.hours]\n{hours}\n[[queues]]\nid = \"r\"\n[[agents]]\nid = \"a\"\n"
        ))
        .map_err(|e| e.to_string())
        .and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string()))
    };
    let good = config(
        "zone = \"Europe/Madrid\"\nweekly = { mon = [\"09:00-14:00\", \"15:00-18:00\"] }\nholidays = [{ date = \"2026-12-25\", name = \"Christmas Day\" }]\nclosed_overflow = \"r\"\nclosed_reply = { es = \"Abrimos {opens_at}.\" }",
    )
    .unwrap();
    let hours = good.queues[0].hours.as_ref().unwrap();
    assert_eq!(hours.zone, "Europe/Madrid");
    assert_eq!(hours.weekly["mon"], ["09:00-14:00", "15:00-18:00"]);
    assert_eq!(hours.holidays[0].name.as_deref(), Some("Christmas Day"));
    assert_eq!(hours.closed_overflow.as_deref(), Some("r"));
    assert_eq!(
        config("zone = \"Mars/Olympus\"").unwrap_err(),
        "invalid configuration: queues.q.hours.zone: unknown time zone \"Mars/Olympus\" (expected an IANA name such as \"Europe/Madrid\")"
    );
    assert_eq!(
        config("zone = \"UTC\"\nweekly = { tue = [\"10:00-12:00\", \"11:00-13:00\"] }")
            .unwrap_err(),
        "invalid configuration: queues.q.hours.weekly.tue: \"10:00-12:00\" and \"11:00-13:00\" overlap"
    );
    assert_eq!(
        config("zone = \"UTC\"\nweekly = { tue = [\"12:00-10:00\"] }").unwrap_err(),
        "invalid configuration: queues.q.hours.weekly.tue[0]: \"12:00-10:00\" ends before it starts (a range cannot cross midnight; split it over two days)"
    );
    assert_eq!(
        config("zone = \"UTC\"\nclosed_overflow = \"nowhere\"").unwrap_err(),
        "invalid configuration: queues.q.hours.closed_overflow: unknown queue \"nowhere\""
    );
    assert_eq!(
        config("zone = \"UTC\"\nclosed_overflow = \"q\"").unwrap_err(),
        "invalid configuration: queues.q.hours.closed_overflow: overflow to the queue itself"
    );
}

#[test]
fn a_closed_bot_must_be_configured_and_excludes_closed_overflow() {
    let config = |hours: &str, bots: &str| {
        crate::config::Config::parse(&format!(
            "[[queues]]\nid = \"q\"\n[queues.hours]\n{hours}\n[[queues]]\nid = \"r\"\n[[agents]]\nid = \"a\"\n{bots}"
        ))
        .map_err(|e| e.to_string())
        .and_then(|c| c.validate().map(|()| c).map_err(|e| e.to_string()))
    };
    let good = config("zone = \"UTC\"\nclosed_bot = \"night\"", "[bots.night]\n").unwrap();
    let hours = good.queues[0].hours.as_ref().unwrap();
    assert_eq!(hours.closed_bot.as_deref(), Some("night"));
    assert_eq!(
        config("zone = \"UTC\"\nclosed_bot = \"nobody\"", "[bots.night]\n").unwrap_err(),
        "invalid configuration: queues.q.hours.closed_bot: unknown bot \"nobody\""
    );
    assert_eq!(
        config(
            "zone = \"UTC\"\nclosed_bot = \"night\"\nclosed_overflow = \"r\"",
            "[bots.night]\n"
        )
        .unwrap_err(),
        "invalid configuration: queues.q.hours.closed_bot: not together with closed_overflow (a closed queue moves its contacts or hands them to a bot)"
    );
}
