//! Declared channels and identity kinds: a WhatsApp number that is the
//! same person as an SMS number, and a message on an undeclared channel.

use std::time::Duration;

use omni_bus::topology::{ConsumerSpec, OUTBOUND};
use omni_context::ContextError;
use omni_core::config::Config;
use omni_core::trace::TraceContext;
use omni_core::{AgentId, Channel, Identity};
use omni_proto::events as ev;
use prost::Message as _;

use crate::support::{Harness, inbound, next};

/// What the WhatsApp adapter would consume.
const WHATSAPP_OUTBOUND: ConsumerSpec = ConsumerSpec {
    name: "ctx-whatsapp-outbound",
    stream: OUTBOUND.name,
    filter: "omni.outbound.ctx-whatsapp",
    ack_wait: Duration::from_secs(30),
    max_ack_pending: 16,
};

/// `whatsapp` declared with its identity kind, the same person as `phone`.
fn declare_whatsapp(config: &mut Config) {
    let text = r#"
        [channels.ctx-whatsapp]
        identity = "ctx-whatsapp"
        can_start = true
        [identities.ctx-whatsapp]
        normalize = "e164"
        same_person_as = "phone"
        [[queues]]
        id = "support"
    "#;
    let declared = Config::parse(text).expect("declaration");
    config.channels = declared.channels;
    config.identities = declared.identities;
}

#[tokio::test]
async fn a_whatsapp_number_is_the_customer_of_that_sms_number() {
    let h = Harness::start(declare_whatsapp).await;
    let whatsapp = Channel::known("ctx-whatsapp").expect("declared");
    let sms = h
        .service
        .ingest(
            &inbound(Identity::Phone("+12025550143".into()), "sms:1", "hi by sms"),
            TraceContext::new_root(),
        )
        .await
        .expect("sms");
    let mut message = inbound(
        Identity::Declared {
            kind: "ctx-whatsapp".into(),
            value: "+1 (202) 555-0143".into(),
        },
        "wa:1",
        "hi again on whatsapp",
    );
    message.channel = whatsapp;
    let wa = h
        .service
        .ingest(&message, TraceContext::new_root())
        .await
        .expect("whatsapp");
    assert_eq!(wa.customer.id, sms.customer.id, "one customer");
    assert_eq!(wa.conversation.id, sms.conversation.id, "one conversation");
    assert_eq!(wa.conversation.last_channel, whatsapp);
    assert_eq!(
        wa.customer.identities,
        [Identity::Phone("+12025550143".into())]
    );

    // A reply on WhatsApp goes to that number: the phone identity is of the
    // kind WhatsApp is the same person as.
    let mut out = h.consume(&WHATSAPP_OUTBOUND).await;
    let agent = AgentId::from("agt_alice");
    h.service
        .record_assignment(&wa.conversation.id, &agent, 1, TraceContext::new_root())
        .await
        .expect("assign");
    let reply = h
        .service
        .send_reply(
            &wa.conversation.id,
            &agent,
            "we see your order",
            "r1",
            Some(whatsapp),
            &omni_proto::auth::Caller::Service {
                account: "test".into(),
            },
            TraceContext::new_root(),
        )
        .await
        .expect("a whatsapp reply");
    assert_eq!(reply.channel, whatsapp);
    let sent =
        ev::OutboundMessage::decode(next(&mut out).await.payload.as_ref()).expect("outbound");
    let to = Identity::try_from(sent.to.expect("recipient")).expect("identity");
    assert_eq!(to, Identity::Phone("+12025550143".into()));
}

#[tokio::test]
async fn a_message_on_an_undeclared_channel_is_refused_with_its_name() {
    let h = Harness::start(|_| {}).await;
    let mut message = inbound(Identity::Phone("+12025550143".into()), "x:1", "hello");
    message.channel = Channel::parse("ctx-undeclared").expect("a name");
    let refused = h
        .service
        .ingest(&message, TraceContext::new_root())
        .await
        .expect_err("undeclared");
    assert!(
        matches!(&refused, ContextError::InvalidArgument(m)
            if m.contains("channel ctx-undeclared is not declared")),
        "{refused:?}"
    );
}
