//! What a channel can carry, as its adapter declares it, and the
//! announcement an adapter publishes on start
//! (`omni.adapter.announce.<channel>`, `adapter.v1.Announcement`).

use omni_bus::topology::subjects;
use omni_bus::{Bus, BusError, Message};
use omni_core::Channel;
use omni_core::time::now_ms;
use omni_proto::adapter as pb;
use prost::Message as _;

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
        }
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
        }
    }
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
