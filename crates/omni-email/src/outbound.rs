//! Sends agents' replies through the SMTP relay and reports what became of
//! them.
//!
//! Consumes `email-outbound` (`omni.outbound.email`, `OutboundMessage`).
//! Each reply goes out as a `text/plain` UTF-8 mail (`MIME-Version: 1.0`;
//! with files the agent attached, `multipart/mixed`: the text, then each
//! file as an attachment with its name and type)
//! with `From` the conversation's queue's sender (`email.queue_from`) or
//! the default one (`email.from`, `email.from_name`), `Reply-To` the
//! conversation's reply address with the same display name,
//! `Message-ID`, `In-Reply-To`, `References` and `Subject` as the context
//! service gave them, so the customer's mail client files it in the
//! existing thread.
//!
//! | relay says | delivery | report on `omni.delivery.email` |
//! |---|---|---|
//! | `250` | ack | `SENT`, provider id = the relay's queue id |
//! | `5xx` | ack | `FAILED`, error = the relay's reply |
//! | `4xx`, connection refused, timeout, TLS failure | held, retried with backoff and jitter | none until the last attempt |
//! | still failing after [`MAX_ATTEMPTS`] | ack | `FAILED` |
//! | undecodable command | ack | none (no message id) |
//! | recipient not an email address | ack | `FAILED` |
//!
//! A report that cannot be published is retried a few times; if the bus
//! still refuses it, the delivery is nak'ed and the mail sent again later
//! with the same Message-ID (mail clients show one copy).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentType, MIME_VERSION_1_0};
use lettre::message::{Mailbox, MessageBuilder, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use omni_adapter::{
    Backoff, Capabilities, Outbound, OutboundOptions, Provider, ProviderError, ProviderReceipt,
};
use omni_bus::topology::EMAIL_OUTBOUND;
use omni_bus::{Bus, BusError};
use omni_core::config::{EmailConfig, EmailSender, RelayTls};
use omni_core::{Channel, DeliveryStatus};
use omni_proto::common::identity::Kind;
use omni_proto::events as ev;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::EmailAdapter;

/// Attempts at sending one reply before it is given up as failed (about
/// seven minutes with the backoff, 250 ms doubling to 16 s, with jitter).
pub const MAX_ATTEMPTS: u32 = 30;
/// Attempts at publishing one delivery report before the delivery is nak'ed.
const REPORT_ATTEMPTS: u32 = 3;

/// Why the relay could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// `email.relay` is not `smtp://host:port`.
    #[error("email.relay: {0}")]
    Address(String),
    /// TLS parameters could not be built.
    #[error("email.relay_tls: {0}")]
    Tls(#[from] lettre::transport::smtp::Error),
    /// `email.relay_ca_cert` cannot be read.
    #[error("email.relay_ca_cert {path}: {source}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The relay took it; its queue id (or its whole reply when it names none).
    Sent(String),
    /// The relay refused it for good (5xx), or the command is unusable.
    Failed(String),
    /// Try again later: 4xx, connection refused, timeout.
    Retry(String),
}

/// The SMTP relay client.
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The default `From`.
    from: Mailbox,
    /// Queue id to that queue's `From`.
    queue_from: HashMap<String, Mailbox>,
    hostname: String,
}

/// The mailbox of a configured sender.
fn mailbox(key: &str, sender: &EmailSender) -> Result<Mailbox, RelayError> {
    let address: Address = sender
        .address
        .parse()
        .map_err(|e| RelayError::Address(format!("{key} {:?}: {e}", sender.address)))?;
    Ok(Mailbox::new(Some(sender.name.clone()), address))
}

impl Relay {
    /// A client for `config.relay`, with the TLS mode and credentials configured.
    pub fn new(config: &EmailConfig) -> Result<Self, RelayError> {
        let (host, port) = config.relay_host_port().map_err(RelayError::Address)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(Duration::from_secs(config.relay_timeout_secs)))
            .hello_name(ClientId::Domain(config.hostname.clone()));
        builder = match config.relay_tls {
            RelayTls::None => builder.tls(Tls::None),
            RelayTls::Starttls => builder.tls(Tls::Required(tls_parameters(config, host)?)),
            RelayTls::Tls => builder.tls(Tls::Wrapper(tls_parameters(config, host)?)),
        };
        if let (Some(user), Some(password)) = (&config.relay_user, &config.relay_password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let queue_from = config
            .queue_from
            .iter()
            .map(|(queue, sender)| {
                Ok((
                    queue.clone(),
                    mailbox(&format!("email.queue_from.{queue}"), sender)?,
                ))
            })
            .collect::<Result<_, RelayError>>()?;
        Ok(Self {
            transport: builder.build(),
            from: mailbox("email.from", &config.sender(None))?,
            queue_from,
            hostname: config.hostname.clone(),
        })
    }

    /// Sends one outbound message.
    pub async fn send(&self, outbound: &ev::OutboundMessage) -> SendOutcome {
        let mail = match self.compose(outbound) {
            Ok(mail) => mail,
            Err(reason) => return SendOutcome::Failed(reason),
        };
        match self.transport.send(mail).await {
            Ok(response) => {
                let text = response.message().collect::<Vec<_>>().join(" ");
                let queue_id = text
                    .split_once("queued as ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .map(str::to_owned)
                    .unwrap_or(text);
                SendOutcome::Sent(queue_id)
            }
            Err(e) if e.is_permanent() => SendOutcome::Failed(e.to_string()),
            Err(e) => SendOutcome::Retry(e.to_string()),
        }
    }

    /// The mail for an outbound message, or why there is none.
    fn compose(&self, outbound: &ev::OutboundMessage) -> Result<lettre::Message, String> {
        let message = outbound
            .message
            .as_ref()
            .ok_or("outbound message without a message")?;
        let to = match outbound.to.as_ref().and_then(|t| t.kind.as_ref()) {
            Some(Kind::Email(address)) => address,
            _ => return Err("recipient is not an email address".to_owned()),
        };
        let to: Address = to
            .parse()
            .map_err(|e| format!("recipient {to:?} is not a valid address: {e}"))?;
        let threading = outbound.email.clone().unwrap_or_default();
        let message_id = if threading.message_id.is_empty() {
            format!("{}@{}", message.id, self.hostname)
        } else {
            threading.message_id.clone()
        };
        let subject = if threading.subject.trim().is_empty() {
            "Your conversation with us".to_owned()
        } else {
            threading.subject.clone()
        };
        let from = self
            .queue_from
            .get(&threading.queue)
            .unwrap_or(&self.from)
            .clone();
        let mut builder: MessageBuilder = lettre::Message::builder()
            .from(from.clone())
            .to(Mailbox::new(None, to))
            .subject(subject)
            .message_id(Some(bracket(&message_id)))
            .date_now();
        if !threading.reply_to.is_empty() {
            let reply_to: Address = threading
                .reply_to
                .parse()
                .map_err(|e| format!("reply-to {:?} is invalid: {e}", threading.reply_to))?;
            builder = builder.reply_to(Mailbox::new(from.name.clone(), reply_to));
        }
        if !threading.in_reply_to.is_empty() {
            builder = builder.in_reply_to(bracket(&threading.in_reply_to));
        }
        let references: Vec<String> = threading
            .references
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| bracket(r))
            .collect();
        if !references.is_empty() {
            builder = builder.references(references.join(" "));
        }
        if message.agent_id.is_empty() {
            // No agent wrote it: an automatic answer (RFC 3834), which
            // well-behaved autoresponders do not answer in turn.
            builder = builder.header(AutoSubmitted);
        }
        // The customer's message it answers, quoted under the reply.
        let quoted = message.email.as_ref().map_or("", |e| e.quoted.as_str());
        let text = if quoted.is_empty() {
            message.text.clone()
        } else {
            format!("{}\n\n{quoted}\n", message.text.trim_end())
        };
        if !outbound.attachments.is_empty() {
            // multipart/mixed: the text, then each file the agent attached.
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(text));
            for file in &outbound.attachments {
                let content_type = ContentType::parse(&file.content_type)
                    .map_err(|e| format!("attachment {:?} has an invalid type: {e}", file.name))?;
                parts = parts.singlepart(
                    lettre::message::Attachment::new(file.name.clone())
                        .body(file.content.clone(), content_type),
                );
            }
            return builder
                .multipart(parts)
                .map_err(|e| format!("cannot build the mail: {e}"));
        }
        // RFC 2045: a mail with MIME headers (Content-Type) declares MIME-Version.
        builder
            .header(MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| format!("cannot build the mail: {e}"))
    }
}

/// `Auto-Submitted: auto-replied` (RFC 3834): marks a message of the
/// service that no agent wrote, such as a full queue's answer.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-replied".to_owned())
    }
}

/// TLS for the relay connection: the system's roots plus `relay_ca_cert`.
fn tls_parameters(config: &EmailConfig, host: String) -> Result<TlsParameters, RelayError> {
    let mut builder = TlsParameters::builder(host);
    if let Some(path) = &config.relay_ca_cert {
        let pem = std::fs::read(path).map_err(|source| RelayError::CaCert {
            path: path.display().to_string(),
            source,
        })?;
        builder = builder.add_root_certificate(Certificate::from_pem(&pem)?);
    }
    Ok(builder.build()?)
}

/// `<id>`.
fn bracket(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

/// Email as the `omni-adapter` outbound consumer drives it: the relay's
/// answer mapped to a receipt or a provider error, with the channel's
/// capabilities as `[channels.email]` declares them.
pub struct EmailProvider(pub Relay, pub Capabilities);

#[async_trait]
impl Provider for EmailProvider {
    fn name(&self) -> String {
        concat!("omni-email/", env!("CARGO_PKG_VERSION")).to_owned()
    }

    fn capabilities(&self) -> Capabilities {
        self.1.clone()
    }

    async fn send(&self, outbound: &Outbound) -> Result<ProviderReceipt, ProviderError> {
        let command = ev::OutboundMessage {
            attachments: outbound.attachments.clone(),
            message: Some(outbound.message.clone()),
            to: outbound.to.clone(),
            email: outbound.email.clone(),
        };
        let message_id = &outbound.message.id;
        let trace_id = outbound.trace.trace_id_hex();
        match self.0.send(&command).await {
            SendOutcome::Sent(queue_id) => {
                info!(%trace_id, %message_id, %queue_id, "email sent");
                Ok(ProviderReceipt {
                    provider_message_id: queue_id,
                    status: DeliveryStatus::Sent,
                })
            }
            SendOutcome::Failed(reason) => Err(ProviderError::refused(reason)),
            SendOutcome::Retry(reason) => Err(ProviderError::retryable(reason)),
        }
    }
}

/// Runs the outbound consumer until `shutdown`.
pub async fn run(
    adapter: Arc<EmailAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let relay = Relay::new(&adapter.config().email).map_err(|e| {
        error!(error = %e, "email relay misconfigured");
        BusError::Unavailable(e.to_string())
    })?;
    let capabilities = Capabilities::declared(adapter.config(), Channel::EMAIL)
        .map_err(|e| BusError::Unavailable(e.to_string()))?;
    info!(relay = %adapter.config().email.relay, "email outbound consumer running");
    let options = OutboundOptions {
        backoff: Backoff {
            max_attempts: MAX_ATTEMPTS,
            ..Backoff::default()
        },
        report_attempts: REPORT_ATTEMPTS,
        // Sent again with the same Message-ID: mail clients show one copy.
        resend_when_report_lost: true,
        metric: "omni_email_deliveries_total",
        report_metric: "omni_email_delivery_reports_total",
        ..OutboundOptions::default()
    };
    omni_adapter::outbound::run(
        Arc::new(EmailProvider(relay, capabilities)),
        bus,
        &EMAIL_OUTBOUND,
        options,
        shutdown,
    )
    .await
}

#[cfg(test)]
mod tests {
    use omni_proto::common as pb;

    use super::*;

    fn relay() -> Relay {
        let config = EmailConfig {
            domains: vec!["support.test".into()],
            from: "support@support.test".into(),
            from_name: "Example Support".into(),
            queue_from: [(
                "billing".to_owned(),
                EmailSender {
                    address: "billing@support.test".into(),
                    name: "Example Billing".into(),
                },
            )]
            .into(),
            hostname: "mx.support.test".into(),
            ..EmailConfig::default()
        };
        Relay::new(&config).unwrap()
    }

    fn outbound(to: Kind, threading: Option<ev::EmailOutbound>) -> ev::OutboundMessage {
        ev::OutboundMessage {
            attachments: Vec::new(),
            message: Some(pb::Message {
                id: "m_1".into(),
                conversation_id: "c_1".into(),
                agent_id: "alice".into(),
                text: "Your parcel left today.\nRegards".into(),
                ..Default::default()
            }),
            to: Some(pb::Identity { kind: Some(to) }),
            email: threading,
        }
    }

    #[test]
    fn only_a_message_no_agent_wrote_is_marked_auto_submitted() {
        let text = |agent: &str| {
            let mut out = outbound(Kind::Email("ann@example.com".into()), None);
            if let Some(m) = out.message.as_mut() {
                m.agent_id = agent.into();
            }
            String::from_utf8(relay().compose(&out).unwrap().formatted()).unwrap()
        };
        assert!(!text("alice").contains("Auto-Submitted"));
        assert!(text("").contains("Auto-Submitted: auto-replied"));
    }

    #[test]
    fn the_customers_message_is_quoted_under_the_reply() {
        let mut out = outbound(Kind::Email("ann@example.com".into()), None);
        if let Some(m) = out.message.as_mut() {
            m.email = Some(pb::EmailView {
                quoted: "On 2026-12-06, ann@example.com wrote:\n> Where is it?".into(),
                ..Default::default()
            });
        }
        let raw = relay().compose(&out).unwrap().formatted();
        // Read back as the inbound side reads mail: the new text, then the quote.
        let parsed = crate::mime::parse(&raw).unwrap();
        let split = crate::quote::split(&parsed.text);
        assert_eq!(split.new.trim(), "Your parcel left today.\nRegards");
        assert!(split.quoted.contains("> Where is it?"), "{}", split.quoted);
    }

    #[test]
    fn files_go_as_a_multipart_mail_after_the_text() {
        let mut out = outbound(Kind::Email("ann@example.com".into()), None);
        out.attachments = vec![ev::Attachment {
            name: "invoice 42.pdf".into(),
            content_type: "application/pdf".into(),
            size: 9,
            content: b"%PDF-1.4\n".to_vec(),
        }];
        let raw = relay().compose(&out).unwrap().formatted();
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.contains("Content-Type: multipart/mixed"), "{text}");
        // Read back as the inbound side reads mail: the text, then the file.
        let parsed = crate::mime::parse(&raw).unwrap();
        assert_eq!(parsed.text.trim(), "Your parcel left today.\nRegards");
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].name, "invoice 42.pdf");
        assert_eq!(parsed.attachments[0].content_type, "application/pdf");
        assert_eq!(parsed.attachments[0].content, b"%PDF-1.4\n");
        // Without files it stays one text/plain part.
        let plain = outbound(Kind::Email("ann@example.com".into()), None);
        let plain = String::from_utf8(relay().compose(&plain).unwrap().formatted()).unwrap();
        assert!(plain.contains("Content-Type: text/plain") && !plain.contains("multipart"));
    }

    #[test]
    fn composes_threading_headers() {
        let mail = relay()
            .compose(&outbound(
                Kind::Email("ann@example.com".into()),
                Some(ev::EmailOutbound {
                    message_id: "out1@support.test".into(),
                    in_reply_to: "m2@mail.example.com".into(),
                    references: vec!["m1@support.test".into(), "m2@mail.example.com".into()],
                    subject: "Re: Where is my parcel?".into(),
                    reply_to: "reply+c_1@support.test".into(),
                    queue: "general".into(),
                }),
            ))
            .unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        for header in [
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Message-ID: <out1@support.test>",
            "In-Reply-To: <m2@mail.example.com>",
            "References: <m1@support.test> <m2@mail.example.com>",
            "Subject: Re: Where is my parcel?",
            "Reply-To: \"Example Support\" <reply+c_1@support.test>",
            "From: \"Example Support\" <support@support.test>",
            "To: ann@example.com",
        ] {
            assert!(text.contains(header), "{header} missing in\n{text}");
        }
    }

    #[test]
    fn a_queue_with_its_own_sender_sends_from_it() {
        let mail = relay()
            .compose(&outbound(
                Kind::Email("ann@example.com".into()),
                Some(ev::EmailOutbound {
                    reply_to: "reply+c_1@support.test".into(),
                    queue: "billing".into(),
                    ..Default::default()
                }),
            ))
            .unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(
            text.contains("From: \"Example Billing\" <billing@support.test>"),
            "{text}"
        );
        assert!(
            text.contains("Reply-To: \"Example Billing\" <reply+c_1@support.test>"),
            "{text}"
        );
    }

    #[test]
    fn the_default_sender_is_at_the_first_domain_with_a_display_name() {
        let config = EmailConfig {
            domains: vec!["example.com".into()],
            ..EmailConfig::default()
        };
        let mail = Relay::new(&config)
            .unwrap()
            .compose(&outbound(Kind::Email("ann@example.org".into()), None))
            .unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(
            text.contains("From: Support <support@example.com>"),
            "{text}"
        );
    }

    #[test]
    fn unusable_commands_fail_with_a_reason() {
        let r = relay();
        let err = r
            .compose(&outbound(Kind::Phone("+15550100".into()), None))
            .unwrap_err();
        assert!(err.contains("not an email address"), "{err}");
        let err = r
            .compose(&outbound(Kind::Email("not an address".into()), None))
            .unwrap_err();
        assert!(err.contains("not a valid address"), "{err}");
    }

    #[test]
    fn missing_threading_gets_a_message_id_and_subject() {
        let mail = relay()
            .compose(&outbound(Kind::Email("ann@example.com".into()), None))
            .unwrap();
        let text = String::from_utf8(mail.formatted()).unwrap();
        assert!(text.contains("Message-ID: <m_1@mx.support.test>"), "{text}");
        assert!(
            text.contains("Subject: Your conversation with us"),
            "{text}"
        );
    }
}
