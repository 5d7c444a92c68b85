//! How a customer is known on a channel.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Channel;

/// One identity of a customer. A customer may have many.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Identity {
    /// A web chat visitor id, issued by the chat adapter.
    ChatVisitor(String),
    /// An email address.
    Email(String),
    /// A phone number in E.164 form.
    Phone(String),
}

impl Identity {
    /// A stable key, unique across kinds: `chat:<id>`, `email:<addr>`, `phone:<e164>`.
    pub fn key(&self) -> String {
        match self {
            Identity::ChatVisitor(v) => format!("chat:{v}"),
            Identity::Email(v) => format!("email:{v}"),
            Identity::Phone(v) => format!("phone:{v}"),
        }
    }

    /// The channel a message to this identity goes out on.
    pub fn channel(&self) -> Channel {
        match self {
            Identity::ChatVisitor(_) => Channel::Chat,
            Identity::Email(_) => Channel::Email,
            Identity::Phone(_) => Channel::Sms,
        }
    }

    /// The raw value without its kind.
    pub fn value(&self) -> &str {
        match self {
            Identity::ChatVisitor(v) | Identity::Email(v) | Identity::Phone(v) => v,
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}
