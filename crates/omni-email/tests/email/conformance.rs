//! The email adapter passes the adapter conformance kit: Python's smtplib
//! as the customer's mail server, the adapter's SMTP server as its inbound
//! side, a real SMTP sink (aiosmtpd) as the relay.

use std::sync::Arc;

use async_trait::async_trait;
use omni_adapter::conformance::{CustomerMessage, Kit, ProviderAnswer, Subject};
use omni_adapter::{Capabilities, Provider};
use omni_bus::{Bus, EmbeddedBus};
use omni_email::outbound::{EmailProvider, Relay};
use omni_proto::common as pb;
use omni_testservers::smtp::SmtpSink;
use tokio_util::sync::CancellationToken;

use crate::support::{self, Server, smtplib};

const CUSTOMER: &str = "ann@example.com";

struct Email {
    server: Server,
    capabilities: Capabilities,
    _outbound: CancellationToken,
}

fn email(address: &str) -> pb::Identity {
    pb::Identity {
        kind: Some(pb::identity::Kind::Email(address.into())),
    }
}

#[async_trait]
impl Subject for Email {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn customer(&self) -> (String, pb::Identity) {
        (CUSTOMER.into(), email(CUSTOMER))
    }

    async fn customer_writes(&self, message: &CustomerMessage) -> ProviderAnswer {
        let code = format!(
            "\nmsg = EmailMessage()\nmsg['From'] = '{}'\nmsg['To'] = 'help@support.test'\n\
             msg['Subject'] = 'conformance'\nmsg['Message-ID'] = '<{}@mail.example.com>'\n\
             msg.set_content('{}')\n",
            message.from, message.provider_message_id, message.text
        );
        let out = smtplib(self.server.port, &code).await;
        match out.trim().strip_prefix("ERR ") {
            None if out.starts_with("OK") => ProviderAnswer::Acknowledged,
            // A 4xx makes the sending server try again; a 5xx bounces.
            Some(reply) => ProviderAnswer::NotAcknowledged {
                retryable: reply.starts_with('4'),
                detail: reply.to_owned(),
            },
            None => ProviderAnswer::NotAcknowledged {
                retryable: false,
                detail: out,
            },
        }
    }

    fn recipient(&self) -> pb::Identity {
        email(CUSTOMER)
    }

    fn refused_recipient(&self) -> Option<(pb::Identity, String)> {
        let phone = pb::Identity {
            kind: Some(pb::identity::Kind::Phone("+14155552671".into())),
        };
        Some((phone, "recipient is not an email address".into()))
    }
}

// The sink is read with blocking waits: the consumer needs its own worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_adapter_passes_the_adapter_conformance_kit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
    let kit = Kit::new(bus);
    let sink = SmtpSink::start().expect("smtp sink");
    let mut config = support::config();
    config.email.relay = sink.url();
    let capabilities = EmailProvider(
        Relay::new(&config.email).expect("relay"),
        Capabilities::declared(&config, omni_core::Channel::EMAIL).expect("email declared"),
    )
    .capabilities();
    let server = Server::start_on(kit.bus(), config.clone()).await;
    let adapter = omni_email::EmailAdapter::new(kit.bus(), Arc::new(config));
    let outbound = CancellationToken::new();
    tokio::spawn(omni_email::outbound::run(
        adapter,
        kit.bus(),
        outbound.clone(),
    ));
    let subject = Email {
        server,
        capabilities,
        _outbound: outbound,
    };

    let verdict = kit.check(&subject).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    // `[channels.email]` declares 16384 characters: the kit checks it too.
    assert_eq!(subject.capabilities.max_text_chars, Some(16384));
    assert_eq!(verdict.skipped, [], "{verdict}");
    drop(sink);
}
