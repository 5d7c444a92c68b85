//! The cost of erasure's bus step: one `Bus::purge` scan of a JetStream
//! stream holding N messages of which a few are selected, on a local
//! `nats-server` (file storage). Prints messages scanned per second.
//!
//! `cargo bench -p omni-bus-nats --bench purge`

use std::sync::Arc;
use std::time::Instant;

use omni_bus::{Bus, Message, MessageFilter, topology};
use omni_bus_nats::NatsBus;
use omni_testservers::nats::NatsServer;

/// Stream sizes measured.
const SIZES: [usize; 3] = [1_000, 10_000, 50_000];
/// Payload bytes per message (a typical chat message with its envelope).
const PAYLOAD: usize = 512;
/// One message in this many is the erased customer's.
const EVERY: usize = 1_000;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("purge bench failed: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    println!("one purge scan of OMNI_INBOUND, {PAYLOAD}-byte messages, 1 in {EVERY} selected");
    for size in SIZES {
        let server = NatsServer::start().map_err(|e| e.to_string())?;
        let bus = NatsBus::connect(&server.url())
            .await
            .map_err(|e| e.to_string())?;
        for i in 0..size {
            let mark = if i % EVERY == 0 { b'E' } else { b'k' };
            let mut payload = vec![b'x'; PAYLOAD];
            payload[0] = mark;
            bus.publish(Message::new("omni.inbound.chat", payload), None)
                .await
                .map_err(|e| e.to_string())?;
        }
        let filter: MessageFilter = Arc::new(|m: &Message| m.payload.first() == Some(&b'E'));
        let started = Instant::now();
        let deleted = bus
            .purge(topology::INBOUND.name, filter)
            .await
            .map_err(|e| e.to_string())?;
        let took = started.elapsed();
        println!(
            "{size:>7} messages: {:>8.1} ms, {:>9.0} messages/s scanned, {deleted} deleted",
            took.as_secs_f64() * 1000.0,
            size as f64 / took.as_secs_f64()
        );
        bus.close().await;
    }
    Ok(())
}
