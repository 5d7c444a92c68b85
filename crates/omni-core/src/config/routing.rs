//! The router's section, its queues and its agents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Channel;
use crate::requirement::Requirement;

/// Router settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Seconds an agent has to accept an offer before it goes to the next agent.
    pub offer_timeout_secs: u64,
    /// Offers in a row an agent lets time out before being set away.
    pub max_consecutive_misses: u32,
    /// Seconds an agent who declined or missed a conversation's offer is not
    /// offered that conversation again (others are, meanwhile).
    pub decline_cooldown_secs: u64,
    /// Seconds an available agent may be without any desk connection (an
    /// open event stream from any desk) before the router sets them away
    /// with the reason `disconnected`, moving their offers on.
    pub disconnect_grace_secs: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            offer_timeout_secs: 20,
            max_consecutive_misses: 3,
            decline_cooldown_secs: 30,
            disconnect_grace_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Queue id, referenced by topics and default queues.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Higher is served first. Default 0.
    #[serde(default)]
    pub priority: u32,
    /// Skill name to minimum proficiency (1-10) an agent needs: the legacy
    /// form of `requirement` (an `AND` of `>=`). Give one or the other.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// What an agent needs, in the requirements language, e.g.
    /// `billing >= 5 AND lang == "es"`.
    #[serde(default)]
    pub requirement: Option<String>,
    /// Relaxation steps over wait time, in order; the last may overflow to
    /// another queue.
    #[serde(default)]
    pub steps: Vec<QueueStepConfig>,
    /// Selection order: `preferred`, `proficiency`, `occupancy`, `idle`,
    /// in any order, each at most once. Default: all four in that order.
    #[serde(default)]
    pub selection: Option<Vec<String>>,
    /// The preferred agent ranks first only while the contact has waited
    /// less than this. Default: no limit.
    #[serde(default)]
    pub preferred_window_secs: Option<u64>,
    /// Service-level target. Default: 80% within 20 s.
    #[serde(default)]
    pub service_level: Option<ServiceLevelConfig>,
    /// Contacts the queue holds at most (waiting or offered); absent or 0:
    /// `limits.max_waiting_per_queue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_waiting: Option<u32>,
    /// The codes an agent picks one of when resolving a conversation of
    /// this queue (e.g. `["sold", "no_sale", "callback"]`); empty: none
    /// asked. Counted in `omni_wrapups_total`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrapup_codes: Vec<String>,
    /// Business hours; absent: always open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<super::HoursConfig>,
    /// The bot (`[bots.<name>]`) that answers this queue's new
    /// conversations first; absent: they go straight to the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// What the bot should collect before a person takes over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bot_fields: Vec<super::BotFieldConfig>,
    /// The survey after service (docs/surveys.md); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<super::SurveyConfig>,
    /// The proactive follow-up after resolve (docs/surveys.md); absent:
    /// only when an agent sets a date at resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup: Option<super::FollowupConfig>,
}

/// One relaxation step of a queue: after `after_secs` of waiting, either a
/// new requirement or an overflow to another queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueStepConfig {
    /// Seconds of waiting after which the step applies.
    pub after_secs: u64,
    /// The requirement from then on.
    #[serde(default)]
    pub requirement: Option<String>,
    /// The queue the contact moves to.
    #[serde(default)]
    pub overflow: Option<String>,
}

/// A service-level target: `percent` answered within `threshold_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevelConfig {
    /// Target share, 1-100.
    pub percent: u8,
    /// Answer-time threshold in seconds.
    pub threshold_secs: u64,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Agent id, used to sign in to the desk.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Skill name to proficiency, 1-10.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// Languages the agent speaks (e.g. `en`, `es`).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Conversations the agent can hold at once, per channel; a channel not
    /// listed has capacity 0.
    #[serde(default)]
    pub capacity: BTreeMap<Channel, u32>,
    /// Optional cap on conversations across all channels.
    #[serde(default)]
    pub total: Option<u32>,
}

impl QueueConfig {
    /// Checks the routing keys: the requirement and step requirements parse
    /// (the message names the key and the column), steps are in increasing
    /// order with exactly one of requirement or overflow, only the last
    /// overflows, and the service level and selection are sensible.
    pub fn check_routing(&self) -> Result<(), String> {
        let at = |key: &str, m: String| format!("queues.{}.{key}: {m}", self.id);
        if let Some(text) = &self.requirement {
            if !self.skills.is_empty() {
                return Err(at(
                    "requirement",
                    "give either skills or requirement, not both".into(),
                ));
            }
            Requirement::parse(text).map_err(|e| at("requirement", e.to_string()))?;
        }
        // The router's limit (omni_router_core::queue::MAX_STEPS), plus an
        // overflow step.
        if self.steps.len() > 17 {
            return Err(at(
                "steps",
                "at most 16 relaxation steps and an overflow".into(),
            ));
        }
        let mut last = 0;
        for (i, step) in self.steps.iter().enumerate() {
            let key = format!("steps[{i}]");
            if step.after_secs <= last {
                return Err(at(
                    &key,
                    format!(
                        "after_secs {} must be greater than the previous step's {last}",
                        step.after_secs
                    ),
                ));
            }
            last = step.after_secs;
            match (&step.requirement, &step.overflow) {
                (Some(text), None) => {
                    Requirement::parse(text)
                        .map_err(|e| at(&format!("{key}.requirement"), e.to_string()))?;
                }
                (None, Some(target)) => {
                    if i + 1 != self.steps.len() {
                        return Err(at(&key, "an overflow step must be the last step".into()));
                    }
                    if *target == self.id {
                        return Err(at(&key, "overflow to the queue itself".into()));
                    }
                }
                _ => {
                    return Err(at(
                        &key,
                        "a step has exactly one of requirement or overflow".into(),
                    ));
                }
            }
        }
        if let Some(sl) = &self.service_level
            && (!(1..=100).contains(&sl.percent) || sl.threshold_secs == 0)
        {
            return Err(at(
                "service_level",
                "percent must be 1-100 and threshold_secs at least 1".into(),
            ));
        }
        if let Some(hours) = &self.hours {
            crate::hours::Schedule::parse(hours).map_err(|e| format!("queues.{}.{e}", self.id))?;
            if hours.closed_overflow.as_deref() == Some(self.id.as_str()) {
                return Err(at(
                    "hours.closed_overflow",
                    "overflow to the queue itself".into(),
                ));
            }
        }
        if let Some(rules) = &self.selection {
            for (i, rule) in rules.iter().enumerate() {
                if !["preferred", "proficiency", "occupancy", "idle"].contains(&rule.as_str()) {
                    return Err(at(
                        "selection",
                        format!(
                            "unknown rule {rule:?} (expected preferred, proficiency, occupancy or idle)"
                        ),
                    ));
                }
                if rules[..i].contains(rule) {
                    return Err(at("selection", format!("rule {rule:?} listed twice")));
                }
            }
        }
        Ok(())
    }
}

/// The queues of an overflow cycle, if the overflow targets form one.
pub fn overflow_cycle(queues: &[QueueConfig]) -> Option<Vec<String>> {
    let target: BTreeMap<&str, &str> = queues
        .iter()
        .filter_map(|q| {
            q.steps
                .iter()
                .find_map(|s| s.overflow.as_deref())
                .map(|t| (q.id.as_str(), t))
        })
        .collect();
    for start in target.keys() {
        let mut path = vec![*start];
        let mut at = *start;
        while let Some(next) = target.get(at) {
            if *next == *start {
                path.push(next);
                return Some(path.into_iter().map(str::to_owned).collect());
            }
            if path.contains(next) {
                break;
            }
            path.push(next);
            at = next;
        }
    }
    None
}
