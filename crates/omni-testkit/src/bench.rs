//! Shared pieces of the end-to-end benchmarks: the machine description,
//! percentile summaries, and the two measurements (first message to offer
//! at one in flight; sustained inbound throughput), driven over the real
//! chat and desk protocols against any running Omniroute.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Endpoints, HttpClient, JsonSocket};

/// A positive integer from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p`th percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Prints one line: count, p50, p99, p99.9 and max, in milliseconds.
pub fn summary(label: &str, mut samples: Vec<Duration>) {
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

/// CPU model, core count and kernel of this machine.
pub fn machine() -> String {
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

/// An agent signed in at the desk, available, with its event socket.
pub struct BenchAgent {
    api: HttpClient,
    events: JsonSocket,
}

impl BenchAgent {
    /// Signs `agent_id` in and makes it available.
    pub async fn sign_in(app: &impl Endpoints, agent_id: &str) -> anyhow::Result<Self> {
        let desk = HttpClient::new(app.desk_url());
        let (r, api) = desk
            .sign_in(agent_id, omni_testclients::actors::TEST_PASSWORD)
            .await?;
        let api = match api {
            Some(api) => api,
            None => anyhow::bail!("sign in: {} {}", r.status, r.body),
        };
        let mut events = omni_testclients::actors::desk_events(app, &api).await?;
        events.recv_type("state").await?;
        api.put("/api/presence", &json!({ "presence": "available" }))
            .await?;
        Ok(Self { api, events })
    }
}

/// Latency from a new customer's first chat message (sent) to the agent's
/// offer (received at the desk), one message in flight, `messages` times;
/// and, of the same messages, the latency to the chat's `ack` (the message
/// durably on the bus). Returns (offer, ack) latencies.
pub async fn first_message_to_offer(
    app: &impl Endpoints,
    agent: &mut BenchAgent,
    messages: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let mut latency = Vec::with_capacity(messages);
    let mut acks = Vec::with_capacity(messages);
    for i in 0..messages {
        let mut chat = JsonSocket::connect(&app.chat_ws_url()).await?;
        chat.send(&json!({ "type": "hello", "visitor": null, "topic": "sales" }))
            .await?;
        chat.recv_type("welcome").await?;
        let start = Instant::now();
        chat.send(&json!({ "type": "message", "client_id": format!("m{i}"), "text": "hello" }))
            .await?;
        chat.recv_type("ack").await?;
        acks.push(start.elapsed());
        agent.events.recv_type("offer").await?;
        latency.push(start.elapsed());
    }
    Ok((latency, acks))
}

/// Sustained throughput: `customers` connected customers, each in an
/// accepted conversation, send about `messages` messages in all as fast as
/// acks come back; counted when the agent's desk has received each one.
/// Returns (messages, seconds).
pub async fn sustained(
    app: &impl Endpoints,
    agent: &mut BenchAgent,
    customers: usize,
    messages: usize,
) -> anyhow::Result<(usize, f64)> {
    let mut sockets = Vec::with_capacity(customers);
    for _ in 0..customers {
        let mut chat = JsonSocket::connect(&app.chat_ws_url()).await?;
        chat.send(&json!({ "type": "hello", "visitor": null, "topic": "support" }))
            .await?;
        chat.recv_type("welcome").await?;
        chat.send(&json!({ "type": "message", "client_id": "open", "text": "hi" }))
            .await?;
        chat.recv_type("ack").await?;
        let offer = agent.events.recv_type("offer").await?;
        let offer_id = offer["offer"]["offer_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        agent
            .api
            .post(&format!("/api/offers/{offer_id}/accept"), &json!({}))
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
        let frame = agent.events.recv_type("message").await?;
        if frame["message"]["text"] == "more" {
            seen += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    for s in senders {
        s.await??;
    }
    Ok((total, elapsed))
}
