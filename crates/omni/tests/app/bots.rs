//! Bots in front of a queue through the whole app, with a scripted bot on
//! the bus (`omni_testkit::bot::TestBot`): a chat customer gets the bot's
//! answer, is handed off with the bot's summary and collected attributes,
//! and the agent is offered the conversation at its original age and sees
//! the bot's turns; an SMS customer answers a numbered option by its
//! number; a bot that does not answer, a customer who asks for a person and
//! too many turns all hand off by themselves.
//!
//! The chat handoff, the SMS option and the timeout run embedded and
//! distributed (every part its own process, the bot a NATS client), each
//! one body for both modes.

use std::sync::Arc;

use omni::Part;
use omni_bus::Bus;
use omni_bus_nats::NatsBus;
use omni_core::config::{BotConfig, Config};
use omni_proto::bot as bp;
use omni_testkit::actors::{Agent, Customer, Phone};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::bot::{Script, TestBot, keep_going, reply};
use omni_testkit::providers::{
    OUR_NUMBER, SMS_PUBLIC_URL, email_and_sms_config, email_and_sms_env, twilio_account,
};
use omni_testkit::twilio::FakeTwilio;
use omni_testkit::{Cluster, Endpoints, TestApp};
use omni_testservers::smtp::SmtpSink;
use serde_json::{Value, json};

use crate::support::{binary, blocking};

/// The sample configuration file in `dir` with the bot `faq` (`[bots.faq]`
/// lines `bot`) in front of the Sales queue, and, with `sms_to_sales`, new
/// SMS conversations going to Sales.
fn bot_config_file(
    dir: &std::path::Path,
    bot: &str,
    sms_to_sales: bool,
) -> anyhow::Result<std::path::PathBuf> {
    let sample = std::fs::read_to_string(sample_config_path())?;
    let mut text = sample.replacen("id = \"sales\"\n", "id = \"sales\"\nbot = \"faq\"\n", 1);
    if sms_to_sales {
        let line = "default_queue = { chat = \"support\", email = \"support\", sms = \"support\" }";
        anyhow::ensure!(text.contains(line), "the sample's default queues moved");
        text = text.replacen(
            line,
            "default_queue = { chat = \"support\", email = \"support\", sms = \"sales\" }",
            1,
        );
    }
    text += &format!("\n[bots.faq]\n{bot}\n");
    let path = dir.join("omniroute.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// `config` with the bot `faq` in front of the Sales queue.
fn with_bot(mut config: Config, bot: Value) -> anyhow::Result<Config> {
    let bot: BotConfig = serde_json::from_value(bot)?;
    config.bots.insert("faq".into(), bot);
    for queue in &mut config.queues {
        if queue.id == "sales" {
            queue.bot = Some("faq".into());
        }
    }
    config.validate()?;
    Ok(config)
}

/// The desk's view of a conversation, as `agent` reads it.
async fn desk_view(agent: &Agent, conversation: &str) -> anyhow::Result<Value> {
    let r = agent
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    anyhow::ensure!(r.status == 200, "{} {}", r.status, r.body);
    Ok(r.body)
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

fn faq_script() -> Script {
    Box::new(|turn: &bp::BotTurn| {
        let text = turn.message.as_ref().map_or("", |m| m.text.as_str());
        if text.contains("refund") {
            let mut r = reply(
                turn,
                "I will get you someone who can refund order 12345.",
                &[],
                bp::bot_reply::Action::Handoff(bp::Handoff {
                    queue: String::new(),
                    summary: "wants a refund for order 12345".into(),
                    intent: "refund".into(),
                    reason: "no_answer".into(),
                }),
            );
            r.attributes.insert("order_number".into(), "12345".into());
            Some(r)
        } else {
            Some(reply(
                turn,
                "Hello! I am the FAQ bot. What can I do for you?",
                &["Opening hours", "Refunds"],
                keep_going(),
            ))
        }
    })
}

/// A chat customer talks to the bot, asks for a refund, and the bot hands
/// off with a summary and an order number; Bob is offered the conversation
/// at its original age and sees the bot's turns and the handoff.
async fn chat_customer_is_handed_off_with_the_summary(
    app: &impl Endpoints,
    bus: Arc<dyn Bus>,
) -> anyhow::Result<()> {
    let mut bot = TestBot::start(bus, "faq", faq_script()).await?;
    let mut bob = Agent::sign_in(app, "bob").await?;

    let (mut jo, _) = Customer::open(app, None, "sales").await?;
    jo.say("Hi there").await?;
    let first = bot.next_turn().await?;
    assert_eq!((first.turn, first.bot.as_str()), (1, "faq"));
    let capabilities = first.channel.clone().unwrap_or_default();
    assert!(capabilities.quick_replies, "chat shows buttons: {first:?}");
    assert_eq!(
        first.message.as_ref().map(|m| m.text.as_str()),
        Some("Hi there")
    );
    let hello = answer(&mut jo).await?;
    assert_eq!(
        hello["text"], "Hello! I am the FAQ bot. What can I do for you?",
        "chat shows the options as buttons, not in the text: {hello}"
    );

    jo.say("I want a refund please").await?;
    let second = bot.next_turn().await?;
    assert_eq!(second.turn, 2);
    assert_eq!(second.history.len(), 2, "the first turn is in the history");
    assert_eq!(second.history[1].bot, "faq", "the bot's message is marked");
    answer(&mut jo).await?;

    let frame = bob.events.recv_type("offer").await?;
    let offer = &frame["offer"];
    let conversation = offer["conversation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    bob.settle(offer["offer_id"].as_str().unwrap_or_default(), "accept")
        .await?;
    let view = desk_view(&bob, &conversation).await?;
    let created = view["conversation"]["created_at_ms"].as_i64().unwrap_or(-1);
    assert_eq!(
        offer["queued_at_ms"].as_i64(),
        Some(created),
        "offered at the conversation's original age: {frame} {view}"
    );
    let handoff = &view["conversation"]["handoff"];
    assert_eq!(
        handoff["summary"], "wants a refund for order 12345",
        "{view}"
    );
    assert_eq!(
        (
            handoff["bot"].as_str(),
            handoff["intent"].as_str(),
            handoff["reason"].as_str()
        ),
        (Some("faq"), Some("refund"), Some("no_answer"))
    );
    assert_eq!(view["conversation"]["attributes"]["order_number"], "12345");
    let messages = view["messages"].as_array().cloned().unwrap_or_default();
    let by_bot: Vec<&Value> = messages.iter().filter(|m| m["bot"] == "faq").collect();
    assert_eq!(
        by_bot.len(),
        2,
        "the bot's turns are in the timeline: {view}"
    );
    assert_eq!(by_bot[0]["options"], json!(["Opening hours", "Refunds"]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_chat_customer_is_answered_by_the_bot_and_handed_off_with_its_summary()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = with_bot(test_config(data.path())?, json!({ "deadline_secs": 60 }))?;
    let app = TestApp::start_with(data, config).await?;
    chat_customer_is_handed_off_with_the_summary(&app, app.bus()).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_chat_customer_is_answered_by_the_bot_and_handed_off_with_its_summary()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = bot_config_file(dir.path(), "deadline_secs = 60", false)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    let bus: Arc<dyn Bus> = NatsBus::connect(&cluster.nats.url()).await?;
    chat_customer_is_handed_off_with_the_summary(&cluster, bus).await?;
    drop(cluster);
    Ok(())
}

/// An SMS customer texts Sales (through the SMS webhook at `sms_url`), is
/// sent the bot's options as a numbered list (SMS has no buttons), and
/// answers "2": the bot's next turn carries the option the number picks.
async fn sms_customer_picks_a_numbered_option(
    sms_url: &str,
    bus: Arc<dyn Bus>,
    twilio: &FakeTwilio,
) -> anyhow::Result<()> {
    let mut bot = TestBot::start(bus, "faq", faq_script()).await?;
    let mut phone = Phone::new(
        sms_url,
        SMS_PUBLIC_URL,
        &twilio_account(),
        "+14155550123",
        OUR_NUMBER,
    );
    phone.text("Hello?").await?;
    let first = bot.next_turn().await?;
    assert!(!first.channel.clone().unwrap_or_default().quick_replies);
    let sent = twilio
        .wait_for(1, std::time::Duration::from_secs(15))
        .await?;
    assert_eq!(
        sent[0].field("Body"),
        Some("Hello! I am the FAQ bot. What can I do for you?\n1. Opening hours\n2. Refunds"),
        "the options as a numbered list"
    );
    phone.text("2").await?;
    let second = bot.next_turn().await?;
    assert_eq!(second.option, "Refunds", "the number picks the option");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_sms_customer_picks_a_numbered_option_by_its_number() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let relay = SmtpSink::start()?;
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let mut config = email_and_sms_config(data.path(), &relay, twilio.api_base())?;
    config
        .context
        .default_queue
        .insert(omni_core::Channel::SMS, "sales".into());
    let config = with_bot(config, json!({ "deadline_secs": 60 }))?;
    let app = TestApp::start_with(data, config).await?;
    let sms_url = app.sms_url().unwrap_or_default();
    sms_customer_picks_a_numbered_option(&sms_url, app.bus(), &twilio).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_an_sms_customer_picks_a_numbered_option_by_its_number() -> anyhow::Result<()> {
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let env = email_and_sms_env(&relay.url(), twilio.api_base());
    let dir = tempfile::tempdir()?;
    let path = bot_config_file(dir.path(), "deadline_secs = 60", true)?;
    let parts = [
        Part::Context,
        Part::Router,
        Part::Chat,
        Part::Desk,
        Part::Sms,
    ];
    let cluster = blocking(move || env.start(binary(), &path, &parts)).await?;
    let bus: Arc<dyn Bus> = NatsBus::connect(&cluster.nats.url()).await?;
    sms_customer_picks_a_numbered_option(&cluster.sms_url(), bus, &twilio).await?;
    drop(cluster);
    Ok(())
}

/// A bot that gets the turn but never answers (its deadline is 1 s): the
/// conversation is handed off by itself with the reason `timeout`, and Bob
/// is offered it.
async fn a_silent_bot_hands_off_by_itself(
    app: &impl Endpoints,
    bus: Arc<dyn Bus>,
) -> anyhow::Result<()> {
    let mut bot = TestBot::start(bus, "faq", Box::new(|_: &bp::BotTurn| None)).await?;
    let mut bob = Agent::sign_in(app, "bob").await?;
    let (mut jo, _) = Customer::open(app, None, "sales").await?;
    jo.say("Anyone?").await?;
    bot.next_turn().await?;
    let conversation = bob.take_next_offer().await?;
    let view = desk_view(&bob, &conversation).await?;
    assert_eq!(
        view["conversation"]["handoff"]["reason"], "timeout",
        "{view}"
    );
    assert_eq!(view["conversation"]["handoff"]["bot"], "faq", "{view}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_bot_that_does_not_answer_hands_off_by_itself() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = with_bot(test_config(data.path())?, json!({ "deadline_secs": 1 }))?;
    let app = TestApp::start_with(data, config).await?;
    a_silent_bot_hands_off_by_itself(&app, app.bus()).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_bot_that_does_not_answer_hands_off_by_itself() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = bot_config_file(dir.path(), "deadline_secs = 1", false)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    let bus: Arc<dyn Bus> = NatsBus::connect(&cluster.nats.url()).await?;
    a_silent_bot_hands_off_by_itself(&cluster, bus).await?;
    drop(cluster);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_asking_for_a_person_or_too_many_turns_hands_off() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = with_bot(
        test_config(data.path())?,
        json!({ "deadline_secs": 60, "max_turns": 1 }),
    )?;
    let app = TestApp::start_with(data, config).await?;
    let mut bot = TestBot::start(app.bus(), "faq", faq_script()).await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;

    let (mut jo, _) = Customer::open(&app, None, "sales").await?;
    jo.say("Can I talk to an AGENT?").await?;
    let conversation = bob.take_next_offer().await?;
    let view = desk_view(&bob, &conversation).await?;
    assert_eq!(
        view["conversation"]["handoff"]["reason"],
        "asked_for_person"
    );
    assert_eq!(
        view["conversation"]["handoff"]["turns"], 0,
        "no turn for the bot"
    );

    let (mut pat, _) = Customer::open(&app, None, "sales").await?;
    pat.say("Hello").await?;
    bot.next_turn().await?;
    answer(&mut pat).await?;
    pat.say("And another thing").await?;
    let conversation = bob.take_next_offer().await?;
    let view = desk_view(&bob, &conversation).await?;
    assert_eq!(
        view["conversation"]["handoff"]["reason"], "too_many_turns",
        "{view}"
    );
    assert_eq!(view["conversation"]["handoff"]["turns"], 1);
    app.stop().await;
    Ok(())
}
