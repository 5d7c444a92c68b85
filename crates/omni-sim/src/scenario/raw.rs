//! A scenario file as written (every key as TOML gives it) and its
//! validation into a [`Scenario`], with errors that name the key.

use std::collections::{BTreeMap, BTreeSet};

use omni_core::Channel;
use omni_core::config::HoursConfig;
use omni_core::hours::Schedule;
use serde::Deserialize;

use super::{AgentGroup, MAX_AGENTS, MAX_SIMULATED_SECS, QueueScenario, Scenario, ScenarioError};
use crate::dist::Distribution;
use crate::specs;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    duration_secs: Option<f64>,
    #[serde(default)]
    warmup_secs: f64,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_batches")]
    batches: u32,
    start: Option<String>,
    #[serde(default)]
    queues: Vec<RawQueue>,
    #[serde(default)]
    agents: Vec<RawGroup>,
}

fn default_batches() -> u32 {
    20
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    id: Option<String>,
    #[serde(default = "default_channel")]
    channel: Channel,
    #[serde(default)]
    priority: u32,
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    arrivals_per_hour: Option<f64>,
    handle_time: Option<RawDistribution>,
    patience: Option<RawDistribution>,
    #[serde(default = "default_service_level_secs")]
    service_level_secs: f64,
    hours: Option<HoursConfig>,
}

fn default_channel() -> Channel {
    Channel::CHAT
}

fn default_service_level_secs() -> f64 {
    20.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDistribution {
    distribution: Option<String>,
    mean_secs: Option<f64>,
    sd_secs: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    group: Option<String>,
    count: Option<u32>,
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    #[serde(default)]
    capacity: BTreeMap<Channel, u32>,
    total: Option<u32>,
}

fn positive(key: &str, value: f64) -> Result<f64, ScenarioError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ScenarioError::invalid(
            key,
            format!("must be a positive number, got {value}"),
        ))
    }
}

fn required<T>(key: &str, value: Option<T>) -> Result<T, ScenarioError> {
    value.ok_or_else(|| ScenarioError::invalid(key, "missing (required)"))
}

impl RawScenario {
    pub(super) fn validate(self) -> Result<Scenario, ScenarioError> {
        let duration_secs = positive(
            "duration_secs",
            required("duration_secs", self.duration_secs)?,
        )?;
        if !(self.warmup_secs.is_finite() && self.warmup_secs >= 0.0) {
            return Err(ScenarioError::invalid(
                "warmup_secs",
                format!("must be zero or more, got {}", self.warmup_secs),
            ));
        }
        if duration_secs + self.warmup_secs > MAX_SIMULATED_SECS {
            return Err(ScenarioError::invalid(
                "duration_secs",
                format!(
                    "warm-up plus duration must be at most {MAX_SIMULATED_SECS} s (ten years), got {}",
                    duration_secs + self.warmup_secs
                ),
            ));
        }
        if !(2..=1000).contains(&self.batches) {
            return Err(ScenarioError::invalid(
                "batches",
                format!("must be between 2 and 1000, got {}", self.batches),
            ));
        }
        if self.queues.is_empty() {
            return Err(ScenarioError::invalid(
                "queues",
                "at least one [[queues]] table is required",
            ));
        }
        if self.agents.is_empty() {
            return Err(ScenarioError::invalid(
                "agents",
                "at least one [[agents]] table is required",
            ));
        }

        let mut queues = Vec::with_capacity(self.queues.len());
        let mut ids = BTreeSet::new();
        for (i, raw) in self.queues.into_iter().enumerate() {
            let queue = raw.validate(&format!("queues[{i}]"))?;
            if !ids.insert(queue.id.clone()) {
                return Err(ScenarioError::invalid(
                    format!("queues[{i}].id"),
                    format!("duplicate queue id {:?}", queue.id),
                ));
            }
            queues.push(queue);
        }

        let mut agents = Vec::with_capacity(self.agents.len());
        let mut names = BTreeSet::new();
        for (i, raw) in self.agents.into_iter().enumerate() {
            let group = raw.validate(&format!("agents[{i}]"))?;
            if !names.insert(group.group.clone()) {
                return Err(ScenarioError::invalid(
                    format!("agents[{i}].group"),
                    format!("duplicate group name {:?}", group.group),
                ));
            }
            agents.push(group);
        }
        let total_agents: u64 = agents.iter().map(|g| u64::from(g.count)).sum();
        if total_agents > MAX_AGENTS {
            return Err(ScenarioError::invalid(
                "agents",
                format!("at most {MAX_AGENTS} agents in total, got {total_agents}"),
            ));
        }

        let start_ms = match &self.start {
            None => 0,
            Some(text) => text
                .parse::<jiff::Timestamp>()
                .map_err(|_| {
                    ScenarioError::invalid(
                        "start",
                        format!(
                            "{text:?} is not an instant (expected e.g. \"2026-12-07T00:00:00Z\")"
                        ),
                    )
                })?
                .as_millisecond(),
        };
        for (i, queue) in queues.iter().enumerate() {
            let target = queue
                .hours
                .as_ref()
                .and_then(|h| h.closed_overflow.as_deref());
            if let Some(target) = target
                && !ids.contains(target)
            {
                return Err(ScenarioError::invalid(
                    format!("queues[{i}].hours.closed_overflow"),
                    format!("unknown queue {target:?}"),
                ));
            }
        }
        let scenario = Scenario {
            duration_secs,
            warmup_secs: self.warmup_secs,
            seed: self.seed,
            batches: self.batches,
            start_ms,
            queues,
            agents,
        };
        for (i, queue) in scenario.queues.iter().enumerate() {
            if !scenario
                .agents
                .iter()
                .any(|group| specs::group_serves(group, queue))
            {
                return Err(ScenarioError::invalid(
                    format!("queues[{i}].skills"),
                    format!(
                        "no agent group can serve queue {:?}: none has capacity on {} and the skills {:?}",
                        queue.id,
                        queue.channel.as_str(),
                        queue.skills
                    ),
                ));
            }
        }
        Ok(scenario)
    }
}

impl RawQueue {
    fn validate(self, at: &str) -> Result<QueueScenario, ScenarioError> {
        let id = required(&format!("{at}.id"), self.id)?;
        if id.trim().is_empty() {
            return Err(ScenarioError::invalid(
                format!("{at}.id"),
                "must not be empty",
            ));
        }
        for (skill, minimum) in &self.skills {
            if *minimum > 10 {
                return Err(ScenarioError::invalid(
                    format!("{at}.skills.{skill}"),
                    format!("minimum proficiency must be 0-10, got {minimum}"),
                ));
            }
        }
        let rate_key = format!("{at}.arrivals_per_hour");
        let arrivals_per_hour = positive(&rate_key, required(&rate_key, self.arrivals_per_hour)?)?;
        let handle_key = format!("{at}.handle_time");
        let raw_handle = required(&handle_key, self.handle_time)?;
        let no_handle_time = || {
            ScenarioError::invalid(
                format!("{handle_key}.distribution"),
                "handle time needs \"exponential\" or \"lognormal\", not \"none\"",
            )
        };
        if raw_handle.distribution.as_deref() == Some("none") {
            return Err(no_handle_time());
        }
        let handle_time = raw_handle
            .validate(&handle_key)?
            .ok_or_else(no_handle_time)?;
        let patience = match self.patience {
            None => None,
            Some(raw) => raw.validate(&format!("{at}.patience"))?,
        };
        if !(self.service_level_secs.is_finite() && self.service_level_secs >= 0.0) {
            return Err(ScenarioError::invalid(
                format!("{at}.service_level_secs"),
                format!("must be zero or more, got {}", self.service_level_secs),
            ));
        }
        if let Some(hours) = &self.hours {
            Schedule::parse(hours)
                .map_err(|e| ScenarioError::invalid(format!("{at}.{}", e.field), e.message))?;
        }
        Ok(QueueScenario {
            hours: self.hours,
            id,
            channel: self.channel,
            priority: self.priority,
            skills: self.skills,
            arrivals_per_hour,
            handle_time,
            patience,
            service_level_secs: self.service_level_secs,
        })
    }
}

impl RawDistribution {
    /// `None` for `distribution = "none"`.
    fn validate(self, at: &str) -> Result<Option<Distribution>, ScenarioError> {
        let kind = required(&format!("{at}.distribution"), self.distribution)?;
        let mean = |value: Option<f64>| -> Result<f64, ScenarioError> {
            let key = format!("{at}.mean_secs");
            positive(&key, required(&key, value)?)
        };
        match kind.as_str() {
            "none" => {
                if self.mean_secs.is_some() || self.sd_secs.is_some() {
                    return Err(ScenarioError::invalid(
                        at,
                        "distribution \"none\" takes no mean_secs or sd_secs",
                    ));
                }
                Ok(None)
            }
            "exponential" => {
                if self.sd_secs.is_some() {
                    return Err(ScenarioError::invalid(
                        format!("{at}.sd_secs"),
                        "an exponential distribution's sd equals its mean; remove sd_secs",
                    ));
                }
                Ok(Some(Distribution::Exponential {
                    mean_secs: mean(self.mean_secs)?,
                }))
            }
            "lognormal" => {
                let mean_secs = mean(self.mean_secs)?;
                let key = format!("{at}.sd_secs");
                let sd_secs = positive(&key, required(&key, self.sd_secs)?)?;
                Ok(Some(Distribution::Lognormal { mean_secs, sd_secs }))
            }
            other => Err(ScenarioError::invalid(
                format!("{at}.distribution"),
                format!(
                    "unknown distribution {other:?}; use \"exponential\", \"lognormal\" or \"none\""
                ),
            )),
        }
    }
}

impl RawGroup {
    fn validate(self, at: &str) -> Result<AgentGroup, ScenarioError> {
        let group = required(&format!("{at}.group"), self.group)?;
        if group.trim().is_empty() {
            return Err(ScenarioError::invalid(
                format!("{at}.group"),
                "must not be empty",
            ));
        }
        let count = required(&format!("{at}.count"), self.count)?;
        if count == 0 {
            return Err(ScenarioError::invalid(
                format!("{at}.count"),
                "must be at least 1",
            ));
        }
        for (skill, level) in &self.skills {
            if !(1..=10).contains(level) {
                return Err(ScenarioError::invalid(
                    format!("{at}.skills.{skill}"),
                    format!("proficiency must be 1-10, got {level}"),
                ));
            }
        }
        if self.capacity.values().all(|n| *n == 0) {
            return Err(ScenarioError::invalid(
                format!("{at}.capacity"),
                "at least one channel needs a capacity of 1 or more, e.g. capacity = { chat = 1 }",
            ));
        }
        if self.total == Some(0) {
            return Err(ScenarioError::invalid(
                format!("{at}.total"),
                "must be at least 1 (or left out)",
            ));
        }
        Ok(AgentGroup {
            group,
            count,
            skills: self.skills,
            capacity: self.capacity,
            total: self.total,
        })
    }
}
