//! The store conformance suite against Redis, plus the Redis store's own
//! failure modes: an unreachable server, and a server restart.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{AgentId, Channel, CustomerId, Identity, InboundMessage, QueueId};
use omni_store::conformance::{self, StoreFactory};
use omni_store::{ContextStore, ContinuityPolicy, Ingested, RouterStore, StoreError};
use omni_store_redis::RedisStore;
use omni_testservers::redis::RedisServer;

/// One `redis-server` (AOF, killed on drop) and a prefix of its own; `open`
/// connects again, as a restarted process would, and sees the same data.
struct Redis {
    server: RedisServer,
    prefix: String,
}

impl Redis {
    fn new() -> Self {
        let server = RedisServer::start().expect("start redis-server");
        let prefix = format!(
            "test-{}",
            CustomerId::generate().as_str().trim_start_matches("cus_")
        );
        Self { server, prefix }
    }
}

#[async_trait]
impl StoreFactory for Redis {
    type Store = RedisStore;

    async fn open(&self) -> Result<Arc<RedisStore>, StoreError> {
        RedisStore::connect(&self.server.url(), &self.prefix).await
    }
}

omni_store::store_conformance_tests!(Redis::new());

#[tokio::test]
async fn all_checks_pass_on_one_shared_store() {
    conformance::run_all(&Redis::new()).await;
}

#[tokio::test]
async fn a_dead_port_is_unavailable_and_named() {
    let port = omni_testservers::free_port().expect("free port");
    let url = format!("redis://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let err = RedisStore::connect(&url, "omni")
        .await
        .expect_err("nothing listens there");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("cannot reach Redis at {url}")),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "connect must give up within its timeout, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_prefix_with_braces_is_refused() {
    let server = RedisServer::start().expect("start redis-server");
    let err = RedisStore::connect(&server.url(), "a}b")
        .await
        .expect_err("braces would break the hash tag");
    assert!(err.to_string().contains("prefix"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_server_restart_and_the_store_reconnects() {
    let mut redis = Redis::new();
    let store = redis.open().await.expect("connect");
    let who = Identity::Email(format!("{}@example.com", redis.prefix));
    let policy = ContinuityPolicy {
        reopen_window_ms: 60_000,
    };
    let message = |key: &str, at| InboundMessage {
        idempotency_key: key.to_owned(),
        channel: Channel::EMAIL,
        from: who.clone(),
        text: format!("text of {key}"),
        received_at_ms: at,
        topic: None,
        display_name: Some("Ada".into()),
        email: None,
        sms: None,
    };
    let queue = QueueId::from("que_restart");
    let first = store
        .ingest(&message("m1", 1_000), &queue, policy)
        .await
        .expect("ingest");
    let agent = AgentId::from("agt_restart");
    store
        .assign(&first.conversation.id, &agent, 2_000)
        .await
        .expect("assign");
    let contact = omni_store::ContactRecord {
        conversation_id: first.conversation.id.clone(),
        customer_id: first.customer.id.clone(),
        queue: queue.clone(),
        channel: Channel::EMAIL,
        queued_at_ms: 1_000,
        preferred_agent: None,
        assigned_agent: Some(agent.clone()),
        priority: 0,
        reasons: Vec::new(),
        language: None,
    };
    store.put_contact(&contact).await.expect("put_contact");

    // SIGKILL, as a crash: only what reached the append-only file survives.
    redis.server.restart().expect("restart redis-server");

    // The connection of the running store heals by itself.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let conversation = loop {
        match store.conversation(&first.conversation.id).await {
            Ok(found) => break found,
            Err(StoreError::Unavailable(e)) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = %e, "waiting for reconnect");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("store did not reconnect after the restart: {e}"),
        }
    };
    let conversation = conversation.expect("conversation lost in the restart");
    assert_eq!(conversation.assigned_agent.as_ref(), Some(&agent));

    let fresh = redis.open().await.expect("connect after restart");
    assert_eq!(
        fresh.customer_by_identity(&who).await.expect("identity"),
        Some(first.customer.id.clone())
    );
    assert!(fresh.contacts().await.expect("contacts").contains(&contact));
    let dup = fresh
        .ingest(&message("m1", 1_000), &queue, policy)
        .await
        .expect("redelivery");
    assert!(dup.duplicate, "idempotency keys survive the restart");
    let next = store
        .ingest(&message("m2", 3_000), &queue, policy)
        .await
        .expect("ingest after restart");
    assert_eq!(
        (next.conversation.id, next.message.seq),
        (first.conversation.id, 2)
    );
}

fn sms(from: &str, key: &str, text: &str, at: Millis) -> InboundMessage {
    InboundMessage {
        idempotency_key: key.to_owned(),
        channel: Channel::SMS,
        from: Identity::Phone(from.to_owned()),
        text: text.to_owned(),
        received_at_ms: at,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

const POLICY: ContinuityPolicy = ContinuityPolicy {
    reopen_window_ms: 1_000,
};

/// Ingests an SMS (see [`sms`]) into queue `que_x`.
async fn ingest_sms(
    store: &RedisStore,
    from: &str,
    key: &str,
    text: &str,
    at: Millis,
) -> Result<Ingested, StoreError> {
    store
        .ingest(&sms(from, key, text, at), &QueueId::from("que_x"), POLICY)
        .await
}

#[tokio::test]
async fn awkward_text_and_large_numbers_round_trip_exactly() {
    let redis = Redis::new();
    let store = redis.open().await.expect("connect");
    // Quotes, escapes, slashes, control characters, non-ASCII, and a
    // timestamp far beyond what cjson's default number format keeps exact.
    let text = "say \"hi\" \\ back/slash\n\ttab \u{1} é 日本 🎉 {\"json\": null}";
    let at: Millis = (1 << 53) - 1;
    let mut message = sms("+15550100", "awkward-1", text, at);
    message.display_name = Some("Zoë \"Z\" O'Brien".into());
    let first = store
        .ingest(&message, &QueueId::from("que_x"), POLICY)
        .await
        .expect("ingest");
    assert_eq!(first.message.text, text);
    assert_eq!(first.message.at_ms, at);
    assert_eq!(first.conversation.created_at_ms, at);
    assert_eq!(
        first.customer.display_name.as_deref(),
        Some("Zoë \"Z\" O'Brien")
    );
    let history = store
        .messages(&first.conversation.id, 0, 10)
        .await
        .expect("messages");
    assert_eq!(history, vec![first.message.clone()]);
    let stored = store
        .conversation(&first.conversation.id)
        .await
        .expect("conversation");
    assert_eq!(stored.as_ref(), Some(&first.conversation));
}

/// Replaces one raw record, as a bug or a damaged disk might.
async fn overwrite(redis: &Redis, key: &str, value: &str) {
    let client = redis::Client::open(redis.server.url()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async::<()>(&mut conn)
        .await
        .expect("SET");
}

#[tokio::test]
async fn an_undecodable_record_is_reported_corrupt_with_its_key() {
    let redis = Redis::new();
    let store = redis.open().await.expect("connect");
    let first = ingest_sms(&store, "+15550101", "k1", "hi", 1)
        .await
        .expect("ingest");
    let id = first.conversation.id.clone();
    let key = format!("{{{}}}:conversation:{id}", redis.prefix);
    overwrite(&redis, &key, "{not json").await;

    match store.conversation(&id).await {
        Err(StoreError::Corrupt { key: named, .. }) => assert_eq!(named, key),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    for (what, result) in [
        (
            "ingest",
            ingest_sms(&store, "+15550101", "k2", "again", 2)
                .await
                .map(|_| ()),
        ),
        (
            "assign",
            store
                .assign(&id, &AgentId::from("agt_x"), 3)
                .await
                .map(|_| ()),
        ),
        ("resolve", store.resolve(&id, 3).await.map(|_| ())),
        (
            "open_conversations",
            store.open_conversations().await.map(|_| ()),
        ),
    ] {
        match result {
            Err(StoreError::Corrupt { key: named, .. }) => assert_eq!(named, key, "{what}"),
            other => panic!("{what}: expected Corrupt, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_refused_ingest_leaves_nothing_behind() {
    let redis = Redis::new();
    let store = redis.open().await.expect("connect");
    let first = ingest_sms(&store, "+15550102", "k1", "hi", 1)
        .await
        .expect("ingest");
    let key = format!("{{{}}}:customer:{}", redis.prefix, first.customer.id);
    let good = serde_json::to_string(&first.customer).expect("encode");
    overwrite(&redis, &key, "[]").await;
    let err = ingest_sms(&store, "+15550102", "k2", "again", 2)
        .await
        .expect_err("customer record is corrupt");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    overwrite(&redis, &key, &good).await;

    // The refused attempt stored neither the message nor its key.
    let retry = ingest_sms(&store, "+15550102", "k2", "again", 2)
        .await
        .expect("retry");
    assert!(!retry.duplicate);
    assert_eq!(retry.message.seq, 2);
    let history = store
        .messages(&first.conversation.id, 0, 10)
        .await
        .expect("messages");
    assert_eq!(history.len(), 2);
}
