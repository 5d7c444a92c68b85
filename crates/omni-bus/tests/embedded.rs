//! The bus conformance suite against the embedded (redb) bus, plus the
//! embedded bus's own behavior: opening, restarts, flow control.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use omni_bus::conformance::{self, BusFactory};
use omni_bus::topology::{self, ConsumerSpec};
use omni_bus::{Bus, BusError, BusStream, Delivery, EmbeddedBus, Message};

/// One bus file in its own temporary directory.
struct Embedded {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Embedded {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("data").join("bus.redb");
        Self { _dir: dir, path }
    }

    fn open_embedded(&self) -> Arc<EmbeddedBus> {
        EmbeddedBus::open(&self.path).expect("open the bus")
    }
}

#[async_trait]
impl BusFactory for Embedded {
    async fn open(&self) -> Arc<dyn Bus> {
        self.open_embedded()
    }
}

omni_bus::bus_conformance_tests!(Embedded::new());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_pass_on_one_bus_file() {
    conformance::run_all(&Embedded::new()).await;
}

const STEP: Duration = Duration::from_secs(10);

/// A test consumer on `omni.outbound.test_<x>`.
const fn custom(name: &'static str, filter: &'static str, max_ack_pending: usize) -> ConsumerSpec {
    ConsumerSpec {
        name,
        stream: topology::OUTBOUND.name,
        filter,
        ack_wait: Duration::from_secs(30),
        max_ack_pending,
    }
}

async fn next(deliveries: &mut BusStream<Delivery>) -> Delivery {
    tokio::time::timeout(STEP, deliveries.next())
        .await
        .expect("a delivery in time")
        .expect("the stream goes on")
}

async fn nothing_within(deliveries: &mut BusStream<Delivery>, period: Duration) {
    if let Ok(got) = tokio::time::timeout(period, deliveries.next()).await {
        panic!("expected nothing, got {got:?}");
    }
}

async fn publish(bus: &EmbeddedBus, subject: &str, payload: &str) {
    bus.publish(Message::new(subject, payload.to_owned()), None)
        .await
        .expect("publish");
}

fn text(delivery: &Delivery) -> String {
    String::from_utf8_lossy(&delivery.message.payload).into_owned()
}

#[tokio::test]
async fn a_bus_open_elsewhere_is_unavailable_and_named() {
    let factory = Embedded::new();
    let _first = factory.open_embedded();
    let err = EmbeddedBus::open(&factory.path).expect_err("second open of the same file");
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&factory.path.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_bus_is_unavailable() {
    let factory = Embedded::new();
    std::fs::create_dir_all(factory.path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&factory.path, vec![0x5a; 64 * 1024]).expect("write junk");
    let err = EmbeddedBus::open(&factory.path).expect_err("junk file");
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("bus.redb"), "{err}");
}

#[test]
fn opening_outside_a_tokio_runtime_is_unavailable() {
    let factory = Embedded::new();
    let err = EmbeddedBus::open(&factory.path).expect_err("no runtime");
    assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}

#[tokio::test]
async fn a_closed_bus_releases_its_file() {
    let factory = Embedded::new();
    let first = factory.open_embedded();
    first.close().await;
    // Released at close, even while the handle is still alive.
    let second = factory.open_embedded();
    second.close().await;
    drop((first, second));
    // Dropped without close while idle: released at drop.
    drop(factory.open_embedded());
    factory.open_embedded().close().await;
}

#[tokio::test]
async fn a_closed_bus_refuses_work_and_acks_fail() {
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    let spec = custom("test-closed", "omni.outbound.test_closed", 8);
    let mut deliveries = bus.consume(&spec).await.expect("consume");
    publish(&bus, spec.filter, "late ack").await;
    let delivery = next(&mut deliveries).await;
    bus.close().await;
    assert!(matches!(delivery.ack().await, Err(BusError::Closed)));
    assert!(matches!(bus.consume(&spec).await, Err(BusError::Closed)));
    assert!(matches!(bus.subscribe(">").await, Err(BusError::Closed)));
    assert!(matches!(
        bus.notify(Message::new("omni.x", "x")).await,
        Err(BusError::Closed)
    ));
    bus.close().await; // a second close is harmless
}

#[tokio::test]
async fn message_ids_are_remembered_across_a_reopen() {
    let factory = Embedded::new();
    let message = Message::new("omni.inbound.chat", "once");
    let bus = factory.open_embedded();
    let first = bus
        .publish(message.clone(), Some("m-1"))
        .await
        .expect("publish");
    assert!(!first.duplicate);
    bus.close().await;
    drop(bus);

    let bus = factory.open_embedded();
    let again = bus.publish(message, Some("m-1")).await.expect("publish");
    assert!(again.duplicate, "the id survives the restart");
    let mut deliveries = bus
        .consume(&topology::CONTEXT_INBOUND)
        .await
        .expect("consume");
    let got = next(&mut deliveries).await;
    assert_eq!(text(&got), "once");
    got.ack().await.expect("ack");
    nothing_within(&mut deliveries, Duration::from_millis(300)).await;
    bus.close().await;
}

#[tokio::test]
async fn max_ack_pending_bounds_deliveries_in_flight() {
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    let spec = custom("test-pending", "omni.outbound.test_pending", 2);
    let mut deliveries = bus.consume(&spec).await.expect("consume");
    for i in 0..5 {
        publish(&bus, spec.filter, &format!("m{i}")).await;
    }
    let first = next(&mut deliveries).await;
    let second = next(&mut deliveries).await;
    assert_eq!((text(&first), text(&second)), ("m0".into(), "m1".into()));
    nothing_within(&mut deliveries, Duration::from_millis(300)).await;

    first.ack().await.expect("ack");
    let third = next(&mut deliveries).await;
    assert_eq!(text(&third), "m2");
    nothing_within(&mut deliveries, Duration::from_millis(300)).await;

    second.nak(Duration::ZERO).await.expect("nak");
    let again = next(&mut deliveries).await;
    assert_eq!(
        (text(&again), again.attempt),
        ("m1".into(), 2),
        "a nak frees its slot"
    );
    bus.close().await;
}

#[tokio::test]
async fn after_a_reopen_unacked_messages_come_in_order_from_attempt_one() {
    let factory = Embedded::new();
    let spec = custom("test-reopen", "omni.outbound.test_reopen", 16);
    let bus = factory.open_embedded();
    let mut deliveries = bus.consume(&spec).await.expect("consume");
    for i in 0..4 {
        publish(&bus, spec.filter, &format!("m{i}")).await;
    }
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(next(&mut deliveries).await);
    }
    // m2 is nak'd (attempt 2 in this run), m1 acked.
    let m2 = held.remove(2);
    m2.nak(Duration::from_secs(60)).await.expect("nak");
    held.remove(1).ack().await.expect("ack");
    bus.close().await;
    drop((bus, deliveries, held));

    let bus = factory.open_embedded();
    let mut deliveries = bus.consume(&spec).await.expect("consume");
    let got: Vec<(String, u32)> = [
        next(&mut deliveries).await,
        next(&mut deliveries).await,
        next(&mut deliveries).await,
    ]
    .iter()
    .map(|d| (text(d), d.attempt))
    .collect();
    assert_eq!(
        got,
        [("m0".into(), 1), ("m2".into(), 1), ("m3".into(), 1)],
        "sequence order, attempts counted from 1 again, nak delay forgotten"
    );
    nothing_within(&mut deliveries, Duration::from_millis(300)).await;
    bus.close().await;
}

#[tokio::test]
async fn deliveries_of_a_dropped_receiver_go_to_another_after_ack_wait() {
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    let spec = ConsumerSpec {
        ack_wait: Duration::from_millis(500),
        ..custom("test-handover", "omni.outbound.test_handover", 8)
    };
    let mut a = bus.consume(&spec).await.expect("consume a");
    let mut b = bus.consume(&spec).await.expect("consume b");
    publish(&bus, spec.filter, "handed over").await;
    let taken = next(&mut a).await;
    drop((taken, a));
    let got = next(&mut b).await;
    assert_eq!((text(&got), got.attempt), ("handed over".into(), 2));
    got.ack().await.expect("ack");
    bus.close().await;
}

#[tokio::test]
async fn topology_consumers_collect_before_anyone_consumes() {
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    publish(&bus, "omni.routing.request", "early").await;
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
async fn other_consumers_collect_from_their_first_consume_on_even_after_a_reopen() {
    let factory = Embedded::new();
    let spec = custom("test-late", "omni.outbound.test_late", 8);
    let bus = factory.open_embedded();
    publish(&bus, spec.filter, "before registration").await;
    drop(bus.consume(&spec).await.expect("register"));
    bus.close().await;
    drop(bus);

    let bus = factory.open_embedded();
    publish(&bus, spec.filter, "after reopen").await;
    let mut deliveries = bus.consume(&spec).await.expect("consume");
    let got = next(&mut deliveries).await;
    assert_eq!(
        text(&got),
        "after reopen",
        "registered consumers are remembered"
    );
    got.ack().await.expect("ack");
    nothing_within(&mut deliveries, Duration::from_millis(300)).await;
    bus.close().await;
}

#[tokio::test]
async fn a_consumer_on_an_unknown_stream_is_refused() {
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    let spec = ConsumerSpec {
        stream: "NOPE",
        ..custom("test-unknown", "omni.outbound.test_unknown", 8)
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
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    let result = bus.publish(Message::new("omni.inbound.*", "x"), None).await;
    assert!(matches!(result, Err(BusError::NoStream(_))), "{result:?}");
    bus.close().await;
}

#[tokio::test]
async fn a_slow_subscriber_loses_messages_without_slowing_publishers() {
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    let mut slow = bus
        .subscribe("omni.conversation.event.>")
        .await
        .expect("subscribe");
    let total = omni_bus::embedded::SUBSCRIBER_BUFFER + 100;
    for i in 0..total {
        bus.notify(Message::new("omni.conversation.event.c1", format!("e{i}")))
            .await
            .expect("notify never blocks");
    }
    let mut received = 0;
    while tokio::time::timeout(Duration::from_millis(200), slow.next())
        .await
        .is_ok_and(|m| m.is_some())
    {
        received += 1;
    }
    assert_eq!(
        received,
        omni_bus::embedded::SUBSCRIBER_BUFFER,
        "the buffer, then drops"
    );
    bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_lose_nothing_and_keep_their_own_order() {
    let factory = Embedded::new();
    let bus = factory.open_embedded();
    let spec = custom("test-concurrent", "omni.outbound.test_concurrent", 64);
    let mut deliveries = bus.consume(&spec).await.expect("consume");
    let mut publishers = tokio::task::JoinSet::new();
    for p in 0..4 {
        let bus = Arc::clone(&bus);
        publishers.spawn(async move {
            for i in 0..25 {
                publish(&bus, spec.filter, &format!("{p}:{i}")).await;
            }
        });
    }
    let mut last = [None::<u32>; 4];
    for _ in 0..100 {
        let got = next(&mut deliveries).await;
        let (p, i) = text(&got)
            .split_once(':')
            .map(|(p, i)| (p.parse::<usize>().expect("p"), i.parse::<u32>().expect("i")))
            .expect("payload");
        assert_eq!(
            last[p].map_or(0, |l| l + 1),
            i,
            "publisher {p} out of order"
        );
        last[p] = Some(i);
        got.ack().await.expect("ack");
    }
    while let Some(done) = publishers.join_next().await {
        done.expect("publisher");
    }
    nothing_within(&mut deliveries, Duration::from_millis(300)).await;
    bus.close().await;
}

#[tokio::test]
async fn drain_keyed_runs_keys_in_parallel_and_keeps_each_keys_order() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let store = Embedded::new();
    let bus = store.open_embedded();
    let total = 120;
    for n in 0..total {
        let key = n % 5;
        bus.publish(
            Message::new("omni.inbound.chat", format!("{key}:{n}")),
            None,
        )
        .await
        .expect("publish");
    }
    let seen: Arc<Mutex<Vec<(u64, usize)>>> = Arc::default();
    let (active, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let done = Arc::new(tokio::sync::Notify::new());
    let deliveries = bus
        .consume(&topology::CONTEXT_INBOUND)
        .await
        .expect("consume");
    let parse = |d: &Delivery| -> (u64, usize) {
        let text = String::from_utf8_lossy(&d.message.payload).into_owned();
        let (k, n) = text.split_once(':').expect("key:n");
        (k.parse().expect("key"), n.parse().expect("n"))
    };
    let handler = {
        let (seen, active, peak, done) = (seen.clone(), active.clone(), peak.clone(), done.clone());
        move |d: Delivery, read: usize| {
            let (seen, active, peak, done) =
                (seen.clone(), active.clone(), peak.clone(), done.clone());
            async move {
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                let item = parse(&d);
                assert_eq!(item.1, read, "what the key read reaches the handler");
                let count = {
                    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                    seen.push(item);
                    seen.len()
                };
                active.fetch_sub(1, Ordering::SeqCst);
                d.settle(Ok::<(), ()>(())).await;
                if count == total {
                    done.notify_one();
                }
            }
        }
    };
    let finished = done.clone();
    tokio::time::timeout(
        Duration::from_secs(20),
        omni_bus::drain_keyed(deliveries, finished.notified(), 4, parse, handler),
    )
    .await
    .expect("all handled in time");
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(seen.len(), total, "every delivery handled once");
    for key in 0..5 {
        let order: Vec<usize> = seen
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, n)| *n)
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "key {key} in order: {order:?}"
        );
    }
    assert!(
        peak.load(Ordering::SeqCst) > 1,
        "lanes ran at the same time"
    );
    bus.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_until_keeps_a_slow_delivery_alive() {
    a_slow_delivery_stays_with_its_drain(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_keyed_keeps_a_slow_delivery_alive() {
    a_slow_delivery_stays_with_its_drain(true).await;
}

/// A handler working for four ack waits keeps its delivery: a second
/// receiver of the consumer gets nothing, and the handler sees it once.
async fn a_slow_delivery_stays_with_its_drain(keyed: bool) {
    const SLOW: ConsumerSpec = ConsumerSpec {
        name: "test-slow",
        stream: topology::OUTBOUND.name,
        filter: "omni.outbound.test_slow",
        ack_wait: Duration::from_secs(1),
        max_ack_pending: 8,
    };
    let store = Embedded::new();
    let bus = store.open_embedded();
    let deliveries = bus.consume(&SLOW).await.expect("consume");
    let attempts: Arc<std::sync::Mutex<Vec<u32>>> = Arc::default();
    let started = Arc::new(tokio::sync::Notify::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = {
        let (attempts, started) = (attempts.clone(), started.clone());
        move |d: Delivery, (): ()| {
            let (attempts, started) = (attempts.clone(), started.clone());
            async move {
                attempts
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(d.attempt);
                started.notify_one();
                // Four ack waits of work.
                tokio::time::sleep(SLOW.ack_wait * 4).await;
                d.ack().await.expect("ack");
            }
        }
    };
    let shutdown = async move {
        let _ = stopped.await;
    };
    let drain = if keyed {
        tokio::spawn(omni_bus::drain_keyed(
            deliveries,
            shutdown,
            2,
            |_| (0, ()),
            handle,
        ))
    } else {
        tokio::spawn(omni_bus::drain_until(deliveries, shutdown, move |d| {
            handle(d, ())
        }))
    };
    publish(&bus, SLOW.filter, "slow").await;
    tokio::time::timeout(STEP, started.notified())
        .await
        .expect("the drain takes the delivery");
    // A second receiver would get the message if its ack wait ran out.
    let mut other = bus.consume(&SLOW).await.expect("second receiver");
    nothing_within(&mut other, SLOW.ack_wait * 4).await;
    let _ = stop.send(());
    tokio::time::timeout(STEP, drain)
        .await
        .expect("the drain stops")
        .expect("the drain task");
    assert_eq!(
        *attempts.lock().unwrap_or_else(|p| p.into_inner()),
        vec![1],
        "handled once, never redelivered"
    );
    nothing_within(&mut other, SLOW.ack_wait * 2).await;
    bus.close().await;
}
