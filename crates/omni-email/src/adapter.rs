//! The email adapter's state and inbound path: a received message becomes
//! the canonical `InboundMessage` on `omni.inbound.email`.
//!
//! [`EmailAdapter::accept`] parses the MIME (on the blocking pool),
//! separates the new text from quotes and signature, sanitizes the HTML,
//! and publishes durably with the Message-ID as idempotency key. The SMTP
//! session answers `250` only when this returns `Ok`.

use std::net::SocketAddr;
use std::sync::Arc;

use omni_adapter::{Inbound, InboundError};
use omni_bus::{Bus, BusError};
use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_core::{Attachment, Channel, EmailDetails, Identity, IdentityNormalizer, InboundMessage};
use tracing::{Instrument, info, warn};

use crate::mime::{self, MimeError, ParsedEmail};
use crate::{html, quote};

/// Local-part prefix of conversation reply addresses (`reply+<id>@<domain>`).
pub const REPLY_PREFIX: &str = "reply+";

/// The SMTP envelope of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The client's address.
    pub peer: SocketAddr,
    /// The name the client gave in EHLO/HELO.
    pub helo: String,
    /// MAIL FROM; empty for the null sender `<>`.
    pub mail_from: String,
    /// Accepted RCPT TO addresses, in order, all at configured domains.
    pub rcpt_to: Vec<String>,
}

impl Envelope {
    /// The recipient the message is filed under: the first conversation
    /// reply address among the recipients, else the first recipient.
    pub fn primary_recipient(&self) -> &str {
        self.rcpt_to
            .iter()
            .find(|r| r.to_ascii_lowercase().starts_with(REPLY_PREFIX))
            .or(self.rcpt_to.first())
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// A message durably on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Its idempotency key (the Message-ID).
    pub key: String,
    /// The bus had it already (a client's retry).
    pub duplicate: bool,
}

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Nothing usable could be extracted from the MIME.
    #[error("malformed message: {0}")]
    Malformed(#[from] MimeError),
    /// Neither the From header nor the envelope names a sender.
    #[error("no sender address in From or MAIL FROM")]
    NoSender,
    /// The decoded message is larger than the bus carries.
    #[error("decoded message of {size} bytes exceeds the bus limit of {limit} bytes")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The bus limit.
        limit: usize,
    },
    /// The bus cannot take it now; the client should retry.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// The bus is closed: the process is shutting down.
    #[error("shutting down")]
    ShuttingDown,
    /// The canonical message breaks the adapter contract (an idempotency
    /// key too long to be a message id).
    #[error("invalid message: {0}")]
    Invalid(String),
}

impl AcceptError {
    /// The SMTP reply for this error (RFC 5321 code, RFC 3463 enhanced code).
    pub fn reply(&self) -> String {
        match self {
            AcceptError::Malformed(e) => format!("550 5.6.0 message rejected: {e}"),
            AcceptError::NoSender => "550 5.1.7 message has no sender address".to_owned(),
            AcceptError::Invalid(reason) => format!("550 5.6.0 message rejected: {reason}"),
            AcceptError::TooLarge { limit, .. } => {
                format!("552 5.3.4 message too large after decoding (limit {limit} bytes)")
            }
            AcceptError::Unavailable(_) => {
                "451 4.3.0 temporarily unable to accept the message, try again later".to_owned()
            }
            AcceptError::ShuttingDown => {
                "421 4.3.2 service shutting down, try again later".to_owned()
            }
        }
    }
}

impl From<InboundError> for AcceptError {
    fn from(e: InboundError) -> Self {
        match e {
            InboundError::Bus(e) => e.into(),
            // The key is the sender and the Message-ID, both checked
            // before; a contract breach here is the message's fault.
            InboundError::Invalid(reason) => AcceptError::Invalid(reason),
        }
    }
}

impl From<BusError> for AcceptError {
    fn from(e: BusError) -> Self {
        match e {
            BusError::TooLarge { size, limit } => AcceptError::TooLarge { size, limit },
            BusError::Closed => AcceptError::ShuttingDown,
            other => AcceptError::Unavailable(other.to_string()),
        }
    }
}

/// The email adapter.
pub struct EmailAdapter {
    bus: Arc<dyn Bus>,
    config: Arc<Config>,
    normalizer: IdentityNormalizer,
    publisher: Inbound,
}

impl EmailAdapter {
    /// An adapter publishing to `bus`, configured by `config.email`.
    pub fn new(bus: Arc<dyn Bus>, config: Arc<Config>) -> Arc<Self> {
        // A bad region is refused by the configuration's validation; here
        // it only affects phone numbers, which mail does not carry.
        let normalizer = config.context.normalizer().unwrap_or_default();
        Arc::new(Self {
            publisher: Inbound::new(bus.clone(), Channel::EMAIL),
            bus,
            config,
            normalizer,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bus.
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Parses `raw` and publishes it durably; returns once the bus has it.
    pub async fn accept(&self, envelope: &Envelope, raw: Vec<u8>) -> Result<Accepted, AcceptError> {
        let span = tracing::info_span!(
            "email.accept",
            peer = %envelope.peer,
            to = %envelope.primary_recipient()
        );
        let root = omni_telemetry::start_trace(&span);
        let trace = omni_telemetry::outgoing(&span, &root);

        let allow_remote_images = self.config.email.allow_remote_images;
        let size = raw.len();
        // MIME decoding and HTML sanitizing are CPU work: off the async workers.
        let parsed = tokio::task::spawn_blocking(move || {
            mime::parse(&raw).map(|p| {
                let html = if p.html.is_empty() {
                    String::new()
                } else {
                    html::sanitize(&p.html, allow_remote_images)
                };
                (p, html)
            })
        })
        .await
        .map_err(|e| AcceptError::Unavailable(format!("parser task failed: {e}")))?;
        let (parsed, sanitized_html) = match parsed {
            Ok(p) => p,
            Err(e) => {
                warn!(trace_id = %trace.trace_id_hex(), peer = %envelope.peer, size, error = %e, "email rejected: malformed MIME");
                return Err(e.into());
            }
        };
        for problem in &parsed.problems {
            warn!(trace_id = %trace.trace_id_hex(), message_id = %parsed.message_id, %problem, "email accepted with a decoding problem");
        }
        if let Some(reason) = &parsed.malformed {
            warn!(trace_id = %trace.trace_id_hex(), message_id = %parsed.message_id, %reason, "email accepted with malformed mime: text recovered, original attached");
            omni_telemetry::count!(
                "omni_email_malformed_total",
                "inbound emails accepted with malformed MIME",
                &[]
            );
        }
        if parsed.message_id_derived {
            info!(trace_id = %trace.trace_id_hex(), message_id = %parsed.message_id, "email without Message-ID: derived one from its bytes");
        }

        let message = self.inbound(envelope, &parsed, sanitized_html)?;
        let key = message.idempotency_key.clone();
        match self
            .publisher
            .publish(&message, &root)
            .instrument(span)
            .await
        {
            Ok(ack) => {
                info!(
                    trace_id = %trace.trace_id_hex(),
                    key = %key,
                    to = %envelope.primary_recipient(),
                    attachments = parsed.attachments.len(),
                    duplicate = ack.duplicate,
                    "email accepted"
                );
                Ok(Accepted {
                    key,
                    duplicate: ack.duplicate,
                })
            }
            Err(e) => {
                warn!(trace_id = %trace.trace_id_hex(), key = %key, error = %e, "email not accepted: bus refused it");
                Err(e.into())
            }
        }
    }

    /// The canonical inbound message for a parsed email.
    fn inbound(
        &self,
        envelope: &Envelope,
        parsed: &ParsedEmail,
        html: String,
    ) -> Result<InboundMessage, AcceptError> {
        let sender = parsed
            .from_address
            .as_deref()
            .or((!envelope.mail_from.is_empty()).then_some(envelope.mail_from.as_str()))
            .ok_or(AcceptError::NoSender)?;
        let to = envelope.primary_recipient().to_owned();
        let from = sender_identity(&self.normalizer, sender);
        let split = quote::split(&parsed.text);
        let text = match &parsed.malformed {
            Some(reason) => format!("{}\n\n{}", malformed_note(reason), split.new),
            None => split.new,
        };
        Ok(InboundMessage {
            idempotency_key: idempotency_key(&from, &parsed.message_id),
            channel: Channel::EMAIL,
            from,
            text,
            received_at_ms: now_ms(),
            topic: self.config.email.topic_for(&to).map(str::to_owned),
            display_name: parsed.from_name.clone(),
            email: Some(EmailDetails {
                message_id: parsed.message_id.clone(),
                in_reply_to: (!parsed.in_reply_to.is_empty()).then(|| parsed.in_reply_to.clone()),
                references: parsed.references.clone(),
                subject: parsed.subject.clone(),
                to,
                html,
                quoted: split.quoted,
                signature: split.signature,
                attachments: parsed
                    .attachments
                    .iter()
                    .map(|a| Attachment {
                        name: a.name.clone(),
                        content_type: a.content_type.clone(),
                        content: a.content.clone(),
                    })
                    .collect(),
            }),
            sms: None,
        })
    }
}

/// The line that tells the agent a message's MIME was broken.
pub fn malformed_note(reason: &str) -> String {
    format!(
        "[This email was malformed ({reason}): the text below is what could be recovered; the original is attached as {}]",
        mime::ORIGINAL_NAME
    )
}

/// The idempotency key of an inbound email: its Message-ID scoped by channel
/// and sender (`email:<sender>:<Message-ID>`). The Message-ID is the
/// sender's choice: unscoped, one sender could claim the key of another
/// sender's mail, or of an SMS or chat message, and have it dropped as a
/// duplicate. Messages stored before keep the bare Message-ID they were
/// stored under; keys are compared, never parsed.
pub fn idempotency_key(from: &Identity, message_id: &str) -> String {
    format!("{}:{message_id}", from.key())
}

/// The sender's identity, normalized as everywhere else (see
/// [`IdentityNormalizer`]: the domain lowercased and IDNA-encoded, the local
/// part kept as sent); an address the normalizer refuses is kept trimmed, as
/// the context service keeps it.
pub fn sender_identity(normalizer: &IdentityNormalizer, address: &str) -> Identity {
    normalizer
        .email(address)
        .unwrap_or_else(|_| Identity::Email(address.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(rcpts: &[&str]) -> Envelope {
        Envelope {
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            helo: "client".into(),
            mail_from: "a@example.com".into(),
            rcpt_to: rcpts.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn reply_address_is_the_primary_recipient() {
        assert_eq!(
            envelope(&["sales@s.test", "Reply+c_9@s.test"]).primary_recipient(),
            "Reply+c_9@s.test"
        );
        assert_eq!(
            envelope(&["sales@s.test", "help@s.test"]).primary_recipient(),
            "sales@s.test"
        );
    }

    #[test]
    fn senders_are_normalized_like_every_identity() {
        let n = IdentityNormalizer::default();
        assert_eq!(
            sender_identity(&n, " Ann.B@Example.COM "),
            Identity::Email("Ann.B@example.com".into())
        );
        assert_eq!(
            sender_identity(&n, "Ann@BÜCHER.example"),
            n.email("Ann@xn--bcher-kva.example").unwrap(),
            "the same identity the context service makes of it"
        );
        assert_eq!(
            sender_identity(&n, "root@localhost"),
            Identity::Email("root@localhost".into())
        );
    }

    #[test]
    fn bus_errors_map_to_smtp_replies() {
        assert!(
            AcceptError::from(BusError::Unavailable("x".into()))
                .reply()
                .starts_with("451 4.3.0")
        );
        assert!(
            AcceptError::from(BusError::Closed)
                .reply()
                .starts_with("421 ")
        );
        assert!(
            AcceptError::from(BusError::TooLarge { size: 2, limit: 1 })
                .reply()
                .starts_with("552 5.3.4")
        );
        assert!(
            AcceptError::Malformed(MimeError::Empty)
                .reply()
                .starts_with("550 5.6.0")
        );
    }
}
