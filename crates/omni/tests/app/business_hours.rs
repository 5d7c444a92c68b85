//! Business hours through the whole app, in both modes: Sales is open
//! every day around the clock but today and tomorrow are holidays (UTC),
//! so a chat customer writing now is told, on their chat, when Sales
//! opens (the day after tomorrow, 00:00 UTC), by a message no agent wrote,
//! and keeps waiting. Distributed: the notice crosses NATS from the
//! router's process to the context's.
//!
//! Embedded, the test then moves the router's clock to the opening
//! (`TestApp::advance_router_clock`, never by waiting for it) and an
//! available Sales agent is offered the customer. The distributed router
//! runs in its own process on the wall clock, so there the test stops at
//! the reply; the opening's order (oldest first) is proven in
//! `omni-router-core`'s `tests/engine/hours.rs`.

use std::collections::BTreeMap;

use omni_core::config::{HolidayConfig, HoursConfig};
use omni_core::hours::Schedule;
use omni_core::time::now_ms;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::{Cluster, Endpoints, TestApp};

use crate::support::{binary, blocking};

const REPLY: &str = "Closed for the holidays. We open {opens_at}.";

/// Open all week, closed today and tomorrow (UTC dates as of `at_ms`).
fn holidays_now(at_ms: i64) -> HoursConfig {
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
        closed_reply: BTreeMap::from([("en".to_owned(), REPLY.to_owned())]),
    }
}

/// A Sales customer writes and is told when Sales opens, by an automatic
/// answer; returns their conversation's id.
async fn told_when_sales_opens(
    app: &impl Endpoints,
    hours: &HoursConfig,
) -> anyhow::Result<String> {
    let schedule = Schedule::parse(hours)?;
    let before = schedule.closed_reply(None, now_ms());
    assert!(
        before.starts_with("Closed for the holidays. We open ")
            && before.ends_with(" at 12:00 AM UTC."),
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
    Ok(message["conversation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
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
    let app = TestApp::start_with(data, config).await?;
    let conversation = told_when_sales_opens(&app, &hours).await?;
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
