//! The context service's section.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use crate::Channel;

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
    /// Replies one agent may send per minute (a burst of as many, then one
    /// every 60/n seconds): a stolen session or a runaway script cannot
    /// flood customers from the company's numbers.
    pub agent_replies_per_minute: u32,
    /// When messages the customer did not ask for (surveys, follow-ups) may
    /// go out, `HH:MM-HH:MM` in the customer's time zone (their `timezone`
    /// attribute, else the queue's hours zone, else UTC).
    pub sending_hours: String,
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
            agent_replies_per_minute: 60,
            sending_hours: crate::sending::DEFAULT_SENDING_HOURS.to_owned(),
        }
    }
}
