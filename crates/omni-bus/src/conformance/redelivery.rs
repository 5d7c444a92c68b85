//! Checks for acknowledgement and redelivery: nak, the ack wait, progress
//! and keep-alive, receivers sharing a consumer, order, and a restart.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use super::{
    ACK_WAIT, BusFactory, KEEP_ALIVE, NAK, ORDER, PROGRESS, QUIET, RESTART, SHARED, SLACK, Tag,
    next_own, open, publish_label, quiet, step,
};
use crate::{BusStream, Delivery};

/// A nak'd delivery comes again as attempt 2, no sooner than the nak delay.
pub async fn nak_redelivers_with_next_attempt(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step("consume", bus.consume(&NAK)).await;
    publish_label(bus.as_ref(), NAK.filter, &t, "retry-me").await;

    let first = next_own(&mut deliveries, &t, "the first delivery").await;
    assert_eq!(first.attempt, 1, "first delivery is attempt 1");
    let counted = || crate::redelivered().get(&[("consumer", NAK.name)]);
    let before = counted();
    let delay = Duration::from_millis(300);
    let naked_at = Instant::now();
    step("nak", first.nak(delay)).await;

    let again = next_own(&mut deliveries, &t, "the redelivery after nak").await;
    assert_eq!(t.label(&again.message).as_deref(), Some("retry-me"));
    assert_eq!(again.attempt, 2, "a redelivery after nak is attempt 2");
    assert!(
        counted() > before,
        "the redelivery is counted in omni_bus_consumer_redelivered_total"
    );
    assert!(
        naked_at.elapsed() + SLACK >= delay,
        "redelivered after {:?}, before the nak delay of {delay:?}",
        naked_at.elapsed()
    );
    step("ack", again.ack()).await;

    publish_label(bus.as_ref(), NAK.filter, &t, "sentinel").await;
    let next = next_own(&mut deliveries, &t, "the sentinel").await;
    assert_eq!(t.label(&next.message).as_deref(), Some("sentinel"));
    step("ack sentinel", next.ack()).await;
    bus.close().await;
}

/// A delivery neither acked nor nak'd comes again as attempt 2 once the ack
/// wait has passed; once acked it does not come again.
///
/// Uses the consumer `conformance-ackwait` (filter
/// `omni.outbound.conformance_ackwait`, ack wait 1 s).
pub async fn unacked_delivery_is_redelivered_after_ack_wait(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step("consume", bus.consume(&ACK_WAIT)).await;
    publish_label(bus.as_ref(), ACK_WAIT.filter, &t, "forgotten").await;

    let first = next_own(&mut deliveries, &t, "the first delivery").await;
    assert_eq!(first.attempt, 1, "first delivery is attempt 1");
    let received_at = Instant::now();
    let again = next_own(&mut deliveries, &t, "the redelivery after the ack wait").await;
    assert_eq!(t.label(&again.message).as_deref(), Some("forgotten"));
    assert_eq!(
        again.attempt, 2,
        "a redelivery after the ack wait is attempt 2"
    );
    assert!(
        received_at.elapsed() + SLACK >= ACK_WAIT.ack_wait,
        "redelivered after {:?}, before the ack wait of {:?}",
        received_at.elapsed(),
        ACK_WAIT.ack_wait
    );
    step("ack", again.ack()).await;
    drop(first);

    quiet(
        &mut deliveries,
        &t,
        ACK_WAIT.ack_wait * 2,
        "an acked message delivered again",
    )
    .await;
    bus.close().await;
}

/// A delivery kept alive with `in_progress` is not delivered again while
/// its handler works longer than the ack wait.
///
/// Uses the consumer `conformance-progress` (ack wait 1.5 s).
pub async fn in_progress_extends_the_ack_wait(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step("consume", bus.consume(&PROGRESS)).await;
    publish_label(bus.as_ref(), PROGRESS.filter, &t, "slow-work").await;

    let working = next_own(&mut deliveries, &t, "the delivery").await;
    let beat = PROGRESS.ack_wait / 4;
    for _ in 0..8 {
        quiet(
            &mut deliveries,
            &t,
            beat,
            "a delivery kept alive with in_progress delivered again",
        )
        .await;
        step("in_progress", working.in_progress()).await;
    }
    step("ack", working.ack()).await;
    quiet(
        &mut deliveries,
        &t,
        PROGRESS.ack_wait + SLACK,
        "an acked message delivered again",
    )
    .await;
    bus.close().await;
}

/// A delivery under [`Delivery::keep_alive`] (as [`crate::drain_until`] and
/// [`crate::drain_keyed`] hold every delivery they handle) is not delivered
/// again while a consumer that is alive but slow works on it for several
/// ack waits; once the guard is dropped without an ack, as when the process
/// dies, the message comes again after one ack wait.
pub async fn keep_alive_holds_a_slow_delivery(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step("consume", bus.consume(&KEEP_ALIVE)).await;
    publish_label(bus.as_ref(), KEEP_ALIVE.filter, &t, "slow-work").await;

    let working = next_own(&mut deliveries, &t, "the delivery").await;
    let alive = working.keep_alive();
    quiet(
        &mut deliveries,
        &t,
        KEEP_ALIVE.ack_wait * 4,
        "a delivery kept alive delivered again",
    )
    .await;
    drop(alive);
    let again = next_own(&mut deliveries, &t, "the delivery let go").await;
    assert_eq!(again.attempt, 2, "let go, it comes again as attempt 2");
    step("ack", again.ack()).await;
    drop(working);
    bus.close().await;
}

/// Two receivers of one consumer share its messages: each of 20 messages
/// is delivered exactly once across both.
pub async fn receivers_of_one_consumer_share_messages(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let a = step("consume (receiver a)", bus.consume(&SHARED)).await;
    let b = step("consume (receiver b)", bus.consume(&SHARED)).await;
    let mut both: BusStream<Delivery> = Box::pin(futures_util::stream::select(a, b));

    let expected: BTreeSet<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    for label in &expected {
        publish_label(bus.as_ref(), SHARED.filter, &t, label).await;
    }
    let mut seen = BTreeSet::new();
    while seen.len() < expected.len() {
        let got = next_own(&mut both, &t, "a shared message").await;
        let label = t.label(&got.message).unwrap_or_default();
        assert!(
            seen.insert(label.clone()),
            "{label} delivered twice (attempt {})",
            got.attempt
        );
        step("ack", got.ack()).await;
    }
    assert_eq!(seen, expected, "every message delivered");
    quiet(&mut both, &t, QUIET, "a message delivered twice").await;
    bus.close().await;
}

/// One receiver gets 50 messages in the order they were published.
pub async fn one_receiver_gets_messages_in_order(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let mut deliveries = step("consume", bus.consume(&ORDER)).await;
    let labels: Vec<String> = (0..50).map(|i| format!("m{i:02}")).collect();
    for label in &labels {
        publish_label(bus.as_ref(), ORDER.filter, &t, label).await;
    }
    for expected in &labels {
        let got = next_own(&mut deliveries, &t, "the next message").await;
        assert_eq!(
            t.label(&got.message).as_deref(),
            Some(expected.as_str()),
            "messages out of order"
        );
        assert_eq!(got.attempt, 1, "no redelivery expected");
        step("ack", got.ack()).await;
    }
    bus.close().await;
}

/// Messages not acked when the bus closes are delivered again after a
/// restart; an acked one is not.
///
/// Uses the consumer `conformance-restart` (ack wait 2 s: a server that
/// outlives the client redelivers once the ack wait passes). The attempt
/// count after a restart is not checked: the embedded bus starts again at 1.
pub async fn unacked_messages_survive_a_restart(factory: &dyn BusFactory) {
    let t = Tag::new();
    {
        let bus = open(factory).await;
        let mut deliveries = step("consume", bus.consume(&RESTART)).await;
        for label in ["r1", "r2", "r3"] {
            publish_label(bus.as_ref(), RESTART.filter, &t, label).await;
        }
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(next_own(&mut deliveries, &t, "a message before the restart").await);
        }
        let labels: Vec<_> = got.iter().filter_map(|d| t.label(&d.message)).collect();
        assert_eq!(labels, ["r1", "r2", "r3"], "messages before the restart");
        let mut got = got.into_iter();
        if let Some(first) = got.next() {
            step("ack r1", first.ack()).await;
        }
        // r2 and r3 are dropped unacked, as by a crashing handler.
        drop(got);
        drop(deliveries);
        bus.close().await;
    }

    let bus = open(factory).await;
    let mut deliveries = step("consume after restart", bus.consume(&RESTART)).await;
    let mut again = BTreeSet::new();
    for _ in 0..2 {
        let got = next_own(&mut deliveries, &t, "an unacked message after the restart").await;
        let label = t.label(&got.message).unwrap_or_default();
        assert!(
            label != "r1",
            "the message acked before the restart was delivered again"
        );
        assert!(again.insert(label.clone()), "{label} delivered twice");
        step("ack", got.ack()).await;
    }
    let expected: BTreeSet<String> = ["r2", "r3"].map(String::from).into();
    assert_eq!(again, expected, "unacked messages after the restart");

    publish_label(bus.as_ref(), RESTART.filter, &t, "sentinel").await;
    let next = next_own(&mut deliveries, &t, "the sentinel").await;
    assert_eq!(
        t.label(&next.message).as_deref(),
        Some("sentinel"),
        "nothing but the sentinel is left"
    );
    step("ack sentinel", next.ack()).await;
    bus.close().await;
}
