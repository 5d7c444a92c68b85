//! A closed queue's bot (`[queues.hours] closed_bot`) through the whole
//! app, in both modes: Sales is closed (today and tomorrow are holidays)
//! and hands its waiting customers to the scripted bot `night`. A chat
//! customer who writes gets the closed reply and then the bot's answer;
//! the conversation is in the `bot` status and no longer waits in the
//! router. When the bot hands off, the customer waits again in Sales.
//!
//! Embedded, the test then moves the router's clock to the opening (never
//! waiting for it): the available agent is offered the customer, and the
//! bot had no turn after its handoff. Distributed, the notice and the
//! release cross NATS between the router's and the context's processes;
//! the opening itself is proven in `business_hours.rs`.

use std::sync::Arc;
use std::time::Duration;

use omni_bus::topology::subjects;
use omni_bus::{Bus, Message};
use omni_bus_nats::NatsBus;
use omni_core::config::HoursConfig;
use omni_core::hours::Schedule;
use omni_core::time::now_ms;
use omni_proto::bot as bp;
use omni_proto::common::ConversationStatus;
use omni_proto::context::GetConversationRequest;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::routing::ListQueuesRequest;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::bot::{Script, TestBot, keep_going, reply};
use omni_testkit::grpc;
use omni_testkit::{Cluster, Endpoints, TestApp};
use prost::Message as _;
use serde_json::{Value, json};

use crate::business_hours::{REPLY, holidays_now};
use crate::support::{binary, blocking};

const GREETING: &str = "I am the night assistant: ask me anything until we open.";
const HANDING_OFF: &str = "A person will write to you as soon as we open.";

/// Greets, and hands off when asked about an order; answers nothing to
/// the test's marker turn.
fn night_script() -> Script {
    Box::new(|turn: &bp::BotTurn| {
        if turn.turn_id == "marker" {
            return None;
        }
        let text = turn.message.as_ref().map_or("", |m| m.text.as_str());
        let action = if text.contains("order") {
            bp::bot_reply::Action::Handoff(bp::Handoff {
                queue: String::new(),
                summary: "asks about an order".into(),
                intent: "order_status".into(),
                reason: "no_answer".into(),
            })
        } else {
            keep_going()
        };
        let answer = if text.contains("order") {
            HANDING_OFF
        } else {
            GREETING
        };
        Some(reply(turn, answer, &[], action))
    })
}

/// The next outbound message on the customer's chat.
async fn answer(customer: &mut Customer) -> anyhow::Result<Value> {
    let frame = customer
        .socket
        .recv_until("an answer", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    Ok(frame["message"].clone())
}

/// Polls until the conversation has `status` (the context service) and
/// Sales has `waiting` contacts (the router), for up to 15 s.
async fn settles(
    grpc: &Grpc,
    conversation: &str,
    status: ConversationStatus,
    waiting: u32,
) -> anyhow::Result<()> {
    let mut context = ContextServiceClient::new(grpc::channel(&grpc.context, grpc::SERVICE_TOKEN)?);
    let mut router = RouterServiceClient::new(grpc::channel(&grpc.router, grpc::SERVICE_TOKEN)?);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = context
            .get_conversation(GetConversationRequest {
                conversation_id: conversation.to_owned(),
            })
            .await?
            .into_inner()
            .conversation
            .map(|c| c.status());
        let queued = router
            .list_queues(ListQueuesRequest {})
            .await?
            .into_inner()
            .queues
            .into_iter()
            .find(|q| q.queue == "sales")
            .map(|q| q.waiting);
        if now == Some(status) && queued == Some(waiting) {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "expected {status:?} with {waiting} waiting in Sales, got {now:?} with {queued:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the context service's and the router's gRPC APIs are.
struct Grpc {
    context: String,
    router: String,
}

/// Sales closed by [`holidays_now`], its customers handed to `night`.
fn closed_hours() -> HoursConfig {
    HoursConfig {
        closed_bot: Some("night".into()),
        ..holidays_now(now_ms())
    }
}

/// A chat customer of closed Sales is told the opening, answered by the
/// bot and handed off by it, and then waits in Sales; returns the
/// conversation and the customer (whose chat stays open).
async fn closed_bot_answers_then_hands_off(
    app: &impl Endpoints,
    grpc: &Grpc,
    bot: &mut TestBot,
    schedule: &Schedule,
) -> anyhow::Result<(String, Customer)> {
    let before = schedule.closed_reply(None, now_ms());
    let (mut jo, _) = Customer::open(app, None, "sales").await?;
    jo.say("Hello, anyone?").await?;
    let told = answer(&mut jo).await?;
    let after = schedule.closed_reply(None, now_ms());
    assert!(
        told["text"] == before.as_str() || told["text"] == after.as_str(),
        "first the closed reply, {before:?}: {told}"
    );
    assert!(
        told["agent_id"].is_null() && told["bot"].is_null(),
        "{told}"
    );
    let conversation = told["conversation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let first = bot.next_turn().await?;
    assert_eq!((first.turn, first.bot.as_str()), (1, "night"));
    assert_eq!(first.conversation_id, conversation);
    assert_eq!(
        first.message.as_ref().map(|m| m.text.as_str()),
        Some("Hello, anyone?")
    );
    let greeting = answer(&mut jo).await?;
    assert_eq!(
        (greeting["text"].as_str(), greeting["bot"].as_str()),
        (Some(GREETING), Some("night")),
        "{greeting}"
    );
    settles(grpc, &conversation, ConversationStatus::Bot, 0).await?;

    // The bot hands off: the customer waits for the opening.
    jo.say("Where is my order?").await?;
    let second = bot.next_turn().await?;
    assert_eq!(second.turn, 2);
    let handing_off = answer(&mut jo).await?;
    assert_eq!(handing_off["text"], HANDING_OFF, "{handing_off}");
    settles(grpc, &conversation, ConversationStatus::Queued, 1).await?;
    Ok((conversation, jo))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_closed_queue_hands_the_customer_to_its_bot_until_the_opening()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    let hours = closed_hours();
    config.bots.insert(
        "night".into(),
        serde_json::from_value(json!({ "deadline_secs": 60 }))?,
    );
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .expect("the sample has Sales");
    sales.hours = Some(hours.clone());
    // Timed overflows go by age: two days on the clock would move the
    // customer to Support before Bob could take them.
    sales.steps.retain(|s| s.overflow.is_none());
    config.validate()?;
    let schedule = Schedule::parse(&hours)?;
    let app = TestApp::start_with(data, config).await?;
    let grpc = Grpc {
        context: app.grpc_url(),
        router: app.grpc_url(),
    };
    let mut bot = TestBot::start(app.bus(), "night", night_script()).await?;
    // Bob (Sales) is available all along: nothing is offered while closed.
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (conversation, _jo) =
        closed_bot_answers_then_hands_off(&app, &grpc, &mut bot, &schedule).await?;

    // At the opening, reached by moving the router's clock, Bob is offered
    // the customer.
    let opens = schedule.opens_at(now_ms()).expect("Sales opens");
    app.advance_router_clock(opens - now_ms() + 1_000);
    let (_, offered) = bob.next_offer().await?;
    assert_eq!(offered, conversation);

    // The bot had no turn since its handoff: the next it takes is this
    // marker, published now.
    let marker = bp::BotTurn {
        turn_id: "marker".into(),
        ..bp::BotTurn::default()
    };
    app.bus()
        .publish(
            Message::new(subjects::bot_turn("night"), marker.encode_to_vec()),
            None,
        )
        .await?;
    let next = bot.next_turn().await?;
    assert_eq!(
        next.turn_id, "marker",
        "no turn after the handoff: {next:?}"
    );
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_closed_queue_hands_the_customer_to_its_bot() -> anyhow::Result<()> {
    let hours = closed_hours();
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
        "hours = {{ zone = \"UTC\", weekly = {{ {} }}, holidays = [{}], closed_bot = \"night\", closed_reply = {{ en = {REPLY:?} }} }}",
        weekly.join(", "),
        holidays.join(", ")
    );
    let sample = std::fs::read_to_string(sample_config_path())?;
    let marked = "id = \"sales\"\nname = \"Sales\"\n";
    anyhow::ensure!(sample.contains(marked), "the sample's Sales queue moved");
    let text = sample.replace(marked, &format!("{marked}{line}\n"))
        + "\n[bots.night]\ndeadline_secs = 60\n";
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("omniroute.toml");
    std::fs::write(&path, text)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    let grpc = Grpc {
        context: cluster.grpc_url(omni::Part::Context),
        router: cluster.grpc_url(omni::Part::Router),
    };
    let bus: Arc<dyn Bus> = NatsBus::connect(&cluster.nats.url()).await?;
    let mut bot = TestBot::start(bus, "night", night_script()).await?;
    let schedule = Schedule::parse(&hours)?;
    closed_bot_answers_then_hands_off(&cluster, &grpc, &mut bot, &schedule).await?;
    drop(cluster);
    Ok(())
}
