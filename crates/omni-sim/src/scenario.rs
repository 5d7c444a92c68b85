//! Scenarios: what to simulate, read from a TOML file and validated with
//! errors that name the offending key. The file's form and its checks
//! live in `raw`; the types here are what a valid scenario is.
//!
//! ```toml
//! duration_secs = 86400   # measured simulated time, after the warm-up
//! warmup_secs = 3600      # simulated time before measuring starts
//! seed = 1                # same seed, same result
//! batches = 20            # batches for the confidence intervals
//! start = "2026-12-07T00:00:00Z"  # the instant simulated time 0 stands for
//!                                 # (for business hours); default 1970-01-01
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
//! # hours = { zone = "Europe/Madrid", weekly = { mon = ["09:00-18:00"] } }
//! #                                # business hours, as the router's
//! #                                # [queues.hours]; default: always open
//!
//! [[agents]]
//! group = "sales-team"
//! count = 10
//! skills = { sales = 7 }
//! capacity = { chat = 1 }          # conversations at once, per channel
//! # total = 3                      # optional cap across channels
//! ```

mod raw;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use omni_core::Channel;
use omni_core::config::HoursConfig;
use omni_core::time::Millis;
use serde::Serialize;

use crate::dist::Distribution;
use raw::RawScenario;

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
    /// The instant simulated time 0 stands for, epoch milliseconds: what
    /// business hours are evaluated at. Default: the Unix epoch (a
    /// Thursday, 00:00 UTC).
    pub start_ms: Millis,
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
    /// Business hours, as the router's `[queues.hours]` (checked); `None`:
    /// always open. Customers keep arriving while it is closed.
    pub hours: Option<HoursConfig>,
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
