//! The bus conformance suite: every [`Bus`] implementation (embedded now,
//! NATS JetStream later) must pass the very same checks.
//!
//! Each check is its own `pub async fn` taking a [`BusFactory`], so a test
//! file can make one test per check; [`run_all`] runs them in turn. Checks
//! use unique payloads and drain what they publish, so they can share one
//! server. A failed check panics with a message saying what was expected.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;

use crate::topology::{self, ConsumerSpec};
use crate::{Bus, BusError, BusStream, Delivery, Message, TRACEPARENT};

/// Opens the bus under test.
#[async_trait]
pub trait BusFactory: Send + Sync {
    /// The bus under test. Called again after the previous instance was
    /// closed and dropped, the new one must see the same durable state.
    async fn open(&self) -> Arc<dyn Bus>;
}

const WAIT: Duration = Duration::from_secs(10);
/// How long to watch for a message that must not come.
const QUIET: Duration = Duration::from_millis(600);

/// A short ack wait on the SMS outbound subject, which no other check uses.
pub const ACK_WAIT_CONSUMER: ConsumerSpec = ConsumerSpec {
    name: "conformance-ackwait",
    stream: topology::OUTBOUND.name,
    filter: "omni.outbound.sms",
    ack_wait: Duration::from_secs(1),
    max_ack_pending: 64,
};

/// A consumer for the email outbound subject, which only checks use.
pub const SCRATCH_CONSUMER: ConsumerSpec = ConsumerSpec {
    name: "conformance-scratch",
    stream: topology::OUTBOUND.name,
    filter: "omni.outbound.email",
    ack_wait: Duration::from_secs(30),
    max_ack_pending: 256,
};

fn unique(tag: &str) -> String {
    format!("{tag}-{}", omni_core::ids::MessageId::generate())
}

async fn next(stream: &mut BusStream<Delivery>, what: &str) -> Delivery {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(d)) => d,
        Ok(None) => panic!("stream ended while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Receives until a delivery with `payload` arrives, acking others (left by earlier runs).
async fn next_with(stream: &mut BusStream<Delivery>, payload: &[u8]) -> Delivery {
    loop {
        let d = next(
            stream,
            &format!("payload {}", String::from_utf8_lossy(payload)),
        )
        .await;
        if d.message.payload.as_ref() == payload {
            return d;
        }
        let _ = d.ack().await;
    }
}

/// Fails if a delivery with one of `payloads` arrives within a short while.
async fn none_of(stream: &mut BusStream<Delivery>, payloads: &[&[u8]]) {
    let deadline = tokio::time::Instant::now() + QUIET;
    while let Ok(Some(d)) = tokio::time::timeout_at(deadline, stream.next()).await {
        assert!(
            !payloads.contains(&d.message.payload.as_ref()),
            "unexpected redelivery of {}",
            String::from_utf8_lossy(&d.message.payload)
        );
        let _ = d.ack().await;
    }
}

/// Runs every check in turn.
pub async fn run_all(factory: &dyn BusFactory) {
    publish_then_consume_round_trips(factory).await;
    duplicate_message_id_is_stored_once(factory).await;
    nak_redelivers(factory).await;
    unacked_delivery_is_redelivered_after_ack_wait(factory).await;
    receivers_of_one_consumer_share_messages(factory).await;
    deliveries_keep_publish_order(factory).await;
    unacked_messages_survive_restart(factory).await;
    subscribers_see_durable_and_notified_messages(factory).await;
    subject_without_stream_is_refused(factory).await;
}

/// Subject, headers and payload round-trip; an acked message does not come back.
pub async fn publish_then_consume_round_trips(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let mut stream = bus.consume(&SCRATCH_CONSUMER).await.expect("consume");
    let payload = unique("roundtrip");
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let ack = bus
        .publish(
            Message::new("omni.outbound.email", payload.clone()).with_header(TRACEPARENT, trace),
            None,
        )
        .await
        .expect("publish");
    assert!(!ack.duplicate);
    let d = next_with(&mut stream, payload.as_bytes()).await;
    assert_eq!(d.message.subject, "omni.outbound.email");
    assert_eq!(
        d.message.headers.get(TRACEPARENT).map(String::as_str),
        Some(trace)
    );
    assert_eq!(d.attempt, 1);
    d.ack().await.expect("ack");
    none_of(&mut stream, &[payload.as_bytes()]).await;
    bus.close().await;
}

/// A second publish with the same message id is reported duplicate and delivered once.
pub async fn duplicate_message_id_is_stored_once(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let mut stream = bus.consume(&SCRATCH_CONSUMER).await.expect("consume");
    let payload = unique("dedup");
    let id = unique("msgid");
    let first = bus
        .publish(
            Message::new("omni.outbound.email", payload.clone()),
            Some(&id),
        )
        .await
        .expect("publish");
    let second = bus
        .publish(
            Message::new("omni.outbound.email", payload.clone()),
            Some(&id),
        )
        .await
        .expect("publish again");
    assert!(!first.duplicate, "first publish is new");
    assert!(
        second.duplicate,
        "second publish with the same id is a duplicate"
    );
    next_with(&mut stream, payload.as_bytes())
        .await
        .ack()
        .await
        .expect("ack");
    none_of(&mut stream, &[payload.as_bytes()]).await;
    bus.close().await;
}

/// A nak'd delivery comes again, as attempt 2.
pub async fn nak_redelivers(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let mut stream = bus.consume(&SCRATCH_CONSUMER).await.expect("consume");
    let payload = unique("nak");
    bus.publish(Message::new("omni.outbound.email", payload.clone()), None)
        .await
        .expect("publish");
    let d = next_with(&mut stream, payload.as_bytes()).await;
    d.nak(Duration::from_millis(100)).await.expect("nak");
    let again = next_with(&mut stream, payload.as_bytes()).await;
    assert_eq!(
        again.attempt, 2,
        "a nak'd message is delivered again as attempt 2"
    );
    again.ack().await.expect("ack");
    bus.close().await;
}

/// A delivery nobody settles comes again after the consumer's ack wait.
pub async fn unacked_delivery_is_redelivered_after_ack_wait(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let mut stream = bus.consume(&ACK_WAIT_CONSUMER).await.expect("consume");
    let payload = unique("ackwait");
    bus.publish(Message::new("omni.outbound.sms", payload.clone()), None)
        .await
        .expect("publish");
    let first = next_with(&mut stream, payload.as_bytes()).await;
    let again = next_with(&mut stream, payload.as_bytes()).await;
    assert!(
        again.attempt >= 2,
        "redelivered after ack wait, attempt {}",
        again.attempt
    );
    again.ack().await.expect("ack");
    drop(first);
    bus.close().await;
}

/// Two receivers of one consumer get each message exactly once between them.
pub async fn receivers_of_one_consumer_share_messages(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let mut a = bus.consume(&SCRATCH_CONSUMER).await.expect("consume a");
    let mut b = bus.consume(&SCRATCH_CONSUMER).await.expect("consume b");
    let tag = unique("share");
    let expected: Vec<String> = (0..20).map(|i| format!("{tag}-{i}")).collect();
    for p in &expected {
        bus.publish(Message::new("omni.outbound.email", p.clone()), None)
            .await
            .expect("publish");
    }
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while seen.len() < expected.len() {
        let d = tokio::select! {
            d = a.next() => d,
            d = b.next() => d,
            _ = tokio::time::sleep_until(deadline) => panic!("only {} of 20 shared messages arrived", seen.len()),
        };
        let Some(d) = d else { panic!("stream ended") };
        let text = String::from_utf8_lossy(&d.message.payload).into_owned();
        if text.starts_with(&tag) {
            seen.push(text);
        }
        d.ack().await.expect("ack");
    }
    seen.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(
        seen, want,
        "each message delivered exactly once across receivers"
    );
    let _ = tokio::time::timeout(QUIET, async {
        tokio::select! {
            Some(d) = a.next() => panic!("extra delivery {:?}", d.message.payload),
            Some(d) = b.next() => panic!("extra delivery {:?}", d.message.payload),
        }
    })
    .await;
    bus.close().await;
}

/// One receiver gets messages in publish order.
pub async fn deliveries_keep_publish_order(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let mut stream = bus.consume(&SCRATCH_CONSUMER).await.expect("consume");
    let tag = unique("order");
    for i in 0..50 {
        bus.publish(
            Message::new("omni.outbound.email", format!("{tag}-{i:03}")),
            None,
        )
        .await
        .expect("publish");
    }
    let mut got = Vec::new();
    while got.len() < 50 {
        let d = next(&mut stream, "ordered message").await;
        let text = String::from_utf8_lossy(&d.message.payload).into_owned();
        if text.starts_with(&tag) {
            got.push(text);
        }
        d.ack().await.expect("ack");
    }
    let want: Vec<String> = (0..50).map(|i| format!("{tag}-{i:03}")).collect();
    assert_eq!(got, want, "messages arrive in publish order");
    bus.close().await;
}

/// Unacked messages are delivered again after the bus is closed and reopened; acked ones are not.
pub async fn unacked_messages_survive_restart(factory: &dyn BusFactory) {
    let tag = unique("restart");
    let payloads: Vec<String> = (0..3).map(|i| format!("{tag}-{i}")).collect();
    {
        let bus = factory.open().await;
        let mut stream = bus.consume(&SCRATCH_CONSUMER).await.expect("consume");
        for p in &payloads {
            bus.publish(Message::new("omni.outbound.email", p.clone()), None)
                .await
                .expect("publish");
        }
        let d = next_with(&mut stream, payloads[0].as_bytes()).await;
        d.ack().await.expect("ack");
        drop(stream);
        bus.close().await;
    }
    let bus = factory.open().await;
    let mut stream = bus
        .consume(&SCRATCH_CONSUMER)
        .await
        .expect("consume after restart");
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT + Duration::from_secs(30);
    while got.len() < 2 {
        let d = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(d)) => d,
            _ => panic!("after restart only {got:?} of the two unacked messages came back"),
        };
        let text = String::from_utf8_lossy(&d.message.payload).into_owned();
        assert_ne!(
            text, payloads[0],
            "an acked message came back after restart"
        );
        if text.starts_with(&tag) {
            got.push(text);
        }
        d.ack().await.expect("ack");
    }
    got.sort();
    assert_eq!(got, payloads[1..].to_vec());
    bus.close().await;
}

/// Fan-out subscribers see durable and notified messages on matching subjects only.
pub async fn subscribers_see_durable_and_notified_messages(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let mut one = bus
        .subscribe("omni.conversation.event.>")
        .await
        .expect("subscribe");
    let mut two = bus
        .subscribe("omni.conversation.event.*")
        .await
        .expect("subscribe");
    let mut other = bus.subscribe("omni.unrelated.>").await.expect("subscribe");
    let mut durable = bus
        .subscribe("omni.outbound.email")
        .await
        .expect("subscribe");
    let mut drain = bus.consume(&SCRATCH_CONSUMER).await.expect("consume");
    let id = unique("conv");
    let note = unique("note");
    bus.notify(Message::new(
        format!("omni.conversation.event.{id}"),
        note.clone(),
    ))
    .await
    .expect("notify");
    let stored = unique("stored");
    bus.publish(Message::new("omni.outbound.email", stored.clone()), None)
        .await
        .expect("publish");
    for (name, sub, want) in [
        ("first", &mut one, &note),
        ("second", &mut two, &note),
        ("durable", &mut durable, &stored),
    ] {
        let got = loop {
            match tokio::time::timeout(WAIT, sub.next()).await {
                Ok(Some(m)) if m.payload.as_ref() == want.as_bytes() => break m,
                Ok(Some(_)) => {}
                _ => panic!("{name} subscriber missed {want}"),
            }
        };
        assert_eq!(got.payload.as_ref(), want.as_bytes());
    }
    assert!(
        tokio::time::timeout(QUIET, other.next()).await.is_err(),
        "a subscriber with a non-matching filter received a message"
    );
    next_with(&mut drain, stored.as_bytes())
        .await
        .ack()
        .await
        .expect("ack");
    bus.close().await;
}

/// A durable publish on a subject no stream captures is refused.
pub async fn subject_without_stream_is_refused(factory: &dyn BusFactory) {
    let bus = factory.open().await;
    let err = bus
        .publish(Message::new("omni.nowhere.at.all", "x"), None)
        .await
        .expect_err("publish to an uncaptured subject must fail");
    assert!(
        matches!(err, BusError::NoStream(_)),
        "expected NoStream, got {err}"
    );
    bus.close().await;
}
