//! The channels a customer can reach the contact center on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A customer-facing channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Web chat over WebSocket.
    Chat,
    /// Email over SMTP.
    Email,
    /// SMS through a provider webhook or gateway.
    Sms,
}

impl Channel {
    /// Every channel, in a fixed order.
    pub const ALL: [Channel; 3] = [Channel::Chat, Channel::Email, Channel::Sms];

    /// The lowercase name used in subjects, config and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// A dense index, for per-channel arrays.
    pub fn index(self) -> usize {
        match self {
            Channel::Chat => 0,
            Channel::Email => 1,
            Channel::Sms => 2,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel name that is not one of `chat`, `email`, `sms`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?} (expected chat, email or sms)")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "chat" => Ok(Channel::Chat),
            "email" => Ok(Channel::Email),
            "sms" => Ok(Channel::Sms),
            other => Err(UnknownChannel(other.to_owned())),
        }
    }
}
