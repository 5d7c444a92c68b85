//! Erasing a customer in distributed mode, every part in its own process:
//! afterwards the customer's words are in neither Redis nor any NATS
//! stream, and the desk shows no trace of them to the agent who held the
//! conversation or to a supervisor.

use std::sync::{Arc, Mutex};

use omni_bus::{Bus, Message, MessageFilter, topology};
use omni_bus_nats::NatsBus;
use omni_testkit::actors::{Agent, Customer, TEST_PASSWORD};
use omni_testkit::{Cluster, Endpoints, HttpClient};
use serde_json::json;

use crate::distributed::Urls;
use crate::support::{binary, blocking};

const SAID: &str = "erase-me-4711 my account number";
const REPLIED: &str = "reply-to-erase-0815";

/// How many messages of every stream hold `text` (a scan that deletes nothing).
async fn on_nats(bus: &NatsBus, text: &'static str) -> anyhow::Result<usize> {
    let seen = Arc::new(Mutex::new(0usize));
    for stream in topology::STREAMS {
        let counter = Arc::clone(&seen);
        let filter: MessageFilter = Arc::new(move |m: &Message| {
            if m.payload.windows(text.len()).any(|w| w == text.as_bytes()) {
                *counter.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            }
            false
        });
        bus.purge(stream.name, filter).await?;
    }
    let n = *seen.lock().unwrap_or_else(|e| e.into_inner());
    Ok(n)
}

/// Whether any Redis key or value holds `text`.
async fn in_redis(url: &str, text: &str) -> anyhow::Result<bool> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await?;
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await?;
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![redis::cmd("GET").arg(&key).query_async(&mut conn).await?],
            "zset" => {
                redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await?
            }
            "hash" => redis::cmd("HVALS").arg(&key).query_async(&mut conn).await?,
            "set" => {
                redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await?
            }
            "list" => {
                redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await?
            }
            _ => Vec::new(),
        };
        let holds = |b: &[u8]| b.windows(text.len()).any(|w| w == text.as_bytes());
        if holds(key.as_bytes()) || values.iter().any(|v| holds(v)) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_customer_leaves_no_trace_across_processes() -> anyhow::Result<()> {
    let cluster = blocking(|| Cluster::start(binary())).await?;
    let urls = Urls::of(&cluster);
    let mut bob = Agent::sign_in(&urls, "bob").await?;
    let (mut customer, _) = Customer::open(&urls, None, "sales").await?;
    customer.say(SAID).await?;
    let conversation = bob.take_next_offer().await?;
    bob.reply(&conversation, REPLIED, "r1").await?;
    customer.socket.recv_type("message").await?;

    let nats = NatsBus::connect(&cluster.nats.url()).await?;
    assert!(
        on_nats(&nats, SAID).await? > 0,
        "the customer's words are on the bus"
    );
    assert!(
        in_redis(&cluster.redis.url(), SAID).await?,
        "and in the store"
    );

    let seen = bob
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    let customer_id = seen.body["customer"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no customer: {}", seen.body))?
        .to_owned();

    let (_, admin) = HttpClient::new(cluster.desk_url())
        .sign_in("admin", TEST_PASSWORD)
        .await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("admin sign-in"))?;
    let erased = admin
        .delete(&format!("/api/admin/customers/{customer_id}"))
        .await?;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(erased.body["conversations"], 1, "{}", erased.body);
    assert_eq!(erased.body["messages"], 2, "{}", erased.body);

    for text in [SAID, REPLIED] {
        assert_eq!(on_nats(&nats, text).await?, 0, "{text} on a NATS stream");
        assert!(
            !in_redis(&cluster.redis.url(), text).await?,
            "{text} in Redis"
        );
    }
    assert!(
        !in_redis(&cluster.redis.url(), &customer.visitor).await?,
        "the visitor id is in Redis"
    );

    // The desk: the conversation is gone for bob and for a supervisor, and
    // bob no longer holds it.
    let gone = bob
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    assert!(
        gone.status == 404 || gone.status == 403,
        "bob reads the erased conversation: {} {}",
        gone.status,
        gone.body
    );
    let (_, supervisor) = HttpClient::new(cluster.desk_url())
        .sign_in("supervisor", TEST_PASSWORD)
        .await?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("supervisor sign-in"))?;
    let gone = supervisor
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    assert_eq!(gone.status, 404, "{}", gone.body);
    let mut released = false;
    for _ in 0..200 {
        let me = bob.api.get("/api/me").await?;
        if !me.body["assigned"]
            .as_array()
            .is_some_and(|a| a.contains(&json!(conversation)))
        {
            released = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(released, "bob is released from the erased conversation");
    let audit = admin.get("/api/admin/audit?limit=20").await?;
    let line = audit.body["events"]
        .as_array()
        .and_then(|events| events.iter().find(|e| e["action"] == "customer_erased"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(line["actor"], "admin", "{}", audit.body);
    assert_eq!(line["target"], customer_id.as_str(), "{}", audit.body);
    assert_eq!(
        line["from"], "127.0.0.1",
        "the admin's browser: {}",
        audit.body
    );
    assert!(!audit.body.to_string().contains("erase-me-4711"));
    nats.close().await;
    Ok(())
}
