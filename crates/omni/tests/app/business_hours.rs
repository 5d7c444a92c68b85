//! Business hours through the whole app, in both modes: Sales is open
//! every day around the clock but today and tomorrow are holidays (UTC),
//! so a chat customer writing now is told, on their chat, when Sales
//! opens (the day after tomorrow, 00:00 UTC), by a message no agent wrote,
//! and keeps waiting. Distributed: the notice crosses NATS from the
//! router's process to the context's.
//!
//! Embedded, the test then moves the router's clock to the opening
//! (`TestApp::advance_router_clock`, never by waiting for it) and an
//! available Sales agent is offered the customer.
//!
//! The distributed router runs in its own process on the wall clock, which
//! nothing outside it may move (the binary has no test-only control). So
//! the distributed opening test builds the schedule from the time it
//! starts: `UpsertQueue` gives Sales hours that open at the first whole
//! minute at least [`MARGIN_MS`] ahead (a schedule's resolution is the
//! minute), the customer is told that opening, and at it the available
//! agent is offered the customer: the test sleeps until the real opening
//! (20 to 80 s) and then waits for the offer, asserting no duration. The
//! opening's order (oldest first) is proven in `omni-router-core`'s
//! `tests/engine/hours.rs`.

use std::collections::BTreeMap;

use omni_core::config::{HolidayConfig, HoursConfig};
use omni_core::hours::Schedule;
use omni_core::time::now_ms;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::{Cluster, Endpoints, TestApp};

use crate::support::{binary, blocking};

pub(crate) const REPLY: &str = "Closed for the holidays. We open {opens_at}.";

/// Open all week, closed today and tomorrow (UTC dates as of `at_ms`).
pub(crate) fn holidays_now(at_ms: i64) -> HoursConfig {
    let today = jiff::Timestamp::from_millisecond(at_ms)
        .expect("now is a timestamp")
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let tomorrow = today.tomorrow().expect("a date");
    HoursConfig {
        zone: "UTC".into(),
        weekly: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| ((*d).to_owned(), vec!["00:00-24:00".to_owned()]))
            .collect(),
        holidays: [today, tomorrow]
            .iter()
            .map(|d| HolidayConfig {
                date: d.to_string(),
                name: Some("test holiday".into()),
            })
            .collect(),
        closed_overflow: None,
        closed_bot: None,
        closed_reply: BTreeMap::from([("en".to_owned(), REPLY.to_owned())]),
    }
}

/// A Sales customer writes and is told when Sales opens, by an automatic
/// answer; returns their conversation's id, and the customer, whose chat
/// stays open while they are kept (a customer who left for longer than
/// `metrics.abandon_grace_secs` has abandoned).
async fn told_when_sales_opens(
    app: &impl Endpoints,
    hours: &HoursConfig,
) -> anyhow::Result<(String, Customer)> {
    let schedule = Schedule::parse(hours)?;
    let before = schedule.closed_reply(None, now_ms());
    assert!(
        before.starts_with("Closed for the holidays. We open ") && before.ends_with(" UTC."),
        "{before}"
    );
    let (mut customer, _) = Customer::open(app, None, "sales").await?;
    customer.say("Hello, anyone?").await?;
    let frame = customer
        .socket
        .recv_until("the closed reply", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    let message = &frame["message"];
    // Computed again in case midnight passed meanwhile.
    let after = schedule.closed_reply(None, now_ms());
    assert!(
        message["text"] == before.as_str() || message["text"] == after.as_str(),
        "expected {before:?}: {frame}"
    );
    assert!(message["agent_id"].is_null(), "no agent wrote it: {frame}");
    let conversation = message["conversation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((conversation, customer))
}

#[tokio::test]
async fn embedded_a_closed_queue_answers_with_its_opening_time() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    let hours = holidays_now(now_ms());
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .expect("the sample has Sales");
    sales.hours = Some(hours.clone());
    // Timed overflows go by age, closed or not: two days on the clock
    // would move the customer to Support before Bob could take them.
    sales.steps.retain(|s| s.overflow.is_none());
    let reply = Schedule::parse(&hours)?.closed_reply(None, now_ms());
    assert!(
        reply.ends_with(" at 12:00 AM UTC."),
        "opens at midnight: {reply}"
    );
    let app = TestApp::start_with(data, config).await?;
    let (conversation, _customer) = told_when_sales_opens(&app, &hours).await?;
    // Bob (Sales) is available; at the opening, reached by moving the
    // router's clock rather than by waiting, he is offered the customer.
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let opens = Schedule::parse(&hours)?
        .opens_at(now_ms())
        .expect("Sales opens");
    app.advance_router_clock(opens - now_ms() + 1_000);
    let (_, offered) = bob.next_offer().await?;
    assert_eq!(offered, conversation);
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_closed_queue_answers_with_its_opening_time() -> anyhow::Result<()> {
    let hours = holidays_now(now_ms());
    let sample = std::fs::read_to_string(sample_config_path())?;
    let quoted = |v: &[String]| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let weekly: Vec<String> = hours
        .weekly
        .iter()
        .map(|(day, ranges)| format!("{day} = [{}]", quoted(ranges)))
        .collect();
    let holidays: Vec<String> = hours
        .holidays
        .iter()
        .map(|h| format!("{{ date = {:?} }}", h.date))
        .collect();
    let line = format!(
        "hours = {{ zone = \"UTC\", weekly = {{ {} }}, holidays = [{}], closed_reply = {{ en = {REPLY:?} }} }}",
        weekly.join(", "),
        holidays.join(", ")
    );
    let marked = "id = \"sales\"\nname = \"Sales\"\n";
    anyhow::ensure!(sample.contains(marked), "the sample's Sales queue moved");
    let text = sample.replace(marked, &format!("{marked}{line}\n"));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("omniroute.toml");
    std::fs::write(&path, text)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    told_when_sales_opens(&cluster, &hours).await?;
    drop(cluster);
    Ok(())
}

/// How far ahead of the test's start the distributed opening is at least:
/// time for the customer to be told while Sales is still closed.
const MARGIN_MS: i64 = 20_000;

/// Hours (UTC) that open at the first whole minute at least [`MARGIN_MS`]
/// after `at_ms`, until that day's end; and that opening.
fn opening_soon(at_ms: i64) -> anyhow::Result<(HoursConfig, i64)> {
    let opens = (at_ms + MARGIN_MS).div_euclid(60_000) * 60_000 + 60_000;
    let local =
        jiff::Timestamp::from_millisecond(opens)?.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [usize::from(local.weekday().to_monday_zero_offset().unsigned_abs())];
    let range = format!("{}-24:00", local.strftime("%H:%M"));
    let hours = HoursConfig {
        zone: "UTC".into(),
        weekly: BTreeMap::from([(day.to_owned(), vec![range])]),
        holidays: Vec::new(),
        closed_overflow: None,
        closed_bot: None,
        closed_reply: BTreeMap::from([("en".to_owned(), REPLY.to_owned())]),
    };
    Ok((hours, opens))
}

/// Gives the cluster's Sales queue (as the sample configures it) `hours`,
/// through the router's `UpsertQueue`.
async fn set_sales_hours(router: &str, hours: &HoursConfig) -> anyhow::Result<()> {
    use omni_proto::routing::router_service_client::RouterServiceClient;
    use omni_proto::routing::{QueueSpec, QueueStep, ServiceLevelTarget, UpsertQueueRequest};

    // The cluster's processes share the service token (no admin account).
    let mut client = RouterServiceClient::new(omni_testkit::grpc::channel(
        router,
        omni_testkit::grpc::SERVICE_TOKEN,
    )?);
    let step = |after_ms: i64, requirement: &str, overflow_queue: &str| QueueStep {
        after_ms,
        requirement: requirement.into(),
        overflow_queue: overflow_queue.into(),
    };
    // Sales as config/omniroute.toml has it, with hours.
    let sales = QueueSpec {
        queue_id: "sales".into(),
        name: "Sales".into(),
        priority: 5,
        requirement: "sales >= 3".into(),
        steps: vec![step(60_000, "sales >= 1", ""), step(300_000, "", "support")],
        service_level_target: Some(ServiceLevelTarget {
            percent: 80,
            threshold_ms: 20_000,
        }),
        ..Default::default()
    };
    let state = client
        .upsert_queue(UpsertQueueRequest {
            queue: Some(sales),
            hours: Some(omni_router::convert::hours_to_pb(hours)),
            always_open: false,
        })
        .await?
        .into_inner();
    let shown = state.hours.unwrap_or_default();
    anyhow::ensure!(!shown.open, "Sales should be closed now: {shown:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_closed_queue_offers_the_contact_at_its_opening() -> anyhow::Result<()> {
    let sample = sample_config_path();
    let cluster = blocking(move || Cluster::start_with(binary(), &sample, &[])).await?;
    let (hours, opens) = opening_soon(now_ms())?;
    set_sales_hours(&cluster.grpc_url(omni::Part::Router), &hours).await?;
    // The customer stays on the chat until the opening.
    let (conversation, _customer) = told_when_sales_opens(&cluster, &hours).await?;
    // Bob (Sales) is available while Sales is closed; at the opening he is
    // offered the customer.
    // His desk socket is read all along (it answers the desk's pings, so
    // he stays connected and available): each wait for an offer gives up
    // after a while, and before the opening that is expected.
    let mut bob = Agent::sign_in(&cluster, "bob").await?;
    let offered = loop {
        match bob.next_offer().await {
            Ok((_, offered)) => break offered,
            Err(e) if now_ms() < opens + MARGIN_MS => {
                tracing::debug!(error = %e, "no offer yet");
            }
            Err(e) => return Err(e.context("no offer after the opening")),
        }
    };
    assert!(
        now_ms() >= opens,
        "offered before the opening ({} ms early)",
        opens - now_ms()
    );
    assert_eq!(offered, conversation);
    drop(cluster);
    Ok(())
}
