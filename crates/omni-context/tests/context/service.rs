//! The service's rules over a real bus and store.

use futures_util::StreamExt;
use omni_bus::Message;
use omni_bus::topology::{EMAIL_OUTBOUND, ROUTER_REQUESTS, SMS_OUTBOUND, subjects};
use omni_context::ContextError;
use omni_core::trace::TraceContext;
use omni_core::{
    AgentId, Attachment, Channel, DeliveryStatus, EmailDetails, Identity, OptChange, SmsDetails,
};
use omni_proto::{common as pb, events as ev};
use prost::Message as _;

use crate::support::{Harness, eventually, inbound, next};

fn trace() -> TraceContext {
    TraceContext::new_root()
}

fn email(
    from: &str,
    key: &str,
    to: &str,
    subject: &str,
    in_reply_to: Option<&str>,
) -> omni_core::InboundMessage {
    let mut m = inbound(Identity::Email(from.into()), key, "new text only");
    m.email = Some(EmailDetails {
        message_id: key.into(),
        in_reply_to: in_reply_to.map(str::to_owned),
        references: in_reply_to.into_iter().map(str::to_owned).collect(),
        subject: subject.into(),
        to: to.into(),
        html: "<p>new text only</p>".into(),
        quoted: "> what we said before".into(),
        signature: "-- \nAna".into(),
        attachments: vec![Attachment {
            name: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4 test".to_vec(),
        }],
    });
    m
}

/// A visitor starts on chat, the agent links their email and phone (typed
/// in any spelling); email (to the reply address, with a changed subject,
/// and from an address nobody knew) and SMS continue the same conversation;
/// the agent's email reply is threaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_chat_email_and_sms() {
    across_channels(&Harness::start(|_| {}).await).await;
}

/// The same on the distributed path: NATS JetStream and Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_channels_on_nats_and_redis() {
    across_channels(&Harness::start_distributed().await).await;
}

async fn across_channels(h: &Harness) {
    let mut email_out = h.consume(&EMAIL_OUTBOUND).await;
    let mut requests = h.consume(&ROUTER_REQUESTS).await;
    let service = &h.service;
    let visitor = Identity::ChatVisitor("v-0123456789abcdef".into());

    let chat = service
        .ingest(
            &inbound(visitor.clone(), "chat:v:1", "hello from chat"),
            trace(),
        )
        .await
        .expect("chat");
    let conversation = chat.conversation.id.clone();
    let customer = chat.customer.id.clone();
    let linked = service
        .link_identity(
            &customer,
            &Identity::Email("Ana@BÜCHER.example".into()),
            "agt_alice",
            "customer confirmed on chat",
            true,
        )
        .await
        .expect("link email");
    assert!(
        linked
            .customer
            .identities
            .contains(&Identity::Email("Ana@xn--bcher-kva.example".into()))
    );
    service
        .link_identity(
            &customer,
            &Identity::Phone("(202) 555-0143".into()),
            "agt_alice",
            "customer confirmed on chat",
            true,
        )
        .await
        .expect("link phone");
    let bad = service
        .link_identity(
            &customer,
            &Identity::Phone("call me maybe".into()),
            "agt_alice",
            "x",
            true,
        )
        .await
        .expect_err("unparsable phone");
    assert!(
        matches!(&bad, ContextError::InvalidArgument(m) if m.contains("invalid phone number")),
        "{bad}"
    );

    // Email from the linked address, written with the Unicode domain.
    let mut events = h
        .bus
        .subscribe(subjects::CONVERSATION_EVENTS)
        .await
        .expect("subscribe");
    let first = service
        .ingest(
            &email(
                "Ana@bücher.example",
                "m1@mail.example",
                "support@example.com",
                "Order 42",
                None,
            ),
            trace(),
        )
        .await
        .expect("email");
    assert_eq!(
        first.conversation.id, conversation,
        "email continues the chat conversation"
    );
    // Watchers learn that the conversation's last channel is now email.
    let last_channel = loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
            .await
            .expect("a conversation update after the change of channel")
            .expect("open");
        let event = ev::ConversationEvent::decode(msg.payload.as_ref()).expect("event");
        if let Some(ev::conversation_event::Kind::Updated(c)) = event.kind {
            break c.last_channel;
        }
    };
    assert_eq!(last_channel, pb::Channel::Email as i32);
    // The router is asked again, on email: it counts the conversation on the
    // channel it is on now.
    let mut asked = Vec::new();
    for _ in 0..2 {
        let request = ev::RoutingRequest::decode(next(&mut requests).await.payload.as_ref())
            .expect("routing request");
        asked.push((request.conversation_id, request.channel));
    }
    assert_eq!(
        asked,
        [
            (conversation.to_string(), pb::Channel::Chat as i32),
            (conversation.to_string(), pb::Channel::Email as i32),
        ]
    );
    let stored = first.message.email.clone().expect("email details");
    assert_eq!(stored.quoted, "> what we said before");
    assert_eq!(stored.attachments[0].name, "invoice.pdf");
    let attachment = service
        .attachment(&conversation, first.message.seq, 1)
        .await
        .expect("attachment");
    assert_eq!(attachment.content, b"%PDF-1.4 test");
    assert_eq!(attachment.info.content_type, "application/pdf");

    // The agent answers by email: threaded on the customer's mail.
    h.service
        .record_assignment(&conversation, &AgentId::from("agt_alice"), 1, trace())
        .await
        .expect("assign");
    let reply = service
        .send_reply(
            &conversation,
            &AgentId::from("agt_alice"),
            "we are on it",
            "r1",
            Some(Channel::EMAIL),
            &as_service(),
            trace(),
        )
        .await
        .expect("email reply");
    let out =
        ev::OutboundMessage::decode(next(&mut email_out).await.payload.as_ref()).expect("outbound");
    let threading = out.email.expect("email threading");
    assert_eq!(threading.message_id, format!("{}@reply.test", reply.id));
    assert_eq!(threading.in_reply_to, "m1@mail.example");
    assert_eq!(threading.references, vec!["m1@mail.example".to_owned()]);
    assert_eq!(threading.subject, "Re: Order 42");
    assert_eq!(
        threading.reply_to,
        format!("reply+{conversation}@reply.test")
    );
    assert_eq!(
        out.to,
        Some(pb::Identity::from(&Identity::Email(
            "Ana@xn--bcher-kva.example".into()
        )))
    );

    // A reply with another subject, In-Reply-To our message, from the customer.
    let second = service
        .ingest(
            &email(
                "Ana@xn--bcher-kva.example",
                "m2@mail.example",
                "support@example.com",
                "totally different",
                Some(&threading.message_id),
            ),
            trace(),
        )
        .await
        .expect("threaded reply");
    assert_eq!(second.conversation.id, conversation);

    // Somebody nobody knew writes to the reply address: same thread, the
    // sender only an unverified participant (anyone can write there), and
    // replies still go to the customer's verified address.
    let colleague = service
        .ingest(
            &email(
                "bob@partner.example",
                "m3@partner.example",
                &format!("reply+{conversation}@REPLY.test"),
                "fwd",
                None,
            ),
            trace(),
        )
        .await
        .expect("reply address");
    assert_eq!(colleague.conversation.id, conversation);
    let bob = Identity::Email("bob@partner.example".into());
    assert!(!colleague.customer.identities.contains(&bob));
    assert_eq!(colleague.customer.unverified, vec![bob]);
    service
        .send_reply(
            &conversation,
            &AgentId::from("agt_alice"),
            "still on it",
            "r2",
            Some(Channel::EMAIL),
            &as_service(),
            trace(),
        )
        .await
        .expect("second email reply");
    let out =
        ev::OutboundMessage::decode(next(&mut email_out).await.payload.as_ref()).expect("outbound");
    assert_eq!(
        out.to,
        Some(pb::Identity::from(&Identity::Email(
            "Ana@xn--bcher-kva.example".into()
        ))),
        "the reply goes to the verified customer, not the new sender"
    );

    // SMS from the linked phone, in E.164 as a provider sends it.
    let sms = service
        .ingest(
            &inbound(Identity::Phone("+12025550143".into()), "SM1", "texting now"),
            trace(),
        )
        .await
        .expect("sms");
    assert_eq!(sms.conversation.id, conversation);

    let timeline = service
        .store()
        .messages(&conversation, 0, 100)
        .await
        .expect("timeline");
    let channels: Vec<Channel> = timeline.iter().map(|m| m.channel).collect();
    assert_eq!(
        channels,
        vec![
            Channel::CHAT,
            Channel::EMAIL,
            Channel::EMAIL,
            Channel::EMAIL,
            Channel::EMAIL,
            Channel::EMAIL,
            Channel::SMS
        ]
    );
    assert!(timeline.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
}

/// One agent's replies are limited per minute (`context.agent_replies_per_minute`);
/// another agent's are counted apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_replies_are_rate_limited() {
    let h = Harness::start(|c| c.context.agent_replies_per_minute = 2).await;
    let service = &h.service;
    let got = service
        .ingest(
            &inbound(Identity::ChatVisitor("v-limit".into()), "c-limit", "hi"),
            trace(),
        )
        .await
        .expect("chat");
    let conversation = got.conversation.id.clone();
    let (bob, carol) = (AgentId::from("agt_bob"), AgentId::from("agt_carol"));
    let reply = |agent: &AgentId, key: &str| {
        let (conversation, agent, key) = (conversation.clone(), agent.clone(), key.to_owned());
        async move {
            service
                .send_reply(
                    &conversation,
                    &agent,
                    "hello",
                    &key,
                    None,
                    &as_service(),
                    trace(),
                )
                .await
        }
    };
    reply(&bob, "b1").await.expect("first");
    reply(&bob, "b2").await.expect("second");
    let err = reply(&bob, "b3").await.expect_err("third in the minute");
    assert!(matches!(err, ContextError::RateLimited(_)), "{err}");
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::ResourceExhausted
    );
    reply(&carol, "c1").await.expect("another agent");
}

/// STOP records the opt-out and blocks SMS replies with a precise reason;
/// START lifts it. A channel the customer has no identity on is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_opt_out_blocks_sms_replies_until_start() {
    let h = Harness::start(|_| {}).await;
    let service = &h.service;
    let phone = Identity::Phone("+12025550188".into());
    let mut stop = inbound(phone.clone(), "SM-stop", "STOP");
    stop.sms = Some(SmsDetails {
        opt: Some(OptChange::Out),
        provider: "twilio".into(),
        ..SmsDetails::default()
    });
    let got = service.ingest(&stop, trace()).await.expect("stop");
    let conversation = got.conversation.id.clone();
    let agent = AgentId::from("agt_bob");
    let err = service
        .send_reply(
            &conversation,
            &agent,
            "hello?",
            "r1",
            Some(Channel::SMS),
            &as_service(),
            trace(),
        )
        .await
        .expect_err("opted out");
    let message = err.to_string();
    assert!(
        matches!(err, ContextError::FailedPrecondition(_)),
        "{message}"
    );
    let day = omni_context::service::date(got.message.at_ms);
    assert!(
        message.contains(&format!("customer opted out of SMS on {day} (STOP)")),
        "{message}"
    );
    let timeline = service
        .store()
        .messages(&conversation, 0, 10)
        .await
        .expect("timeline");
    assert!(
        timeline[0].notice.is_some(),
        "the opt-out is in the timeline"
    );

    let err = service
        .send_reply(
            &conversation,
            &agent,
            "hello?",
            "r2",
            Some(Channel::EMAIL),
            &as_service(),
            trace(),
        )
        .await
        .expect_err("no email identity");
    assert!(err.to_string().contains("has no email identity"), "{err}");

    let mut start = inbound(phone, "SM-start", "START");
    start.sms = Some(SmsDetails {
        opt: Some(OptChange::In),
        ..SmsDetails::default()
    });
    service.ingest(&start, trace()).await.expect("start");
    service
        .send_reply(
            &conversation,
            &agent,
            "welcome back",
            "r3",
            None,
            &as_service(),
            trace(),
        )
        .await
        .expect("sms allowed again");
}

/// Delivery reports published by an adapter move the message forward (a
/// repeated or late report changes nothing), keep a failure's error, and
/// reach watchers as conversation events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_reports_from_the_bus_update_the_timeline() {
    delivery_reports(&Harness::start(|_| {}).await).await;
}

/// The same over NATS JetStream and Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_reports_over_nats_and_redis() {
    delivery_reports(&Harness::start_distributed().await).await;
}

async fn delivery_reports(h: &Harness) {
    let mut sms_out = h.consume(&SMS_OUTBOUND).await;
    let service = &h.service;
    let got = service
        .ingest(
            &inbound(Identity::Phone("+12025550177".into()), "SM-1", "hi"),
            trace(),
        )
        .await
        .expect("sms");
    let conversation = got.conversation.id.clone();
    let mut events = h
        .bus
        .subscribe(subjects::CONVERSATION_EVENTS)
        .await
        .expect("subscribe");
    let agent = AgentId::from("agt_bob");
    let one = service
        .send_reply(
            &conversation,
            &agent,
            "one",
            "r1",
            None,
            &as_service(),
            trace(),
        )
        .await
        .expect("reply");
    let two = service
        .send_reply(
            &conversation,
            &agent,
            "two",
            "r2",
            None,
            &as_service(),
            trace(),
        )
        .await
        .expect("reply");
    next(&mut sms_out).await;
    next(&mut sms_out).await;

    let report =
        |message: &omni_core::StoredMessage, status: pb::DeliveryStatus, error: &str, n: u32| {
            let report = ev::DeliveryReport {
                message_id: message.id.to_string(),
                conversation_id: conversation.to_string(),
                channel: pb::Channel::Sms as i32,
                channel_name: "sms".to_owned(),
                status: status as i32,
                provider_message_id: "SMx".into(),
                error: error.into(),
                at_ms: 1,
            };
            (
                Message::new(subjects::delivery(Channel::SMS), report.encode_to_vec()),
                format!("{}-{n}", message.id),
            )
        };
    for (msg, id) in [
        report(&one, pb::DeliveryStatus::Sent, "", 1),
        report(&one, pb::DeliveryStatus::Delivered, "", 2),
        report(&one, pb::DeliveryStatus::Sent, "", 3),
        report(
            &two,
            pb::DeliveryStatus::Failed,
            "30003 unreachable handset",
            4,
        ),
        report(&two, pb::DeliveryStatus::Unspecified, "", 5),
    ] {
        h.bus.publish(msg, Some(&id)).await.expect("publish report");
    }
    let store = service.store().clone();
    let id = conversation.clone();
    let timeline = eventually("reports applied", || {
        let store = store.clone();
        let id = id.clone();
        async move {
            let t = store.messages(&id, 0, 10).await.ok()?;
            (t[1].delivery == DeliveryStatus::Delivered && t[2].delivery == DeliveryStatus::Failed)
                .then_some(t)
        }
    })
    .await;
    assert_eq!(
        timeline[2].error.as_deref(),
        Some("30003 unreachable handset")
    );
    // A provider's "queued" (Twilio's answer to a send) changes nothing and
    // is no error; a status that means nothing is refused.
    let queued = ev::DeliveryReport {
        message_id: one.id.to_string(),
        conversation_id: conversation.to_string(),
        channel: pb::Channel::Sms as i32,
        channel_name: "sms".to_owned(),
        status: pb::DeliveryStatus::Queued as i32,
        provider_message_id: "SMx".into(),
        error: String::new(),
        at_ms: 2,
    };
    assert!(matches!(service.record_delivery(&queued).await, Ok(None)));
    let unspecified = ev::DeliveryReport {
        status: pb::DeliveryStatus::Unspecified as i32,
        ..queued
    };
    assert!(matches!(
        service.record_delivery(&unspecified).await,
        Err(ContextError::InvalidArgument(_))
    ));

    // Watchers saw the status changes as message events (after the two
    // queued replies themselves).
    let failed = (
        3,
        pb::DeliveryStatus::Failed as i32,
        "30003 unreachable handset".to_owned(),
    );
    let delivered = (2, pb::DeliveryStatus::Delivered as i32, String::new());
    let mut seen = Vec::new();
    while !(seen.contains(&failed) && seen.contains(&delivered)) {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
            .await
            .unwrap_or_else(|_| panic!("no further event; seen {seen:?}"))
            .expect("open");
        let event = ev::ConversationEvent::decode(msg.payload.as_ref()).expect("event");
        if let Some(ev::conversation_event::Kind::Message(m)) = event.kind {
            seen.push((m.seq, m.delivery, m.error));
        }
    }
    // The late `sent` changed nothing, so it was not announced.
    assert_eq!(
        seen.iter().filter(|(seq, ..)| *seq == 2).count(),
        3,
        "{seen:?}"
    );
}

/// A returning customer's new conversation asks the router for the agent
/// who handled their previous one, within the sticky window only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_prefers_the_customers_last_agent_within_the_window() {
    for (window, expected) in [(3600, "agt_carol"), (0, "")] {
        let h = Harness::start(|c| {
            c.context.reopen_window_secs = 0;
            c.context.sticky_window_secs = window;
        })
        .await;
        let mut requests = h.consume(&ROUTER_REQUESTS).await;
        let service = &h.service;
        let who = Identity::ChatVisitor(format!("v-sticky-{window}"));
        let first = service
            .ingest(&inbound(who.clone(), "c1", "hi"), trace())
            .await
            .expect("first");
        next(&mut requests).await;
        service
            .record_assignment(
                &first.conversation.id,
                &AgentId::from("agt_carol"),
                1,
                trace(),
            )
            .await
            .expect("assign");
        service
            .resolve(
                &first.conversation.id,
                &as_service(),
                &Default::default(),
                trace(),
            )
            .await
            .expect("resolve");
        next(&mut requests).await; // the release
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut later = inbound(who, "c2", "back again");
        later.received_at_ms += 1_000;
        let second = service.ingest(&later, trace()).await.expect("second");
        assert!(second.opened, "a new conversation after the reopen window");
        let request = ev::RoutingRequest::decode(next(&mut requests).await.payload.as_ref())
            .expect("request");
        assert_eq!(request.conversation_id, second.conversation.id.to_string());
        assert_eq!(request.preferred_agent, expected, "sticky window {window}s");
    }
}

/// The caller of these calls: a service acting as itself (the gRPC gate and
/// the role checks have their own tests).
fn as_service() -> omni_proto::auth::Caller {
    omni_proto::auth::Caller::Service {
        account: "test".into(),
    }
}
