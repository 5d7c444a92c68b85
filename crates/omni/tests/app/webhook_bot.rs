//! A bot hosted elsewhere, over the webhook transport, through the whole
//! embedded app: a small HTTP server in the test acts as the bot, checks
//! each turn's signature with the shared signing function and answers in
//! JSON; a chat customer gets its answer and is handed off with its
//! summary. A bot that answers 500 hands off with `error`, one that
//! answers after the deadline with `timeout`.
//!
//! Distributed, behind a proxy: the context process is given
//! `HTTP_PROXY` in its environment, as an operator would, and reaches the
//! bot through a real forward proxy (`omni_testservers::proxy`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use omni_core::config::{BotConfig, Config};
use omni_core::time::now_ms;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::{Cluster, TestApp};
use omni_testservers::proxy::{ForwardProxy, NOWHERE};
use omni_webhook::signature;
use serde_json::{Value, json};

use crate::support::{binary, blocking};

const KEY: &str = "bot-signing-key-0001-long-enough";

/// How the test bot answers a verified turn: a status and a body.
type Answer = Box<dyn Fn(&Value) -> (StatusCode, Value) + Send + Sync>;

/// The test's bot: an HTTP server on a free port; the turns it received
/// with whether their signature verified.
struct WebhookBot {
    url: String,
    turns: Arc<Mutex<Vec<(bool, Value)>>>,
}

impl WebhookBot {
    async fn start(answer: Answer, delay: Duration) -> anyhow::Result<Self> {
        let turns: Arc<Mutex<Vec<(bool, Value)>>> = Arc::default();
        let seen = turns.clone();
        let answer = Arc::new(answer);
        let app = Router::new().route(
            "/turn",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                let answer = answer.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let timestamp = header(signature::TIMESTAMP);
                    let signed = header(signature::SIGNATURE);
                    let verified = headers
                        .get("content-type")
                        .is_some_and(|v| v == "application/json")
                        && signature::verify(&[KEY.as_bytes()], &timestamp, &body, &signed)
                        && signature::stale(&timestamp, now_ms() / 1000, 300).is_none();
                    let turn: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let Ok(mut turns) = seen.lock() {
                        turns.push((verified, turn.clone()));
                    }
                    tokio::time::sleep(delay).await;
                    if !verified {
                        return (StatusCode::UNAUTHORIZED, "bad signature".to_owned());
                    }
                    let (status, body) = answer(&turn);
                    (status, body.to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/turn", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, turns })
    }

    fn turns(&self) -> Vec<(bool, Value)> {
        self.turns.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// `config` with the webhook bot `faq` at `url` in front of Sales.
fn with_webhook_bot(mut config: Config, url: &str, deadline_secs: u64) -> anyhow::Result<Config> {
    let bot: BotConfig = serde_json::from_value(json!({
        "transport": "webhook",
        "url": url,
        "secret": KEY,
        "deadline_secs": deadline_secs,
    }))?;
    config.bots.insert("faq".into(), bot);
    for queue in &mut config.queues {
        if queue.id == "sales" {
            queue.bot = Some("faq".into());
        }
    }
    config.validate()?;
    Ok(config)
}

async fn desk_view(agent: &Agent, conversation: &str) -> anyhow::Result<Value> {
    let r = agent
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    anyhow::ensure!(r.status == 200, "{} {}", r.status, r.body);
    Ok(r.body)
}

fn faq(turn: &Value) -> (StatusCode, Value) {
    let text = turn["message"]["text"].as_str().unwrap_or_default();
    if text.contains("refund") {
        (
            StatusCode::OK,
            json!({
                "turnId": turn["turnId"],
                "bot": "faq",
                "conversationId": turn["conversationId"],
                "messages": [{ "text": "Someone will refund order 12345." }],
                "attributes": { "order_number": "12345" },
                "handoff": { "summary": "wants a refund for order 12345", "intent": "refund", "reason": "no_answer" }
            }),
        )
    } else {
        (
            StatusCode::OK,
            json!({
                "turnId": turn["turnId"],
                "messages": [{ "text": "Hello from the web!", "options": ["Refunds"] }],
                "continue": {}
            }),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_webhook_bot_answers_a_chat_customer_and_hands_off() -> anyhow::Result<()> {
    let bot = WebhookBot::start(Box::new(faq), Duration::ZERO).await?;
    let data = tempfile::tempdir()?;
    let config = with_webhook_bot(test_config(data.path())?, &bot.url, 60)?;
    let app = TestApp::start_with(data, config).await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut jo, _) = Customer::open(&app, None, "sales").await?;
    jo.say("Hi there").await?;
    let hello = jo
        .socket
        .recv_until("the bot's answer", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    assert_eq!(hello["message"]["text"], "Hello from the web!", "{hello}");

    jo.say("I want a refund please").await?;
    let conversation = bob.take_next_offer().await?;
    let view = desk_view(&bob, &conversation).await?;
    let handoff = &view["conversation"]["handoff"];
    assert_eq!(
        handoff["summary"], "wants a refund for order 12345",
        "{view}"
    );
    assert_eq!(handoff["reason"], "no_answer");
    assert_eq!(view["conversation"]["attributes"]["order_number"], "12345");

    let turns = bot.turns();
    assert_eq!(turns.len(), 2, "{turns:?}");
    assert!(
        turns.iter().all(|(verified, _)| *verified),
        "signed: {turns:?}"
    );
    let second = &turns[1].1;
    assert_eq!(second["turn"], 2);
    assert_eq!(second["bot"], "faq");
    assert_eq!(second["history"][1]["bot"], "faq", "{second}");
    assert_eq!(second["channel"]["quickReplies"], true);
    app.stop().await;
    Ok(())
}

/// The reason of the handoff of the conversation Bob is offered after a
/// customer writes to the bot.
async fn handoff_reason(bot: &WebhookBot, deadline_secs: u64) -> anyhow::Result<Value> {
    let data = tempfile::tempdir()?;
    let config = with_webhook_bot(test_config(data.path())?, &bot.url, deadline_secs)?;
    let app = TestApp::start_with(data, config).await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut jo, _) = Customer::open(&app, None, "sales").await?;
    jo.say("Anyone?").await?;
    let conversation = bob.take_next_offer().await?;
    let view = desk_view(&bob, &conversation).await?;
    app.stop().await;
    Ok(view["conversation"]["handoff"]["reason"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_webhook_bot_that_answers_500_hands_off_with_error() -> anyhow::Result<()> {
    let bot = WebhookBot::start(
        Box::new(|_: &Value| (StatusCode::INTERNAL_SERVER_ERROR, json!({}))),
        Duration::ZERO,
    )
    .await?;
    assert_eq!(handoff_reason(&bot, 60).await?, "error");
    assert_eq!(bot.turns().len(), 1, "the turn reached the bot");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_webhook_bot_answering_past_its_deadline_hands_off_with_timeout()
-> anyhow::Result<()> {
    let bot = WebhookBot::start(Box::new(faq), Duration::from_secs(30)).await?;
    assert_eq!(handoff_reason(&bot, 1).await?, "timeout");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_webhook_bot_answering_what_is_not_a_reply_hands_off_with_error()
-> anyhow::Result<()> {
    let bot = WebhookBot::start(
        Box::new(|_: &Value| (StatusCode::OK, json!("hello"))),
        Duration::ZERO,
    )
    .await?;
    assert_eq!(handoff_reason(&bot, 60).await?, "error");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_webhook_bot_answering_for_another_turn_hands_off_with_error()
-> anyhow::Result<()> {
    let bot = WebhookBot::start(
        Box::new(|_: &Value| {
            (
                StatusCode::OK,
                json!({ "turnId": "turn_other", "continue": {} }),
            )
        }),
        Duration::ZERO,
    )
    .await?;
    assert_eq!(handoff_reason(&bot, 60).await?, "error");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_webhook_bot_behind_a_proxy_is_reached_through_it() -> anyhow::Result<()> {
    let bot = WebhookBot::start(Box::new(faq), Duration::ZERO).await?;
    let proxy = blocking(|| Ok(ForwardProxy::start()?)).await?;
    // The bot by a name nobody resolves: only the proxy can reach it.
    let port = bot
        .url
        .trim_end_matches("/turn")
        .rsplit_once(':')
        .map_or("", |(_, p)| p);
    let url = format!("http://{NOWHERE}:{port}/turn");
    let sample = std::fs::read_to_string(sample_config_path())?;
    let text = sample.replacen("id = \"sales\"\n", "id = \"sales\"\nbot = \"faq\"\n", 1)
        + &format!(
            "\n[bots.faq]\ntransport = \"webhook\"\nurl = {url:?}\nsecret = {KEY:?}\ndeadline_secs = 60\n"
        );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("omniroute.toml");
    std::fs::write(&path, text)?;
    let env = [
        ("HTTP_PROXY", proxy.url()),
        ("NO_PROXY", "localhost,127.0.0.1".into()),
    ];
    let cluster = blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Cluster::start_with(binary(), &path, &env)
    })
    .await?;

    let (mut jo, _) = Customer::open(&cluster, None, "sales").await?;
    jo.say("Hi there").await?;
    let hello = jo
        .socket
        .recv_until("the bot's answer", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    assert_eq!(hello["message"]["text"], "Hello from the web!", "{hello}");
    let turns = bot.turns();
    assert_eq!(turns.len(), 1, "{turns:?}");
    assert!(turns[0].0, "signed through the proxy: {turns:?}");
    let seen = proxy.seen();
    let expected = format!("POST {url} HTTP/1.1\r\n");
    assert!(
        seen.iter().any(|head| head.starts_with(&expected)),
        "the proxy relayed the turn: {seen:?}"
    );
    drop(cluster);
    Ok(())
}
