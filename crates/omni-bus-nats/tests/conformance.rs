//! The bus conformance suite against a real `nats-server` with JetStream,
//! plus what is particular to NATS: connecting, and a server restart.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use omni_bus::conformance::{self, BusFactory};
use omni_bus::topology::{self, ConsumerSpec};
use omni_bus::{Bus, BusError, BusStream, Delivery, Message};
use omni_bus_nats::NatsBus;
use omni_testservers::nats::NatsServer;

/// One `nats-server` for one test; every `open` connects a new client to it,
/// so a reopened bus sees the same streams and consumers.
struct Nats {
    server: NatsServer,
}

impl Nats {
    fn start() -> Self {
        Self {
            server: NatsServer::start().expect("start nats-server"),
        }
    }

    async fn connect(&self) -> Arc<NatsBus> {
        NatsBus::connect(&self.server.url())
            .await
            .expect("connect to nats")
    }
}

#[async_trait]
impl BusFactory for Nats {
    async fn open(&self) -> Arc<dyn Bus> {
        self.connect().await
    }
}

omni_bus::bus_conformance_tests!(Nats::start());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_pass_on_one_server() {
    conformance::run_all(&Nats::start()).await;
}

const STEP: Duration = Duration::from_secs(10);

async fn next(deliveries: &mut BusStream<Delivery>) -> Delivery {
    tokio::time::timeout(STEP, deliveries.next())
        .await
        .expect("a delivery in time")
        .expect("the stream goes on")
}

fn text(delivery: &Delivery) -> String {
    String::from_utf8_lossy(&delivery.message.payload).into_owned()
}

#[tokio::test]
async fn connecting_where_nothing_listens_fails_fast_naming_the_url() {
    let port = omni_testservers::free_port().expect("free port");
    let url = format!("nats://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let err = NatsBus::connect(&url).await.expect_err("nothing listens");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
}

#[tokio::test]
async fn connecting_twice_declares_the_topology_idempotently() {
    let nats = Nats::start();
    let first = nats.connect().await;
    assert_topology(&nats.server.url()).await;
    first
        .publish(Message::new("omni.routing.request", "kept"), None)
        .await
        .expect("publish");
    let second = nats.connect().await;
    assert_topology(&nats.server.url()).await;
    // Declaring again kept the consumer's position and its pending message.
    let mut deliveries = second
        .consume(&topology::ROUTER_REQUESTS)
        .await
        .expect("consume");
    let got = next(&mut deliveries).await;
    assert_eq!((text(&got), got.attempt), ("kept".to_owned(), 1));
    got.ack().await.expect("ack");
    first.close().await;
    second.close().await;
}

/// The server holds exactly the streams and durable consumers of
/// [`topology`], once each, with their declared configuration.
async fn assert_topology(url: &str) {
    use async_nats::jetstream::consumer::AckPolicy;
    use async_nats::jetstream::stream::StorageType;

    let js = async_nats::jetstream::new(async_nats::connect(url).await.expect("connect"));
    let mut names: Vec<String> = js
        .stream_names()
        .map(|n| n.expect("stream name"))
        .collect()
        .await;
    names.sort();
    let mut declared: Vec<String> = topology::STREAMS
        .iter()
        .map(|s| s.name.to_owned())
        .collect();
    declared.sort();
    assert_eq!(names, declared, "every stream once, and no other");
    for spec in topology::STREAMS {
        let stream = js.get_stream(spec.name).await.expect("stream");
        let config = stream.get_info().await.expect("stream info").config;
        assert_eq!(config.subjects, spec.subjects, "{}", spec.name);
        assert_eq!(config.storage, StorageType::File, "{}", spec.name);
        assert_eq!(
            config.duplicate_window,
            omni_bus_nats::declare::DUPLICATE_WINDOW,
            "{}",
            spec.name
        );
        let mut consumers: Vec<String> = stream
            .consumer_names()
            .map(|n| n.expect("consumer name"))
            .collect()
            .await;
        consumers.sort();
        let mut wanted: Vec<String> = topology::CONSUMERS
            .iter()
            .filter(|c| c.stream == spec.name)
            .map(|c| c.name.to_owned())
            .collect();
        wanted.sort();
        assert_eq!(
            consumers, wanted,
            "the consumers of {}, once each",
            spec.name
        );
        for consumer in topology::CONSUMERS.iter().filter(|c| c.stream == spec.name) {
            let config = stream
                .consumer_info(consumer.name)
                .await
                .expect("consumer info")
                .config;
            assert_eq!(config.durable_name.as_deref(), Some(consumer.name));
            assert_eq!(config.filter_subject, consumer.filter, "{}", consumer.name);
            assert_eq!(config.ack_wait, consumer.ack_wait, "{}", consumer.name);
            assert_eq!(
                config.max_ack_pending,
                i64::try_from(consumer.max_ack_pending).expect("max ack pending"),
                "{}",
                consumer.name
            );
            assert_eq!(config.ack_policy, AckPolicy::Explicit, "{}", consumer.name);
        }
    }
}

#[tokio::test]
async fn topology_consumers_collect_before_anyone_consumes() {
    let nats = Nats::start();
    let bus = nats.connect().await;
    bus.publish(Message::new("omni.routing.request", "early"), None)
        .await
        .expect("publish");
    let mut deliveries = bus
        .consume(&topology::ROUTER_REQUESTS)
        .await
        .expect("consume");
    let got = next(&mut deliveries).await;
    assert_eq!(text(&got), "early");
    got.ack().await.expect("ack");
    bus.close().await;
}

#[tokio::test]
async fn a_consumer_on_an_unknown_stream_is_refused() {
    let nats = Nats::start();
    let bus = nats.connect().await;
    let spec = ConsumerSpec {
        name: "test-unknown",
        stream: "NOPE",
        filter: "omni.outbound.test_unknown",
        ack_wait: Duration::from_secs(30),
        max_ack_pending: 8,
    };
    let result = bus.consume(&spec).await;
    assert!(
        matches!(result, Err(BusError::UnknownConsumer(_))),
        "{:?}",
        result.err()
    );
    bus.close().await;
}

#[tokio::test]
async fn publishing_to_a_wildcard_subject_is_refused() {
    let nats = Nats::start();
    let bus = nats.connect().await;
    let result = bus.publish(Message::new("omni.inbound.*", "x"), None).await;
    assert!(matches!(result, Err(BusError::NoStream(_))), "{result:?}");
    bus.close().await;
}

#[tokio::test]
async fn a_header_nats_cannot_carry_is_an_error_not_a_panic() {
    let nats = Nats::start();
    let bus = nats.connect().await;
    let message = Message::new("omni.inbound.chat", "x").with_header("x-bad", "two\nlines");
    let result = bus.publish(message, None).await;
    assert!(
        matches!(result, Err(BusError::Unavailable(_))),
        "{result:?}"
    );
    bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_loses_nothing_and_publishes_fail_while_it_is_down() {
    let mut nats = Nats::start();
    let bus = nats.connect().await;
    let spec = ConsumerSpec {
        name: "test-restart",
        stream: topology::OUTBOUND.name,
        filter: "omni.outbound.test_restart",
        ack_wait: Duration::from_secs(2),
        max_ack_pending: 8,
    };
    let mut deliveries = bus.consume(&spec).await.expect("consume");
    bus.publish(Message::new(spec.filter, "before"), Some("id-before"))
        .await
        .expect("publish before the restart");

    nats.server.stop().expect("stop nats-server");
    let down = bus
        .publish(Message::new(spec.filter, "while down"), None)
        .await;
    assert!(matches!(down, Err(BusError::Unavailable(_))), "{down:?}");

    nats.server.restart().expect("start nats-server again");
    // The client reconnects by itself; publish until it has.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match bus
            .publish(Message::new(spec.filter, "after"), Some("id-after"))
            .await
        {
            Ok(_) => break,
            Err(BusError::Unavailable(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("publish after the restart: {e:?}"),
        }
    }
    let again = bus
        .publish(Message::new(spec.filter, "before"), Some("id-before"))
        .await
        .expect("publish a duplicate after the restart");
    assert!(again.duplicate, "message ids survive a server restart");

    // "while down" was refused; had the client sent it before noticing the
    // outage, it may be stored all the same (at most once).
    let mut got = Vec::new();
    while !got.iter().any(|t| t == "after") {
        let delivery = next(&mut deliveries).await;
        got.push(text(&delivery));
        delivery.ack().await.expect("ack");
    }
    got.retain(|t| t != "while down");
    assert_eq!(
        got,
        ["before", "after"],
        "stored messages survive the restart"
    );
    bus.close().await;
}

/// A server that wants a user and password: the credentials in the URL
/// authenticate (percent-encoded characters too), a wrong password is
/// refused, and neither the error nor the bus's URL shows the password.
#[tokio::test]
async fn credentials_in_the_url_authenticate_and_are_never_shown() {
    let server = NatsServer::start_with_user("omni", "p@ss-8271").expect("start nats-server");
    let port = server.port();
    let bus = NatsBus::connect(&format!("nats://omni:p%40ss-8271@127.0.0.1:{port}"))
        .await
        .expect("connect with the URL's credentials");
    assert_eq!(bus.url(), format!("nats://omni:***@127.0.0.1:{port}"));
    let ack = bus
        .publish(Message::new("omni.inbound.chat", b"hi".to_vec()), None)
        .await
        .expect("publish when authenticated");
    assert!(!ack.duplicate);
    bus.close().await;

    let refused = NatsBus::connect(&format!("nats://omni:wrong-3310@127.0.0.1:{port}"))
        .await
        .map(|_| ())
        .expect_err("a wrong password is refused");
    let shown = refused.to_string();
    assert!(shown.contains("nats://omni:***@127.0.0.1"), "{shown}");
    assert!(!shown.contains("wrong-3310"), "{shown}");
}
