//! The `OMNI_*` environment overrides.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Config, ConfigError, SmsProvider};

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

/// Every `OMNI_` variable that overrides a configuration key, as
/// [`Config::apply_env`] reads them; a misspelt variable is refused with the
/// nearest of these (or of [`NOT_CONFIG_ENV`]) as a suggestion.
pub const CONFIG_ENV: &[&str] = &[
    "OMNI_AUTH_MAX_AUDIT_ENTRIES",
    "OMNI_AUTH_SESSION_IDLE_SECS",
    "OMNI_AUTH_SESSION_MAX_SECS",
    "OMNI_AUTH_SIGN_IN_PER_ACCOUNT_PER_MINUTE",
    "OMNI_AUTH_SIGN_IN_PER_ADDRESS_PER_MINUTE",
    "OMNI_AUTH_TRUSTED_PROXIES",
    "OMNI_CONNECT_CONTEXT",
    "OMNI_CONNECT_ROUTER",
    "OMNI_CONTEXT_DEFAULT_REGION",
    "OMNI_CONTEXT_REOPEN_WINDOW_SECS",
    "OMNI_CONTEXT_REPLY_DOMAIN",
    "OMNI_CONTEXT_STICKY_WINDOW_SECS",
    "OMNI_DATA_DIR",
    "OMNI_EMAIL_DOMAINS",
    "OMNI_EMAIL_ENABLED",
    "OMNI_EMAIL_FROM",
    "OMNI_EMAIL_FROM_NAME",
    "OMNI_EMAIL_HOSTNAME",
    "OMNI_EMAIL_MAX_MESSAGE_BYTES",
    "OMNI_EMAIL_RELAY",
    "OMNI_EMAIL_RELAY_CA_CERT",
    "OMNI_EMAIL_RELAY_PASSWORD",
    "OMNI_EMAIL_RELAY_TLS",
    "OMNI_EMAIL_RELAY_USER",
    "OMNI_EMAIL_TLS_CERT",
    "OMNI_EMAIL_TLS_KEY",
    "OMNI_GRPC_REFLECTION",
    "OMNI_GRPC_TLS_CA",
    "OMNI_GRPC_TLS_CERT",
    "OMNI_GRPC_TLS_CLIENT_CA",
    "OMNI_GRPC_TLS_KEY",
    "OMNI_GRPC_TOKEN",
    "OMNI_GRPC_TOKEN_FILE",
    "OMNI_LIMITS_CHAT_MESSAGES_PER_SECOND",
    "OMNI_LIMITS_CHAT_MESSAGE_BURST",
    "OMNI_LIMITS_CONNECTIONS_PER_ADDRESS",
    "OMNI_LIMITS_CONVERSATIONS_PER_ADDRESS",
    "OMNI_LIMITS_CONVERSATIONS_PER_VISITOR",
    "OMNI_LIMITS_CONVERSATION_WINDOW_SECS",
    "OMNI_LIMITS_HEADER_READ_TIMEOUT_MS",
    "OMNI_LIMITS_MAX_WAITING_PER_QUEUE",
    "OMNI_LIMITS_QUEUE_FULL_ANSWER",
    "OMNI_LIMITS_REQUESTS_PER_SECOND",
    "OMNI_LIMITS_REQUEST_BURST",
    "OMNI_LIMITS_TRUSTED_PROXIES",
    "OMNI_LISTEN_CHAT",
    "OMNI_LISTEN_DESK",
    "OMNI_LISTEN_GRPC",
    "OMNI_LISTEN_METRICS",
    "OMNI_LISTEN_SMS",
    "OMNI_LISTEN_SMTP",
    "OMNI_METRICS_ABANDON_GRACE_SECS",
    "OMNI_METRICS_TOKEN",
    "OMNI_METRICS_UTC_OFFSET_MINUTES",
    "OMNI_NATS_CA_FILE",
    "OMNI_NATS_CERT_FILE",
    "OMNI_NATS_CREDS_FILE",
    "OMNI_NATS_KEY_FILE",
    "OMNI_NATS_NKEY_SEED_FILE",
    "OMNI_NATS_URL",
    "OMNI_REDIS_CA_FILE",
    "OMNI_REDIS_CERT_FILE",
    "OMNI_REDIS_KEY_FILE",
    "OMNI_REDIS_PREFIX",
    "OMNI_REDIS_URL",
    "OMNI_RETENTION_BATCH_SIZE",
    "OMNI_RETENTION_CONVERSATION_DAYS",
    "OMNI_RETENTION_DEAD_LETTERS_KEPT",
    "OMNI_RETENTION_INTERVAL_SECS",
    "OMNI_RETENTION_STREAM_MAX_AGE_DAYS",
    "OMNI_ROUTING_DECLINE_COOLDOWN_SECS",
    "OMNI_ROUTING_DISCONNECT_GRACE_SECS",
    "OMNI_ROUTING_OFFER_TIMEOUT_SECS",
    "OMNI_SMS_DEFAULT_REGION",
    "OMNI_SMS_ENABLED",
    "OMNI_SMS_FROM",
    "OMNI_SMS_KANNEL_PASSWORD",
    "OMNI_SMS_KANNEL_SECRET",
    "OMNI_SMS_KANNEL_SENDSMS_URL",
    "OMNI_SMS_KANNEL_USERNAME",
    "OMNI_SMS_MAX_SEGMENTS",
    "OMNI_SMS_PROVIDER",
    "OMNI_SMS_PUBLIC_URL",
    "OMNI_SMS_SENDS_PER_SECOND",
    "OMNI_SMS_TWILIO_ACCOUNT_SID",
    "OMNI_SMS_TWILIO_API_BASE",
    "OMNI_SMS_TWILIO_AUTH_TOKEN",
    "OMNI_SURVEYS_LINK_KEY",
    "OMNI_SURVEYS_PUBLIC_URL",
    "OMNI_WEBHOOK_ENABLED",
    "OMNI_WEBHOOK_KEY",
    "OMNI_WEBHOOK_LISTEN",
    "OMNI_WEBHOOK_MAX_ATTEMPTS",
    "OMNI_WEBHOOK_OUTBOUND_URL",
    "OMNI_WEBHOOK_PREVIOUS_KEY",
];

impl Config {
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
            let small = |v: &str| -> Result<u32, ConfigError> {
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
                "OMNI_NATS_URL" => self.nats.url = value.as_str().into(),
                "OMNI_REDIS_URL" => self.redis.url = value.as_str().into(),
                "OMNI_REDIS_PREFIX" => self.redis.prefix = value.clone(),
                "OMNI_REDIS_CA_FILE" => self.redis.ca_file = Some(value.into()),
                "OMNI_REDIS_CERT_FILE" => self.redis.cert_file = Some(value.into()),
                "OMNI_REDIS_KEY_FILE" => self.redis.key_file = Some(value.into()),
                "OMNI_NATS_CA_FILE" => self.nats.ca_file = Some(value.into()),
                "OMNI_NATS_CERT_FILE" => self.nats.cert_file = Some(value.into()),
                "OMNI_NATS_KEY_FILE" => self.nats.key_file = Some(value.into()),
                "OMNI_NATS_CREDS_FILE" => self.nats.creds_file = Some(value.into()),
                "OMNI_NATS_NKEY_SEED_FILE" => self.nats.nkey_seed_file = Some(value.into()),
                "OMNI_LISTEN_SMS" => self.listen.sms = addr(value)?,
                "OMNI_SMS_ENABLED" => self.sms.enabled = flag(value)?,
                "OMNI_WEBHOOK_ENABLED" => self.webhook.enabled = flag(value)?,
                "OMNI_WEBHOOK_KEY" => self.webhook.key = value.as_str().into(),
                "OMNI_WEBHOOK_LISTEN" => self.webhook.listen = addr(value)?,
                "OMNI_WEBHOOK_OUTBOUND_URL" => self.webhook.outbound_url = value.clone(),
                "OMNI_WEBHOOK_MAX_ATTEMPTS" => self.webhook.max_attempts = small(value)?,
                "OMNI_WEBHOOK_PREVIOUS_KEY" => self.webhook.previous_key = value.as_str().into(),
                "OMNI_SURVEYS_LINK_KEY" => self.surveys.link_key = value.as_str().into(),
                "OMNI_SURVEYS_PUBLIC_URL" => self.surveys.public_url = value.clone(),
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
                "OMNI_SMS_SENDS_PER_SECOND" => {
                    self.sms.sends_per_second =
                        u32::try_from(number(value)?).map_err(|e| ConfigError::Env {
                            name: name.clone(),
                            value: value.clone(),
                            reason: e.to_string(),
                        })?
                }
                "OMNI_SMS_TWILIO_ACCOUNT_SID" => self.sms.twilio.account_sid = value.clone(),
                "OMNI_SMS_TWILIO_AUTH_TOKEN" => self.sms.twilio.auth_token = value.as_str().into(),
                "OMNI_SMS_TWILIO_API_BASE" => self.sms.twilio.api_base = value.clone(),
                "OMNI_SMS_KANNEL_SENDSMS_URL" => self.sms.kannel.sendsms_url = value.clone(),
                "OMNI_SMS_KANNEL_USERNAME" => self.sms.kannel.username = value.clone(),
                "OMNI_SMS_KANNEL_PASSWORD" => self.sms.kannel.password = value.as_str().into(),
                "OMNI_SMS_KANNEL_SECRET" => self.sms.kannel.secret = value.as_str().into(),
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
                "OMNI_EMAIL_RELAY_PASSWORD" => {
                    self.email.relay_password = Some(value.as_str().into())
                }
                "OMNI_EMAIL_FROM" => self.email.from = value.clone(),
                "OMNI_EMAIL_FROM_NAME" => self.email.from_name = value.clone(),
                "OMNI_EMAIL_RELAY_CA_CERT" => self.email.relay_ca_cert = Some(PathBuf::from(value)),
                "OMNI_EMAIL_TLS_CERT" => self.email.tls_cert = Some(PathBuf::from(value)),
                "OMNI_EMAIL_TLS_KEY" => self.email.tls_key = Some(PathBuf::from(value)),
                "OMNI_GRPC_TOKEN" => self.grpc.token = Some(value.as_str().into()),
                "OMNI_GRPC_TOKEN_FILE" => self.grpc.token_file = Some(PathBuf::from(value)),
                "OMNI_GRPC_REFLECTION" => self.grpc.reflection = flag(value)?,
                "OMNI_GRPC_TLS_CERT" => self.grpc.tls.cert = Some(PathBuf::from(value)),
                "OMNI_GRPC_TLS_KEY" => self.grpc.tls.key = Some(PathBuf::from(value)),
                "OMNI_GRPC_TLS_CLIENT_CA" => self.grpc.tls.client_ca = Some(PathBuf::from(value)),
                "OMNI_GRPC_TLS_CA" => self.grpc.tls.ca = Some(PathBuf::from(value)),
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
                "OMNI_LIMITS_HEADER_READ_TIMEOUT_MS" => {
                    self.limits.header_read_timeout_ms = number(value)?
                }
                "OMNI_LIMITS_CONNECTIONS_PER_ADDRESS" => {
                    self.limits.connections_per_address = small(value)?
                }
                "OMNI_LIMITS_REQUESTS_PER_SECOND" => {
                    self.limits.requests_per_second = small(value)?
                }
                "OMNI_LIMITS_REQUEST_BURST" => self.limits.request_burst = small(value)?,
                "OMNI_LIMITS_CHAT_MESSAGES_PER_SECOND" => {
                    self.limits.chat_messages_per_second = small(value)?
                }
                "OMNI_LIMITS_CHAT_MESSAGE_BURST" => self.limits.chat_message_burst = small(value)?,
                "OMNI_LIMITS_CONVERSATIONS_PER_VISITOR" => {
                    self.limits.conversations_per_visitor = small(value)?
                }
                "OMNI_LIMITS_CONVERSATIONS_PER_ADDRESS" => {
                    self.limits.conversations_per_address = small(value)?
                }
                "OMNI_LIMITS_CONVERSATION_WINDOW_SECS" => {
                    self.limits.conversation_window_secs = number(value)?
                }
                "OMNI_LIMITS_MAX_WAITING_PER_QUEUE" => {
                    self.limits.max_waiting_per_queue = small(value)?
                }
                "OMNI_LIMITS_QUEUE_FULL_ANSWER" => self.limits.queue_full_answer = value.clone(),
                "OMNI_LIMITS_TRUSTED_PROXIES" => {
                    self.limits.trusted_proxies = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "OMNI_RETENTION_CONVERSATION_DAYS" => {
                    self.retention.conversation_days = number(value)?
                }
                "OMNI_RETENTION_STREAM_MAX_AGE_DAYS" => {
                    self.retention.stream_max_age_days = number(value)?
                }
                "OMNI_RETENTION_INTERVAL_SECS" => self.retention.interval_secs = number(value)?,
                "OMNI_RETENTION_BATCH_SIZE" => self.retention.batch_size = small(value)?,
                "OMNI_METRICS_ABANDON_GRACE_SECS" => {
                    self.metrics.abandon_grace_secs = number(value)?
                }
                "OMNI_METRICS_UTC_OFFSET_MINUTES" => {
                    self.metrics.utc_offset_minutes =
                        value
                            .parse()
                            .map_err(|e: std::num::ParseIntError| ConfigError::Env {
                                name: name.clone(),
                                value: value.clone(),
                                reason: e.to_string(),
                            })?
                }
                "OMNI_METRICS_TOKEN" => self.metrics.token = Some(value.as_str().into()),
                "OMNI_RETENTION_DEAD_LETTERS_KEPT" => {
                    self.retention.dead_letters_kept = number(value)?
                }
                "OMNI_AUTH_SESSION_IDLE_SECS" => self.auth.session_idle_secs = number(value)?,
                "OMNI_AUTH_MAX_AUDIT_ENTRIES" => self.auth.max_audit_entries = number(value)?,
                "OMNI_AUTH_SESSION_MAX_SECS" => self.auth.session_max_secs = number(value)?,
                "OMNI_AUTH_SIGN_IN_PER_ACCOUNT_PER_MINUTE" => {
                    self.auth.sign_in_per_account_per_minute = small(value)?
                }
                "OMNI_AUTH_SIGN_IN_PER_ADDRESS_PER_MINUTE" => {
                    self.auth.sign_in_per_address_per_minute = small(value)?
                }
                "OMNI_AUTH_TRUSTED_PROXIES" => {
                    self.auth.trusted_proxies = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                other if self.bot_of_secret_env(other).is_some() => {
                    if let Some(bot) = self.bot_of_secret_env(other) {
                        let bot = bot.to_owned();
                        if let Some(config) = self.bots.get_mut(&bot) {
                            config.secret = Some(value.clone());
                        }
                    }
                }
                other if NOT_CONFIG_ENV.contains(&other) => {}
                other if other.starts_with("OMNI_") => {
                    let hint = match suggestion(other) {
                        Some(known) => format!(", did you mean {known}"),
                        None => String::new(),
                    };
                    return Err(ConfigError::Env {
                        name: other.to_owned(),
                        // A misspelt variable may well be a secret's.
                        value: super::REDACTED.to_owned(),
                        reason: format!(
                            "not a known OMNI_ variable{hint} (see the README's configuration reference)"
                        ),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Config {
    /// The configured bot whose key `OMNI_BOTS_<NAME>_SECRET` names (the
    /// name upper-cased, `-` as `_`).
    fn bot_of_secret_env(&self, name: &str) -> Option<&str> {
        let middle = name.strip_prefix("OMNI_BOTS_")?.strip_suffix("_SECRET")?;
        self.bots
            .keys()
            .find(|b| b.to_uppercase().replace('-', "_") == middle)
            .map(String::as_str)
    }
}

/// The known variable nearest to a misspelt `name`, if one is close enough
/// to be what was meant (at most two edits away).
fn suggestion(name: &str) -> Option<&'static str> {
    const LIMIT: usize = 2;
    CONFIG_ENV
        .iter()
        .chain(NOT_CONFIG_ENV)
        .map(|known| (edit_distance(name, known), *known))
        .filter(|(distance, _)| *distance <= LIMIT)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Levenshtein distance over bytes (the names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &y) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(x != y);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}
