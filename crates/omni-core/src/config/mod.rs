//! Configuration: built-in defaults, then a TOML file, then `OMNI_`-prefixed
//! environment variables, then validation with a message that names the key.
//!
//! The environment comes in as a map so tests never touch the process
//! environment. Every key is documented in the README's configuration
//! reference.
//!
//! One file per section: [`Config`] itself, its loading and the checks
//! across sections live here; each section's types, defaults and own checks
//! live in a child module (`network`, `grpc`, `context`, `routing`, `chat` (with `chat_sites`),
//! `hours`, `sms`, `webhook`, `email`, `limits`, `auth`, `channels`, `retention`,
//! `metrics`, `aftercare`, `surveys`), and `env` holds the
//! `OMNI_*` overrides.

mod aftercare;
mod auth;
mod bots;
mod channels;
mod chat;
mod chat_sites;
mod context;
mod desk;
mod email;
mod enrichment;
mod env;
mod grpc;
mod hours;
mod limits;
mod metrics;
mod network;
mod retention;
mod routing;
mod rules;
mod sms;
mod surveys;
#[cfg(test)]
mod tests;
mod webhook;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Channel;

pub use aftercare::{FollowupConfig, SurveyConfig, SurveyKind, localized};
pub use auth::{AuthConfig, Cidr};
pub use bots::{BotConfig, BotFieldConfig, BotTransport};
pub use channels::{ChannelDecl, ChannelSet, ChannelSpec, IdentityKindConfig, UndeclaredChannel};
pub use chat::{ChatConfig, LANGUAGES, MAX_ATTACHMENT_LIMIT, Position, SiteConfig, SiteText};
pub use chat_sites::is_origin;
pub use context::ContextConfig;
pub use desk::{DeskConfig, MAX_CODE_BYTES, check_codes};
pub use email::{EmailConfig, EmailSender, RelayTls};
pub use enrichment::{EnrichmentConfig, IntentRuleConfig};
pub use env::{CONFIG_ENV, NOT_CONFIG_ENV};
pub use grpc::{
    AccountKind, GrpcAccount, GrpcConfig, GrpcTls, LoadedAccount, MIN_TOKEN_LEN, SERVICE_ACCOUNT,
};
pub use hours::{HolidayConfig, HoursConfig};
pub use limits::{LimitsConfig, QUEUE_FULL_ANSWER};
pub use metrics::MetricsConfig;
pub use network::{Connect, LinkTls, Listen, NatsConfig, REDACTED, RedisConfig, redact_url};
pub use retention::RetentionConfig;
pub use routing::{
    AgentConfig, QueueConfig, QueueStepConfig, RoutingConfig, ServiceLevelConfig, overflow_cycle,
};
pub use rules::{MAX_CONTACT_PRIORITY, RuleConfig};
pub use sms::{KannelConfig, SmsConfig, SmsProvider, TwilioConfig};
pub use surveys::{MIN_LINK_KEY_BYTES, SurveysConfig};
pub use webhook::{MIN_WEBHOOK_KEY_BYTES, WebhookConfig};

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
    /// The NATS JetStream server (distributed mode).
    pub nats: NatsConfig,
    /// The Redis server (distributed mode).
    pub redis: RedisConfig,
    /// gRPC accounts, TLS and reflection.
    pub grpc: GrpcConfig,
    /// Context service settings.
    pub context: ContextConfig,
    /// Router settings.
    pub routing: RoutingConfig,
    /// Chat adapter settings.
    pub chat: ChatConfig,
    /// SMS adapter settings.
    pub sms: SmsConfig,
    /// Email adapter settings.
    pub email: EmailConfig,
    /// Webhook channel settings.
    pub webhook: WebhookConfig,
    /// Per-address limits of the HTTP servers and the chat's bounds.
    pub limits: LimitsConfig,
    /// Routing queues.
    pub queues: Vec<QueueConfig>,
    /// Agents.
    pub agents: Vec<AgentConfig>,
    /// Sign-in and sessions.
    pub auth: AuthConfig,
    /// Declared channels and their capabilities, by name (see
    /// [`Config::channel_set`]).
    pub channels: BTreeMap<String, ChannelDecl>,
    /// Declared identity kinds beyond the built-in ones, by kind.
    pub identities: BTreeMap<String, IdentityKindConfig>,
    /// How long customers' data is kept.
    pub retention: RetentionConfig,
    /// How the contact center's numbers are counted.
    pub metrics: MetricsConfig,
    /// What the agent's desk offers (away reasons).
    pub desk: DeskConfig,
    /// Bots that answer customers first, by name (docs/bots.md).
    pub bots: BTreeMap<String, BotConfig>,
    /// What is learned from each customer message (docs/enrichment.md).
    pub enrichment: EnrichmentConfig,
    /// Routing rules on what is known about a contact (docs/routing.md).
    pub rules: Vec<RuleConfig>,
    /// Survey links in email (docs/surveys.md, "Email links").
    pub surveys: SurveysConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            listen: Listen::default(),
            connect: Connect::default(),
            nats: NatsConfig::default(),
            redis: RedisConfig::default(),
            grpc: GrpcConfig::default(),
            context: ContextConfig::default(),
            routing: RoutingConfig::default(),
            chat: ChatConfig::default(),
            sms: SmsConfig::default(),
            email: EmailConfig::default(),
            webhook: WebhookConfig::default(),
            limits: LimitsConfig::default(),
            queues: Vec::new(),
            agents: Vec::new(),
            auth: AuthConfig::default(),
            channels: BTreeMap::new(),
            identities: BTreeMap::new(),
            retention: RetentionConfig::default(),
            metrics: MetricsConfig::default(),
            desk: DeskConfig::default(),
            bots: BTreeMap::new(),
            enrichment: EnrichmentConfig::default(),
            rules: Vec::new(),
            surveys: SurveysConfig::default(),
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
        toml::from_str(text).map_err(|e| parse_error(text, &e))
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
            check_codes(&format!("queues.{}.wrapup_codes", q.id), &q.wrapup_codes)
                .map_err(ConfigError::Invalid)?;
        }
        self.desk.check().map_err(ConfigError::Invalid)?;
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
        for q in &self.queues {
            if let Some(target) = q.hours.as_ref().and_then(|h| h.closed_overflow.as_deref())
                && !queue_ids.contains(target)
            {
                return invalid(format!(
                    "queues.{}.hours.closed_overflow: unknown queue {target:?}",
                    q.id
                ));
            }
        }
        for (name, bot) in &self.bots {
            bot.check(name).map_err(ConfigError::Invalid)?;
        }
        for q in &self.queues {
            if let Some(bot) = &q.bot
                && !self.bots.contains_key(bot)
            {
                return invalid(format!("queues.{}.bot: unknown bot {bot:?}", q.id));
            }
            for field in &q.bot_fields {
                field.check(&q.id).map_err(ConfigError::Invalid)?;
            }
        }
        for q in &self.queues {
            let Some(hours) = &q.hours else { continue };
            if let Some(bot) = &hours.closed_bot {
                if !self.bots.contains_key(bot) {
                    return invalid(format!(
                        "queues.{}.hours.closed_bot: unknown bot {bot:?}",
                        q.id
                    ));
                }
                if hours.closed_overflow.is_some() {
                    return invalid(format!(
                        "queues.{}.hours.closed_bot: not together with closed_overflow (a closed queue moves its contacts or hands them to a bot)",
                        q.id
                    ));
                }
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            rule.check(i, |q| queue_ids.contains(q))
                .map_err(ConfigError::Invalid)?;
        }
        crate::sending::SendingHours::parse(&self.context.sending_hours)
            .map_err(|e| ConfigError::Invalid(format!("context.sending_hours: {e}")))?;
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
        if self.redis.prefix.is_empty()
            || self
                .redis
                .prefix
                .contains(|c: char| c.is_whitespace() || "{}:".contains(c))
        {
            return invalid(format!(
                "redis.prefix {:?} must be non-empty, without spaces, braces or colons",
                self.redis.prefix
            ));
        }
        if self.redis.cert_file.is_some() != self.redis.key_file.is_some() {
            return invalid("redis.cert_file and redis.key_file go together".into());
        }
        if self.nats.cert_file.is_some() != self.nats.key_file.is_some() {
            return invalid("nats.cert_file and nats.key_file go together".into());
        }
        if self.nats.creds_file.is_some() && self.nats.nkey_seed_file.is_some() {
            return invalid("nats.creds_file and nats.nkey_seed_file exclude each other".into());
        }
        if self.context.agent_replies_per_minute == 0 {
            return invalid("context.agent_replies_per_minute must be at least 1".into());
        }
        if self.routing.offer_timeout_secs == 0 {
            return invalid("routing.offer_timeout_secs must be at least 1".into());
        }
        self.context.normalizer()?;
        let domain = &self.context.reply_domain;
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return invalid(format!(
                "context.reply_domain {domain:?} must be an ASCII domain name such as reply.example.com"
            ));
        }
        if self.chat.max_text_bytes == 0 || self.chat.max_text_bytes > self.chat.max_frame_bytes {
            return invalid(format!(
                "chat.max_text_bytes ({}) must be between 1 and chat.max_frame_bytes ({})",
                self.chat.max_text_bytes, self.chat.max_frame_bytes
            ));
        }
        self.chat
            .check(&self.context.topics)
            .map_err(ConfigError::Invalid)?;
        self.check_channels().map_err(ConfigError::Invalid)?;
        self.limits.check().map_err(ConfigError::Invalid)?;
        self.retention.check().map_err(ConfigError::Invalid)?;
        self.metrics.check().map_err(ConfigError::Invalid)?;
        self.sms.validate()?;
        self.webhook.validate()?;
        self.surveys.validate()?;
        if self.webhook.enabled
            && !self
                .channel_set()
                .channels()
                .any(|c| c.as_str() == self.webhook.channel)
        {
            return Err(ConfigError::Invalid(format!(
                "webhook.channel {:?} is not a declared channel (add [channels.{}])",
                self.webhook.channel, self.webhook.channel
            )));
        }
        self.auth.validate()?;
        self.grpc.validate()?;
        self.validate_email()
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

/// A TOML error as `line L, column C: message`, without the quoted source
/// line toml adds (it may hold a secret: a token under the wrong section),
/// and with the value of a credential's key replaced should the message
/// quote it (a type error does).
fn parse_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    let Some(span) = error.span() else {
        return message.to_owned();
    };
    let before = &text[..span.start.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before.len() - line_start + 1;
    let line_text = text[line_start..].lines().next().unwrap_or("");
    match line_text.split_once('=') {
        Some((key, value)) => {
            let key = key.trim();
            let value = value.trim().trim_matches(['"', '\'']);
            let message = if network::is_credential_name(key) && !value.is_empty() {
                message.replace(value, REDACTED)
            } else {
                message.to_owned()
            };
            format!("line {line}, column {column} (at {key}): {message}")
        }
        None => format!("line {line}, column {column}: {message}"),
    }
}
