//! The channels agents reply on in this deployment: which are enabled (from
//! the configuration) and the longest reply each takes. The page gets them
//! at sign-in to show only what is enabled and to hold back a reply that is
//! too long; [`Channels::check`] is the server's own gate on every reply.
//!
//! | channel | enabled | longest reply |
//! |---|---|---|
//! | chat | always | `chat.max_text_bytes` (what a customer may send) |
//! | email | `email.enabled` | [`MAX_REPLY_BYTES`] |
//! | sms | `sms.enabled` | [`MAX_REPLY_BYTES`] and `sms.max_segments` segments |

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
    /// Most SMS segments a reply may take (GSM-7 or UCS-2, as the SMS
    /// adapter counts them); SMS only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_segments: Option<u32>,
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
            max_segments: None,
        }];
        if config.email.enabled {
            list.push(ReplyChannel {
                channel: Channel::Email.as_str(),
                max_bytes: MAX_REPLY_BYTES,
                max_segments: None,
            });
        }
        if config.sms.enabled {
            list.push(ReplyChannel {
                channel: Channel::Sms.as_str(),
                max_bytes: MAX_REPLY_BYTES,
                max_segments: Some(config.sms.max_segments),
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
        let a_reply = match channel {
            Channel::Chat => "a chat reply",
            Channel::Email => "an email reply",
            Channel::Sms => "an SMS reply",
        };
        if text.len() > limit.max_bytes {
            return Err(DeskError::BadRequest(format!(
                "{a_reply} may be at most {} bytes; this one is {} bytes",
                limit.max_bytes,
                text.len()
            )));
        }
        if let Some(max) = limit.max_segments {
            let needs = omni_sms::segments::count(text).count;
            if needs > max as usize {
                return Err(DeskError::BadRequest(format!(
                    "{a_reply} may take at most {max} segments; this one needs {needs}"
                )));
            }
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

    #[test]
    fn an_sms_reply_over_its_segments_is_refused() {
        let mut config = Config::default();
        config.sms.enabled = true;
        config.sms.max_segments = 2;
        let channels = Channels::from_config(&config);
        // GSM-7: 153 septets per concatenated segment.
        assert!(channels.check(Channel::Sms, &"a".repeat(306)).is_ok());
        let refused = channels.check(Channel::Sms, &"a".repeat(307));
        assert!(
            matches!(&refused, Err(DeskError::BadRequest(m))
                if m == "an SMS reply may take at most 2 segments; this one needs 3"),
            "{refused:?}"
        );
        // One character outside GSM-7 makes it UCS-2: 67 per segment.
        let refused = channels.check(Channel::Sms, &format!("é{}", "ü".repeat(133)));
        assert!(refused.is_ok(), "é and ü are GSM-7: {refused:?}");
        assert!(
            channels
                .check(Channel::Sms, &format!("€{}", "ж".repeat(134)))
                .is_err()
        );
    }
}
