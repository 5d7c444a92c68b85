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
//! change the sizes. The distributed counterpart is
//! `cargo bench -p omni --bench distributed`.

use std::collections::BTreeMap;
use std::time::Instant;

use omni_bus::{Bus, EmbeddedBus, Message};
use omni_core::Channel;
use omni_core::config::AgentConfig;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;
use omni_testkit::bench::{
    BenchAgent, env_usize, first_message_to_offer, machine, summary, sustained,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
    // Every customer of the benchmark comes from one address: the
    // per-address limits would throttle the load, not measure the pipeline.
    config.limits.requests_per_second = 1_000_000;
    config.limits.request_burst = 1_000_000;
    config.limits.chat_messages_per_second = 1_000_000;
    config.limits.chat_message_burst = 1_000_000;
    config.limits.conversations_per_address = 1_000_000;
    config.agents = vec![AgentConfig {
        id: "bench".into(),
        name: Some("Bench Agent".into()),
        skills: BTreeMap::from([("sales".to_owned(), 9), ("support".to_owned(), 9)]),
        languages: vec!["en".into()],
        capacity: BTreeMap::from([(Channel::CHAT, 1_000_000)]),
        total: None,
    }];
    let app = TestApp::start_with(data, config).await?;
    let mut agent = BenchAgent::sign_in(&app, "bench").await?;
    let (latency, acks) = first_message_to_offer(&app, &mut agent, messages).await?;
    summary("first message -> chat ack (durable on the bus)", acks);
    summary("first message -> agent offer (1 in flight)", latency);
    let (total, secs) = sustained(&app, &mut agent, customers, messages).await?;
    println!(
        "{:<44} {total} messages from {customers} customers in {secs:.2} s = {:.0} messages/s",
        "sustained inbound, accepted to agent desk",
        total as f64 / secs
    );
    app.stop().await;
    Ok(())
}
