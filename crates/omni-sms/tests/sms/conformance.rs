//! The SMS adapter passes the adapter conformance kit: Twilio's webhook as
//! the provider's inbound side, the fake Twilio Messages API (error 21211
//! for an invalid `To`) as its outbound side, over the embedded bus and
//! over NATS.

use std::sync::Arc;

use async_trait::async_trait;
use omni_adapter::conformance::{CustomerMessage, Kit, ProviderAnswer, Subject};
use omni_adapter::{Capabilities, Provider};
use omni_bus::{Bus, EmbeddedBus};
use omni_bus_nats::NatsBus;
use omni_core::config::SmsProvider;
use omni_proto::common as pb;
use omni_sms::outbound::SmsOutbound;
use omni_testclients::twilio::{FakeTwilio, TwilioAccount};
use omni_testservers::nats::NatsServer;
use tokio::net::TcpListener;

use crate::support::*;

/// A recipient the fake refuses with Twilio's error 21211.
const INVALID_TO: &str = "+14155550199";

struct Sms {
    app: App,
    _fake: FakeTwilio,
}

fn phone(number: &str) -> pb::Identity {
    pb::Identity {
        kind: Some(pb::identity::Kind::Phone(number.into())),
    }
}

#[async_trait]
impl Subject for Sms {
    fn capabilities(&self) -> Capabilities {
        SmsOutbound(self.app.adapter.clone()).capabilities()
    }

    fn customer(&self) -> (String, pb::Identity) {
        (CUSTOMER.into(), phone(CUSTOMER))
    }

    async fn customer_writes(&self, message: &CustomerMessage) -> ProviderAnswer {
        let params = incoming(&message.provider_message_id, &message.from, &message.text);
        let response = self.app.post_sms(&params).await;
        match response.status.as_u16() {
            200..=299 => ProviderAnswer::Acknowledged,
            status => ProviderAnswer::NotAcknowledged {
                // Twilio retries (with its connection overrides) on 5xx only.
                retryable: status >= 500,
                detail: format!("{status} {}", String::from_utf8_lossy(&response.body)),
            },
        }
    }

    fn recipient(&self) -> pb::Identity {
        phone(CUSTOMER)
    }

    fn refused_recipient(&self) -> Option<(pb::Identity, String)> {
        Some((phone(INVALID_TO), "21211".into()))
    }
}

/// The SMS adapter on `kit`'s bus, over a fake Twilio that refuses
/// [`INVALID_TO`], with at most two segments per text.
async fn sms_on(kit: &Kit) -> Sms {
    let fake = FakeTwilio::start(&TwilioAccount {
        sid: ACCOUNT.into(),
        auth_token: TOKEN.into(),
    })
    .await
    .expect("fake Twilio API");
    fake.invalid_to(INVALID_TO);
    let mut config = config(SmsProvider::Twilio);
    config.sms.twilio.api_base = fake.api_base().to_owned();
    config.sms.max_segments = 2;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    Sms {
        app: App::serve(listener, kit.bus(), config).await,
        _fake: fake,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sms_adapter_passes_the_adapter_conformance_kit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("open bus");
    let kit = Kit::new(bus);
    let subject = sms_on(&kit).await;
    assert_eq!(subject.capabilities().max_text_chars, Some(306));

    let verdict = kit.check(&subject).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(verdict.skipped, [], "{verdict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sms_adapter_passes_the_kit_over_nats_too() {
    let nats = NatsServer::start().expect("nats-server");
    let bus: Arc<dyn Bus> = NatsBus::connect(&nats.url()).await.expect("connect");
    let kit = Kit::new(bus);
    let subject = sms_on(&kit).await;
    let verdict = kit.check(&subject).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(verdict.passed.len(), 8, "{verdict}");
}

#[tokio::test]
async fn a_declared_text_limit_above_what_the_segments_carry_refuses_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("open bus");
    let declare = |text: &str| {
        let mut config = config(SmsProvider::Twilio);
        config.channels = omni_core::config::Config::parse(text)
            .expect("channels")
            .channels;
        config.sms.max_segments = 2;
        config.sms.public_url = "http://127.0.0.1:9".into();
        config
    };
    let over = declare("[channels.sms]\nmax_text_chars = 400");
    let refused = omni_sms::SmsAdapter::new(bus.clone(), Arc::new(over))
        .err()
        .expect("refused");
    assert_eq!(
        refused.to_string(),
        "channels.sms.max_text_chars declares 400 characters but the sms adapter can deliver at most 306 (sms.max_segments = 2)"
    );
    let under = declare("[channels.sms]\nmax_text_chars = 200");
    let adapter = omni_sms::SmsAdapter::new(bus, Arc::new(under)).expect("a lower limit starts");
    assert_eq!(adapter.capabilities().max_text_chars, Some(200));
}
