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
//! change the sizes. `BENCH_TRACING` sets the telemetry the app runs with:
//! `off` (default: the subscriber, logs at `info`, no exporter) or `otlp`
//! (the same, exporting every span over OTLP/gRPC to a receiver on its own
//! thread, the protocol's own service definition, which counts them). Logs
//! go to stderr: send it to `/dev/null`. The distributed counterpart is
//! `cargo bench -p omni --bench distributed`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use omni_bus::{Bus, EmbeddedBus, Message};
use omni_core::Channel;
use omni_core::config::AgentConfig;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;
use omni_testkit::bench::{
    BenchAgent, env_usize, first_message_to_offer, machine, summary, sustained,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

/// An OTLP/gRPC receiver that counts the spans it is sent.
#[derive(Clone, Default)]
struct Receiver(Arc<AtomicUsize>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans: usize = request
            .into_inner()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.0.fetch_add(spans, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// Starts the receiver on a thread and runtime of its own; returns its URL.
fn start_receiver(receiver: Receiver) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    listener.set_nonblocking(true)?;
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(receiver))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await?;
            anyhow::Ok(())
        })
    });
    Ok(url)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let messages = env_usize("BENCH_MESSAGES", 500);
    let customers = env_usize("BENCH_CUSTOMERS", 20);
    let tracing = std::env::var("BENCH_TRACING").unwrap_or_else(|_| "off".into());
    let received = Receiver::default();
    let mut options = match tracing.as_str() {
        "off" => omni_telemetry::TelemetryOptions::default(),
        "otlp" => omni_telemetry::TelemetryOptions::grpc(start_receiver(received.clone())?),
        other => anyhow::bail!("BENCH_TRACING {other:?} is not off or otlp"),
    };
    options.filter = Some("info".into());
    let telemetry = omni_telemetry::init(&options)?;
    println!(
        "omniroute pipeline benchmark (embedded mode, debug={}, tracing {tracing})",
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
    telemetry.shutdown().await;
    if tracing == "otlp" {
        println!(
            "spans received by the OTLP receiver: {}",
            received.0.load(Ordering::Relaxed)
        );
    }
    Ok(())
}
