//! The email adapter's section: the inbound SMTP server and the outbound
//! relay.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::{Config, ConfigError};

/// How the email adapter talks to its outbound SMTP relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// Plain SMTP (a relay on the same host or a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl std::str::FromStr for RelayTls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(RelayTls::None),
            "starttls" => Ok(RelayTls::Starttls),
            "tls" => Ok(RelayTls::Tls),
            other => Err(format!("{other:?} is not none, starttls or tls")),
        }
    }
}

/// Email adapter settings: the inbound SMTP server and the outbound relay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Whether this process runs the email adapter (SMTP server on
    /// `listen.smtp`, outbound through `relay`).
    pub enabled: bool,
    /// Domains whose mail the SMTP server accepts (case-insensitive); mail
    /// for any other domain is refused (never an open relay). Conversation
    /// reply addresses (`reply+<id>@<domain>`) must be at one of them.
    pub domains: Vec<String>,
    /// The name the SMTP server gives in its greeting and EHLO reply.
    pub hostname: String,
    /// Largest message accepted, in bytes (advertised with SIZE). The bus
    /// carries at most 1 MiB per message, attachments included.
    pub max_message_bytes: usize,
    /// Recipients accepted per message.
    pub max_recipients: usize,
    /// Seconds a client may stay silent before the server closes with 421.
    pub idle_timeout_secs: u64,
    /// Bad commands in one session before the server closes with 421.
    pub max_errors: u32,
    /// Seconds one SMTP session may last, however busy, before the server
    /// closes it with 421 (a real mail server reconnects).
    pub max_session_secs: u64,
    /// Sessions one client address may hold at once; more are turned away
    /// with 421, so one address cannot take every session.
    pub max_sessions_per_address: usize,
    /// Messages one client address may send per minute; past it, MAIL is
    /// answered 421 and the session closed (0: no limit).
    pub max_messages_per_minute: u32,
    /// Mailbox (full address, lowercase) to the topic its mail goes to,
    /// e.g. `{ "sales@example.com" = "sales" }`.
    pub topics: BTreeMap<String, String>,
    /// PEM certificate chain for STARTTLS on the SMTP server; without it
    /// (and `tls_key`) STARTTLS is not offered.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Whether sanitized HTML keeps remote images (`<img src="https://...">`).
    /// Off by default: a remote image tells the sender when an agent reads.
    pub allow_remote_images: bool,
    /// The outbound relay, `smtp://host:port`.
    pub relay: String,
    /// How to secure the relay connection: `none`, `starttls` or `tls`.
    pub relay_tls: RelayTls,
    /// A PEM CA certificate the relay's certificate may chain to, in
    /// addition to the system's roots (a private relay CA).
    pub relay_ca_cert: Option<PathBuf>,
    /// User for SMTP AUTH at the relay; no AUTH when unset.
    pub relay_user: Option<String>,
    /// Password for SMTP AUTH at the relay. Secret (never printed): set it
    /// with `OMNI_EMAIL_RELAY_PASSWORD`.
    pub relay_password: Option<SecretString>,
    /// Seconds one relay command may take.
    pub relay_timeout_secs: u64,
    /// The `From` address of outbound mail; must be at one of `domains`.
    /// Empty (the default): `support@<first of domains>`.
    pub from: String,
    /// The display name on outbound mail's `From`, e.g. `Example Support`.
    pub from_name: String,
    /// Per queue id, the `From` of replies in that queue's conversations,
    /// e.g. `{ billing = { address = "billing@example.com", name = "Example Billing" } }`;
    /// queues not listed use `from`/`from_name`.
    pub queue_from: BTreeMap<String, EmailSender>,
}

/// A `From` of outbound mail: an address and its display name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSender {
    /// The address, at one of `email.domains`.
    pub address: String,
    /// The display name.
    pub name: String,
}

/// A routing queue.
impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            domains: vec!["localhost".to_owned()],
            hostname: "localhost".to_owned(),
            max_message_bytes: 1024 * 1024,
            max_recipients: 50,
            idle_timeout_secs: 300,
            max_errors: 10,
            max_session_secs: 600,
            max_sessions_per_address: 16,
            max_messages_per_minute: 60,
            topics: BTreeMap::new(),
            tls_cert: None,
            tls_key: None,
            allow_remote_images: false,
            relay: "smtp://127.0.0.1:25".to_owned(),
            relay_tls: RelayTls::None,
            relay_ca_cert: None,
            relay_user: None,
            relay_password: None,
            relay_timeout_secs: 30,
            from: String::new(),
            from_name: "Support".to_owned(),
            queue_from: BTreeMap::new(),
        }
    }
}

impl EmailConfig {
    /// The `From` of replies in conversations of `queue` (the queue's own
    /// sender, else the default).
    pub fn sender(&self, queue: Option<&str>) -> EmailSender {
        if let Some(sender) = queue.and_then(|q| self.queue_from.get(q)) {
            return sender.clone();
        }
        let address = if self.from.is_empty() {
            format!(
                "support@{}",
                self.domains.first().map_or("localhost", String::as_str)
            )
        } else {
            self.from.clone()
        };
        EmailSender {
            address,
            name: self.from_name.clone(),
        }
    }

    /// Whether mail for `address` is ours: its domain is one of
    /// [`EmailConfig::domains`], compared case-insensitively.
    pub fn accepts(&self, address: &str) -> bool {
        match address.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() => self
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain.trim_end_matches('.'))),
            _ => false,
        }
    }

    /// The topic of mail delivered to `mailbox`, if one is configured.
    pub fn topic_for(&self, mailbox: &str) -> Option<&str> {
        self.topics
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(mailbox))
            .map(|(_, t)| t.as_str())
    }

    /// `host` and `port` of [`EmailConfig::relay`].
    pub fn relay_host_port(&self) -> Result<(String, u16), String> {
        let rest = self
            .relay
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("{:?} does not start with smtp://", self.relay))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{:?} has an invalid port", self.relay))?,
            ),
            None => (rest, 25),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{:?} has no host", self.relay));
        }
        Ok((host.to_owned(), port))
    }
}

impl Config {
    pub(super) fn validate_email(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let email = &self.email;
        if email.enabled
            && !email
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&self.context.reply_domain))
        {
            return invalid(format!(
                "context.reply_domain {:?} must be one of email.domains {:?}, or customers' replies to conversation reply addresses would be refused",
                self.context.reply_domain, email.domains
            ));
        }
        if email.domains.is_empty() {
            return invalid("email.domains: at least one domain is required".into());
        }
        for d in &email.domains {
            if d.is_empty() || d.contains('@') || d.contains(char::is_whitespace) {
                return invalid(format!("email.domains: {d:?} is not a domain name"));
            }
        }
        if email.hostname.is_empty() || email.hostname.contains(char::is_whitespace) {
            return invalid(format!(
                "email.hostname: {:?} is not a host name",
                email.hostname
            ));
        }
        if email.max_message_bytes < 1024 {
            return invalid(format!(
                "email.max_message_bytes ({}) must be at least 1024",
                email.max_message_bytes
            ));
        }
        if email.max_recipients == 0 {
            return invalid("email.max_recipients must be at least 1".into());
        }
        if email.idle_timeout_secs == 0 || email.relay_timeout_secs == 0 {
            return invalid(
                "email.idle_timeout_secs and email.relay_timeout_secs must be at least 1".into(),
            );
        }
        if email.max_errors == 0 {
            return invalid("email.max_errors must be at least 1".into());
        }
        if email.max_session_secs == 0 || email.max_sessions_per_address == 0 {
            return invalid(
                "email.max_session_secs and email.max_sessions_per_address must be at least 1"
                    .into(),
            );
        }
        if let Err(reason) = email.relay_host_port() {
            return invalid(format!("email.relay: {reason}"));
        }
        if email.tls_cert.is_some() != email.tls_key.is_some() {
            return invalid("email.tls_cert and email.tls_key must be set together".into());
        }
        if email.relay_user.is_some() != email.relay_password.is_some() {
            return invalid(
                "email.relay_user and email.relay_password must be set together".into(),
            );
        }
        let default_sender = ("email.from".to_owned(), email.sender(None));
        let queue_senders = email
            .queue_from
            .iter()
            .map(|(queue, sender)| (format!("email.queue_from.{queue}"), sender.clone()));
        for (key, sender) in std::iter::once(default_sender).chain(queue_senders) {
            match sender.address.rsplit_once('@') {
                Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {}
                _ => {
                    return invalid(format!(
                        "{key}: {:?} is not an email address",
                        sender.address
                    ));
                }
            }
            if !email.accepts(&sender.address) {
                return invalid(format!(
                    "{key}: {:?} is not at one of email.domains {:?}; replies would come from a domain this server does not receive for",
                    sender.address, email.domains
                ));
            }
            if sender.name.trim().is_empty() || sender.name.contains(['\r', '\n']) {
                return invalid(format!(
                    "{key}: the display name {:?} must be one non-empty line",
                    sender.name
                ));
            }
        }
        for queue in email.queue_from.keys() {
            if !self.queues.iter().any(|q| &q.id == queue) {
                return invalid(format!(
                    "email.queue_from.{queue}: {queue:?} is not one of the configured queues"
                ));
            }
        }
        for (mailbox, topic) in &email.topics {
            if !email.accepts(mailbox) {
                return invalid(format!(
                    "email.topics: {mailbox:?} is not an address at one of email.domains"
                ));
            }
            if !self.context.topics.contains_key(topic) {
                return invalid(format!(
                    "email.topics.{mailbox}: topic {topic:?} is not in context.topics"
                ));
            }
        }
        Ok(())
    }
}
