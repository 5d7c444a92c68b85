//! The queue bound through the bus: routing requests in on
//! `omni.routing.request`, a full queue's refusal out on
//! `omni.assignment.refused` for the context service, nothing kept of the
//! refused contact, and a later request for it routed again; a bound set
//! over gRPC shown by `ListQueues`, kept across a restart, and a transfer
//! into a full queue refused with `RESOURCE_EXHAUSTED` / `QUEUE_FULL`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::embedded::EmbeddedBus;
use omni_bus::topology::{CONTEXT_REFUSALS, subjects};
use omni_bus::{Bus, Message};
use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_proto::events as ev;
use omni_router::RouterShell;
use omni_store::{EmbeddedStore, RouterStore};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

/// Longest wait for something the router does within a second.
const PATIENCE: Duration = Duration::from_secs(30);

const BOUNDED: &str = r#"
    [limits]
    max_waiting_per_queue = 2

    [[queues]]
    id = "support"

    [[queues]]
    id = "vip"
    max_waiting = 1
    steps = [{ after_secs = 600, overflow = "support" }]
"#;

async fn request(bus: &Arc<EmbeddedBus>, id: &str, queue: &str) {
    let request = ev::RoutingRequest {
        conversation_id: id.into(),
        customer_id: format!("cus_{id}"),
        queue: queue.into(),
        channel: omni_proto::common::Channel::Chat as i32,
        queued_at_ms: now_ms(),
        ..Default::default()
    };
    bus.publish(
        Message::new(subjects::ROUTING_REQUEST, request.encode_to_vec()),
        Some(&format!("req:{id}:{}", now_ms())),
    )
    .await
    .expect("request published");
}

#[tokio::test]
async fn a_full_queue_refuses_on_the_bus_and_the_conversation_may_ask_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::parse(BOUNDED).expect("config parses");
    config.validate().expect("config is valid");
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("store opens");
    let bus = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus opens");
    let mut refusals = bus.consume(&CONTEXT_REFUSALS).await.expect("consumer");
    let shell = RouterShell::start(&config, store.clone(), bus.clone())
        .await
        .expect("router starts");
    let stop = CancellationToken::new();
    let intake = tokio::spawn(omni_router::intake::run(
        shell.clone(),
        bus.clone(),
        stop.clone(),
    ));

    // vip holds 1, then overflows into support (bound 2 by default): the
    // fourth is refused.
    for id in ["c1", "c2", "c3", "c4"] {
        request(&bus, id, "vip").await;
    }
    let delivery = tokio::time::timeout(PATIENCE, refusals.next())
        .await
        .expect("a refusal within the patience")
        .expect("stream open");
    let refused = ev::RoutingRefused::decode(delivery.message.payload.as_ref()).expect("decodes");
    assert_eq!(refused.conversation_id, "c4");
    assert_eq!(refused.queue, "vip");
    assert_eq!(refused.reason, "queue_full");
    delivery.settle(Ok::<(), std::io::Error>(())).await;

    let (vip, support) = shell.with_engine(|e| {
        let queues = e.queues(now_ms());
        let find = |id: &str| queues.iter().find(|q| q.id.as_str() == id).cloned();
        (find("vip"), find("support"))
    });
    let (vip, support) = (vip.expect("vip"), support.expect("support"));
    assert_eq!((vip.waiting, vip.stats.refused), (1, 1));
    assert_eq!((support.waiting, support.max_waiting), (2, Some(2)));
    let stored: Vec<String> = store
        .contacts()
        .await
        .expect("contacts")
        .into_iter()
        .map(|c| c.conversation_id.to_string())
        .collect();
    assert!(
        !stored.contains(&"c4".to_owned()),
        "nothing kept of a refused contact: {stored:?}"
    );

    // Room again: the same conversation's next request routes.
    shell.release(&"c1".into()).await.expect("c1 released");
    request(&bus, "c4", "vip").await;
    let routed = async {
        loop {
            if shell.with_engine(|e| e.contact(&"c4".into()).is_some()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(PATIENCE, routed)
        .await
        .expect("c4 routed once there is room");

    stop.cancel();
    intake.await.expect("intake stops").expect("intake ran");
}

#[tokio::test]
async fn a_queue_bound_set_over_grpc_shows_survives_a_restart_and_refuses_a_transfer() {
    use omni_proto::routing::{QueueSpec, TransferRequest, UpsertQueueRequest, transfer_request};

    let dir = tempfile::tempdir().expect("temp dir");
    let mut router = super::Router::start(dir.path()).await;
    let state = router
        .client
        .upsert_queue(UpsertQueueRequest {
            queue: Some(QueueSpec {
                queue_id: "tiny".into(),
                max_waiting: 1,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("queue created")
        .into_inner();
    assert_eq!((state.max_waiting, state.offered), (1, 0));
    router.arrive("t1", "tiny").await;
    router.arrive("s1", "support").await;
    let err = router
        .client
        .transfer_conversation(TransferRequest {
            conversation_id: "s1".into(),
            target: Some(transfer_request::Target::Queue("tiny".into())),
        })
        .await
        .expect_err("a full queue takes no transfer");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
    assert_eq!(
        omni_proto::status::reason(&err),
        Some(omni_proto::common::ErrorReason::QueueFull)
    );
    router.stop().await;

    let mut router = super::Router::start(dir.path()).await;
    let queues = router.queues().await;
    let tiny = queues
        .iter()
        .find(|q| q.queue == "tiny")
        .expect("tiny survives the restart");
    assert_eq!((tiny.max_waiting, tiny.waiting), (1, 1));
    let support = queues
        .iter()
        .find(|q| q.queue == "support")
        .expect("support");
    assert_eq!(support.max_waiting, 1000, "the default bound");
    router.stop().await;
}
