//! End-to-end benchmark, distributed mode: `cargo bench -p omni --bench distributed`.
//!
//! Starts a real nats-server (JetStream) and redis-server (AOF,
//! `appendfsync always`) and every part as its own `omni` process (release
//! build), all on this machine, then measures over the real protocols
//! (chat WebSocket in, desk event WebSocket out):
//! 1. the floors, in the same run: a raw NATS request/reply round trip and a
//!    raw Redis round trip (PING); and, for reference, one durable Redis
//!    write (`SET` answered after the AOF fsync), which every ingest pays;
//! 2. latency from a customer's first message to the agent's offer, one
//!    message in flight, as p50/p99/p99.9;
//! 3. sustained inbound throughput from many connected customers, counted
//!    when the agent's desk has received each message.
//!
//! `BENCH_MESSAGES` and `BENCH_CUSTOMERS` change the sizes; `OMNI_LOG` sets
//! the parts' log filter (default `info`, as in production).
//!
//! `BENCH_ENRICHMENT=compare` measures instead what the enrichment stage
//! (docs/enrichment.md) adds to a first message's way to the offer: in
//! `BENCH_ROUNDS` rounds (default 3), a cluster with enrichment on (the
//! default configuration: the built-in analyzers) and one with
//! `[enrichment] enabled = false`, one after the other on fresh servers,
//! `BENCH_MESSAGES` first messages each; then p50 and p99 of each mode
//! over all rounds, and the difference. `BENCH_ENRICHMENT=off` runs the
//! whole benchmark with enrichment off.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use omni_testkit::Cluster;
use omni_testkit::bench::{
    BenchAgent, env_usize, first_message_to_offer, machine, percentile, summary, sustained,
};

/// One agent with room for every conversation; offers never expire.
const CONFIG: &str = r#"
[context]
default_queue = { chat = "support" }
topics = { sales = "sales", support = "support" }

[routing]
offer_timeout_secs = 86400

# Every customer of the benchmark comes from one address: the per-address
# limits would throttle the load, not measure the pipeline.
[limits]
requests_per_second = 1000000
request_burst = 1000000
chat_messages_per_second = 1000000
chat_message_burst = 1000000
conversations_per_address = 1000000

[[queues]]
id = "sales"
skills = { sales = 3 }

[[queues]]
id = "support"
skills = { support = 2 }

[[agents]]
id = "bench"
name = "Bench Agent"
skills = { sales = 9, support = 9 }
capacity = { chat = 1000000 }
"#;

/// Appended to [`CONFIG`] to switch the enrichment stage off.
const ENRICHMENT_OFF: &str = "\n[enrichment]\nenabled = false\n";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let messages = env_usize("BENCH_MESSAGES", 500);
    let customers = env_usize("BENCH_CUSTOMERS", 20);
    let enrichment = std::env::var("BENCH_ENRICHMENT").unwrap_or_default();
    println!(
        "omniroute benchmark (distributed mode: nats-server + redis-server + 4 omni processes, debug={})",
        cfg!(debug_assertions)
    );
    println!("machine: {}", machine());
    if enrichment == "compare" {
        return compare_enrichment(messages, env_usize("BENCH_ROUNDS", 3)).await;
    }
    let (cluster, _dir) = start(enrichment != "off").await?;
    println!(
        "enrichment: {}",
        if enrichment == "off" { "off" } else { "on" }
    );

    // Floors, measured in the same run against the same servers.
    let nats = async_nats::connect(cluster.nats.url()).await?;
    let mut echo = nats.subscribe("bench.echo").await?;
    let responder = nats.clone();
    let echo_task = tokio::spawn(async move {
        while let Some(m) = echo.next().await {
            if let Some(reply) = m.reply {
                let _ = responder.publish(reply, m.payload).await;
            }
        }
    });
    let mut floor = Vec::new();
    for _ in 0..1000 {
        let start = Instant::now();
        nats.request("bench.echo", "ping".into()).await?;
        floor.push(start.elapsed());
    }
    let nats_p50 = median(&mut floor);
    summary("floor: raw NATS request/reply", floor);
    echo_task.abort();
    let redis = redis::Client::open(cluster.redis.url())?;
    let mut conn = redis.get_multiplexed_async_connection().await?;
    let mut floor = Vec::new();
    for _ in 0..1000 {
        let start = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        floor.push(start.elapsed());
    }
    let redis_p50 = median(&mut floor);
    summary("floor: raw Redis round trip (PING)", floor);
    // Not a floor of the target, but what every ingest pays: a write that
    // returns only after the AOF fsync (`appendfsync always`).
    let mut durable = Vec::new();
    for i in 0..1000 {
        let start = Instant::now();
        let _: () = redis::cmd("SET")
            .arg("bench:durable")
            .arg(i)
            .query_async(&mut conn)
            .await?;
        durable.push(start.elapsed());
    }
    summary("reference: Redis durable write (AOF fsync)", durable);

    let mut agent = BenchAgent::sign_in(&cluster, "bench").await?;
    let (mut latency, acks) = first_message_to_offer(&cluster, &mut agent, messages).await?;
    summary("first message -> chat ack (durable on the bus)", acks);
    let p50 = median(&mut latency);
    summary("first message -> agent offer (1 in flight)", latency);
    println!(
        "{:<44} {:.1}x the floors' sum ({:.3} ms)",
        "p50 against the floors",
        p50.as_secs_f64() / (nats_p50 + redis_p50).as_secs_f64(),
        (nats_p50 + redis_p50).as_secs_f64() * 1e3
    );
    let (total, secs) = sustained(&cluster, &mut agent, customers, messages).await?;
    println!(
        "{:<44} {total} messages from {customers} customers in {secs:.2} s = {:.0} messages/s",
        "sustained inbound, accepted to agent desk",
        total as f64 / secs
    );
    drop(cluster);
    Ok(())
}

/// A cluster running [`CONFIG`], with enrichment on or off, and the
/// directory of its configuration file (kept while the cluster runs).
async fn start(enrichment: bool) -> anyhow::Result<(Cluster, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("bench.toml");
    let text = if enrichment {
        CONFIG.to_owned()
    } else {
        format!("{CONFIG}{ENRICHMENT_OFF}")
    };
    std::fs::write(&config, text)?;
    let binary = Path::new(env!("CARGO_BIN_EXE_omni")).to_owned();
    let cluster =
        tokio::task::spawn_blocking(move || Cluster::start_with(&binary, &config, &[])).await??;
    Ok((cluster, dir))
}

/// First message -> offer with enrichment on and off, alternating on fresh
/// clusters, `rounds` times; prints each mode's p50 and p99 and the
/// difference.
async fn compare_enrichment(messages: usize, rounds: usize) -> anyhow::Result<()> {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        for enrichment in [true, false] {
            let (cluster, _dir) = start(enrichment).await?;
            let mut agent = BenchAgent::sign_in(&cluster, "bench").await?;
            let (latency, _) = first_message_to_offer(&cluster, &mut agent, messages).await?;
            let mode = if enrichment { "on" } else { "off" };
            summary(
                &format!("round {round}, enrichment {mode}: first message -> offer"),
                latency.clone(),
            );
            if enrichment {
                on.extend(latency);
            } else {
                off.extend(latency);
            }
            drop(cluster);
        }
    }
    on.sort();
    off.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (on50, on99) = (percentile(&on, 50.0), percentile(&on, 99.0));
    let (off50, off99) = (percentile(&off, 50.0), percentile(&off, 99.0));
    summary("all rounds, enrichment on", on);
    summary("all rounds, enrichment off", off);
    println!(
        "{:<44} p50 {:+.3} ms  p99 {:+.3} ms",
        "enrichment adds (on - off)",
        ms(on50) - ms(off50),
        ms(on99) - ms(off99)
    );
    Ok(())
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}
