//! Scenarios: what to simulate, read from a TOML file and validated with
//! errors that name the offending key.
//!
//! ```toml
//! duration_secs = 86400   # measured simulated time, after the warm-up
//! warmup_secs = 3600      # simulated time before measuring starts
//! seed = 1                # same seed, same result
//! batches = 20            # batches for the confidence intervals
//!
//! [[queues]]
//! id = "sales"
//! channel = "chat"                 # chat (default), email, sms or any
//!                                  # channel name: a scenario routes every
//!                                  # channel its queues and agents name
//! priority = 0                     # higher is served first
//! skills = { sales = 5 }           # minimum proficiency per skill
//! arrivals_per_hour = 160          # Poisson arrivals
//! service_level_secs = 20          # threshold T of the service level
//! handle_time = { distribution = "exponential", mean_secs = 180 }
//! patience = { distribution = "exponential", mean_secs = 300 }  # or omit: never abandon
//!
//! [[agents]]
//! group = "sales-team"
//! count = 10
//! skills = { sales = 7 }
//! capacity = { chat = 1 }          # conversations at once, per channel
//! # total = 3                      # optional cap across channels
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use omni_core::Channel;
use serde::{Deserialize, Serialize};

use crate::dist::Distribution;
use crate::specs;

/// The longest simulated time a scenario may ask for (warm-up plus
/// duration): ten years, far beyond any useful run, and safe in milliseconds.
pub const MAX_SIMULATED_SECS: f64 = 10.0 * 365.0 * 86_400.0;
/// The most agents a scenario may have in total.
pub const MAX_AGENTS: u64 = 1_000_000;

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a key of the wrong
    /// type. The message quotes the line.
    #[error("invalid scenario file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line, column and key.
        message: String,
    },
    /// A value is out of range or the values do not fit together.
    #[error("invalid scenario: {key}: {message}")]
    Invalid {
        /// The key, as a path such as `queues[0].handle_time.mean_secs`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ScenarioError {
    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Measured simulated time after the warm-up, seconds.
    pub duration_secs: f64,
    /// Simulated time before measuring starts, seconds.
    pub warmup_secs: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Batches the measured period is cut into for confidence intervals.
    pub batches: u32,
    /// The queues, in file order.
    pub queues: Vec<QueueScenario>,
    /// The agent groups, in file order.
    pub agents: Vec<AgentGroup>,
}

/// One queue: its traffic and what its contacts need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueScenario {
    /// The queue's id.
    pub id: String,
    /// The channel its contacts need capacity on.
    pub channel: Channel,
    /// Higher is served first.
    pub priority: u32,
    /// Skill name to minimum proficiency.
    pub skills: BTreeMap<String, u8>,
    /// Poisson arrival rate, contacts per hour.
    pub arrivals_per_hour: f64,
    /// Handle time of answered contacts.
    pub handle_time: Distribution,
    /// How long a waiting customer waits before abandoning; `None` waits
    /// forever.
    pub patience: Option<Distribution>,
    /// Threshold of the service level, seconds.
    pub service_level_secs: f64,
}

/// A group of identical agents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentGroup {
    /// The group's name; agents are named `<group>#<n>`.
    pub group: String,
    /// How many agents.
    pub count: u32,
    /// Skill name to proficiency (1-10).
    pub skills: BTreeMap<String, u8>,
    /// Conversations each agent holds at once, per channel.
    pub capacity: BTreeMap<Channel, u32>,
    /// Optional cap across channels.
    pub total: Option<u32>,
}

impl Scenario {
    /// The channels the scenario routes: every channel a queue or an
    /// agent group's capacity names, in slot order.
    pub fn channels(&self) -> Vec<Channel> {
        let named: BTreeSet<Channel> = self
            .queues
            .iter()
            .map(|q| q.channel)
            .chain(self.agents.iter().flat_map(|a| a.capacity.keys().copied()))
            .collect();
        named.into_iter().collect()
    }

    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ScenarioError::Parse { message, .. } => ScenarioError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates scenario text (errors name the file `<text>`).
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: PathBuf::from("<text>"),
            message: e.to_string().trim_end().to_owned(),
        })?;
        raw.validate()
    }

    /// When measuring starts, milliseconds of simulated time.
    pub fn measure_from_ms(&self) -> i64 {
        (self.warmup_secs * 1000.0).round() as i64
    }

    /// When measuring ends (and arrivals stop counting), milliseconds.
    pub fn measure_until_ms(&self) -> i64 {
        ((self.warmup_secs + self.duration_secs) * 1000.0).round() as i64
    }

    /// Every agent in the scenario.
    pub fn agent_count(&self) -> u64 {
        self.agents.iter().map(|g| u64::from(g.count)).sum()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    duration_secs: Option<f64>,
    #[serde(default)]
    warmup_secs: f64,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_batches")]
    batches: u32,
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
    fn validate(self) -> Result<Scenario, ScenarioError> {
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

        let scenario = Scenario {
            duration_secs,
            warmup_secs: self.warmup_secs,
            seed: self.seed,
            batches: self.batches,
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
        Ok(QueueScenario {
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

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
        duration_secs = 3600
        [[queues]]
        id = "sales"
        skills = { sales = 5 }
        arrivals_per_hour = 100
        handle_time = { distribution = "exponential", mean_secs = 180 }
        [[agents]]
        group = "team"
        count = 3
        skills = { sales = 7 }
        capacity = { chat = 1 }
    "#;

    fn error(text: &str) -> String {
        Scenario::parse(text).expect_err("invalid").to_string()
    }

    fn invalid_key(text: &str) -> String {
        match Scenario::parse(text) {
            Err(ScenarioError::Invalid { key, .. }) => key,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_scenario_gets_its_defaults() {
        let s = Scenario::parse(VALID).expect("valid");
        assert_eq!((s.warmup_secs, s.seed, s.batches), (0.0, 0, 20));
        let q = &s.queues[0];
        assert_eq!(q.channel, Channel::CHAT);
        assert_eq!(q.service_level_secs, 20.0);
        assert_eq!(q.patience, None);
        assert_eq!(
            q.handle_time,
            Distribution::Exponential { mean_secs: 180.0 }
        );
        assert_eq!(s.agent_count(), 3);
        assert_eq!((s.measure_from_ms(), s.measure_until_ms()), (0, 3_600_000));
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let cases = [
            (VALID.replace("duration_secs = 3600", ""), "duration_secs"),
            (
                VALID.replace(
                    "duration_secs = 3600",
                    "duration_secs = 3600\nwarmup_secs = -1",
                ),
                "warmup_secs",
            ),
            (
                VALID.replace("duration_secs = 3600", "duration_secs = 3600\nbatches = 1"),
                "batches",
            ),
            (
                VALID.replace("arrivals_per_hour = 100", "arrivals_per_hour = -3"),
                "queues[0].arrivals_per_hour",
            ),
            (
                VALID.replace("mean_secs = 180 }", "mean_secs = 0 }"),
                "queues[0].handle_time.mean_secs",
            ),
            (
                VALID.replace(
                    "\"exponential\", mean_secs = 180",
                    "\"lognormal\", mean_secs = 180",
                ),
                "queues[0].handle_time.sd_secs",
            ),
            (
                VALID.replace("\"exponential\"", "\"gamma\""),
                "queues[0].handle_time.distribution",
            ),
            (
                VALID.replace("\"exponential\"", "\"none\""),
                "queues[0].handle_time.distribution",
            ),
            (
                VALID.replace(
                    "arrivals_per_hour = 100",
                    "arrivals_per_hour = 100\npatience = { distribution = \"exponential\" }",
                ),
                "queues[0].patience.mean_secs",
            ),
            (
                VALID.replace("skills = { sales = 7 }", "skills = { sales = 11 }"),
                "agents[0].skills.sales",
            ),
            (VALID.replace("count = 3", "count = 0"), "agents[0].count"),
            (
                VALID.replace("capacity = { chat = 1 }", "capacity = { chat = 0 }"),
                "agents[0].capacity",
            ),
            (
                VALID.replace("skills = { sales = 5 }", "skills = { sales = 8 }"),
                "queues[0].skills",
            ),
            (
                VALID.replace("id = \"sales\"", "id = \"sales\"\nchannel = \"email\""),
                "queues[0].skills",
            ),
            (
                format!(
                    "{VALID}\n[[queues]]\nid = \"sales\"\narrivals_per_hour = 1\nhandle_time = {{ distribution = \"exponential\", mean_secs = 1 }}\n"
                ),
                "queues[1].id",
            ),
        ];
        for (text, key) in cases {
            assert_eq!(invalid_key(&text), key, "scenario:\n{text}");
        }
    }

    #[test]
    fn unknown_keys_wrong_types_and_bad_channels_are_parse_errors_that_quote_the_key() {
        let unknown = error(&VALID.replace("arrivals_per_hour", "arrival_rate"));
        assert!(unknown.contains("arrival_rate"), "{unknown}");
        let wrong_type = error(&VALID.replace("count = 3", "count = \"three\""));
        assert!(wrong_type.contains("count"), "{wrong_type}");
        let channel = error(&VALID.replace("capacity = { chat = 1 }", "capacity = { Fax = 1 }"));
        assert!(channel.contains("Fax"), "{channel}");
        let top = error(&format!("durations = 5\n{VALID}"));
        assert!(top.contains("durations"), "{top}");
    }

    #[test]
    fn a_scenario_on_any_channel_name_routes_on_it() {
        let text = VALID
            .replace(
                "id = \"sales\"",
                "id = \"sales\"\nchannel = \"sim-whatsapp\"",
            )
            .replace(
                "capacity = { chat = 1 }",
                "capacity = { sim-whatsapp = 1, chat = 2 }",
            );
        let scenario = Scenario::parse(&text).expect("valid");
        let whatsapp = Channel::parse("sim-whatsapp").expect("name");
        assert_eq!(scenario.channels(), [Channel::CHAT, whatsapp]);
        let report = crate::run(&scenario, &mut |_| {}).expect("runs");
        let queue = &report.queues[0];
        assert_eq!(queue.channel, whatsapp);
        assert!(queue.answered > 0, "{queue:?}");
    }

    #[test]
    fn load_names_the_file() {
        let missing = Scenario::load(Path::new("/nonexistent/scenario.toml"))
            .expect_err("missing file")
            .to_string();
        assert!(missing.contains("/nonexistent/scenario.toml"), "{missing}");
    }
}
