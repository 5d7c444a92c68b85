//! Checks that a conversation keeps the trace context of its latest
//! customer message, for the agents' actions to continue.

use crate::{ContextStore, IngestOptions};

use super::{POLICY, StoreFactory, T0, Tag, inbound, open, queue, step};

const FIRST: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const SECOND: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// The conversation holds the `traceparent` its latest customer message came
/// with; a message without one keeps it, a duplicate changes nothing, and
/// it survives a reopened store.
pub async fn conversation_keeps_the_latest_trace<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("traced");
    let with = |trace: Option<&str>| {
        let mut options = IngestOptions::new(queue(), POLICY);
        options.trace = trace.map(str::to_owned);
        options
    };
    let first = step(
        "ingest with a trace",
        store.ingest_with(&inbound(&who, &t.key("1"), "a", T0), &with(Some(FIRST))),
    )
    .await;
    let id = first.conversation.id.clone();
    assert_eq!(first.conversation.trace.as_deref(), Some(FIRST));
    let untraced = step(
        "ingest without a trace",
        store.ingest_with(&inbound(&who, &t.key("2"), "b", T0 + 1), &with(None)),
    )
    .await;
    assert_eq!(untraced.conversation.id, id);
    assert_eq!(untraced.conversation.trace.as_deref(), Some(FIRST));
    let second = step(
        "ingest with another trace",
        store.ingest_with(
            &inbound(&who, &t.key("3"), "c", T0 + 2),
            &with(Some(SECOND)),
        ),
    )
    .await;
    assert_eq!(second.conversation.trace.as_deref(), Some(SECOND));
    let duplicate = step(
        "ingest a duplicate",
        store.ingest_with(&inbound(&who, &t.key("1"), "a", T0), &with(Some(FIRST))),
    )
    .await;
    assert!(duplicate.duplicate);
    drop(store);
    let store = open(factory).await;
    let stored = step("read back", store.conversation(&id)).await;
    assert_eq!(stored.and_then(|c| c.trace).as_deref(), Some(SECOND));
}
