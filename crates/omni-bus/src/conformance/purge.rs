//! Checks for what a durable consumer holds: deleting stored messages by
//! content, and the pending count operators watch.

use std::sync::Arc;

use super::{
    BusFactory, PENDING, PURGE, QUIET, STEP, Tag, next_own, open, publish_label, quiet, step,
};
use crate::{BusError, topology};

/// A purge deletes exactly the stored messages its filter selects: they are
/// never delivered, the others are; a purge that selects nothing deletes
/// nothing; an unknown stream is refused.
pub async fn purge_deletes_only_selected_messages(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    // Register the consumer, then let go of it while the messages arrive.
    drop(step("register", bus.consume(&PURGE)).await);
    for label in ["erase-1", "keep", "erase-2"] {
        publish_label(bus.as_ref(), PURGE.filter, &t, label).await;
    }
    let tag = t.0.clone();
    let erase = Arc::new(move |m: &crate::Message| {
        m.payload.starts_with(format!("{tag}/erase-").as_bytes())
    });
    let purged = step("purge", bus.purge(topology::OUTBOUND.name, erase.clone())).await;
    assert_eq!(purged, 2, "the two selected messages are deleted");
    let again = step("purge again", bus.purge(topology::OUTBOUND.name, erase)).await;
    assert_eq!(again, 0, "a second purge finds nothing left to delete");

    let mut deliveries = step("consume", bus.consume(&PURGE)).await;
    let got = next_own(&mut deliveries, &t, "the message kept").await;
    assert_eq!(t.label(&got.message).as_deref(), Some("keep"));
    step("ack", got.ack()).await;
    quiet(&mut deliveries, &t, QUIET, "a purged message was delivered").await;

    let unknown = bus.purge("NO_SUCH_STREAM", Arc::new(|_| true)).await;
    assert!(
        matches!(unknown, Err(BusError::NoStream(_))),
        "purge of an unknown stream: expected NoStream, got {unknown:?}"
    );
    bus.close().await;
}

/// `omni_bus_consumer_pending` ([`crate::pending`]) counts a consumer's
/// messages not yet acknowledged: the backlog once it consumes, and nothing
/// once every message is acked.
pub async fn pending_counts_what_is_not_acknowledged(factory: &dyn BusFactory) {
    let bus = open(factory).await;
    let t = Tag::new();
    let gauge = crate::pending(PENDING.name);
    drop(step("register", bus.consume(&PENDING)).await);
    for label in ["one", "two", "three"] {
        publish_label(bus.as_ref(), PENDING.filter, &t, label).await;
    }
    let mut deliveries = step("consume", bus.consume(&PENDING)).await;
    settles(&gauge, 3, "three messages stored, none acked").await;
    for label in ["one", "two", "three"] {
        let got = next_own(&mut deliveries, &t, label).await;
        step("ack", got.ack()).await;
    }
    settles(&gauge, 0, "every message acked").await;
    bus.close().await;
}

/// Waits (at most [`STEP`]) for `gauge` to read `want`.
async fn settles(gauge: &std::sync::atomic::AtomicU64, want: u64, what: &str) {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let now = gauge.load(std::sync::atomic::Ordering::Relaxed);
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pending count, {what}: expected {want}, still {now} after {STEP:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
