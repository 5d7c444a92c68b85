//! The `[limits]` section: what one network address may hold and ask of the
//! HTTP servers (chat, desk, SMS webhooks), and how many new conversations a
//! chat visitor or an address may start.
//!
//! The defaults are sized so that a whole contact center behind one NAT
//! address never meets them (500 agents opening the desk at the start of a
//! shift: 20 files each and a few connections; a company's customers on the
//! chat), while one attacker cannot hold the servers' sockets or flood the
//! queues.

use serde::Deserialize;

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
}

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
        }
    }
}

impl LimitsConfig {
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
        ];
        match positive.iter().find(|(_, v)| *v == 0) {
            Some((key, _)) => Err(format!("limits.{key} must be at least 1")),
            None => Ok(()),
        }
    }
}
