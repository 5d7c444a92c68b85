//! A queue's business hours as the configuration file writes them
//! (`[queues.hours]`); [`crate::hours::Schedule`] checks and evaluates them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A queue's business hours: a weekly schedule in a time zone, holidays, and
/// what happens to a contact while the queue is closed.
///
/// ```toml
/// [queues.hours]
/// zone = "Europe/Madrid"
/// weekly = { mon = ["09:00-14:00", "15:00-18:00"], sat = ["10:00-13:00"] }
/// holidays = [{ date = "2026-12-25", name = "Christmas Day" }]
/// closed_overflow = "support"      # or: closed_bot = "faq"
/// closed_reply = { en = "We are closed. We open {opens_at}.", es = "Estamos cerrados. Abrimos {opens_at}." }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HoursConfig {
    /// An IANA time zone, e.g. `Europe/Madrid`; the schedule and the
    /// holidays are in its local time.
    pub zone: String,
    /// Opening ranges per weekday (`mon` .. `sun`), `HH:MM-HH:MM` local time,
    /// the end after the start (`24:00` is the end of the day). A day not
    /// listed is closed.
    #[serde(default)]
    pub weekly: BTreeMap<String, Vec<String>>,
    /// Days closed all day (local dates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<HolidayConfig>,
    /// While closed, a contact moves to this queue if it is open (keeping
    /// its age); absent: the contact waits for the opening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_overflow: Option<String>,
    /// While closed, a contact is handed to this bot (`[bots.<name>]`)
    /// after the closed reply, at most once per closure; its handoff
    /// queues the contact again at its age (docs/routing.md, business
    /// hours). Not together with `closed_overflow`. Read by the context
    /// service from the configuration file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_bot: Option<String>,
    /// The automatic reply when a contact arrives while the queue is
    /// closed, per language (`en`, `es`, ...); `{opens_at}` is replaced by
    /// the opening time in the queue's zone. Default: English.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub closed_reply: BTreeMap<String, String>,
}

/// One holiday: a local date the queue is closed all day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayConfig {
    /// `YYYY-MM-DD`, in the queue's zone.
    pub date: String,
    /// What it is, for people reading the configuration and the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}
