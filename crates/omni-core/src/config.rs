//! Configuration: built-in defaults, then a TOML file, then `OMNI_`-prefixed
//! environment variables, then validation with a message that names the key.
//!
//! The environment comes in as a map so tests never touch the process
//! environment. Every key is documented in the README's configuration
//! reference.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Channel;
use crate::requirement::Requirement;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has keys of the wrong type.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        message: String,
    },
    /// An environment variable has a value of the wrong type.
    #[error("invalid environment variable {name}={value:?}: {reason}")]
    Env {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The values parse but do not make sense together.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded store and bus keep their files.
    pub data_dir: PathBuf,
    /// Listening addresses.
    pub listen: Listen,
    /// Where parts reach each other's gRPC APIs (distributed mode).
    pub connect: Connect,
    /// Context service settings.
    pub context: ContextConfig,
    /// Router settings.
    pub routing: RoutingConfig,
    /// Chat adapter settings.
    pub chat: ChatConfig,
    /// Routing queues.
    pub queues: Vec<QueueConfig>,
    /// Agents.
    pub agents: Vec<AgentConfig>,
}

/// Listening addresses of the servers a process runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// gRPC: context and router APIs, health, reflection.
    pub grpc: SocketAddr,
    /// The web chat page and its WebSocket.
    pub chat: SocketAddr,
    /// The agent desk page and its HTTP/WebSocket API.
    pub desk: SocketAddr,
}

/// Where a part reaches the gRPC APIs of the others. In embedded mode both
/// default to this process's own gRPC listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connect {
    /// Context service URL, e.g. `http://context:7070`.
    pub context: Option<String>,
    /// Router service URL.
    pub router: Option<String>,
}

/// Context service settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextConfig {
    /// A customer message within this many seconds after resolve reopens the
    /// conversation; later, it opens a new one.
    pub reopen_window_secs: u64,
    /// The queue for a conversation whose customer chose no topic, per channel.
    pub default_queue: BTreeMap<Channel, String>,
    /// Topic a customer picks (e.g. on the chat page) to queue id.
    pub topics: BTreeMap<String, String>,
}

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
}

/// Chat adapter settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Largest message text, in bytes, a customer may send.
    pub max_text_bytes: usize,
    /// Largest WebSocket frame, in bytes; larger frames close the connection.
    pub max_frame_bytes: usize,
}

/// A routing queue.
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

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            listen: Listen::default(),
            connect: Connect::default(),
            context: ContextConfig::default(),
            routing: RoutingConfig::default(),
            chat: ChatConfig::default(),
            queues: Vec::new(),
            agents: Vec::new(),
        }
    }
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            grpc: SocketAddr::from(([127, 0, 0, 1], 7070)),
            chat: SocketAddr::from(([127, 0, 0, 1], 8080)),
            desk: SocketAddr::from(([127, 0, 0, 1], 8081)),
        }
    }
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            reopen_window_secs: 600,
            default_queue: BTreeMap::new(),
            topics: BTreeMap::new(),
        }
    }
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            offer_timeout_secs: 20,
            max_consecutive_misses: 3,
            decline_cooldown_secs: 30,
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_text_bytes: 4096,
            max_frame_bytes: 64 * 1024,
        }
    }
}

impl Config {
    /// Loads `path` over the defaults, applies `OMNI_*` variables from `env`,
    /// and validates the result.
    pub fn load(path: &Path, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text over the defaults, without validating.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// Applies the `OMNI_*` overrides documented in the README.
    pub fn apply_env(&mut self, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        for (name, value) in env {
            let addr = |v: &str| -> Result<SocketAddr, ConfigError> {
                v.parse()
                    .map_err(|e: std::net::AddrParseError| ConfigError::Env {
                        name: name.clone(),
                        value: v.to_owned(),
                        reason: e.to_string(),
                    })
            };
            let number = |v: &str| -> Result<u64, ConfigError> {
                v.parse()
                    .map_err(|e: std::num::ParseIntError| ConfigError::Env {
                        name: name.clone(),
                        value: v.to_owned(),
                        reason: e.to_string(),
                    })
            };
            match name.as_str() {
                "OMNI_DATA_DIR" => self.data_dir = PathBuf::from(value),
                "OMNI_LISTEN_GRPC" => self.listen.grpc = addr(value)?,
                "OMNI_LISTEN_CHAT" => self.listen.chat = addr(value)?,
                "OMNI_LISTEN_DESK" => self.listen.desk = addr(value)?,
                "OMNI_CONNECT_CONTEXT" => self.connect.context = Some(value.clone()),
                "OMNI_CONNECT_ROUTER" => self.connect.router = Some(value.clone()),
                "OMNI_ROUTING_OFFER_TIMEOUT_SECS" => {
                    self.routing.offer_timeout_secs = number(value)?
                }
                "OMNI_CONTEXT_REOPEN_WINDOW_SECS" => {
                    self.context.reopen_window_secs = number(value)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks that the values make sense together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let mut queue_ids = HashSet::new();
        for q in &self.queues {
            if q.id.trim().is_empty() {
                return invalid("queues: a queue has an empty id".into());
            }
            if !queue_ids.insert(q.id.as_str()) {
                return invalid(format!("queues: duplicate queue id {:?}", q.id));
            }
            for (skill, level) in &q.skills {
                if !(1..=10).contains(level) {
                    return invalid(format!(
                        "queues.{}: skill {skill:?} minimum proficiency {level} is outside 1-10",
                        q.id
                    ));
                }
            }
            q.check_routing().map_err(ConfigError::Invalid)?;
        }
        for q in &self.queues {
            if let Some(target) = q.steps.iter().find_map(|s| s.overflow.as_deref())
                && !queue_ids.contains(target)
            {
                return invalid(format!(
                    "queues.{}: steps: overflow to unknown queue {target:?}",
                    q.id
                ));
            }
        }
        if let Some(cycle) = overflow_cycle(&self.queues) {
            return invalid(format!("queues: overflow cycle {}", cycle.join(" -> ")));
        }
        if self.queues.is_empty() {
            return invalid("queues: at least one queue is required".into());
        }
        let mut agent_ids = HashSet::new();
        for a in &self.agents {
            if a.id.trim().is_empty() {
                return invalid("agents: an agent has an empty id".into());
            }
            if !agent_ids.insert(a.id.as_str()) {
                return invalid(format!("agents: duplicate agent id {:?}", a.id));
            }
            for (skill, level) in &a.skills {
                if !(1..=10).contains(level) {
                    return invalid(format!(
                        "agents.{}: skill {skill:?} proficiency {level} is outside 1-10",
                        a.id
                    ));
                }
            }
        }
        for (channel, queue) in &self.context.default_queue {
            if !queue_ids.contains(queue.as_str()) {
                return invalid(format!(
                    "context.default_queue.{channel}: unknown queue {queue:?}"
                ));
            }
        }
        for (topic, queue) in &self.context.topics {
            if !queue_ids.contains(queue.as_str()) {
                return invalid(format!("context.topics.{topic}: unknown queue {queue:?}"));
            }
        }
        if self.routing.offer_timeout_secs == 0 {
            return invalid("routing.offer_timeout_secs must be at least 1".into());
        }
        if self.chat.max_text_bytes == 0 || self.chat.max_text_bytes > self.chat.max_frame_bytes {
            return invalid(format!(
                "chat.max_text_bytes ({}) must be between 1 and chat.max_frame_bytes ({})",
                self.chat.max_text_bytes, self.chat.max_frame_bytes
            ));
        }
        Ok(())
    }

    /// The queue a new conversation on `channel` with `topic` routes to.
    pub fn queue_for(&self, channel: Channel, topic: Option<&str>) -> &str {
        if let Some(queue) = topic.and_then(|t| self.context.topics.get(t)) {
            return queue;
        }
        if let Some(queue) = self.context.default_queue.get(&channel) {
            return queue;
        }
        // validate() guarantees at least one queue
        self.queues
            .first()
            .map(|q| q.id.as_str())
            .unwrap_or("default")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        [context]
        topics = { sales = "sales" }
        default_queue = { chat = "support" }

        [[queues]]
        id = "sales"
        skills = { sales = 3 }

        [[queues]]
        id = "support"

        [[agents]]
        id = "alice"
        skills = { sales = 8 }
        capacity = { chat = 3 }
    "#;

    #[test]
    fn sample_parses_and_routes_topics() {
        let config = Config::parse(SAMPLE).unwrap();
        config.validate().unwrap();
        assert_eq!(config.queue_for(Channel::Chat, Some("sales")), "sales");
        assert_eq!(config.queue_for(Channel::Chat, Some("nope")), "support");
        assert_eq!(config.queue_for(Channel::Chat, None), "support");
        assert_eq!(config.agents[0].capacity[&Channel::Chat], 3);
    }

    #[test]
    fn bad_requirements_name_the_queue_key_and_column() {
        let config = |queue: &str| {
            Config::parse(&format!("{queue}\n[[agents]]\nid = \"a\"\n"))
                .unwrap()
                .validate()
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            config("[[queues]]\nid = \"q\"\nrequirement = \"billing >= 5 AND lang = \\\"es\\\"\""),
            Err("invalid configuration: queues.q.requirement: column 23: \"=\" is not an operator; use \"==\"".into())
        );
        assert_eq!(
            config("[[queues]]\nid = \"q\"\nsteps = [{ after_secs = 30, requirement = \"(a\" }]"),
            Err("invalid configuration: queues.q.steps[0].requirement: column 3: unexpected end; expected \")\"".into())
        );
        assert_eq!(
            config(
                "[[queues]]\nid = \"q\"\nsteps = [{ after_secs = 30, overflow = \"r\" }]\n[[queues]]\nid = \"r\"\nsteps = [{ after_secs = 30, overflow = \"q\" }]"
            ),
            Err("invalid configuration: queues: overflow cycle q -> r -> q".into())
        );
        assert!(
            config("[[queues]]\nid = \"q\"\nsteps = [{ after_secs = 30, overflow = \"x\" }]")
                .unwrap_err()
                .contains("overflow to unknown queue \"x\"")
        );
        assert!(
            config("[[queues]]\nid = \"q\"\nskills = { a = 1 }\nrequirement = \"a\"")
                .unwrap_err()
                .contains("either skills or requirement")
        );
        assert!(config("[[queues]]\nid = \"q\"\nselection = [\"fastest\"]").is_err());
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::parse("dat_dir = \"x\"").unwrap_err();
        assert!(err.contains("dat_dir"), "{err}");
    }

    #[test]
    fn bad_proficiency_is_rejected() {
        let mut config = Config::parse(SAMPLE).unwrap();
        config.agents[0].skills.insert("sales".into(), 11);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("agents.alice") && err.contains("11"), "{err}");
    }

    #[test]
    fn topic_to_unknown_queue_is_rejected() {
        let mut config = Config::parse(SAMPLE).unwrap();
        config.context.topics.insert("x".into(), "ghost".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("ghost"), "{err}");
    }

    #[test]
    fn env_overrides_and_reports_bad_values() {
        let mut config = Config::parse(SAMPLE).unwrap();
        let env = BTreeMap::from([("OMNI_LISTEN_CHAT".to_string(), "127.0.0.1:9999".to_string())]);
        config.apply_env(&env).unwrap();
        assert_eq!(config.listen.chat.port(), 9999);
        let env = BTreeMap::from([("OMNI_LISTEN_CHAT".to_string(), "nine".to_string())]);
        let err = config.apply_env(&env).unwrap_err().to_string();
        assert!(err.contains("OMNI_LISTEN_CHAT"), "{err}");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let err = Config::load(Path::new("/nonexistent/omni.toml"), &BTreeMap::new()).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }
}
