//! The embedded store's own failure modes: damaged records and failed writes.

use std::sync::Arc;

use omni_core::{Identity, InboundMessage};

use super::EmbeddedStore;
use super::records::encode;
use super::schema::{CONVERSATIONS, CUSTOMERS, JsonTable};
use crate::{ContextStore, ContinuityPolicy, Ingested, StoreError};
use omni_core::QueueId;

fn message(key: &str) -> InboundMessage {
    InboundMessage {
        idempotency_key: key.into(),
        channel: omni_core::Channel::SMS,
        from: Identity::Phone("+15550100".into()),
        text: "hi".into(),
        received_at_ms: 1,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

const POLICY: ContinuityPolicy = ContinuityPolicy {
    reopen_window_ms: 1_000,
};

/// Ingests the message with key `key` into queue `que_a`.
async fn ingest(store: &EmbeddedStore, key: &str) -> Result<Ingested, StoreError> {
    store
        .ingest(&message(key), &QueueId::from("que_a"), POLICY)
        .await
}

/// A store in `dir` that has ingested message `k1`.
async fn store_with_k1(dir: &tempfile::TempDir) -> (Arc<EmbeddedStore>, Ingested) {
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("open");
    let first = ingest(&store, "k1").await.expect("ingest");
    (store, first)
}

/// Replaces one raw record, as a bug or a damaged disk might.
fn overwrite(store: &EmbeddedStore, table: JsonTable, key: &str, bytes: &[u8]) {
    let txn = store.db.begin_write().expect("begin write");
    txn.open_table(table)
        .expect("open table")
        .insert(key, bytes)
        .expect("insert");
    txn.commit().expect("commit");
}

#[tokio::test]
async fn an_undecodable_record_is_reported_corrupt_with_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, first) = store_with_k1(&dir).await;
    let id = first.conversation.id.clone();
    overwrite(&store, CONVERSATIONS, id.as_str(), b"{not json");

    let err = store.conversation(&id).await.expect_err("corrupt read");
    match &err {
        StoreError::Corrupt { key, .. } => assert_eq!(key, &format!("conversations/{id}")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let err = ingest(&store, "k2")
        .await
        .expect_err("ingest into a corrupt conversation");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let err = store.open_conversations().await.expect_err("scan");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failed_ingest_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, first) = store_with_k1(&dir).await;
    let customer = first.customer.id.clone();
    let good = encode("customers", &first.customer).expect("encode");
    overwrite(&store, CUSTOMERS, customer.as_str(), b"[]");
    ingest(&store, "k2")
        .await
        .expect_err("customer record is corrupt");
    overwrite(&store, CUSTOMERS, customer.as_str(), &good);

    // The failed attempt stored neither the message nor its key.
    let retry = ingest(&store, "k2").await.expect("retry");
    assert!(!retry.duplicate);
    assert_eq!(retry.message.seq, 2);
}
