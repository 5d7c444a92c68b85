//! The channels agents reply on in this deployment: which are enabled (from
//! the configuration) and the longest reply each takes. The page gets them
//! at sign-in to show only what is enabled and to hold back a reply that is
//! too long; [`Channels::check`] is the server's own gate on every reply.
//!
//! | channel | enabled | longest reply |
//! |---|---|---|
//! | chat | always | `chat.max_text_bytes` (what a customer may send) |
//! | email | `email.enabled` | [`MAX_REPLY_BYTES`] |
//! | sms | `sms.enabled` | [`MAX_REPLY_BYTES`]; segments are the SMS adapter's check |

use omni_core::Channel;
use omni_core::config::Config;
use serde::Serialize;

use crate::api::MAX_REPLY_BYTES;
use crate::error::DeskError;

/// One enabled channel, as the page gets it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct ReplyChannel {
    /// `chat`, `email` or `sms`.
    pub channel: &'static str,
    /// Longest reply, in bytes of UTF-8.
    pub max_bytes: usize,
}

/// The enabled channels, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels(Vec<ReplyChannel>);

impl Channels {
    /// The channels `config` enables.
    pub fn from_config(config: &Config) -> Self {
        let mut list = vec![ReplyChannel {
            channel: Channel::Chat.as_str(),
            max_bytes: config.chat.max_text_bytes.min(MAX_REPLY_BYTES),
        }];
        if config.email.enabled {
            list.push(ReplyChannel {
                channel: Channel::Email.as_str(),
                max_bytes: MAX_REPLY_BYTES,
            });
        }
        if config.sms.enabled {
            list.push(ReplyChannel {
                channel: Channel::Sms.as_str(),
                max_bytes: MAX_REPLY_BYTES,
            });
        }
        Self(list)
    }

    /// Every enabled channel.
    pub fn list(&self) -> &[ReplyChannel] {
        &self.0
    }

    /// Fails unless `channel` is enabled and `text` fits its limit.
    pub fn check(&self, channel: Channel, text: &str) -> Result<(), DeskError> {
        let Some(limit) = self.0.iter().find(|c| c.channel == channel.as_str()) else {
            return Err(DeskError::BadRequest(format!(
                "the {channel} channel is not enabled"
            )));
        };
        if text.len() > limit.max_bytes {
            return Err(DeskError::BadRequest(format!(
                "a {channel} reply may be at most {} bytes; this one is {} bytes",
                limit.max_bytes,
                text.len()
            )));
        }
        Ok(())
    }
}

impl Default for Channels {
    /// The channels of the default configuration: chat only.
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enabled_channels_are_listed_and_accepted() {
        let mut config = Config::default();
        config.email.enabled = true;
        let channels = Channels::from_config(&config);
        let names: Vec<_> = channels.list().iter().map(|c| c.channel).collect();
        assert_eq!(names, ["chat", "email"]);
        assert!(channels.check(Channel::Email, "hello").is_ok());
        let refused = channels.check(Channel::Sms, "hello");
        assert!(
            matches!(&refused, Err(DeskError::BadRequest(m)) if m == "the sms channel is not enabled"),
            "{refused:?}"
        );
    }

    #[test]
    fn a_reply_over_the_channels_limit_is_refused() {
        let mut config = Config::default();
        config.chat.max_text_bytes = 10;
        let channels = Channels::from_config(&config);
        assert!(channels.check(Channel::Chat, "0123456789").is_ok());
        // Bytes, not characters: "é" is two.
        let refused = channels.check(Channel::Chat, "012345678é");
        assert!(
            matches!(&refused, Err(DeskError::BadRequest(m))
                if m == "a chat reply may be at most 10 bytes; this one is 11 bytes"),
            "{refused:?}"
        );
    }
}
