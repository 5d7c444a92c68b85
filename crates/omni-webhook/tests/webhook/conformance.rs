//! The webhook adapter passes the adapter conformance kit: the app's signed
//! POSTs as the provider's inbound side, the app's webhook (a real HTTP
//! peer that refuses one customer with 422) as its outbound side, over the
//! embedded bus and over NATS.

use std::sync::Arc;

use async_trait::async_trait;
use omni_adapter::conformance::{CustomerMessage, Kit, ProviderAnswer, Subject};
use omni_adapter::{Capabilities, Provider};
use omni_bus::{Bus, EmbeddedBus};
use omni_bus_nats::NatsBus;
use omni_proto::common as pb;
use omni_testservers::nats::NatsServer;
use omni_webhook::outbound::WebhookOutbound;
use tokio::net::TcpListener;

use crate::support::*;

/// A customer the app refuses replies for.
const BLOCKED: &str = "blocked-user";

struct Webhook {
    app: App,
    _peer: Peer,
}

#[async_trait]
impl Subject for Webhook {
    fn capabilities(&self) -> Capabilities {
        WebhookOutbound::new(
            self.app.adapter.clone(),
            self.app.bus.clone(),
            quick_backoff(),
        )
        .capabilities()
    }

    fn customer(&self) -> (String, pb::Identity) {
        (CUSTOMER.into(), app_identity(CUSTOMER))
    }

    async fn customer_writes(&self, message: &CustomerMessage) -> ProviderAnswer {
        let answer = self
            .app
            .customer_writes(&message.provider_message_id, &message.from, &message.text)
            .await;
        match answer.status.as_u16() {
            200..=299 => ProviderAnswer::Acknowledged,
            status => ProviderAnswer::NotAcknowledged {
                // The app retries on 5xx, as documented.
                retryable: status >= 500,
                detail: format!("{status} {}", String::from_utf8_lossy(&answer.body)),
            },
        }
    }

    fn recipient(&self) -> pb::Identity {
        app_identity(CUSTOMER)
    }

    fn refused_recipient(&self) -> Option<(pb::Identity, String)> {
        Some((app_identity(BLOCKED), "user_blocked".into()))
    }
}

/// The peer refuses replies to [`BLOCKED`]: it answers each reply in
/// order, so the kit's refused reply gets a 422 by its content.
async fn webhook_on(kit: &Kit) -> Webhook {
    let peer = Peer::start_refusing(BLOCKED).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    Webhook {
        app: App::serve(listener, kit.bus(), config(&peer.url)).await,
        _peer: peer,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_adapter_passes_the_adapter_conformance_kit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("open bus");
    let kit = Kit::new(bus);
    let subject = webhook_on(&kit).await;
    assert_eq!(subject.capabilities().max_text_chars, Some(200));
    let verdict = kit.check(&subject).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(verdict.skipped, [], "{verdict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_adapter_passes_the_kit_over_nats_too() {
    let nats = NatsServer::start().expect("nats-server");
    let bus: Arc<dyn Bus> = NatsBus::connect(&nats.url()).await.expect("connect");
    let kit = Kit::new(bus);
    let subject = webhook_on(&kit).await;
    let verdict = kit.check(&subject).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(verdict.passed.len(), 8, "{verdict}");
}
