//! Where a process listens and where it reaches the other parts, NATS and
//! Redis.

use std::net::SocketAddr;

use serde::Deserialize;

/// Listening addresses of the servers a process runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// gRPC: context and router APIs, health, reflection.
    pub grpc: SocketAddr,
    /// The web chat page and its WebSocket.
    pub chat: SocketAddr,
    /// The agent desk page and its HTTP/WebSocket API.
    pub desk: SocketAddr,
    /// The email adapter's SMTP server (inbound mail).
    pub smtp: SocketAddr,
    /// The SMS adapter's webhooks (Twilio, Kannel).
    pub sms: SocketAddr,
    /// Prometheus `/metrics` and `/healthz` of every process, in both modes:
    /// kept off the public ports (the desk's included), for the scraper only.
    pub metrics: SocketAddr,
}

/// The NATS JetStream server the distributed parts share.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URL, e.g. `nats://nats:4222`.
    pub url: String,
}

/// The Redis server the distributed context service and router keep state in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// Server URL, e.g. `redis://redis:6379`.
    pub url: String,
    /// Key prefix (and Cluster hash tag): every key is `{prefix}:...`.
    pub prefix: String,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".into(),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "omni".into(),
        }
    }
}

/// Where a part reaches the gRPC APIs of the others. In embedded mode both
/// default to this process's own gRPC listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connect {
    /// Context service URL, e.g. `http://context:7070`.
    pub context: Option<String>,
    /// Router service URL.
    pub router: Option<String>,
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            grpc: SocketAddr::from(([127, 0, 0, 1], 7070)),
            chat: SocketAddr::from(([127, 0, 0, 1], 8080)),
            desk: SocketAddr::from(([127, 0, 0, 1], 8081)),
            metrics: SocketAddr::from(([127, 0, 0, 1], 9100)),
            sms: SocketAddr::from(([127, 0, 0, 1], 8082)),
            smtp: SocketAddr::from(([127, 0, 0, 1], 2525)),
        }
    }
}
