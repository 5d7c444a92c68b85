//! The embedded bus's framing and storage, below the conformance suite.

use super::codec::{decode, encode};
use super::log::{init, prune_dedup, seen_recently, window_ms};
use super::{DEDUP, DEDUP_BY_TIME};
use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTableMetadata};

use crate::Message;

fn sample() -> Message {
    Message::new(
        "omni.inbound.chat",
        Bytes::from_static(b"\x00\x01payload\xff"),
    )
    .with_header(
        "traceparent",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    .with_header("x-empty", "")
}

#[test]
fn framing_round_trips() {
    let message = sample();
    assert_eq!(decode(&encode(&message)), Ok(message));
    let bare = Message::new("a.b", Bytes::new());
    assert_eq!(decode(&encode(&bare)), Ok(bare));
}

#[test]
fn damaged_records_are_errors_not_panics() {
    let encoded = encode(&sample());
    assert!(decode(&[]).is_err());
    assert!(decode(&[9]).is_err());
    // Every cut inside the subject or headers is caught.
    let payload_at = encoded.len() - sample().payload.len();
    for cut in 1..payload_at {
        assert!(decode(&encoded[..cut]).is_err(), "cut at {cut}");
    }
    let mut huge = encoded.clone();
    huge[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(decode(&huge).is_err());
}

fn database() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = Database::create(dir.path().join("bus.redb")).expect("database");
    init(&db).expect("init");
    (dir, db)
}

fn seen(db: &Database, id: &str, now_ms: u64) -> bool {
    let txn = db.begin_write().expect("write");
    let seen = seen_recently(&txn, id, now_ms).expect("dedup");
    txn.commit().expect("commit");
    seen
}

fn dedup_len(db: &Database) -> (u64, u64) {
    let txn = db.begin_read().expect("read");
    let a = txn.open_table(DEDUP).expect("dedup").len().expect("len");
    let b = txn
        .open_table(DEDUP_BY_TIME)
        .expect("index")
        .len()
        .expect("len");
    (a, b)
}

#[test]
fn message_ids_expire_after_the_window() {
    let (_dir, db) = database();
    let t0 = 1_700_000_000_000;
    let window = window_ms();
    assert!(!seen(&db, "m1", t0));
    assert!(seen(&db, "m1", t0 + window - 1));
    assert!(!seen(&db, "m1", t0 + window), "the window has passed");
    assert!(
        seen(&db, "m1", t0 + window + 1),
        "re-recorded at the later time"
    );
    assert_eq!(dedup_len(&db), (1, 1), "one id, one index entry");
}

#[test]
fn pruning_forgets_only_old_ids() {
    let (_dir, db) = database();
    let t0 = 1_700_000_000_000;
    for i in 0..10 {
        assert!(!seen(&db, &format!("old-{i}"), t0 + i));
    }
    assert!(!seen(&db, "new", t0 + 1_000));
    let txn = db.begin_write().expect("write");
    assert_eq!(prune_dedup(&txn, t0 + 4, 100).expect("prune"), 4);
    assert_eq!(
        prune_dedup(&txn, t0 + 1_000, 3).expect("prune"),
        3,
        "limit holds"
    );
    assert_eq!(prune_dedup(&txn, t0 + 1_000, 100).expect("prune"), 3);
    txn.commit().expect("commit");
    assert_eq!(dedup_len(&db), (1, 1));
    assert!(seen(&db, "new", t0 + 1_001), "the recent id is kept");
}

#[test]
fn frames_carry_the_publish_time() {
    use super::codec::{encode_at, published_ms};
    let message = sample();
    let framed = encode_at(&message, 1_700_000_000_123);
    assert_eq!(decode(&framed), Ok(message.clone()));
    assert_eq!(published_ms(&framed), Some(1_700_000_000_123));
    // A version 1 frame (no time) still decodes, and has no time.
    let mut v1 = framed.clone();
    v1[0] = 1;
    let at = framed.len() - message.payload.len() - 8;
    v1.drain(at..at + 8);
    assert_eq!(decode(&v1), Ok(message));
    assert_eq!(published_ms(&v1), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_past_the_max_age_are_not_delivered() {
    use crate::{Bus, topology};
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().expect("temporary directory");
    let bus = super::EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
    let subject = "omni.outbound.chat";
    bus.publish(Message::new(subject, Bytes::from_static(b"old")), None)
        .await
        .expect("publish");
    let cutoff = super::log::unix_ms() + 1;
    // Nothing published before the epoch: nothing expires.
    assert_eq!(bus.expire_before(0).await.expect("expire"), 0);
    assert_eq!(bus.expire_before(cutoff).await.expect("expire"), 1);
    bus.publish(Message::new(subject, Bytes::from_static(b"new")), None)
        .await
        .expect("publish");
    let mut deliveries = bus
        .consume(&topology::CHAT_OUTBOUND)
        .await
        .expect("consume");
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), deliveries.next())
        .await
        .expect("a delivery")
        .expect("open");
    assert_eq!(first.message.payload.as_ref(), b"new");
    bus.close().await;
}
