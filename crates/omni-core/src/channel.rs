//! The channels a customer can reach the contact center on.
//!
//! A channel is a name, not a variant in the code: `chat`, `email` and
//! `sms` are built in, and a deployment declares more in its configuration
//! (see [`crate::config::ChannelSet`]). A [`Channel`] is a small copyable
//! handle into a process-wide, append-only table of names (the interner):
//!
//! - names are `[a-z][a-z0-9_-]{0,31}`, so they fit subjects
//!   (`omni.inbound.<name>`), metric labels and config keys as they are;
//! - the table holds at most [`MAX_CHANNELS`] names; interning a bad name or
//!   a name beyond the bound is an error value ([`ChannelError`]), never a
//!   panic;
//! - `chat`, `email` and `sms` sit at the fixed slots 0, 1 and 2
//!   ([`Channel::CHAT`], [`Channel::EMAIL`], [`Channel::SMS`]), so their
//!   order (and `Ord`) is the one the closed enum had;
//! - a name is interned once and never removed: [`Channel::as_str`] is a
//!   lock-free read returning a `&'static str`.
//!
//! [`Channel::parse`] (and `FromStr`, and serde) intern a valid name; it is
//! what configuration and stored data use. Input from outside the process
//! (an API body, a proto name field) goes through [`Channel::known`], which
//! only finds names already interned, so a caller cannot fill the table.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The most distinct channel names one process holds.
pub const MAX_CHANNELS: usize = 64;

/// The longest channel name, in bytes.
pub const MAX_CHANNEL_NAME_BYTES: usize = 32;

const BUILT_IN_NAMES: [&str; 3] = ["chat", "email", "sms"];

/// Names beyond the built-in ones, by slot; a slot is set once.
static NAMES: [OnceLock<&'static str>; MAX_CHANNELS] = [const { OnceLock::new() }; MAX_CHANNELS];
/// Slots in use (built-in ones included); only grows.
static USED: AtomicUsize = AtomicUsize::new(BUILT_IN_NAMES.len());
/// Serializes interning, so one name never takes two slots.
static INTERNING: Mutex<()> = Mutex::new(());

/// A customer-facing channel: a handle to an interned name (see the module
/// docs). Ordered by slot: built-in channels first, then in the order the
/// names were first interned.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Channel(u16);

/// Why a name is not a channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Not of the form `[a-z][a-z0-9_-]{0,31}`.
    #[error("invalid channel name {0:?} (expected [a-z][a-z0-9_-]{{0,31}})")]
    BadName(String),
    /// The process already holds [`MAX_CHANNELS`] names.
    #[error("channel {name:?} would exceed the limit of {limit} channel names")]
    Full {
        /// The name that did not fit.
        name: String,
        /// The bound.
        limit: usize,
    },
}

/// A channel name that is not known to this process (not built in, not
/// declared, never interned).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?}")]
pub struct UnknownChannel(pub String);

impl Channel {
    /// Web chat over WebSocket.
    pub const CHAT: Channel = Channel(0);
    /// Email over SMTP.
    pub const EMAIL: Channel = Channel(1);
    /// SMS through a provider webhook or gateway.
    pub const SMS: Channel = Channel(2);
    /// The built-in channels, in slot order.
    pub const BUILT_IN: [Channel; 3] = [Channel::CHAT, Channel::EMAIL, Channel::SMS];

    /// The channel named `name`, interning the name on first use.
    pub fn parse(name: &str) -> Result<Channel, ChannelError> {
        if let Some(found) = Self::find(name) {
            return Ok(found);
        }
        if !is_valid_name(name) {
            return Err(ChannelError::BadName(shown(name)));
        }
        // A poisoned lock only means another thread panicked while holding
        // it; the table itself is always consistent (slots are set once).
        let _guard = INTERNING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = Self::find(name) {
            return Ok(found);
        }
        let slot = USED.load(Ordering::Acquire);
        if slot >= MAX_CHANNELS {
            return Err(ChannelError::Full {
                name: name.to_owned(),
                limit: MAX_CHANNELS,
            });
        }
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let _ = NAMES[slot].set(leaked);
        USED.store(slot + 1, Ordering::Release);
        Ok(Channel(slot as u16))
    }

    /// The channel named `name` if that name is already interned; never
    /// interns (for input from outside the process).
    pub fn known(name: &str) -> Result<Channel, UnknownChannel> {
        Self::find(name).ok_or_else(|| UnknownChannel(shown(name)))
    }

    fn find(name: &str) -> Option<Channel> {
        let used = USED.load(Ordering::Acquire);
        (0..used)
            .find(|&slot| slot_name(slot) == name)
            .map(|slot| Channel(slot as u16))
    }

    /// The lowercase name used in subjects, config, metrics and APIs.
    pub fn as_str(self) -> &'static str {
        slot_name(usize::from(self.0))
    }

    /// The channel's slot in the process-wide table (below
    /// [`MAX_CHANNELS`]); stable for the life of the process only.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Whether this is one of `chat`, `email`, `sms`.
    pub fn is_built_in(self) -> bool {
        usize::from(self.0) < BUILT_IN_NAMES.len()
    }
}

fn slot_name(slot: usize) -> &'static str {
    match BUILT_IN_NAMES.get(slot) {
        Some(name) => name,
        // A `Channel` is only made for a slot whose name is set.
        None => NAMES.get(slot).and_then(|n| n.get().copied()).unwrap_or(""),
    }
}

/// Whether `name` is `[a-z][a-z0-9_-]{0,31}`.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b'a'..=b'z'))
        && bytes.len() <= MAX_CHANNEL_NAME_BYTES
        && bytes
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

fn shown(raw: &str) -> String {
    const MAX: usize = 48;
    if raw.len() <= MAX {
        return raw.to_owned();
    }
    let mut end = MAX;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &raw[..end])
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Channel({})", self.as_str())
    }
}

impl FromStr for Channel {
    type Err = ChannelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::parse(s)
    }
}

impl Serialize for Channel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Channel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Channel::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_channels_keep_their_names_slots_and_order() {
        assert_eq!(Channel::CHAT.as_str(), "chat");
        assert_eq!(Channel::EMAIL.as_str(), "email");
        assert_eq!(Channel::SMS.as_str(), "sms");
        assert!(Channel::CHAT < Channel::EMAIL && Channel::EMAIL < Channel::SMS);
        assert_eq!(Channel::parse("sms"), Ok(Channel::SMS));
        assert_eq!(Channel::known("email"), Ok(Channel::EMAIL));
        assert!(Channel::SMS.is_built_in());
    }

    #[test]
    fn a_new_name_is_interned_once_and_round_trips() {
        let a = Channel::parse("whatsapp-test").expect("valid name");
        let b: Channel = "whatsapp-test".parse().expect("same name");
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "whatsapp-test");
        assert!(!a.is_built_in());
        assert_eq!(Channel::known("whatsapp-test"), Ok(a));
        let json = serde_json::to_string(&a).expect("serialize");
        assert_eq!(json, "\"whatsapp-test\"");
        assert_eq!(serde_json::from_str::<Channel>(&json).expect("back"), a);
        assert_eq!(
            serde_json::from_str::<Channel>("\"chat\"").expect("old data"),
            Channel::CHAT
        );
    }

    #[test]
    fn bad_names_are_errors_and_lookups_never_intern() {
        for bad in ["", "Chat", "1sms", "with space", "é", &"a".repeat(33)] {
            assert!(
                matches!(Channel::parse(bad), Err(ChannelError::BadName(_))),
                "{bad:?}"
            );
        }
        assert!(Channel::known("never-interned-here").is_err());
        assert!(Channel::known("never-interned-here").is_err());
        assert!(serde_json::from_str::<Channel>("\"NOPE\"").is_err());
    }
}
