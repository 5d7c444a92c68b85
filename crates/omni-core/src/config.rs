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

/// `OMNI_` variables read elsewhere than the configuration (the file's
/// path, logging and trace export); every other `OMNI_` variable must be a
/// known override, so a misspelt one is an error instead of being ignored.
pub const NOT_CONFIG_ENV: &[&str] = &[
    "OMNI_CONFIG",
    "OMNI_LOG",
    "OMNI_LOG_FORMAT",
    "OMNI_OTLP_ENDPOINT",
    "OMNI_SERVICE_NAME",
];

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
    /// The email adapter's SMTP server (inbound mail).
    pub smtp: SocketAddr,
    /// The SMS adapter's webhooks (Twilio, Kannel).
    pub sms: SocketAddr,
    /// Prometheus `/metrics` and `/healthz` of a distributed part that serves
    /// no other HTTP (`omni context`, `omni router`).
    pub metrics: SocketAddr,
}

/// The NATS JetStream server the distributed parts share.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL, e.g. `nats://nats:4222`.
    pub url: String,
}

/// The Redis server the distributed context service and router keep state in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Server URL, e.g. `redis://redis:6379`.
    pub url: String,
    /// Key prefix (and Cluster hash tag): every key is `{prefix}:...`.
    pub prefix: String,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "omni".into(),
        }
    }
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
    /// Region (ISO 3166-1 alpha-2, e.g. `US`) national phone numbers are
    /// read in; without it, phone numbers need a `+` country code.
    pub default_region: Option<String>,
    /// Domain of the per-conversation reply addresses
    /// (`reply+<conversation id>@<reply_domain>`) and of outbound Message-IDs.
    pub reply_domain: String,
    /// A returning customer is offered first to the agent who last handled
    /// them (on any conversation) if that agent handled them within this many
    /// seconds.
    pub sticky_window_secs: u64,
    /// Largest attachment, in bytes, the context store keeps; larger ones are
    /// recorded (name, type, size) without their content.
    pub max_attachment_bytes: u64,
}

impl ContextConfig {
    /// The identity normalizer for the configured default region.
    pub fn normalizer(&self) -> Result<crate::IdentityNormalizer, ConfigError> {
        let region = match &self.default_region {
            None => None,
            Some(code) => Some(code.parse::<crate::Region>().map_err(|reason| {
                ConfigError::Invalid(format!("context.default_region: {reason}"))
            })?),
        };
        Ok(crate::IdentityNormalizer::new(region))
    }
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
    /// Seconds an available agent may be without any desk connection (an
    /// open event stream from any desk) before the router sets them away
    /// with the reason `disconnected`, moving their offers on.
    pub disconnect_grace_secs: u64,
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

/// Which gateway sends outbound SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Twilio's Messages REST API, or any API compatible with it.
    Twilio,
    /// A Kannel gateway's `sendsms` HTTP interface.
    Kannel,
}

/// SMS adapter settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// Whether this process runs the SMS adapter.
    pub enabled: bool,
    /// The gateway outbound messages go through.
    pub provider: SmsProvider,
    /// Our number messages are sent from, E.164 (or a national number in
    /// `default_region`).
    pub from: String,
    /// Region (ISO 3166 alpha-2, e.g. `US`) for phone numbers written in
    /// national format.
    pub default_region: String,
    /// The adapter's public base URL as providers reach it (through any
    /// proxy), e.g. `https://sms.example.com`. Twilio signs requests over
    /// it, and callback URLs given to providers start with it.
    pub public_url: String,
    /// Messages needing more segments than this fail without being sent.
    pub max_segments: u32,
    /// Seconds a request to the provider may take before it is retried.
    pub request_timeout_secs: u64,
    /// Twilio settings.
    pub twilio: TwilioConfig,
    /// Kannel settings.
    pub kannel: KannelConfig,
}

/// Twilio settings of the SMS adapter.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioConfig {
    /// Account SID (`AC...`): webhooks for another account are refused.
    pub account_sid: String,
    /// Auth token: signs webhooks and authenticates API calls. Secret: set
    /// it with `OMNI_SMS_TWILIO_AUTH_TOKEN`.
    pub auth_token: String,
    /// Base URL of the Messages API.
    pub api_base: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &redacted(&self.auth_token))
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// Kannel settings of the SMS adapter.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KannelConfig {
    /// smsbox's `sendsms` URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    pub sendsms_url: String,
    /// A `sendsms-user` username.
    pub username: String,
    /// Its password. Secret: set it with `OMNI_SMS_KANNEL_PASSWORD`.
    pub password: String,
    /// The `secret` parameter smsbox's `get-url` and DLR URLs must carry.
    /// Secret: set it with `OMNI_SMS_KANNEL_SECRET`.
    pub secret: String,
    /// Kannel `dlr-mask` asked for on each message (1 delivered, 2 failed,
    /// 4 buffered, 8 SMSC accepted, 16 SMSC rejected).
    pub dlr_mask: u8,
}

impl std::fmt::Debug for KannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KannelConfig")
            .field("sendsms_url", &self.sendsms_url)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("secret", &redacted(&self.secret))
            .field("dlr_mask", &self.dlr_mask)
            .finish()
    }
}

fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() { "" } else { "<redacted>" }
}

/// How the email adapter talks to its outbound SMTP relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// Plain SMTP (a relay on the same host or a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl std::str::FromStr for RelayTls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(RelayTls::None),
            "starttls" => Ok(RelayTls::Starttls),
            "tls" => Ok(RelayTls::Tls),
            other => Err(format!("{other:?} is not none, starttls or tls")),
        }
    }
}

/// Email adapter settings: the inbound SMTP server and the outbound relay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Whether this process runs the email adapter (SMTP server on
    /// `listen.smtp`, outbound through `relay`).
    pub enabled: bool,
    /// Domains whose mail the SMTP server accepts (case-insensitive); mail
    /// for any other domain is refused (never an open relay). Conversation
    /// reply addresses (`reply+<id>@<domain>`) must be at one of them.
    pub domains: Vec<String>,
    /// The name the SMTP server gives in its greeting and EHLO reply.
    pub hostname: String,
    /// Largest message accepted, in bytes (advertised with SIZE). The bus
    /// carries at most 1 MiB per message, attachments included.
    pub max_message_bytes: usize,
    /// Recipients accepted per message.
    pub max_recipients: usize,
    /// Seconds a client may stay silent before the server closes with 421.
    pub idle_timeout_secs: u64,
    /// Bad commands in one session before the server closes with 421.
    pub max_errors: u32,
    /// Mailbox (full address, lowercase) to the topic its mail goes to,
    /// e.g. `{ "sales@example.com" = "sales" }`.
    pub topics: BTreeMap<String, String>,
    /// PEM certificate chain for STARTTLS on the SMTP server; without it
    /// (and `tls_key`) STARTTLS is not offered.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Whether sanitized HTML keeps remote images (`<img src="https://...">`).
    /// Off by default: a remote image tells the sender when an agent reads.
    pub allow_remote_images: bool,
    /// The outbound relay, `smtp://host:port`.
    pub relay: String,
    /// How to secure the relay connection: `none`, `starttls` or `tls`.
    pub relay_tls: RelayTls,
    /// A PEM CA certificate the relay's certificate may chain to, in
    /// addition to the system's roots (a private relay CA).
    pub relay_ca_cert: Option<PathBuf>,
    /// User for SMTP AUTH at the relay; no AUTH when unset.
    pub relay_user: Option<String>,
    /// Password for SMTP AUTH at the relay.
    pub relay_password: Option<String>,
    /// Seconds one relay command may take.
    pub relay_timeout_secs: u64,
    /// The `From` address of outbound mail; must be at one of `domains`.
    /// Empty (the default): `support@<first of domains>`.
    pub from: String,
    /// The display name on outbound mail's `From`, e.g. `Example Support`.
    pub from_name: String,
    /// Per queue id, the `From` of replies in that queue's conversations,
    /// e.g. `{ billing = { address = "billing@example.com", name = "Example Billing" } }`;
    /// queues not listed use `from`/`from_name`.
    pub queue_from: BTreeMap<String, EmailSender>,
}

/// A `From` of outbound mail: an address and its display name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSender {
    /// The address, at one of `email.domains`.
    pub address: String,
    /// The display name.
    pub name: String,
}

impl EmailConfig {
    /// The `From` of replies in conversations of `queue` (the queue's own
    /// sender, else the default).
    pub fn sender(&self, queue: Option<&str>) -> EmailSender {
        if let Some(sender) = queue.and_then(|q| self.queue_from.get(q)) {
            return sender.clone();
        }
        let address = if self.from.is_empty() {
            format!(
                "support@{}",
                self.domains.first().map_or("localhost", String::as_str)
            )
        } else {
            self.from.clone()
        };
        EmailSender {
            address,
            name: self.from_name.clone(),
        }
    }
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
            nats: NatsConfig::default(),
            redis: RedisConfig::default(),
            context: ContextConfig::default(),
            routing: RoutingConfig::default(),
            chat: ChatConfig::default(),
            sms: SmsConfig::default(),
            email: EmailConfig::default(),
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
            metrics: SocketAddr::from(([127, 0, 0, 1], 9100)),
            sms: SocketAddr::from(([127, 0, 0, 1], 8082)),
            smtp: SocketAddr::from(([127, 0, 0, 1], 2525)),
        }
    }
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            reopen_window_secs: 600,
            default_queue: BTreeMap::new(),
            topics: BTreeMap::new(),
            default_region: None,
            reply_domain: "reply.omniroute.invalid".into(),
            sticky_window_secs: 86_400,
            max_attachment_bytes: 10 * 1024 * 1024,
        }
    }
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

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_text_bytes: 4096,
            max_frame_bytes: 64 * 1024,
        }
    }
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            provider: SmsProvider::Twilio,
            from: String::new(),
            default_region: "US".into(),
            public_url: "http://127.0.0.1:8082".into(),
            max_segments: 10,
            request_timeout_secs: 10,
            twilio: TwilioConfig::default(),
            kannel: KannelConfig::default(),
        }
    }
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            domains: vec!["localhost".to_owned()],
            hostname: "localhost".to_owned(),
            max_message_bytes: 1024 * 1024,
            max_recipients: 50,
            idle_timeout_secs: 300,
            max_errors: 10,
            topics: BTreeMap::new(),
            tls_cert: None,
            tls_key: None,
            allow_remote_images: false,
            relay: "smtp://127.0.0.1:25".to_owned(),
            relay_tls: RelayTls::None,
            relay_ca_cert: None,
            relay_user: None,
            relay_password: None,
            relay_timeout_secs: 30,
            from: String::new(),
            from_name: "Support".to_owned(),
            queue_from: BTreeMap::new(),
        }
    }
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            account_sid: String::new(),
            auth_token: String::new(),
            api_base: "https://api.twilio.com".into(),
        }
    }
}

impl Default for KannelConfig {
    fn default() -> Self {
        Self {
            sendsms_url: "http://127.0.0.1:13013/cgi-bin/sendsms".into(),
            username: String::new(),
            password: String::new(),
            secret: String::new(),
            dlr_mask: 31,
        }
    }
}

impl SmsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if !self.enabled {
            return Ok(());
        }
        if self.from.trim().is_empty() {
            return invalid("sms.from: the number messages are sent from is required".into());
        }
        if self.default_region.len() != 2
            || !self.default_region.bytes().all(|b| b.is_ascii_uppercase())
        {
            return invalid(format!(
                "sms.default_region {:?} is not an ISO 3166 alpha-2 code such as \"US\"",
                self.default_region
            ));
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return invalid(format!(
                "sms.public_url {:?} must be an http:// or https:// URL",
                self.public_url
            ));
        }
        if self.max_segments == 0 {
            return invalid("sms.max_segments must be at least 1".into());
        }
        if self.request_timeout_secs == 0 {
            return invalid("sms.request_timeout_secs must be at least 1".into());
        }
        match self.provider {
            SmsProvider::Twilio => {
                if self.twilio.account_sid.is_empty() || self.twilio.auth_token.is_empty() {
                    return invalid("sms.twilio.account_sid and sms.twilio.auth_token are required with provider \"twilio\" (the token via OMNI_SMS_TWILIO_AUTH_TOKEN)".into());
                }
            }
            SmsProvider::Kannel => {
                if self.kannel.username.is_empty() || self.kannel.secret.is_empty() {
                    return invalid("sms.kannel.username and sms.kannel.secret are required with provider \"kannel\" (secrets via OMNI_SMS_KANNEL_PASSWORD, OMNI_SMS_KANNEL_SECRET)".into());
                }
            }
        }
        if self.kannel.dlr_mask > 31 {
            return invalid(format!(
                "sms.kannel.dlr_mask {} is outside 0-31",
                self.kannel.dlr_mask
            ));
        }
        Ok(())
    }
}

impl EmailConfig {
    /// Whether mail for `address` is ours: its domain is one of
    /// [`EmailConfig::domains`], compared case-insensitively.
    pub fn accepts(&self, address: &str) -> bool {
        match address.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => self
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain.trim_end_matches('.'))),
            _ => false,
        }
    }

    /// The topic of mail delivered to `mailbox`, if one is configured.
    pub fn topic_for(&self, mailbox: &str) -> Option<&str> {
        self.topics
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(mailbox))
            .map(|(_, t)| t.as_str())
    }

    /// `host` and `port` of [`EmailConfig::relay`].
    pub fn relay_host_port(&self) -> Result<(String, u16), String> {
        let rest = self
            .relay
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("{:?} does not start with smtp://", self.relay))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{:?} has an invalid port", self.relay))?,
            ),
            None => (rest, 25),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{:?} has no host", self.relay));
        }
        Ok((host.to_owned(), port))
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
            let flag = |v: &str| -> Result<bool, ConfigError> {
                match v {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err(ConfigError::Env {
                        name: name.clone(),
                        value: v.to_owned(),
                        reason: "expected true or false".into(),
                    }),
                }
            };
            match name.as_str() {
                "OMNI_DATA_DIR" => self.data_dir = PathBuf::from(value),
                "OMNI_LISTEN_GRPC" => self.listen.grpc = addr(value)?,
                "OMNI_LISTEN_CHAT" => self.listen.chat = addr(value)?,
                "OMNI_LISTEN_DESK" => self.listen.desk = addr(value)?,
                "OMNI_LISTEN_METRICS" => self.listen.metrics = addr(value)?,
                "OMNI_NATS_URL" => self.nats.url = value.clone(),
                "OMNI_REDIS_URL" => self.redis.url = value.clone(),
                "OMNI_REDIS_PREFIX" => self.redis.prefix = value.clone(),
                "OMNI_LISTEN_SMS" => self.listen.sms = addr(value)?,
                "OMNI_SMS_ENABLED" => self.sms.enabled = flag(value)?,
                "OMNI_SMS_PROVIDER" => {
                    self.sms.provider = match value.as_str() {
                        "twilio" => SmsProvider::Twilio,
                        "kannel" => SmsProvider::Kannel,
                        _ => {
                            return Err(ConfigError::Env {
                                name: name.clone(),
                                value: value.clone(),
                                reason: "expected \"twilio\" or \"kannel\"".into(),
                            });
                        }
                    }
                }
                "OMNI_SMS_FROM" => self.sms.from = value.clone(),
                "OMNI_SMS_DEFAULT_REGION" => self.sms.default_region = value.clone(),
                "OMNI_SMS_PUBLIC_URL" => self.sms.public_url = value.clone(),
                "OMNI_SMS_MAX_SEGMENTS" => {
                    self.sms.max_segments =
                        u32::try_from(number(value)?).map_err(|e| ConfigError::Env {
                            name: name.clone(),
                            value: value.clone(),
                            reason: e.to_string(),
                        })?
                }
                "OMNI_SMS_TWILIO_ACCOUNT_SID" => self.sms.twilio.account_sid = value.clone(),
                "OMNI_SMS_TWILIO_AUTH_TOKEN" => self.sms.twilio.auth_token = value.clone(),
                "OMNI_SMS_TWILIO_API_BASE" => self.sms.twilio.api_base = value.clone(),
                "OMNI_SMS_KANNEL_SENDSMS_URL" => self.sms.kannel.sendsms_url = value.clone(),
                "OMNI_SMS_KANNEL_USERNAME" => self.sms.kannel.username = value.clone(),
                "OMNI_SMS_KANNEL_PASSWORD" => self.sms.kannel.password = value.clone(),
                "OMNI_SMS_KANNEL_SECRET" => self.sms.kannel.secret = value.clone(),
                "OMNI_LISTEN_SMTP" => self.listen.smtp = addr(value)?,
                "OMNI_EMAIL_ENABLED" => self.email.enabled = flag(value)?,
                "OMNI_EMAIL_DOMAINS" => {
                    self.email.domains = value
                        .split(',')
                        .map(|d| d.trim().to_owned())
                        .filter(|d| !d.is_empty())
                        .collect()
                }
                "OMNI_EMAIL_HOSTNAME" => self.email.hostname = value.clone(),
                "OMNI_EMAIL_MAX_MESSAGE_BYTES" => {
                    self.email.max_message_bytes = number(value)? as usize
                }
                "OMNI_EMAIL_RELAY" => self.email.relay = value.clone(),
                "OMNI_EMAIL_RELAY_TLS" => {
                    self.email.relay_tls = value.parse().map_err(|reason| ConfigError::Env {
                        name: name.clone(),
                        value: value.clone(),
                        reason,
                    })?
                }
                "OMNI_EMAIL_RELAY_USER" => self.email.relay_user = Some(value.clone()),
                "OMNI_EMAIL_RELAY_PASSWORD" => self.email.relay_password = Some(value.clone()),
                "OMNI_EMAIL_FROM" => self.email.from = value.clone(),
                "OMNI_EMAIL_FROM_NAME" => self.email.from_name = value.clone(),
                "OMNI_EMAIL_RELAY_CA_CERT" => self.email.relay_ca_cert = Some(PathBuf::from(value)),
                "OMNI_EMAIL_TLS_CERT" => self.email.tls_cert = Some(PathBuf::from(value)),
                "OMNI_EMAIL_TLS_KEY" => self.email.tls_key = Some(PathBuf::from(value)),
                "OMNI_CONNECT_CONTEXT" => self.connect.context = Some(value.clone()),
                "OMNI_CONNECT_ROUTER" => self.connect.router = Some(value.clone()),
                "OMNI_ROUTING_OFFER_TIMEOUT_SECS" => {
                    self.routing.offer_timeout_secs = number(value)?
                }
                "OMNI_ROUTING_DECLINE_COOLDOWN_SECS" => {
                    self.routing.decline_cooldown_secs = number(value)?
                }
                "OMNI_ROUTING_DISCONNECT_GRACE_SECS" => {
                    self.routing.disconnect_grace_secs = number(value)?
                }
                "OMNI_CONTEXT_REOPEN_WINDOW_SECS" => {
                    self.context.reopen_window_secs = number(value)?
                }
                "OMNI_CONTEXT_DEFAULT_REGION" => self.context.default_region = Some(value.clone()),
                "OMNI_CONTEXT_REPLY_DOMAIN" => self.context.reply_domain = value.clone(),
                "OMNI_CONTEXT_STICKY_WINDOW_SECS" => {
                    self.context.sticky_window_secs = number(value)?
                }
                other if NOT_CONFIG_ENV.contains(&other) => {}
                other if other.starts_with("OMNI_") => {
                    return Err(ConfigError::Env {
                        name: other.to_owned(),
                        value: value.clone(),
                        reason:
                            "not a known OMNI_ variable (see the README's configuration reference)"
                                .into(),
                    });
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
        self.sms.validate()?;
        self.validate_email()
    }

    fn validate_email(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let email = &self.email;
        if email.enabled
            && !email
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&self.context.reply_domain))
        {
            return invalid(format!(
                "context.reply_domain {:?} must be one of email.domains {:?}, or customers' replies to conversation reply addresses would be refused",
                self.context.reply_domain, email.domains
            ));
        }
        if email.domains.is_empty() {
            return invalid("email.domains: at least one domain is required".into());
        }
        for d in &email.domains {
            if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
                return invalid(format!("email.domains: {d:?} is not a domain name"));
            }
        }
        if email.hostname.is_empty() || email.hostname.contains(char::is_whitespace) {
            return invalid(format!(
                "email.hostname: {:?} is not a host name",
                email.hostname
            ));
        }
        if email.max_message_bytes < 1024 {
            return invalid(format!(
                "email.max_message_bytes ({}) must be at least 1024",
                email.max_message_bytes
            ));
        }
        if email.max_recipients == 0 {
            return invalid("email.max_recipients must be at least 1".into());
        }
        if email.idle_timeout_secs == 0 || email.relay_timeout_secs == 0 {
            return invalid(
                "email.idle_timeout_secs and email.relay_timeout_secs must be at least 1".into(),
            );
        }
        if email.max_errors == 0 {
            return invalid("email.max_errors must be at least 1".into());
        }
        if let Err(reason) = email.relay_host_port() {
            return invalid(format!("email.relay: {reason}"));
        }
        if email.tls_cert.is_some() != email.tls_key.is_some() {
            return invalid("email.tls_cert and email.tls_key must be set together".into());
        }
        if email.relay_user.is_some() != email.relay_password.is_some() {
            return invalid(
                "email.relay_user and email.relay_password must be set together".into(),
            );
        }
        let default_sender = ("email.from".to_owned(), email.sender(None));
        let queue_senders = email
            .queue_from
            .iter()
            .map(|(queue, sender)| (format!("email.queue_from.{queue}"), sender.clone()));
        for (key, sender) in std::iter::once(default_sender).chain(queue_senders) {
            match sender.address.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {}
                _ => {
                    return invalid(format!(
                        "{key}: {:?} is not an email address",
                        sender.address
                    ));
                }
            }
            if !email.accepts(&sender.address) {
                return invalid(format!(
                    "{key}: {:?} is not at one of email.domains {:?}; replies would come from a domain this server does not receive for",
                    sender.address, email.domains
                ));
            }
            if sender.name.trim().is_empty() || sender.name.contains(['\r', '\n']) {
                return invalid(format!(
                    "{key}: the display name {:?} must be one non-empty line",
                    sender.name
                ));
            }
        }
        for queue in email.queue_from.keys() {
            if !self.queues.iter().any(|q| &q.id == queue) {
                return invalid(format!(
                    "email.queue_from.{queue}: {queue:?} is not one of the configured queues"
                ));
            }
        }
        for (mailbox, topic) in &email.topics {
            if !email.accepts(mailbox) {
                return invalid(format!(
                    "email.topics: {mailbox:?} is not an address at one of email.domains"
                ));
            }
            if !self.context.topics.contains_key(topic) {
                return invalid(format!(
                    "email.topics.{mailbox}: topic {topic:?} is not in context.topics"
                ));
            }
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
    fn context_identity_settings_are_validated() {
        let mut config = Config::parse(SAMPLE).unwrap();
        config.context.default_region = Some("us".into());
        config.validate().unwrap();
        assert_eq!(
            config.context.normalizer().unwrap().phone("(202) 555-0143"),
            Ok(crate::Identity::Phone("+12025550143".into()))
        );
        config.context.default_region = Some("Atlantis".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("context.default_region"), "{err}");
        config.context.default_region = None;
        config.context.reply_domain = "no domain".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("context.reply_domain"), "{err}");
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
        let env = BTreeMap::from([("OMNI_LISTEN_GPRC".to_string(), "127.0.0.1:1".to_string())]);
        let err = config.apply_env(&env).unwrap_err().to_string();
        assert!(
            err.contains("OMNI_LISTEN_GPRC") && err.contains("not a known"),
            "{err}"
        );
        let env = BTreeMap::from([("OMNI_LOG".to_string(), "debug".to_string())]);
        config.apply_env(&env).unwrap();
    }

    #[test]
    fn sms_secrets_come_from_env_and_are_checked() {
        let mut config = Config::parse(SAMPLE).unwrap();
        config.sms.enabled = true;
        config.sms.from = "+15005550006".into();
        config.sms.twilio.account_sid = "AC123".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("auth_token"), "{err}");
        let env = BTreeMap::from([
            (
                "OMNI_SMS_TWILIO_AUTH_TOKEN".to_string(),
                "s3cret".to_string(),
            ),
            ("OMNI_SMS_MAX_SEGMENTS".to_string(), "3".to_string()),
        ]);
        config.apply_env(&env).unwrap();
        config.validate().unwrap();
        assert_eq!(config.sms.max_segments, 3);
        assert!(!format!("{config:?}").contains("s3cret"));
        let env = BTreeMap::from([("OMNI_SMS_PROVIDER".to_string(), "nexmo".to_string())]);
        let err = config.apply_env(&env).unwrap_err().to_string();
        assert!(err.contains("OMNI_SMS_PROVIDER"), "{err}");
    }

    #[test]
    fn the_sample_config_with_its_sms_section_is_valid() {
        let mut config = Config::parse(include_str!("../../../config/omniroute.toml")).unwrap();
        config.validate().unwrap();
        assert_eq!(config.listen.sms.port(), 8082);
        assert_eq!(config.sms.provider, SmsProvider::Twilio);
        config.sms.enabled = true;
        config.sms.twilio.account_sid = "AC1".into();
        let env = BTreeMap::from([("OMNI_SMS_TWILIO_AUTH_TOKEN".to_string(), "t".to_string())]);
        config.apply_env(&env).unwrap();
        config.validate().unwrap();
    }

    #[test]
    fn email_defaults_validate_and_env_overrides() {
        let mut config = Config::parse(SAMPLE).unwrap();
        config.validate().unwrap();
        let env = BTreeMap::from([
            (
                "OMNI_EMAIL_DOMAINS".to_string(),
                "Example.com, help.example.org".to_string(),
            ),
            ("OMNI_EMAIL_RELAY_TLS".to_string(), "starttls".to_string()),
            (
                "OMNI_EMAIL_RELAY".to_string(),
                "smtp://mail.example.com:587".to_string(),
            ),
        ]);
        config.apply_env(&env).unwrap();
        assert_eq!(config.email.domains, ["Example.com", "help.example.org"]);
        assert_eq!(config.email.relay_tls, RelayTls::Starttls);
        assert_eq!(
            config.email.relay_host_port().unwrap(),
            ("mail.example.com".to_string(), 587)
        );
        assert!(config.email.accepts("reply+c_1@EXAMPLE.COM"));
        assert!(config.email.accepts("x@help.example.org."));
        assert!(!config.email.accepts("x@evil.com"));
        assert!(!config.email.accepts("@example.com"));
        assert!(!config.email.accepts("example.com"));
        let env = BTreeMap::from([("OMNI_EMAIL_RELAY_TLS".to_string(), "ssl".to_string())]);
        let err = config.apply_env(&env).unwrap_err().to_string();
        assert!(err.contains("OMNI_EMAIL_RELAY_TLS"), "{err}");
    }

    #[test]
    fn email_section_is_validated() {
        let mut config = Config::parse(SAMPLE).unwrap();
        config.email.relay = "http://x".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("email.relay"), "{err}");
        let mut config = Config::parse(SAMPLE).unwrap();
        config
            .email
            .topics
            .insert("sales@localhost".into(), "nope".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("email.topics") && err.contains("nope"),
            "{err}"
        );
        let mut config = Config::parse(SAMPLE).unwrap();
        config.email.relay_user = Some("u".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("relay_password"), "{err}");
        let config = Config::parse(
            "[email]\ndomains = [\"example.com\"]\nrelay_tls = \"tls\"\n[[queues]]\nid = \"q\"\n",
        )
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.email.relay_tls, RelayTls::Tls);
    }

    #[test]
    fn email_senders_are_checked_against_the_accepted_domains() {
        let base = "[email]\ndomains = [\"example.com\"]\n[[queues]]\nid = \"billing\"\n";
        let config = Config::parse(base).unwrap();
        config.validate().unwrap();
        let sender = config.email.sender(None);
        assert_eq!(sender.address, "support@example.com");
        assert_eq!(sender.name, "Support");

        let outside = base.replace(
            "domains = [\"example.com\"]",
            "domains = [\"example.com\"]\nfrom = \"support@localhost\"",
        );
        let err = Config::parse(&outside)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("email.from") && err.contains("support@localhost"),
            "{err}"
        );

        let per_queue = format!(
            "{base}[email.queue_from.billing]\naddress = \"billing@example.com\"\nname = \"Example Billing\"\n"
        );
        let config = Config::parse(&per_queue).unwrap();
        config.validate().unwrap();
        assert_eq!(config.email.sender(Some("billing")).name, "Example Billing");
        assert_eq!(config.email.sender(Some("other")).name, "Support");

        let bad_queue_domain = per_queue.replace("billing@example.com", "billing@elsewhere.org");
        let err = Config::parse(&bad_queue_domain)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("email.queue_from.billing"), "{err}");

        let unknown_queue = per_queue.replace("queue_from.billing", "queue_from.sales");
        let err = Config::parse(&unknown_queue)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("not one of the configured queues"), "{err}");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let err = Config::load(Path::new("/nonexistent/omni.toml"), &BTreeMap::new()).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }
}
