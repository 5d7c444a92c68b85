//! The channels agents reply on in this deployment: the declared set
//! (`[channels.<name>]`, chat, email and SMS included), which are enabled
//! and the longest reply each takes. The page draws its badges and its
//! reply picker from this list, never from names of its own. The page gets them
//! at sign-in to show only what is enabled and to hold back a reply that is
//! too long; [`Channels::check`] is the server's own gate on every reply's
//! length, on any channel (whether a channel can reach the customer is the
//! context service's answer).
//!
//! In a desk running with the adapters (the embedded mode) the enabled
//! channels are the adapters this configuration runs; a desk on its own
//! (distributed mode) cannot see which adapters run elsewhere and takes
//! every channel ([`Channels::every`]), with the same limits.
//!
//! | channel | enabled | longest reply |
//! |---|---|---|
//! | chat | always | `chat.max_text_bytes` (what a customer may send) |
//! | email | `email.enabled` | [`MAX_REPLY_BYTES`] |
//! | sms | `sms.enabled` | [`MAX_REPLY_BYTES`] and `sms.max_segments` segments |
//! | a declared channel | always (its adapter runs apart) | its `max_text_chars`, as bytes (a text of that many bytes has no more characters), at most [`MAX_REPLY_BYTES`] |

use omni_core::Channel;
use omni_core::config::Config;
use serde::Serialize;

use crate::api::MAX_REPLY_BYTES;
use crate::error::DeskError;

/// One enabled channel, as the page gets it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReplyChannel {
    /// The channel's name: `chat`, `email`, `sms` or a declared one.
    pub channel: &'static str,
    /// The identity kinds a reply on it can go to (the page offers the
    /// channel for a customer with one of them).
    pub identity_kinds: Vec<String>,
    /// Longest reply, in bytes of UTF-8.
    pub max_bytes: usize,
    /// Most SMS segments a reply may take (GSM-7 or UCS-2, as the SMS
    /// adapter counts them); SMS only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_segments: Option<u32>,
}

/// The enabled channels, in a fixed order, and every channel's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    enabled: Vec<ReplyChannel>,
    every: Vec<ReplyChannel>,
}

impl Channels {
    /// The channels `config` enables: chat, and email and SMS when their
    /// adapters are on.
    pub fn from_config(config: &Config) -> Self {
        Self::with(config, |channel| match channel {
            Channel::CHAT => true,
            Channel::EMAIL => config.email.enabled,
            Channel::SMS => config.sms.enabled,
            _ => true,
        })
    }

    /// Every channel, with `config`'s limits: for a desk that runs apart
    /// from the adapters.
    pub fn every(config: &Config) -> Self {
        Self::with(config, |_| true)
    }

    fn with(config: &Config, enabled: impl Fn(Channel) -> bool) -> Self {
        let set = config.channel_set();
        let every: Vec<_> = set
            .iter()
            .map(|(channel, spec)| ReplyChannel {
                channel: channel.as_str(),
                identity_kinds: spec.reply_kinds.clone(),
                // SMS's own rule is its segments (counted below, in
                // characters); a byte cap from its character limit would
                // refuse GSM-7 texts that fit them.
                max_bytes: if channel == Channel::SMS {
                    MAX_REPLY_BYTES
                } else {
                    spec.max_text_chars.min(MAX_REPLY_BYTES)
                },
                max_segments: (channel == Channel::SMS).then_some(config.sms.max_segments),
            })
            .collect();
        let enabled = set
            .channels()
            .zip(&every)
            .filter(|(c, _)| enabled(*c))
            .map(|(_, limit)| limit.clone())
            .collect();
        Self { enabled, every }
    }

    /// Every enabled channel.
    pub fn list(&self) -> &[ReplyChannel] {
        &self.enabled
    }

    /// Fails unless `text` fits `channel`'s limits.
    pub fn check(&self, channel: Channel, text: &str) -> Result<(), DeskError> {
        let Some(limit) = self.every.iter().find(|c| c.channel == channel.as_str()) else {
            return Ok(());
        };
        let a_reply = match channel {
            Channel::EMAIL => "an email reply".to_owned(),
            Channel::SMS => "an SMS reply".to_owned(),
            other => format!("a {other} reply"),
        };
        if text.len() > limit.max_bytes {
            return Err(DeskError::BadRequest(format!(
                "{a_reply} may be at most {} bytes; this one is {} bytes",
                limit.max_bytes,
                text.len()
            )));
        }
        if let Some(max) = limit.max_segments {
            let needs = omni_core::segments::count(text).count;
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
    fn only_enabled_channels_are_listed() {
        let mut config = Config::default();
        config.email.enabled = true;
        let channels = Channels::from_config(&config);
        let names: Vec<_> = channels.list().iter().map(|c| c.channel).collect();
        assert_eq!(names, ["chat", "email"]);
        let every = Channels::every(&config);
        let names: Vec<_> = every.list().iter().map(|c| c.channel).collect();
        assert_eq!(names, ["chat", "email", "sms"]);
        // Limits hold on every channel, listed or not.
        for channels in [channels, every] {
            assert!(channels.check(Channel::SMS, "hello").is_ok());
            assert!(
                channels
                    .check(Channel::SMS, &"a".repeat(10 * 153 + 1))
                    .is_err()
            );
        }
    }

    #[test]
    fn a_reply_over_the_channels_limit_is_refused() {
        let mut config = Config::default();
        config.chat.max_text_bytes = 10;
        let channels = Channels::from_config(&config);
        assert!(channels.check(Channel::CHAT, "0123456789").is_ok());
        // Bytes, not characters: "é" is two.
        let refused = channels.check(Channel::CHAT, "012345678é");
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
        assert!(channels.check(Channel::SMS, &"a".repeat(306)).is_ok());
        let refused = channels.check(Channel::SMS, &"a".repeat(307));
        assert!(
            matches!(&refused, Err(DeskError::BadRequest(m))
                if m == "an SMS reply may take at most 2 segments; this one needs 3"),
            "{refused:?}"
        );
        // One character outside GSM-7 makes it UCS-2: 67 per segment.
        let refused = channels.check(Channel::SMS, &format!("é{}", "ü".repeat(133)));
        assert!(refused.is_ok(), "é and ü are GSM-7: {refused:?}");
        assert!(
            channels
                .check(Channel::SMS, &format!("€{}", "ж".repeat(134)))
                .is_err()
        );
    }
}

#[cfg(test)]
mod declared_tests {
    use super::*;

    #[test]
    fn a_declared_channel_is_listed_with_its_limit_and_identity_kinds() {
        let config = Config::parse(
            "[channels.desk-app]\nidentity = \"desk-app\"\nmax_text_bytes = 100\n\
             [identities.desk-app]\nnormalize = \"opaque\"\n[[queues]]\nid = \"q\"\n",
        )
        .expect("config");
        config.validate().expect("valid");
        let channels = Channels::from_config(&config);
        let app = channels
            .list()
            .iter()
            .find(|c| c.channel == "desk-app")
            .expect("listed")
            .clone();
        assert_eq!(
            (app.max_bytes, app.identity_kinds.clone()),
            (100, vec!["desk-app".to_owned()])
        );
        let names: Vec<_> = channels.list().iter().map(|c| c.channel).collect();
        assert_eq!(names, ["chat", "desk-app"]);
        let app = Channel::known("desk-app").expect("declared");
        let refused = channels.check(app, &"a".repeat(101));
        assert!(
            matches!(&refused, Err(DeskError::BadRequest(m))
                if m == "a desk-app reply may be at most 100 bytes; this one is 101 bytes"),
            "{refused:?}"
        );
        let sms = Channels::every(&config);
        let sms = sms.list().iter().find(|c| c.channel == "sms").expect("sms");
        assert_eq!(sms.identity_kinds, ["phone", "sms_sender"]);
    }
}
