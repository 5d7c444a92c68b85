//! The chat's bounds on what one address and one visitor may ask of it:
//! messages per address (a flood of frames never reaches the bus), and new
//! conversations per visitor and per address in a window (a visitor flood,
//! a fresh visitor id per message, cannot fill the queues). Over a bound the
//! message is refused before it is accepted, with a `rate_limited` error
//! frame the page shows; nothing is dropped silently.
//!
//! A message counts as a new conversation when the session knows of no
//! conversation for its visitor: none at `hello`, and none accepted since.

use std::net::IpAddr;
use std::time::Duration;

use omni_core::config::LimitsConfig;
use omni_web::limit::{RateLimit, message};

use crate::ChatError;

/// The bounds of one chat server, shared by its connections.
pub struct Bounds {
    messages: RateLimit<IpAddr>,
    per_visitor: RateLimit<String>,
    per_address: RateLimit<IpAddr>,
}

impl Bounds {
    /// The bounds of `limits`.
    pub fn new(limits: &LimitsConfig) -> Self {
        let window = Duration::from_secs(limits.conversation_window_secs);
        Self {
            messages: RateLimit::per_second(
                limits.chat_messages_per_second,
                limits.chat_message_burst,
            ),
            per_visitor: RateLimit::per_period(limits.conversations_per_visitor, window),
            per_address: RateLimit::per_period(limits.conversations_per_address, window),
        }
    }

    /// Takes one message from `peer`'s allowance (no address: not limited).
    pub fn message(&self, peer: Option<IpAddr>) -> Result<(), ChatError> {
        match peer.map(|ip| self.messages.check(&ip)) {
            Some(Err(retry)) => Err(ChatError::Limited(message("messages", retry))),
            _ => Ok(()),
        }
    }

    /// Takes one new conversation from `peer`'s and `visitor`'s allowances.
    pub fn new_conversation(&self, peer: Option<IpAddr>, visitor: &str) -> Result<(), ChatError> {
        if let Some(Err(retry)) = peer.map(|ip| self.per_address.check(&ip)) {
            return Err(ChatError::Limited(message("new conversations", retry)));
        }
        self.per_visitor
            .check(&visitor.to_owned())
            .map_err(|retry| {
                ChatError::Limited(format!(
                    "you have started too many conversations; retry in {} s",
                    retry.as_secs().max(1)
                ))
            })
    }

    /// Forgets the addresses and visitors whose allowance is full again.
    pub fn forget_idle(&self) {
        self.messages.forget_idle();
        self.per_visitor.forget_idle();
        self.per_address.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_conversations_are_bounded_per_visitor_and_per_address() {
        let limits = LimitsConfig {
            conversations_per_visitor: 2,
            conversations_per_address: 3,
            ..LimitsConfig::default()
        };
        let bounds = Bounds::new(&limits);
        let ip = Some(IpAddr::from([192, 0, 2, 1]));
        assert!(bounds.new_conversation(ip, "v_a").is_ok());
        assert!(bounds.new_conversation(ip, "v_a").is_ok());
        let refused = bounds.new_conversation(ip, "v_a").unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        assert!(
            refused.to_string().contains("too many conversations"),
            "{refused}"
        );
        // The address's third (the refused one above took one too).
        assert!(bounds.new_conversation(ip, "v_b").is_err());
        // Another address is not held to this one's bound.
        assert!(
            bounds
                .new_conversation(Some(IpAddr::from([192, 0, 2, 2])), "v_c")
                .is_ok()
        );
    }

    #[test]
    fn messages_are_bounded_per_address() {
        let limits = LimitsConfig {
            chat_messages_per_second: 1,
            chat_message_burst: 3,
            ..LimitsConfig::default()
        };
        let bounds = Bounds::new(&limits);
        let ip = Some(IpAddr::from([192, 0, 2, 1]));
        for n in 0..3 {
            assert!(bounds.message(ip).is_ok(), "message {n} of the burst");
        }
        // One a second comes back: a tight loop soon meets a refusal.
        let error = (0..1000)
            .find_map(|_| bounds.message(ip).err())
            .expect("a refusal");
        assert_eq!(error.code(), "rate_limited");
        assert!(error.to_string().contains("too many messages"), "{error}");
        // Not limited without an address (the routes called in-process).
        assert!(bounds.message(None).is_ok());
    }
}
