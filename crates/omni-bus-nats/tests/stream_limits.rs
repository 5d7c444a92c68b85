//! The streams' max age (`[retention] stream_max_age_days`) is declared on
//! connect, and a stream that exists is updated to it.

use std::time::Duration;

use omni_bus::topology;
use omni_bus_nats::{NatsBus, NatsLink, StreamLimits};
use omni_testservers::nats::NatsServer;

async fn max_ages(url: &str) -> Vec<Duration> {
    let client = async_nats::connect(url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let mut out = Vec::new();
    for spec in topology::STREAMS {
        let stream = js.get_stream(spec.name).await.expect("stream");
        out.push(stream.get_info().await.expect("info").config.max_age);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_is_declared_and_existing_streams_follow() {
    let server = NatsServer::start().expect("start nats-server");
    let url = server.url();
    let week = Duration::from_secs(7 * 86_400);
    let bus = NatsBus::connect_with_limits(
        &url,
        &NatsLink::default(),
        &StreamLimits {
            max_age: Some(week),
        },
    )
    .await
    .expect("connect");
    assert!(max_ages(&url).await.iter().all(|a| *a == week));
    omni_bus::Bus::close(bus.as_ref()).await;

    // Kept forever again: the existing streams lose their max age.
    let bus = NatsBus::connect(&url).await.expect("connect again");
    assert!(max_ages(&url).await.iter().all(|a| a.is_zero()));
    omni_bus::Bus::close(bus.as_ref()).await;
}
