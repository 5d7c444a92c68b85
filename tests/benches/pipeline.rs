//! End-to-end pipeline benchmark, embedded mode: `cargo bench -p omni-e2e --bench pipeline`.
//!
//! Over the real protocols (chat WebSocket in, desk event WebSocket out):
//! 1. latency from a customer's first message to the agent's offer, one
//!    message in flight, as p50/p99/p99.9;
//! 2. sustained inbound throughput: messages from many connected customers,
//!    counted when the agent's desk has received each one;
//! 3. the floor under both: one durable embedded-bus publish (an fsync).
//!
//! Prints the machine it ran on. `BENCH_MESSAGES` and `BENCH_CUSTOMERS`
//! change the sizes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use omni_bus::{Bus, EmbeddedBus, Message};
use omni_core::Channel;
use omni_core::config::AgentConfig;
use omni_testkit::app::test_config;
use omni_testkit::{HttpClient, JsonSocket, TestApp};
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label:<44} n={:<6} p50={:>8.3} ms  p99={:>8.3} ms  p99.9={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        percentile(&samples, 50.0).as_secs_f64() * 1e3,
        percentile(&samples, 99.0).as_secs_f64() * 1e3,
        percentile(&samples, 99.9).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, linux {}", kernel.trim())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var("BENCH_DEBUG").is_ok() {
        let _ = omni_telemetry::init(&omni_telemetry::TelemetryOptions {
            filter: Some("info".into()),
            ..Default::default()
        });
    }
    let messages = env_usize("BENCH_MESSAGES", 500);
    let customers = env_usize("BENCH_CUSTOMERS", 20);
    println!(
        "omniroute pipeline benchmark (embedded mode, debug={})",
        cfg!(debug_assertions)
    );
    println!("machine: {}", machine());

    // Floor: one durable publish on the embedded bus.
    let dir = tempfile::tempdir()?;
    let bus = EmbeddedBus::open(&dir.path().join("bus.redb"))?;
    let mut floor = Vec::new();
    for i in 0..200 {
        let start = Instant::now();
        bus.publish(
            Message::new("omni.outbound.email", format!("floor {i}")),
            None,
        )
        .await?;
        floor.push(start.elapsed());
    }
    bus.close().await;
    summary("floor: durable bus publish (fsync)", floor);

    // One agent with room for every conversation, offers that never expire.
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.routing.offer_timeout_secs = 24 * 3600;
    config.agents = vec![AgentConfig {
        id: "bench".into(),
        name: Some("Bench Agent".into()),
        skills: BTreeMap::from([("sales".to_owned(), 9), ("support".to_owned(), 9)]),
        languages: vec!["en".into()],
        capacity: BTreeMap::from([(Channel::Chat, 1_000_000)]),
        total: None,
    }];
    let app = TestApp::start_with(data, config).await?;
    let desk = HttpClient::new(app.desk_url());
    let session = desk
        .post("/api/session", &json!({ "agent_id": "bench" }))
        .await?;
    let token = session.body["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let api = desk.with_token(&token);
    let mut events = JsonSocket::connect(&app.desk_events_url(&token)).await?;
    events.recv_type("state").await?;
    api.put("/api/presence", &json!({ "presence": "available" }))
        .await?;

    // 1. First message to offer, one in flight.
    let mut latency = Vec::with_capacity(messages);
    for i in 0..messages {
        let mut chat = JsonSocket::connect(&app.chat_ws_url()).await?;
        chat.send(&json!({ "type": "hello", "visitor": null, "topic": "sales" }))
            .await?;
        chat.recv_type("welcome").await?;
        let start = Instant::now();
        chat.send(&json!({ "type": "message", "client_id": format!("m{i}"), "text": "hello" }))
            .await?;
        chat.recv_type("ack").await?;
        let acked = start.elapsed();
        events.recv_type("offer").await?;
        latency.push(start.elapsed());
        if std::env::var("BENCH_DEBUG").is_ok() && i < 5 {
            println!("ack {:?} offer {:?}", acked, start.elapsed());
        }
    }
    summary("first message -> agent offer (1 in flight)", latency);

    // 2. Sustained throughput: many customers, each in an accepted conversation.
    let mut sockets = Vec::with_capacity(customers);
    for _ in 0..customers {
        let mut chat = JsonSocket::connect(&app.chat_ws_url()).await?;
        chat.send(&json!({ "type": "hello", "visitor": null, "topic": "support" }))
            .await?;
        chat.recv_type("welcome").await?;
        chat.send(&json!({ "type": "message", "client_id": "open", "text": "hi" }))
            .await?;
        chat.recv_type("ack").await?;
        let offer = events.recv_type("offer").await?;
        let offer_id = offer["offer"]["offer_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        api.post(&format!("/api/offers/{offer_id}/accept"), &json!({}))
            .await?;
        sockets.push(chat);
    }
    let per_customer = messages.max(customers) / customers;
    let total = per_customer * customers;
    let start = Instant::now();
    let senders: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(c, mut chat)| {
            tokio::spawn(async move {
                for i in 0..per_customer {
                    chat.send(&json!({ "type": "message", "client_id": format!("c{c}m{i}"), "text": "more" }))
                        .await?;
                    chat.recv_type("ack").await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let mut seen = 0;
    while seen < total {
        let frame = events.recv_type("message").await?;
        if frame["message"]["text"] == "more" {
            seen += 1;
        }
    }
    let elapsed = start.elapsed();
    for s in senders {
        s.await??;
    }
    println!(
        "{:<44} {total} messages from {customers} customers in {:.2} s = {:.0} messages/s",
        "sustained inbound, accepted to agent desk",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    app.stop().await;
    Ok(())
}
