//! Business hours through the bus: a routing request for a closed queue
//! (today and tomorrow are holidays) waits without an offer though an
//! agent is available, and the router publishes one `QueueClosedNotice` on
//! `omni.assignment.closed` with the opening and the queue's reply
//! rendered per language; with the router's clock moved to the opening the
//! agent is offered it; an `UpsertQueue` (which carries no hours) keeps the
//! queue's hours.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::embedded::EmbeddedBus;
use omni_bus::topology::{CONTEXT_CLOSED, subjects};
use omni_bus::{Bus, Message};
use omni_core::config::{Config, HolidayConfig, HoursConfig};
use omni_core::hours::Schedule;
use omni_core::time::now_ms;
use omni_proto::events as ev;
use omni_router::RouterShell;
use omni_router_core::{Presence, QueueSpec};
use omni_store::EmbeddedStore;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

/// Longest wait for something the router does within a second.
const PATIENCE: Duration = Duration::from_secs(30);

/// Open all week; today and tomorrow (UTC) are holidays.
fn holidays_now() -> HoursConfig {
    let today = jiff::Timestamp::from_millisecond(now_ms())
        .expect("now")
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    HoursConfig {
        zone: "UTC".into(),
        weekly: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| ((*d).to_owned(), vec!["00:00-24:00".to_owned()]))
            .collect(),
        holidays: [today, today.tomorrow().expect("a date")]
            .iter()
            .map(|d| HolidayConfig {
                date: d.to_string(),
                name: None,
            })
            .collect(),
        closed_overflow: None,
        closed_reply: BTreeMap::from([
            ("en".to_owned(), "We open {opens_at}.".to_owned()),
            ("es".to_owned(), "Abrimos {opens_at}.".to_owned()),
        ]),
    }
}

#[tokio::test]
async fn a_closed_queue_holds_the_contact_and_tells_the_context_service_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::parse(
        "[[queues]]\nid = \"sales\"\n[[agents]]\nid = \"ann\"\ncapacity = { chat = 1 }\n",
    )
    .expect("config parses");
    let hours = holidays_now();
    config.queues[0].hours = Some(hours.clone());
    config.validate().expect("config is valid");
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("store opens");
    let bus = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus opens");
    let mut notices = bus.consume(&CONTEXT_CLOSED).await.expect("consumer");
    let shell = RouterShell::start(&config, store.clone(), bus.clone())
        .await
        .expect("router starts");
    let stop = CancellationToken::new();
    let intake = tokio::spawn(omni_router::intake::run(
        shell.clone(),
        bus.clone(),
        stop.clone(),
    ));
    let timer = tokio::spawn(shell.clone().run_timer(stop.clone()));
    shell
        .set_presence(&"ann".into(), Presence::Available)
        .await
        .expect("ann available");

    let request = ev::RoutingRequest {
        conversation_id: "c1".into(),
        customer_id: "cus_1".into(),
        queue: "sales".into(),
        channel: omni_proto::common::Channel::Chat as i32,
        queued_at_ms: now_ms(),
        ..Default::default()
    };
    bus.publish(
        Message::new(subjects::ROUTING_REQUEST, request.encode_to_vec()),
        Some("req:c1"),
    )
    .await
    .expect("request published");
    let delivery = tokio::time::timeout(PATIENCE, notices.next())
        .await
        .expect("a notice within the patience")
        .expect("stream open");
    let notice = ev::QueueClosedNotice::decode(delivery.message.payload.as_ref()).expect("decodes");
    delivery.settle(Ok::<(), std::io::Error>(())).await;
    let schedule = Schedule::parse(&hours).expect("valid hours");
    let opens = schedule.opens_at(notice.at_ms).expect("opens");
    assert_eq!(
        (notice.conversation_id.as_str(), notice.queue.as_str()),
        ("c1", "sales")
    );
    assert_eq!(notice.opens_at_ms, opens);
    let local = schedule.format_local(opens);
    assert!(local.ends_with(" 00:00 UTC"), "{local}");
    assert_eq!(notice.replies["es"], format!("Abrimos {local}."));
    assert_eq!(notice.reply, format!("We open {local}."));
    let (waiting, offers) = shell.with_engine(|e| {
        let offers = e.agent(&"ann".into()).map(|a| a.offers.len());
        (e.queues(now_ms())[0].waiting, offers)
    });
    assert_eq!(waiting, 1, "it waits for the opening");
    assert_eq!(offers, Some(0), "ann, available, is offered nothing");

    // At the opening (the router's clock moved, not waited for), ann is
    // offered it.
    shell.advance_clock(opens - now_ms() + 1_000);
    let mut offered = Vec::new();
    for _ in 0..300 {
        offered =
            shell.with_engine(|e| e.agent(&"ann".into()).map(|a| a.offers).unwrap_or_default());
        if !offered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        offered
            .iter()
            .map(|o| o.conversation_id.as_str())
            .collect::<Vec<_>>(),
        ["c1"]
    );

    // The API carries no hours: an upsert keeps the queue's.
    shell
        .upsert_queue(QueueSpec::new("sales").with_priority(2))
        .await
        .expect("upsert");
    let kept = shell.with_engine(|e| e.queue_hours(&"sales".into()));
    assert_eq!(kept.map(|s| s.config().clone()), Some(hours));

    stop.cancel();
    intake.await.expect("intake stops").expect("intake ran");
    timer.await.expect("timer stops");
}
