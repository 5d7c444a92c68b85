//! Declared channels and identity kinds: a WhatsApp number that is the
//! same person as an SMS number, and a message on an undeclared channel.

use omni_context::ContextError;
use omni_core::config::Config;
use omni_core::trace::TraceContext;
use omni_core::{Channel, Identity};

use crate::support::{Harness, inbound};

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
