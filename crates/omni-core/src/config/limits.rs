//! The `[limits]` section: what one network address may hold and ask of the
//! HTTP servers (chat, desk, SMS webhooks), how many new conversations a
//! chat visitor or an address may start, how many contacts a queue holds
//! and what a customer hears when it is full.
//!
//! The defaults are sized so that a whole contact center behind one NAT
//! address never meets them (500 agents opening the desk at the start of a
//! shift: 20 files each and a few connections; a company's customers on the
//! chat), while one attacker cannot hold the servers' sockets or flood the
//! queues.

use serde::Deserialize;

use super::Cidr;

/// Per-address limits of the HTTP servers and the chat's bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// How long a client may take to send a request's headers, from the
    /// connection (or the end of the previous response) on, in milliseconds;
    /// slower connections are closed.
    pub header_read_timeout_ms: u64,
    /// Open connections one address may hold on each HTTP server.
    pub connections_per_address: u32,
    /// Requests (a WebSocket upgrade included) one address may make per
    /// second on each HTTP server, sustained.
    pub requests_per_second: u32,
    /// Requests one address may make at once above the sustained rate.
    pub request_burst: u32,
    /// Chat messages one address may send per second over its WebSockets,
    /// sustained; beyond it (and [`Self::chat_message_burst`]) the socket is
    /// closed with 1008.
    pub chat_messages_per_second: u32,
    /// Chat messages one address may send at once above the sustained rate.
    pub chat_message_burst: u32,
    /// New conversations one chat visitor may start per
    /// [`Self::conversation_window_secs`].
    pub conversations_per_visitor: u32,
    /// New conversations the chat visitors of one address may start per
    /// [`Self::conversation_window_secs`].
    pub conversations_per_address: u32,
    /// The window of the two conversation bounds, in seconds.
    pub conversation_window_secs: u64,
    /// Contacts one queue holds at most (waiting or offered), for queues
    /// that set no `max_waiting` of their own. A new contact for a full
    /// queue goes to its overflow queue if that has room, else it is
    /// refused and the customer gets [`Self::queue_full_answer`].
    pub max_waiting_per_queue: u32,
    /// The automatic answer a customer gets when their conversation is
    /// refused because its queue is full.
    pub queue_full_answer: String,
    /// Addresses or networks (`10.0.0.0/8`) of the reverse proxies and load
    /// balancers in front of the HTTP servers: from them, the client's
    /// address for every per-address limit comes from `Forwarded` /
    /// `X-Forwarded-For` (the right-most hop that is not one of these);
    /// from anyone else those headers are ignored.
    pub trusted_proxies: Vec<String>,
}

/// The default of [`LimitsConfig::queue_full_answer`].
pub const QUEUE_FULL_ANSWER: &str = "All our agents are busy right now and we cannot take new conversations. Please try again later.";

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            connections_per_address: 4096,
            requests_per_second: 500,
            request_burst: 5000,
            chat_messages_per_second: 50,
            chat_message_burst: 200,
            conversations_per_visitor: 10,
            conversations_per_address: 500,
            conversation_window_secs: 3600,
            max_waiting_per_queue: 1000,
            queue_full_answer: QUEUE_FULL_ANSWER.to_owned(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl LimitsConfig {
    /// The trusted proxies' networks (checked by `Config::validate`; an
    /// entry that does not parse is left out).
    pub fn proxies(&self) -> Vec<Cidr> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| Cidr::parse(p).ok())
            .collect()
    }

    /// Checks that every limit allows something.
    pub(super) fn check(&self) -> Result<(), String> {
        let positive = [
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            (
                "connections_per_address",
                u64::from(self.connections_per_address),
            ),
            ("requests_per_second", u64::from(self.requests_per_second)),
            ("request_burst", u64::from(self.request_burst)),
            (
                "chat_messages_per_second",
                u64::from(self.chat_messages_per_second),
            ),
            ("chat_message_burst", u64::from(self.chat_message_burst)),
            (
                "conversations_per_visitor",
                u64::from(self.conversations_per_visitor),
            ),
            (
                "conversations_per_address",
                u64::from(self.conversations_per_address),
            ),
            ("conversation_window_secs", self.conversation_window_secs),
            (
                "max_waiting_per_queue",
                u64::from(self.max_waiting_per_queue),
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("limits.{key} must be at least 1"));
        }
        if self.queue_full_answer.trim().is_empty() {
            return Err("limits.queue_full_answer must not be empty".into());
        }
        for proxy in &self.trusted_proxies {
            Cidr::parse(proxy).map_err(|e| format!("limits.trusted_proxies: {e}"))?;
        }
        Ok(())
    }
}
