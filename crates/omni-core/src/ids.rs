//! Typed identifiers. Generated ids are UUIDv7, so they sort by creation time.
//!
//! Ids the router copies into every offer and event (conversations, agents,
//! queues) share their text (`Arc<str>`): a copy is a reference count, not
//! an allocation. Customer and message ids own theirs (`String`): they are
//! rarely copied, and a `String` is smaller once its text is counted.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $repr:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($repr);

        impl $name {
            /// A new, time-ordered, globally unique id.
            pub fn generate() -> Self {
                Self(format!(concat!($prefix, "{}"), uuid::Uuid::now_v7().simple()).into())
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s.into())
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.into())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }
    };
}

string_id!(
    /// A customer: one person, whatever channels they use.
    CustomerId,
    "cus_",
    String
);
string_id!(
    /// A conversation: one customer's issue, across channels.
    ConversationId,
    "con_",
    Arc<str>
);
string_id!(
    /// One message in a conversation's timeline.
    MessageId,
    "msg_",
    String
);
string_id!(
    /// An agent, as named in the configuration.
    AgentId,
    "agt_",
    Arc<str>
);
string_id!(
    /// A routing queue, as named in the configuration.
    QueueId,
    "que_",
    Arc<str>
);
