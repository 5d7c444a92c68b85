//! Typed identifiers. Generated ids are UUIDv7, so they sort by creation time.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered, globally unique id.
            pub fn generate() -> Self {
                Self(format!(concat!($prefix, "{}"), uuid::Uuid::now_v7().simple()))
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
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// A customer: one person, whatever channels they use.
    CustomerId,
    "cus_"
);
string_id!(
    /// A conversation: one customer's issue, across channels.
    ConversationId,
    "con_"
);
string_id!(
    /// One message in a conversation's timeline.
    MessageId,
    "msg_"
);
string_id!(
    /// An agent, as named in the configuration.
    AgentId,
    "agt_"
);
string_id!(
    /// A routing queue, as named in the configuration.
    QueueId,
    "que_"
);
