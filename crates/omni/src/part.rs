//! Omniroute's parts and, in one place, what each needs: a bus, a store,
//! other parts' APIs, the API it serves and the port it listens on.
//! [`crate::distributed`], [`crate::parts::Listeners`] and the `omni`
//! banners all read it from here.

use std::net::SocketAddr;

use omni_core::config::Config;

/// One part of Omniroute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// Customers, conversations, history: consumes inbound messages, serves
    /// the context gRPC API.
    Context,
    /// Agents, queues, offers: consumes routing requests, serves the router
    /// gRPC API.
    Router,
    /// The web chat page and WebSocket, and chat deliveries.
    Chat,
    /// The agent desk page and API (a client of the context and router APIs).
    Desk,
    /// The SMS adapter: Twilio and Kannel webhooks, SMS deliveries.
    Sms,
    /// The email adapter: the inbound SMTP server, deliveries through a relay.
    Email,
    /// The webhook channel: a company's own app posting messages and
    /// receiving replies over signed HTTP.
    Webhook,
}

/// A port a process listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// gRPC: the APIs of the parts in the process, health, reflection
    /// (every process).
    Grpc,
    /// The web chat page and WebSocket.
    Chat,
    /// The agent desk page and API.
    Desk,
    /// SMS provider webhooks.
    Sms,
    /// Inbound SMTP.
    Smtp,
    /// The webhook channel's app-facing HTTP API (`webhook.listen`).
    Webhook,
    /// `/metrics` and `/healthz` of every process, kept off the public
    /// ports (the desk's included).
    Metrics,
}

impl Port {
    /// What listens there, for messages.
    pub fn what(self) -> &'static str {
        match self {
            Port::Grpc => "gRPC",
            Port::Chat => "web chat",
            Port::Desk => "the agent desk",
            Port::Sms => "SMS webhooks",
            Port::Smtp => "inbound SMTP",
            Port::Webhook => "the app webhook API",
            Port::Metrics => "metrics",
        }
    }

    /// Its configured address.
    pub fn addr(self, config: &Config) -> SocketAddr {
        let listen = &config.listen;
        match self {
            Port::Grpc => listen.grpc,
            Port::Chat => listen.chat,
            Port::Desk => listen.desk,
            Port::Sms => listen.sms,
            Port::Smtp => listen.smtp,
            Port::Webhook => config.webhook.listen,
            Port::Metrics => listen.metrics,
        }
    }

    /// The ports a process running `parts` listens on, gRPC first.
    pub fn needed(parts: &[Part]) -> Vec<Port> {
        let mut ports = vec![Port::Grpc];
        ports.extend(parts.iter().filter_map(|p| p.port()));
        ports.push(Port::Metrics);
        ports
    }
}

impl Part {
    /// Every part, in start order (APIs before their callers).
    pub const ALL: [Part; 7] = [
        Part::Context,
        Part::Router,
        Part::Chat,
        Part::Desk,
        Part::Sms,
        Part::Email,
        Part::Webhook,
    ];

    /// The core parts, in start order: what every deployment runs.
    pub const CORE: [Part; 4] = [Part::Context, Part::Router, Part::Chat, Part::Desk];

    /// What the embedded mode runs for `config`: the core parts, plus each
    /// channel adapter the configuration enables.
    pub fn embedded(config: &Config) -> Vec<Part> {
        let mut parts = Part::CORE.to_vec();
        if config.email.enabled {
            parts.push(Part::Email);
        }
        if config.sms.enabled {
            parts.push(Part::Sms);
        }
        if config.webhook.enabled {
            parts.push(Part::Webhook);
        }
        parts
    }

    /// The subcommand name.
    pub fn name(self) -> &'static str {
        match self {
            Part::Context => "context",
            Part::Router => "router",
            Part::Chat => "chat",
            Part::Desk => "desk",
            Part::Sms => "sms",
            Part::Email => "email",
            Part::Webhook => "webhook",
        }
    }

    /// Whether it consumes or publishes on the bus (all but the desk).
    pub fn needs_bus(self) -> bool {
        !matches!(self, Part::Desk)
    }

    /// Whether it keeps state in the store (the desk: accounts and
    /// sessions, so several desk replicas share them).
    pub fn needs_store(self) -> bool {
        matches!(self, Part::Context | Part::Router | Part::Desk)
    }

    /// The parts whose gRPC APIs it calls.
    pub fn calls(self) -> &'static [Part] {
        match self {
            Part::Chat => &[Part::Context],
            Part::Desk => &[Part::Context, Part::Router],
            Part::Context | Part::Router | Part::Sms | Part::Email | Part::Webhook => &[],
        }
    }

    /// The gRPC API it serves, besides health and reflection.
    pub fn api(self) -> Option<&'static str> {
        match self {
            Part::Context => Some("context"),
            Part::Router => Some("router"),
            Part::Chat | Part::Desk | Part::Sms | Part::Email | Part::Webhook => None,
        }
    }

    /// The port it listens on besides gRPC.
    pub fn port(self) -> Option<Port> {
        match self {
            Part::Chat => Some(Port::Chat),
            Part::Desk => Some(Port::Desk),
            Part::Sms => Some(Port::Sms),
            Part::Email => Some(Port::Smtp),
            Part::Webhook => Some(Port::Webhook),
            Part::Context | Part::Router => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_listens_where_its_parts_need() {
        assert_eq!(
            Port::needed(&Part::CORE),
            [Port::Grpc, Port::Chat, Port::Desk, Port::Metrics]
        );
        assert_eq!(
            Port::needed(&[Part::Desk]),
            [Port::Grpc, Port::Desk, Port::Metrics],
            "the desk's own process scrapes on the metrics port, not the desk's"
        );
        assert_eq!(Port::needed(&[Part::Router]), [Port::Grpc, Port::Metrics]);
        assert_eq!(
            Port::needed(&[Part::Webhook]),
            [Port::Grpc, Port::Webhook, Port::Metrics]
        );
        assert_eq!(
            Port::needed(&[Part::Email]),
            [Port::Grpc, Port::Smtp, Port::Metrics]
        );
        assert_eq!(
            Part::ALL.iter().filter(|p| !p.needs_bus()).count(),
            1,
            "only the desk runs without a bus"
        );
    }
}
