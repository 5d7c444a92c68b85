//! Erasing and exporting a customer, in both modes: nothing of them stays
//! in the store or on the bus streams, others are untouched, the agent is
//! released, and the audit log keeps counts only.

use std::sync::{Arc, Mutex};

use omni_bus::topology::{self, ROUTER_REQUESTS, subjects};
use omni_bus::{Message, MessageFilter};
use omni_context::ContextError;
use omni_core::access::{Actor, Role};
use omni_core::trace::TraceContext;
use omni_core::{CustomerId, Identity, InboundMessage};
use omni_proto::auth::Caller;
use omni_proto::{common as pb, events as ev};
use prost::Message as _;

use crate::support::{Harness, eventually, inbound, next};

fn admin() -> Caller {
    Caller::Person(Actor::new("adm_root", Role::Admin))
}

/// Publishes a customer message as an adapter would, and waits until the
/// service stored it.
async fn arrive(h: &Harness, message: InboundMessage) -> CustomerId {
    let payload = ev::InboundMessage::from(&message).encode_to_vec();
    h.bus
        .publish(
            Message::new(subjects::inbound(message.channel), payload),
            Some(&message.idempotency_key),
        )
        .await
        .expect("publish inbound");
    let from = message.from.clone();
    eventually("the message is stored", || {
        let store = h.service.store().clone();
        let from = from.clone();
        async move { store.customer_by_identity(&from).await.ok().flatten() }
    })
    .await
}

/// Every message of `stream` whose payload contains `text` (a scan that
/// deletes nothing).
async fn on_stream(h: &Harness, stream: &str, text: &'static str) -> usize {
    let seen = Arc::new(Mutex::new(0usize));
    let counter = Arc::clone(&seen);
    let filter: MessageFilter = Arc::new(move |m: &Message| {
        if m.payload.windows(text.len()).any(|w| w == text.as_bytes()) {
            *counter.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
        false
    });
    h.bus.purge(stream, filter).await.expect("scan");
    *seen.lock().unwrap_or_else(|e| e.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_leaves_no_trace_embedded() {
    erasure_leaves_no_trace(&Harness::start(|_| {}).await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_leaves_no_trace_on_nats_and_redis() {
    erasure_leaves_no_trace(&Harness::start_distributed().await, true).await;
}

/// `nats`: the streams keep what was consumed (JetStream limits retention),
/// so the customer's words are there before the erasure.
async fn erasure_leaves_no_trace(h: &Harness, nats: bool) {
    let mut requests = h.consume(&ROUTER_REQUESTS).await;
    let chat = Identity::ChatVisitor("v-erase-me".into());
    let mail = Identity::Email("erase-me@example.com".into());
    let customer = arrive(h, inbound(chat.clone(), "chat:erase:1", "secret-chat-text")).await;
    let absorbed = arrive(h, inbound(mail.clone(), "mail:erase:1", "secret-mail-text")).await;
    let other = arrive(
        h,
        inbound(
            Identity::ChatVisitor("v-keep".into()),
            "chat:keep:1",
            "kept-text",
        ),
    )
    .await;
    h.service
        .merge_customers(&customer, &absorbed, "sup_sam", "same person")
        .await
        .expect("merge");
    let open = h
        .service
        .store()
        .latest_conversation(&customer)
        .await
        .expect("latest")
        .expect("a conversation");
    // A reply waiting for the chat adapter.
    let reply = ev::OutboundMessage {
        message: Some(pb::Message {
            conversation_id: open.id.to_string(),
            text: "secret-reply-text".into(),
            ..Default::default()
        }),
        to: Some(pb::Identity::from(&chat)),
        ..Default::default()
    };
    h.bus
        .publish(
            Message::new(
                subjects::outbound(omni_core::Channel::CHAT),
                reply.encode_to_vec(),
            ),
            None,
        )
        .await
        .expect("publish outbound");

    // A reply the adapter gave up on, kept for operators.
    let dead = omni_proto::adapter::DeadLetter {
        message_id: "msg_dead_erase".into(),
        conversation_id: open.id.to_string(),
        channel: "chat".into(),
        text: "secret-dead-text".into(),
        at_ms: 1,
        ..Default::default()
    };
    h.bus
        .publish(
            Message::new(
                subjects::deadletter(omni_core::Channel::CHAT),
                dead.encode_to_vec(),
            ),
            None,
        )
        .await
        .expect("publish dead letter");
    eventually("the dead letter is kept", || {
        let store = h.service.store().clone();
        async move {
            let kept = store.dead_letters(None, 100).await.ok()?;
            kept.iter()
                .any(|d| d.message_id == "msg_dead_erase")
                .then_some(())
        }
    })
    .await;

    if nats {
        assert_eq!(
            on_stream(h, topology::INBOUND.name, "secret-chat-text").await,
            1
        );
    }
    assert_eq!(
        on_stream(h, topology::OUTBOUND.name, "secret-reply-text").await,
        1
    );

    for refused in [Role::Agent, Role::Supervisor] {
        let caller = Caller::Person(Actor::new("someone", refused));
        let e = h.service.erase_customer(&caller, &customer, "").await;
        assert!(
            matches!(e, Err(ContextError::PermissionDenied(_))),
            "{refused:?}: {e:?}"
        );
        let e = h.service.export_customer(&caller, &customer, "").await;
        assert!(
            matches!(e, Err(ContextError::PermissionDenied(_))),
            "{refused:?}: {e:?}"
        );
    }

    // Erasing the absorbed customer's id erases the person.
    let erased = h
        .service
        .erase_customer(&admin(), &absorbed, "203.0.113.9")
        .await
        .expect("erase");
    assert_eq!(erased.customer_ids.len(), 2);
    assert_eq!(erased.conversations, 2);
    assert_eq!(erased.messages, 2);
    // The waiting reply, and on NATS the two customer messages and the
    // dead letter (the embedded bus dropped it once the service kept it).
    assert_eq!(erased.bus_messages, if nats { 4 } else { 1 });
    assert_eq!(erased.dead_letters, 1);

    let store = h.service.store();
    for id in [&customer, &absorbed] {
        assert_eq!(store.customer(id).await.expect("read"), None);
    }
    for identity in [&chat, &mail] {
        assert_eq!(
            store.customer_by_identity(identity).await.expect("read"),
            None
        );
    }
    assert_eq!(store.conversation(&open.id).await.expect("read"), None);
    assert!(store.customer(&other).await.expect("read").is_some());
    let dead = store.dead_letters(None, 100).await.expect("read");
    assert!(
        dead.iter().all(|d| d.conversation_id != open.id.as_str()),
        "{dead:?}"
    );
    for text in [
        "secret-chat-text",
        "secret-mail-text",
        "secret-reply-text",
        "secret-dead-text",
    ] {
        for stream in topology::STREAMS {
            assert_eq!(
                on_stream(h, stream.name, text).await,
                0,
                "{text} on {}",
                stream.name
            );
        }
    }
    let kept = on_stream(h, topology::INBOUND.name, "kept-text").await;
    assert_eq!(kept, usize::from(nats), "another customer's message stays");

    // The open conversation was released, so the router frees its agent.
    let id = open.id.to_string();
    let released = loop {
        let m = next(&mut requests).await;
        if m.subject != subjects::ROUTING_RELEASE {
            continue;
        }
        let release = ev::RoutingRelease::decode(m.payload.as_ref()).expect("a release");
        if release.conversation_id == id {
            break release;
        }
    };
    assert_eq!(released.reason, "erased");

    let audit = h.audit.audit(20).await.expect("audit");
    let line = audit
        .iter()
        .find(|e| e.action == "customer_erased")
        .expect("an audit line");
    assert_eq!(
        (
            line.actor.as_str(),
            line.target.as_str(),
            line.from.as_str()
        ),
        ("adm_root", customer.as_str(), "203.0.113.9")
    );
    assert!(
        line.detail.contains("2 conversations, 2 messages"),
        "{}",
        line.detail
    );
    let all = format!("{audit:?}");
    for personal in ["erase-me", "secret"] {
        assert!(!all.contains(personal), "audit holds {personal}: {all}");
    }

    // A second run finds nothing to erase.
    let again = h.service.erase_customer(&admin(), &customer, "").await;
    assert!(matches!(again, Err(ContextError::NotFound(_))), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_holds_everything_about_the_customer() {
    let h = Harness::start(|_| {}).await;
    let chat = Identity::ChatVisitor("v-export".into());
    let customer = arrive(&h, inbound(chat.clone(), "chat:export:1", "export-me-text")).await;
    h.service
        .store()
        .claim_identity(&customer, &Identity::Email("typed@example.com".into()))
        .await
        .expect("claim");
    h.service
        .ingest(
            &inbound(chat, "chat:export:2", "second-text"),
            TraceContext::new_root(),
        )
        .await
        .expect("second");
    let doc = h
        .service
        .export_customer(&admin(), &customer, "198.51.100.7")
        .await
        .expect("export");
    assert_eq!(doc["format"], "omniroute.customer-export.v1");
    assert_eq!(doc["customer"]["id"], customer.as_str());
    let identities = doc["identities"].as_array().expect("identities");
    assert!(
        identities
            .iter()
            .any(|i| i["value"] == "v-export" && i["verified"] == true)
    );
    assert!(
        identities
            .iter()
            .any(|i| i["value"] == "typed@example.com" && i["verified"] == false)
    );
    let conversations = doc["conversations"].as_array().expect("conversations");
    assert_eq!(conversations.len(), 1);
    let texts: Vec<&str> = conversations[0]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["export-me-text", "second-text"]);
    let audit = h.audit.audit(5).await.expect("audit");
    assert!(audit.iter().any(|e| e.action == "customer_exported"
        && e.target == customer.as_str()
        && e.from == "198.51.100.7"
        && e.detail == "1 conversations, 2 messages"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_resolved_conversations_embedded() {
    retention_sweeps(&Harness::start(|_| {}).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_old_resolved_conversations_on_redis() {
    retention_sweeps(&Harness::start_distributed().await).await;
}

/// With a one-day limit and a clock two days ahead, the conversations
/// resolved now go (in batches of one), one resolved a day and a half
/// ahead stays, an open one stays; with conversations kept forever nothing
/// goes.
async fn retention_sweeps(h: &Harness) {
    use omni_context::retention::Retention;
    use omni_core::config::RetentionConfig;
    use omni_core::time::now_ms;

    const DAY: i64 = 86_400_000;
    let store = h.service.store().clone();
    let mut ids = Vec::new();
    for n in 0..4 {
        let got = h
            .service
            .ingest(
                &inbound(
                    Identity::ChatVisitor(format!("v-retain-{n}")),
                    &format!("chat:retain:{n}"),
                    "old words",
                ),
                TraceContext::new_root(),
            )
            .await
            .expect("ingest");
        ids.push(got.conversation.id);
    }
    let now = now_ms();
    store.resolve(&ids[0], now).await.expect("resolve");
    store.resolve(&ids[1], now).await.expect("resolve");
    store
        .resolve(&ids[2], now + DAY + DAY / 2)
        .await
        .expect("resolve");

    // A reply to the first never delivered, kept as a dead letter.
    let dead = omni_store::DeadLetterRecord {
        message_id: "msg_dead_retained".into(),
        conversation_id: ids[0].to_string(),
        channel: "chat".into(),
        destination: String::new(),
        attempts: 3,
        reason: "gone".into(),
        at_ms: now,
        text: "old reply".into(),
        decode_error: None,
    };
    store
        .put_dead_letter(&dead, 100)
        .await
        .expect("dead letter");

    let forever = RetentionConfig {
        conversation_days: 0,
        ..RetentionConfig::default()
    };
    let idle = Retention::new(h.service.clone(), forever).with_clock(move || now + 10 * DAY);
    assert_eq!(idle.sweep().await.expect("sweep").conversations, 0);

    let config = RetentionConfig {
        conversation_days: 1,
        batch_size: 1,
        ..RetentionConfig::default()
    };
    let retention = Retention::new(h.service.clone(), config).with_clock(move || now + 2 * DAY);
    let swept = retention.sweep().await.expect("sweep");
    assert_eq!(
        (swept.conversations, swept.messages, swept.dead_letters),
        (2, 2, 1)
    );
    let dead = store.dead_letters(None, 100).await.expect("dead letters");
    assert!(
        dead.iter().all(|d| d.message_id != "msg_dead_retained"),
        "{dead:?}"
    );
    for (id, kept) in ids.iter().zip([false, false, true, true]) {
        let found = store.conversation(id).await.expect("read").is_some();
        assert_eq!(found, kept, "{id}");
        let messages = store.messages(id, 0, 10).await.expect("messages");
        assert_eq!(messages.is_empty(), !kept, "{id} messages");
    }
    assert_eq!(retention.sweep().await.expect("again").conversations, 0);
}

/// An erasure cut short after some of the customer's conversations went
/// (a crash between steps) leaves a customer the desk still reads whole,
/// with the conversations that remain; running it again finishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_erasure_finishes_when_run_again() {
    for h in [
        Harness::start(|_| {}).await,
        Harness::start_distributed().await,
    ] {
        let store = h.service.store().clone();
        let visitor = Identity::ChatVisitor("v-interrupted".into());
        let first = h
            .service
            .ingest(
                &inbound(visitor.clone(), "chat:int:1", "one"),
                TraceContext::new_root(),
            )
            .await
            .expect("first");
        store
            .resolve(
                &first.conversation.id,
                omni_core::time::now_ms() - 3_600_000,
            )
            .await
            .expect("resolve");
        let mut second = inbound(visitor.clone(), "chat:int:2", "two");
        second.received_at_ms = omni_core::time::now_ms();
        let customer = first.customer.id.clone();
        // Long after the reopen window: a second conversation.
        h.service
            .ingest(&second, TraceContext::new_root())
            .await
            .expect("second");
        let listed = store
            .customer_conversations(&customer, 0, 10)
            .await
            .expect("list");
        assert_eq!(listed.len(), 2, "two conversations before");

        // The crash: one conversation went, the customer did not.
        store
            .delete_conversation(&listed[1].id)
            .await
            .expect("delete one");
        let read = h.service.customer(&customer).await.expect("profile");
        assert_eq!(read.id, customer);
        let left = h
            .service
            .customer_conversations(&customer, 0, 10)
            .await
            .expect("the desk's list still reads");
        assert_eq!(left.len(), 1);

        let erased = h
            .service
            .erase_customer(&admin(), &customer, "")
            .await
            .expect("erase again");
        assert_eq!((erased.conversations, erased.messages), (1, 1));
        assert_eq!(store.customer(&customer).await.expect("read"), None);
        assert_eq!(
            store.customer_by_identity(&visitor).await.expect("read"),
            None
        );
    }
}
