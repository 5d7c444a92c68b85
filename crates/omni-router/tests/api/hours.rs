//! Business hours through the bus: a routing request for a closed queue
//! (today and tomorrow are holidays) waits without an offer though an
//! agent is available, and the router publishes one `QueueClosedNotice` on
//! `omni.assignment.closed` with the opening and the queue's reply
//! rendered per language (the opening written in each); with the router's
//! clock moved to the opening the agent is offered it; an upsert that says
//! nothing of hours keeps the queue's. `ListQueues` says whether a queue with hours is open
//! and when it next opens or closes, by the router's clock.

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
        closed_bot: None,
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
    // Each reply writes the opening in its own language.
    let (es, en) = (
        schedule.format_written(opens, "es"),
        schedule.format_written(opens, "en"),
    );
    assert!(es.ends_with(" 0:00 UTC") && es.contains(" de "), "{es}");
    assert!(en.ends_with(" at 12:00 AM UTC"), "{en}");
    assert_eq!(notice.replies["es"], format!("Abrimos {es}."));
    assert_eq!(notice.replies["en"], format!("We open {en}."));
    assert_eq!(notice.reply, format!("We open {en}."));
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

    // An upsert that says nothing of hours keeps the queue's.
    shell
        .upsert_queue(QueueSpec::new("sales").with_priority(2), true)
        .await
        .expect("upsert");
    let kept = shell.with_engine(|e| e.queue_hours(&"sales".into()));
    assert_eq!(kept.map(|s| s.config().clone()), Some(hours));

    stop.cancel();
    intake.await.expect("intake stops").expect("intake ran");
    timer.await.expect("timer stops");
}

/// Local dates in Madrid: today, tomorrow and the day after.
fn madrid_days() -> [jiff::civil::Date; 3] {
    let today = jiff::Timestamp::from_millisecond(now_ms())
        .expect("now")
        .in_tz("Europe/Madrid")
        .expect("zone")
        .date();
    let tomorrow = today.tomorrow().expect("a date");
    [today, tomorrow, tomorrow.tomorrow().expect("a date")]
}

/// `time` on `date` in Madrid, ms since the epoch.
fn madrid_ms(date: jiff::civil::Date, hour: i8) -> i64 {
    date.at(hour, 0, 0, 0)
        .in_tz("Europe/Madrid")
        .expect("zone")
        .timestamp()
        .as_millisecond()
}

#[tokio::test]
async fn list_queues_says_whether_a_queue_is_open_and_when_that_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let [today, tomorrow, after] = madrid_days();
    let config = format!(
        r#"
        [[queues]]
        id = "sales"
        [queues.hours]
        zone = "Europe/Madrid"
        weekly = {{ mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"],
                   thu = ["09:00-18:00"], fri = ["09:00-18:00"], sat = ["09:00-18:00"],
                   sun = ["09:00-18:00"] }}
        holidays = [{{ date = "{today}" }}, {{ date = "{tomorrow}" }}]

        [[queues]]
        id = "support"
        "#
    );
    let mut router = super::Router::start_with(dir.path(), &config).await;
    let hours_of = |queues: &[omni_proto::routing::QueueState], id: &str| {
        queues
            .iter()
            .find(|q| q.queue == id)
            .map(|q| q.hours.clone())
            .expect("queue listed")
    };
    let opens = madrid_ms(after, 9);
    let closes = madrid_ms(after, 18);
    let weekday = |at: i64| {
        jiff::Timestamp::from_millisecond(at)
            .expect("time")
            .in_tz("Europe/Madrid")
            .expect("zone")
            .strftime("%a")
            .to_string()
    };

    let queues = router.queues().await;
    assert_eq!(hours_of(&queues, "support"), None, "no hours: always open");
    let closed = hours_of(&queues, "sales").expect("sales has hours");
    assert_eq!(
        (closed.zone.as_str(), closed.open, closed.next_change_ms),
        ("Europe/Madrid", false, opens),
        "closed on the holidays, opens the day after at 09:00"
    );
    assert_eq!(
        closed.next_change_local,
        format!("{} 09:00", weekday(opens))
    );

    // The router's clock moved into the opening: open until 18:00.
    router.shell.advance_clock(opens + 60_000 - now_ms());
    let open = hours_of(&router.queues().await, "sales").expect("sales has hours");
    assert_eq!((open.open, open.next_change_ms), (true, closes));
    assert_eq!(open.next_change_local, format!("{} 18:00", weekday(closes)));

    router.stop().await;
}
