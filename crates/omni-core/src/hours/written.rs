//! An instant written out for a customer in their language: the closed
//! reply's `{opens_at}` (`Monday, December 7 at 9:00 AM CET`, `lunes, 7
//! de diciembre, 9:00 CET`, `lundi 7 décembre à 09:00 CET`, `Montag, 7.
//! Dezember um 09:00 CET`), day and month names and the clock (12-hour in
//! English, 24-hour in the others) as each language writes them.
//!
//! The tables are written here by hand: jiff (the project's time library)
//! has no localized names, chrono's locale tables come behind an unstable
//! feature with every glibc locale and a second time library, and ICU4X
//! brings the CLDR data for hundreds of locales; four languages are 76
//! words. A language not listed is written in English.

use jiff::ZonedDateTime;

/// The languages written in their own words; any other is written in
/// English.
pub const LANGUAGES: [&str; 4] = ["en", "es", "fr", "de"];

const DAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DAYS_ES: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];
const DAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const DAYS_DE: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// `at` written for people speaking `language` (a tag such as `es` or
/// `es-MX`: its first part counts), with the zone's abbreviation.
pub fn written(at: &ZonedDateTime, language: &str) -> String {
    let primary = language
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let day = usize::from(at.weekday().to_monday_zero_offset().unsigned_abs());
    let month = usize::from(at.month().unsigned_abs()).saturating_sub(1);
    let (d, h, m) = (at.day(), at.hour(), at.minute());
    let zone = at.strftime("%Z");
    match primary.as_str() {
        "es" => format!(
            "{}, {d} de {}, {h}:{m:02} {zone}",
            DAYS_ES[day], MONTHS_ES[month]
        ),
        "fr" => format!(
            "{} {d} {} à {h:02}:{m:02} {zone}",
            DAYS_FR[day], MONTHS_FR[month]
        ),
        "de" => format!(
            "{}, {d}. {} um {h:02}:{m:02} {zone}",
            DAYS_DE[day], MONTHS_DE[month]
        ),
        _ => {
            let (h12, half) = match h {
                0 => (12, "AM"),
                1..=11 => (h, "AM"),
                12 => (12, "PM"),
                _ => (h - 12, "PM"),
            };
            format!(
                "{}, {} {d} at {h12}:{m:02} {half} {zone}",
                DAYS_EN[day], MONTHS_EN[month]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(local: &str, zone: &str) -> ZonedDateTime {
        local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .in_tz(zone)
            .unwrap()
    }

    #[test]
    fn each_language_writes_its_days_months_and_clock() {
        let monday = at("2026-12-07T09:00", "Europe/Madrid");
        assert_eq!(written(&monday, "en"), "Monday, December 7 at 9:00 AM CET");
        assert_eq!(written(&monday, "es"), "lunes, 7 de diciembre, 9:00 CET");
        assert_eq!(written(&monday, "fr"), "lundi 7 décembre à 09:00 CET");
        assert_eq!(written(&monday, "de"), "Montag, 7. Dezember um 09:00 CET");
    }

    #[test]
    fn the_clock_follows_the_language_around_noon_and_midnight() {
        let cases = [
            (
                "2027-08-01T00:05",
                "Sunday, August 1 at 12:05 AM CEST",
                "domingo, 1 de agosto, 0:05 CEST",
                "dimanche 1 août à 00:05 CEST",
            ),
            (
                "2027-08-01T12:30",
                "Sunday, August 1 at 12:30 PM CEST",
                "domingo, 1 de agosto, 12:30 CEST",
                "dimanche 1 août à 12:30 CEST",
            ),
            (
                "2027-08-01T23:45",
                "Sunday, August 1 at 11:45 PM CEST",
                "domingo, 1 de agosto, 23:45 CEST",
                "dimanche 1 août à 23:45 CEST",
            ),
        ];
        for (local, en, es, fr) in cases {
            let t = at(local, "Europe/Paris");
            assert_eq!(written(&t, "en"), en);
            assert_eq!(written(&t, "es"), es);
            assert_eq!(written(&t, "fr"), fr);
        }
        let t = at("2027-03-03T18:00", "Europe/Berlin");
        assert_eq!(written(&t, "de"), "Mittwoch, 3. März um 18:00 CET");
    }

    #[test]
    fn a_regional_tag_counts_by_its_language_and_others_are_english() {
        let t = at("2026-05-15T15:00", "America/Mexico_City");
        assert_eq!(written(&t, "es-MX"), "viernes, 15 de mayo, 15:00 CST");
        assert_eq!(written(&t, "FR_ca"), "vendredi 15 mai à 15:00 CST");
        assert_eq!(written(&t, "pt"), "Friday, May 15 at 3:00 PM CST");
        assert_eq!(written(&t, ""), "Friday, May 15 at 3:00 PM CST");
    }
}
