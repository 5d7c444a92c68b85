//! The conformance suite every [`Bus`] implementation must pass.
//!
//! An implementation's test file provides a [`BusFactory`] and makes one
//! `#[tokio::test]` per check with [`bus_conformance_tests!`](crate::bus_conformance_tests)
//! (or calls [`run_all`]); the list of checks is written once, in that
//! macro, and [`run_all`] runs the same list. The suite ships only with the
//! `conformance` feature, which the bus implementations' tests enable. A failed check panics
//! with what it expected, like an assertion; every wait is bounded, so a
//! hung bus fails the check instead of hanging it.
//!
//! # Sharing one server
//! Checks may run concurrently against one server (e.g. one NATS
//! JetStream). Every check marks its payloads with a tag unique to the run,
//! acks every delivery it receives (its own and stray ones with another
//! tag, such as leftovers of an earlier failed run) and looks only at its
//! own. Apart from [`publish_then_consume_round_trips`], which uses the real
//! [`topology::CONTEXT_INBOUND`] consumer on `omni.inbound.chat`, each check
//! uses its own durable consumer, named `conformance-<check>`, on the
//! `OMNI_OUTBOUND` stream with the filter `omni.outbound.conformance_<check>`:
//! no service consumes those subjects, and one check's messages never reach
//! another check's consumer. A check consumes before it publishes, so a bus
//! that registers consumers on first use (as the embedded bus does) sees
//! every message.
//!
//! # Timing
//! Checks with short ack waits (1 to 2 s) wait for redeliveries, so the
//! whole suite takes about 15 s. Where a check asserts that a redelivery
//! came no sooner than a delay, it allows 200 ms of slack for a server that
//! starts the clock before the client sees the delivery.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::topology::{self, ConsumerSpec};

mod purge;
mod redelivery;
use crate::{Bus, BusError, BusStream, Delivery, Message, TRACEPARENT};
pub use purge::{pending_counts_what_is_not_acknowledged, purge_deletes_only_selected_messages};
pub use redelivery::{
    in_progress_extends_the_ack_wait, keep_alive_holds_a_slow_delivery,
    nak_redelivers_with_next_attempt, one_receiver_gets_messages_in_order,
    receivers_of_one_consumer_share_messages, unacked_delivery_is_redelivered_after_ack_wait,
    unacked_messages_survive_a_restart,
};

/// Opens the bus under test.
#[async_trait]
pub trait BusFactory: Send + Sync {
    /// Opens the bus under test. Called again after the previous instance was closed and dropped;
    /// the new instance must see the same durable state (a "restart").
    async fn open(&self) -> Arc<dyn Bus>;
}

/// How long one bus call, or one expected delivery, may take.
const STEP: Duration = Duration::from_secs(10);
/// How long a check watches for something that must not arrive, when no ack wait is involved.
const QUIET: Duration = Duration::from_millis(500);
/// Allowance for a server that starts a delay before the client sees the delivery.
const SLACK: Duration = Duration::from_millis(200);
/// A valid W3C trace context.
const SAMPLE_TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// A consumer of the `OMNI_OUTBOUND` stream used only by this suite.
const fn spec(
    name: &'static str,
    filter: &'static str,
    ack_wait: Duration,
    max_ack_pending: usize,
) -> ConsumerSpec {
    ConsumerSpec {
        name,
        stream: topology::OUTBOUND.name,
        filter,
        ack_wait,
        max_ack_pending,
    }
}

const LONG_WAIT: Duration = Duration::from_secs(30);
const DEDUP: ConsumerSpec = spec(
    "conformance-dedup",
    "omni.outbound.conformance_dedup",
    LONG_WAIT,
    64,
);
const NAK: ConsumerSpec = spec(
    "conformance-nak",
    "omni.outbound.conformance_nak",
    LONG_WAIT,
    64,
);
const ACK_WAIT: ConsumerSpec = spec(
    "conformance-ackwait",
    "omni.outbound.conformance_ackwait",
    Duration::from_secs(1),
    64,
);
const PROGRESS: ConsumerSpec = spec(
    "conformance-progress",
    "omni.outbound.conformance_progress",
    Duration::from_millis(1500),
    64,
);
const KEEP_ALIVE: ConsumerSpec = spec(
    "conformance-keepalive",
    "omni.outbound.conformance_keepalive",
    Duration::from_secs(1),
    64,
);
const SHARED: ConsumerSpec = spec(
    "conformance-shared",
    "omni.outbound.conformance_shared",
    LONG_WAIT,
    64,
);
const ORDER: ConsumerSpec = spec(
    "conformance-order",
    "omni.outbound.conformance_order",
    LONG_WAIT,
    64,
);
const RESTART: ConsumerSpec = spec(
    "conformance-restart",
    "omni.outbound.conformance_restart",
    Duration::from_secs(2),
    64,
);
const CLOSE: ConsumerSpec = spec(
    "conformance-close",
    "omni.outbound.conformance_close",
    LONG_WAIT,
    64,
);
const PURGE: ConsumerSpec = spec(
    "conformance-purge",
    "omni.outbound.conformance_purge",
    LONG_WAIT,
    64,
);
const PENDING: ConsumerSpec = spec(
    "conformance-pending",
    "omni.outbound.conformance_pending",
    LONG_WAIT,
    64,
);
/// Captured by `OMNI_OUTBOUND`, wanted by no consumer.
const FANOUT_SUBJECT: &str = "omni.outbound.conformance_fanout";

/// One `#[tokio::test]` per check of this suite, each on a fresh bus from
/// `$factory` (an expression, evaluated per test): the implementations'
/// test files call this, so a check added here runs against every bus.
///
/// The list of checks lives here only; [`run_all`] expands the same list
/// (`@list run_all`).
#[macro_export]
macro_rules! bus_conformance_tests {
    ($factory:expr) => {
        $crate::bus_conformance_tests!(@list tests $factory);
    };
    (@list $mode:ident $factory:expr) => {
        $crate::bus_conformance_tests! { @$mode $factory;
            publish_then_consume_round_trips,
            duplicate_publish_is_delivered_once,
            nak_redelivers_with_next_attempt,
            unacked_delivery_is_redelivered_after_ack_wait,
            in_progress_extends_the_ack_wait,
            keep_alive_holds_a_slow_delivery,
            receivers_of_one_consumer_share_messages,
            one_receiver_gets_messages_in_order,
            unacked_messages_survive_a_restart,
            subscribers_see_published_and_notified_messages,
            subject_without_stream_is_refused,
            oversized_message_is_refused,
            close_ends_streams,
            purge_deletes_only_selected_messages,
            pending_counts_what_is_not_acknowledged,
            request_gets_the_answer_or_times_out,
        }
    };
    (@tests $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::$name(&$factory).await;
            }
        )*
    };
    (@run_all $factory:expr; $($name:ident),* $(,)?) => {
        $(
            $crate::conformance::$name($factory).await;
        )*
    };
}

/// Runs every check of [`bus_conformance_tests!`](crate::bus_conformance_tests),
/// one after the other.
pub async fn run_all(factory: &dyn BusFactory) {
    crate::bus_conformance_tests!(@list run_all factory);
}

/// A message published on `omni.inbound.chat` reaches the
/// [`topology::CONTEXT_INBOUND`] consumer with its subject, headers
/// (including [`TRACEPARENT`]) and binary payload intact, as attempt 1; once
/// acked it is not delivered again before the next message.
pub async fn publish_then_consume_round_trips(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step(
        "consume context-inbound",
        bus.consume(&topology::CONTEXT_INBOUND),
    )
    .await;

    let mut payload = t.payload("hello").to_vec();
    payload.extend_from_slice(&[0, 0xff, 0x80, b'\n']);
    let sent = Message::new("omni.inbound.chat", payload)
        .with_header(TRACEPARENT, SAMPLE_TRACEPARENT)
        .with_header("x-conformance", t.0.clone());
    let ack = step("publish", bus.publish(sent.clone(), None)).await;
    assert!(!ack.duplicate, "a first publish is not a duplicate");

    let got = next_own(&mut deliveries, &t, "the published message").await;
    assert_eq!(got.message.subject, sent.subject, "subject");
    assert_eq!(got.message.payload, sent.payload, "payload");
    for (name, value) in &sent.headers {
        assert_eq!(
            got.message.headers.get(name),
            Some(value),
            "header {name:?} must round-trip; got {:?}",
            got.message.headers
        );
    }
    assert_eq!(got.attempt, 1, "first delivery is attempt 1");
    step("ack", got.ack()).await;

    publish_label(bus.as_ref(), "omni.inbound.chat", &t, "sentinel").await;
    let next = next_own(&mut deliveries, &t, "the sentinel").await;
    assert_eq!(
        t.label(&next.message).as_deref(),
        Some("sentinel"),
        "the acked message must not be delivered again"
    );
    step("ack sentinel", next.ack()).await;
    bus.close().await;
}

/// A second publish with the same message id reports `duplicate` and is
/// not delivered.
pub async fn duplicate_publish_is_delivered_once(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step("consume", bus.consume(&DEDUP)).await;
    let message = Message::new(DEDUP.filter, t.payload("once"));
    let id = format!("conformance-{}-dedup", t.0);

    let first = step("first publish", bus.publish(message.clone(), Some(&id))).await;
    assert!(
        !first.duplicate,
        "the first publish of an id is not a duplicate"
    );
    let second = step("second publish", bus.publish(message, Some(&id))).await;
    assert!(
        second.duplicate,
        "the second publish of an id is a duplicate"
    );
    publish_label(bus.as_ref(), DEDUP.filter, &t, "sentinel").await;

    let got = next_own(&mut deliveries, &t, "the deduplicated message").await;
    assert_eq!(t.label(&got.message).as_deref(), Some("once"));
    step("ack", got.ack()).await;
    let next = next_own(&mut deliveries, &t, "the sentinel").await;
    assert_eq!(
        t.label(&next.message).as_deref(),
        Some("sentinel"),
        "the duplicate must not be delivered"
    );
    step("ack sentinel", next.ack()).await;
    bus.close().await;
}

/// Two subscribers with a matching filter both see a durable publish and a
/// notify; a subscriber with an exact filter sees only its subject; one
/// with a filter that matches neither sees nothing.
pub async fn subscribers_see_published_and_notified_messages(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let event_subject = topology::subjects::conversation_event(&t.0);
    let mut a = step("subscribe a", bus.subscribe("omni.>")).await;
    let mut b = step("subscribe b", bus.subscribe("omni.>")).await;
    let mut exact = step("subscribe exact", bus.subscribe(&event_subject)).await;
    let mut other = step("subscribe other", bus.subscribe("omni.routing.>")).await;

    let durable = Message::new(FANOUT_SUBJECT, t.payload("durable"))
        .with_header(TRACEPARENT, SAMPLE_TRACEPARENT);
    let live = Message::new(event_subject.clone(), t.payload("live"));
    step("publish", bus.publish(durable.clone(), None)).await;
    step("notify", bus.notify(live.clone())).await;

    let expected: BTreeSet<(String, Bytes)> = [&durable, &live]
        .iter()
        .map(|m| (m.subject.clone(), m.payload.clone()))
        .collect();
    for (name, subscriber) in [("a", &mut a), ("b", &mut b)] {
        let mut seen = BTreeSet::new();
        for _ in 0..2 {
            let m = next_own_message(subscriber, &t, name).await;
            if m.subject == FANOUT_SUBJECT {
                assert_eq!(
                    m.headers.get(TRACEPARENT).map(String::as_str),
                    Some(SAMPLE_TRACEPARENT),
                    "subscriber {name}: headers of a published message"
                );
            }
            seen.insert((m.subject, m.payload));
        }
        assert_eq!(seen, expected, "subscriber {name}");
    }
    let m = next_own_message(&mut exact, &t, "exact").await;
    assert_eq!((m.subject, m.payload), (live.subject, live.payload));
    quiet_messages(&mut exact, &t, "subscriber with an exact filter").await;
    quiet_messages(&mut other, &t, "subscriber with a non-matching filter").await;
    bus.close().await;
}

/// [`crate::request()`] gets the responder's answer on its own reply
/// subject; with nobody answering it times out; [`crate::reply`] answers
/// only on a reply subject.
pub async fn request_gets_the_answer_or_times_out(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let subject = topology::subjects::enrich_request(&format!("conformance-{}", t.0));
    let mut requests = step("subscribe requests", bus.subscribe(&subject)).await;
    let responder = {
        let bus = bus.clone();
        tokio::spawn(async move {
            if let Some(m) = requests.next().await {
                let mut answer = b"answer:".to_vec();
                answer.extend_from_slice(&m.payload);
                let sent = crate::reply(bus.as_ref(), &m, answer).await;
                assert!(matches!(sent, Ok(true)), "reply sent: {sent:?}");
            }
        })
    };
    let answer = step(
        "request",
        crate::request(
            bus.as_ref(),
            Message::new(subject.clone(), t.payload("q")),
            LONG_WAIT,
        ),
    )
    .await;
    let mut expected = b"answer:".to_vec();
    expected.extend_from_slice(&t.payload("q"));
    assert_eq!(
        answer.payload,
        Bytes::from(expected),
        "the responder's answer"
    );
    within("responder ends", responder)
        .await
        .expect("responder ran");

    let nobody = topology::subjects::enrich_request(&format!("nobody-{}", t.0));
    let unanswered = crate::request(
        bus.as_ref(),
        Message::new(nobody, t.payload("q")),
        Duration::from_millis(200),
    )
    .await;
    assert!(
        matches!(unanswered, Err(crate::RequestError::Timeout(_))),
        "no responder: {unanswered:?}"
    );

    let forged =
        Message::new(subject, t.payload("q")).with_header(crate::REPLY_TO, "omni.routing.request");
    let sent = step(
        "reply to a forged subject",
        crate::reply(bus.as_ref(), &forged, "x"),
    )
    .await;
    assert!(!sent, "a reply goes only to a reply subject");
    bus.close().await;
}

/// Publishing to a subject no stream captures fails with
/// [`BusError::NoStream`]; a notify on such a subject is fine.
pub async fn subject_without_stream_is_refused(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let subject = format!("conformance.nowhere.{}", t.0);
    let result = within(
        "publish without stream",
        bus.publish(Message::new(subject.clone(), t.payload("lost")), None),
    )
    .await;
    assert!(
        matches!(result, Err(BusError::NoStream(_))),
        "publish to {subject}: expected NoStream, got {result:?}"
    );
    step(
        "notify without stream",
        bus.notify(Message::new(subject, t.payload("live"))),
    )
    .await;
    bus.close().await;
}

/// A 2 MiB message is refused with [`BusError::TooLarge`].
pub async fn oversized_message_is_refused(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut payload = t.payload("big").to_vec();
    payload.resize(2 * 1024 * 1024, b'x');
    let result = within(
        "oversized publish",
        bus.publish(Message::new(FANOUT_SUBJECT, payload), None),
    )
    .await;
    assert!(
        matches!(result, Err(BusError::TooLarge { .. })),
        "expected TooLarge, got {result:?}"
    );
    bus.close().await;
}

/// `close` ends consumer and subscriber streams; a publish afterwards fails
/// with [`BusError::Closed`].
pub async fn close_ends_streams(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step("consume", bus.consume(&CLOSE)).await;
    let mut messages = step("subscribe", bus.subscribe("omni.>")).await;
    within("close", bus.close()).await;

    within("the consumer stream to end", async {
        while let Some(stray) = deliveries.next().await {
            drop(stray);
        }
    })
    .await;
    within("the subscriber stream to end", async {
        while messages.next().await.is_some() {}
    })
    .await;
    let result = within(
        "publish after close",
        bus.publish(Message::new(CLOSE.filter, t.payload("late")), None),
    )
    .await;
    assert!(
        matches!(result, Err(BusError::Closed)),
        "publish after close: expected Closed, got {result:?}"
    );
}

/// Marks a run's payloads: `<tag>/<label>`.
struct Tag(String);

impl Tag {
    fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self(format!("{:x}-{nanos:x}-{n}", std::process::id()))
    }

    fn payload(&self, label: &str) -> Bytes {
        Bytes::from(format!("{}/{label}", self.0))
    }

    fn owns(&self, message: &Message) -> bool {
        message
            .payload
            .starts_with(format!("{}/", self.0).as_bytes())
    }

    /// The label of one of this run's messages.
    fn label(&self, message: &Message) -> Option<String> {
        let rest = message.payload.get(self.0.len() + 1..)?;
        self.owns(message)
            .then(|| String::from_utf8_lossy(rest).into_owned())
    }
}

async fn open(factory: &dyn BusFactory) -> Arc<dyn Bus> {
    within("open the bus", factory.open()).await
}

/// Awaits `fut`, failing the check after [`STEP`].
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: timed out after {STEP:?}"),
    }
}

/// Awaits a bus call that must succeed.
async fn step<T, E: Debug>(what: &str, fut: impl Future<Output = Result<T, E>>) -> T {
    match within(what, fut).await {
        Ok(value) => value,
        Err(e) => panic!("{what}: {e:?}"),
    }
}

async fn publish_label(bus: &dyn Bus, subject: &str, t: &Tag, label: &str) {
    let ack = step(
        "publish",
        bus.publish(Message::new(subject, t.payload(label)), None),
    )
    .await;
    assert!(!ack.duplicate, "a publish without id is never a duplicate");
}

/// The next delivery of this run, acking stray ones.
async fn next_own(deliveries: &mut BusStream<Delivery>, t: &Tag, what: &str) -> Delivery {
    within(what, async {
        loop {
            let Some(delivery) = deliveries.next().await else {
                panic!("{what}: the stream ended");
            };
            if t.owns(&delivery.message) {
                return delivery;
            }
            step("ack a stray delivery", delivery.ack()).await;
        }
    })
    .await
}

/// Fails if a delivery of this run arrives within `period`; acks stray ones.
async fn quiet(deliveries: &mut BusStream<Delivery>, t: &Tag, period: Duration, what: &str) {
    let until = Instant::now() + period;
    loop {
        match tokio::time::timeout_at(until, deliveries.next()).await {
            Err(_) => return,
            Ok(None) => panic!("the stream ended while watching for {what}"),
            Ok(Some(delivery)) if t.owns(&delivery.message) => panic!(
                "{what}: {:?} attempt {}",
                t.label(&delivery.message),
                delivery.attempt
            ),
            Ok(Some(stray)) => step("ack a stray delivery", stray.ack()).await,
        }
    }
}

/// The next message of this run on a subscription, skipping stray ones.
async fn next_own_message(messages: &mut BusStream<Message>, t: &Tag, name: &str) -> Message {
    within(&format!("subscriber {name}"), async {
        loop {
            match messages.next().await {
                Some(m) if t.owns(&m) => return m,
                Some(_) => {}
                None => panic!("subscriber {name}: the stream ended"),
            }
        }
    })
    .await
}

/// Fails if a message of this run arrives on a subscription within [`QUIET`].
async fn quiet_messages(messages: &mut BusStream<Message>, t: &Tag, what: &str) {
    let until = Instant::now() + QUIET;
    loop {
        match tokio::time::timeout_at(until, messages.next()).await {
            Err(_) => return,
            Ok(None) => panic!("{what}: the stream ended"),
            Ok(Some(m)) if t.owns(&m) => panic!("{what} got {} {:?}", m.subject, t.label(&m)),
            Ok(Some(_)) => {}
        }
    }
}
