//! Checks for deleting stored messages by content.

use std::sync::Arc;

use super::{BusFactory, PURGE, QUIET, Tag, next_own, open, publish_label, quiet, step};
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
