//! What a channel can carry, and the announcement an adapter publishes on
//! start (`omni.adapter.announce.<channel>`, `adapter.v1.Announcement`).
//!
//! The configuration is the one description of a channel
//! (`[channels.<name>]`, [`ChannelSpec`]): an adapter builds its
//! capabilities from it ([`Capabilities::declared`]) and declares nothing
//! of its own. An adapter that has a limit of its own (SMS: the segments it
//! may send) checks the declaration against it on start
//! ([`Capabilities::within`]): a declared limit above what it can deliver
//! refuses the start, one below it is logged and applies. Text limits are
//! in characters (Unicode scalar values).

use omni_bus::topology::subjects;
use omni_bus::{Bus, BusError, Message};
use omni_core::Channel;
use omni_core::config::{ChannelSpec, Config, UndeclaredChannel};
use omni_core::time::now_ms;
use omni_proto::adapter as pb;
use prost::Message as _;
use tracing::warn;

/// A channel's capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The channel.
    pub channel: Channel,
    /// Longest text the provider accepts, in characters; `None` for no limit.
    pub max_text_chars: Option<u32>,
    /// Whether messages may carry attachments.
    pub attachments: bool,
    /// Largest attachment, in bytes; `None` for no limit.
    pub max_attachment_bytes: Option<u64>,
    /// Whether text may be formatted.
    pub rich_text: bool,
    /// Whether the provider reports that the customer read a message.
    pub read_receipts: bool,
    /// Whether replies thread.
    pub threading: bool,
    /// Whether the contact center may write to the customer first.
    pub outbound_first: bool,
    /// The identity kind a customer has on this channel (`phone`, `email`).
    pub identity_kind: String,
    /// Whether a bot's quick-reply options show as buttons (chat).
    pub quick_replies: bool,
}

impl Capabilities {
    /// A channel with no limits and no features, customers known by
    /// `identity_kind`; set what the channel has.
    pub fn new(channel: Channel, identity_kind: impl Into<String>) -> Self {
        Self {
            channel,
            max_text_chars: None,
            attachments: false,
            max_attachment_bytes: None,
            rich_text: false,
            read_receipts: false,
            threading: false,
            outbound_first: false,
            identity_kind: identity_kind.into(),
            quick_replies: false,
        }
    }

    /// The capabilities `spec` declares for `channel`.
    pub fn from_spec(channel: Channel, spec: &ChannelSpec) -> Self {
        Self {
            channel,
            max_text_chars: Some(u32::try_from(spec.max_text_chars).unwrap_or(u32::MAX)),
            attachments: spec.attachments,
            max_attachment_bytes: (spec.max_attachment_bytes > 0)
                .then(|| u64::try_from(spec.max_attachment_bytes).unwrap_or(u64::MAX)),
            rich_text: spec.rich_text,
            read_receipts: spec.read_receipts,
            threading: spec.threading,
            outbound_first: spec.can_start,
            identity_kind: spec.identity.clone(),
            quick_replies: spec.quick_replies,
        }
    }

    /// `channel`'s capabilities as `config` declares them; logs the keys it
    /// still reads under an old name.
    pub fn declared(config: &Config, channel: Channel) -> Result<Self, UndeclaredChannel> {
        for line in config.deprecations(channel) {
            warn!(%channel, "{line}");
        }
        let set = config.channel_set();
        Ok(Self::from_spec(channel, set.require(channel)?))
    }

    /// These capabilities, if the adapter can deliver them: a declared text
    /// limit above `hard` is refused (naming both numbers), one below it
    /// is logged and kept.
    pub fn within(self, hard: &HardLimit) -> Result<Self, CapabilityError> {
        let channel = self.channel;
        let declared = self.max_text_chars.unwrap_or(u32::MAX);
        if declared > hard.max_text_chars {
            return Err(CapabilityError::Exceeds {
                channel,
                declared,
                deliverable: hard.max_text_chars,
                why: hard.why.clone(),
            });
        }
        if declared < hard.max_text_chars {
            warn!(
                %channel,
                declared,
                deliverable = hard.max_text_chars,
                why = %hard.why,
                "declared text limit is below what the adapter can deliver; the declared one applies"
            );
        }
        Ok(self)
    }

    /// Why `text` is too long for the channel, if it is.
    pub fn text_too_long(&self, text: &str) -> Option<String> {
        let max = self.max_text_chars?;
        let chars = text.chars().count();
        (chars > max as usize).then(|| {
            format!(
                "text of {chars} characters exceeds the {} channel's maximum of {max}",
                self.channel
            )
        })
    }

    /// Publishes the announcement (fan-out) for whoever listens now.
    pub async fn announce(&self, bus: &dyn Bus, adapter: &str) -> Result<(), BusError> {
        let announcement = pb::Announcement {
            capabilities: Some(pb::Capabilities::from(self)),
            adapter: adapter.to_owned(),
            at_ms: now_ms(),
        };
        bus.notify(Message::new(
            subjects::adapter_announce(self.channel),
            announcement.encode_to_vec(),
        ))
        .await
    }
}

impl From<&Capabilities> for pb::Capabilities {
    fn from(c: &Capabilities) -> Self {
        pb::Capabilities {
            channel: c.channel.to_string(),
            max_text_chars: c.max_text_chars.unwrap_or(0),
            attachments: c.attachments,
            max_attachment_bytes: c.max_attachment_bytes.unwrap_or(0),
            rich_text: c.rich_text,
            read_receipts: c.read_receipts,
            threading: c.threading,
            outbound_first: c.outbound_first,
            identity_kind: c.identity_kind.clone(),
            quick_replies: c.quick_replies,
        }
    }
}

/// A text limit an adapter has of its own, whatever the configuration says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardLimit {
    /// The most characters one message can carry.
    pub max_text_chars: u32,
    /// Where the limit comes from, e.g. `sms.max_segments = 10`.
    pub why: String,
}

/// Why an adapter cannot start with the declared capabilities.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// The channel is not declared.
    #[error(transparent)]
    Undeclared(#[from] UndeclaredChannel),
    /// The declared text limit is more than the adapter can deliver.
    #[error(
        "channels.{channel}.max_text_chars declares {declared} characters but the {channel} adapter can deliver at most {deliverable} ({why})"
    )]
    Exceeds {
        /// The channel.
        channel: Channel,
        /// The declared limit, in characters.
        declared: u32,
        /// The adapter's own limit, in characters.
        deliverable: u32,
        /// Where the adapter's limit comes from.
        why: String,
    },
}

/// A declaration names a channel this process does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("capabilities declare unknown channel {0:?}")]
pub struct UnknownChannel(pub String);

impl TryFrom<&pb::Capabilities> for Capabilities {
    type Error = UnknownChannel;

    fn try_from(c: &pb::Capabilities) -> Result<Self, Self::Error> {
        // A name from the wire only finds a channel this process already
        // knows: it never grows the process's table of names.
        let channel = Channel::known(&c.channel).map_err(|_| UnknownChannel(c.channel.clone()))?;
        Ok(Self {
            channel,
            max_text_chars: (c.max_text_chars > 0).then_some(c.max_text_chars),
            attachments: c.attachments,
            max_attachment_bytes: (c.max_attachment_bytes > 0).then_some(c.max_attachment_bytes),
            rich_text: c.rich_text,
            read_receipts: c.read_receipts,
            threading: c.threading,
            outbound_first: c.outbound_first,
            identity_kind: c.identity_kind.clone(),
            quick_replies: c.quick_replies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms() -> Capabilities {
        Capabilities {
            max_text_chars: Some(5),
            outbound_first: true,
            ..Capabilities::new("sms".parse().expect("sms"), "phone")
        }
    }

    #[test]
    fn the_proto_form_round_trips_and_zero_means_no_limit() {
        let caps = sms();
        let wire = pb::Capabilities::from(&caps);
        assert_eq!(wire.channel, "sms");
        assert_eq!(wire.max_text_chars, 5);
        assert_eq!(wire.max_attachment_bytes, 0);
        assert_eq!(Capabilities::try_from(&wire), Ok(caps));
        let unknown = pb::Capabilities {
            channel: "pigeon".into(),
            ..wire
        };
        assert_eq!(
            Capabilities::try_from(&unknown),
            Err(UnknownChannel("pigeon".into()))
        );
    }

    #[test]
    fn capabilities_are_what_the_configuration_declares() {
        let config = Config::parse(
            "[channels.cfg-caps]\nidentity = \"email\"\nmax_text_chars = 700\n\
             attachments = true\nmax_attachment_bytes = 2048\ncan_start = true\n\
             [[queues]]\nid = \"q\"\n",
        )
        .expect("config");
        config.validate().expect("valid");
        let channel = config.channel_set().find("cfg-caps").expect("declared");
        let caps = Capabilities::declared(&config, channel).expect("declared");
        assert_eq!(
            caps,
            Capabilities {
                max_text_chars: Some(700),
                attachments: true,
                max_attachment_bytes: Some(2048),
                outbound_first: true,
                ..Capabilities::new(channel, "email")
            }
        );
        let email = Capabilities::declared(&config, Channel::EMAIL).expect("email");
        assert!(email.threading && email.outbound_first && email.attachments);
        assert_eq!(email.identity_kind, "email");
        let chat = Capabilities::declared(&config, Channel::CHAT).expect("chat");
        assert_eq!(chat.max_text_chars, Some(4096));
        assert!(chat.read_receipts && !chat.outbound_first);
        let undeclared = Channel::parse("cfg-nowhere").expect("name");
        assert_eq!(
            Capabilities::declared(&config, undeclared),
            Err(UndeclaredChannel(undeclared))
        );
    }

    #[test]
    fn a_declared_limit_above_the_adapters_own_refuses_the_start() {
        let hard = HardLimit {
            max_text_chars: 1530,
            why: "sms.max_segments = 10".into(),
        };
        let over = Capabilities {
            max_text_chars: Some(4000),
            ..sms()
        };
        assert_eq!(
            over.within(&hard).unwrap_err().to_string(),
            "channels.sms.max_text_chars declares 4000 characters but the sms adapter can deliver at most 1530 (sms.max_segments = 10)"
        );
        let unlimited = Capabilities::new("sms".parse().expect("sms"), "phone");
        assert!(unlimited.within(&hard).is_err());
        let below = sms().within(&hard).expect("a lower limit is kept");
        assert_eq!(below.max_text_chars, Some(5));
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        let caps = sms();
        assert_eq!(caps.text_too_long("héllo"), None);
        let reason = caps.text_too_long("héllo!").expect("too long");
        assert_eq!(
            reason,
            "text of 6 characters exceeds the sms channel's maximum of 5"
        );
        let unlimited = Capabilities::new("sms".parse().expect("sms"), "phone");
        assert_eq!(unlimited.text_too_long(&"x".repeat(100_000)), None);
    }
}
