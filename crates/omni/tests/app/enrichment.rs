//! Enrichment through the whole app, each test one body for both modes
//! (embedded, and distributed: every part its own process over NATS and
//! Redis): an angry email about a refund (an external enricher on the
//! app's bus sets its intent and sentiment) goes to billing with a raised
//! priority, is offered before a calm one that waited longer, and the
//! router's explanation says why; a waiting chat whose customer writes
//! angrily later moves up its queue; a Spanish chat goes to the agent who
//! speaks Spanish (`require_language`). An enricher that times out and one
//! that changes the built-in intent are in `enrichment_external.rs`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt;
use omni::Part;
use omni_bus::Bus;
use omni_bus::topology::subjects;
use omni_bus_nats::NatsBus;
use omni_proto::enrich as en;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{Decision, ExplainRequest};
use omni_testkit::actors::{Agent, Customer, MailClient};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::providers::{DOMAIN, email_and_sms_env};
use omni_testkit::{Cluster, Endpoints, TestApp, grpc};
use omni_testservers::smtp::SmtpSink;
use prost::Message as _;

use crate::support::{binary, blocking};

const RULES: &str = r#"
[[queues]]
id = "billing"
requirement = "sales >= 1"

[[rules]]
name = "refunds"
when = 'intent == "refund"'
queue = "billing"

[[rules]]
name = "angry-customers"
when = "sentiment <= -0.5"
priority = 5
"#;

const LATER_ANGER: &str = r#"
[[rules]]
name = "angry-customers"
when = 'sentiment_label == "negative"'
priority = 5
"#;

const LANGUAGE: &str = r#"
[[rules]]
name = "speak-their-language"
when = "lang"
require_language = true
"#;

/// The sample configuration file in `dir` with each `(from, to)` of
/// `replace` done (each must be found) and `extra` appended.
pub fn config_file(dir: &Path, replace: &[(&str, &str)], extra: &str) -> anyhow::Result<PathBuf> {
    let mut text = std::fs::read_to_string(sample_config_path())?;
    for (from, to) in replace {
        anyhow::ensure!(text.contains(from), "the sample has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    text += extra;
    let path = dir.join("omniroute.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The test configuration of the embedded app with `extra`'s queues and
/// rules added.
fn embedded_config(data: &Path, extra: &str) -> anyhow::Result<omni_core::config::Config> {
    let mut config = test_config(data)?;
    let extra = omni_core::config::Config::parse(extra).map_err(anyhow::Error::msg)?;
    config.queues.extend(extra.queues);
    config.rules = extra.rules;
    Ok(config)
}

/// The router's decisions on `conversation`, asked at `router_url`.
pub async fn decisions(router_url: &str, conversation: &str) -> anyhow::Result<Vec<Decision>> {
    let mut router = RouterServiceClient::new(grpc::channel(router_url, grpc::SERVICE_TOKEN)?);
    Ok(router
        .explain_conversation(ExplainRequest {
            conversation_id: conversation.to_owned(),
        })
        .await?
        .into_inner()
        .decisions)
}

/// Asserts that each of `expected` is the summary of one of `decisions`.
pub fn explained(decisions: &[Decision], expected: &[&str]) {
    let summaries: Vec<&str> = decisions.iter().map(|d| d.summary.as_str()).collect();
    for expected in expected {
        assert!(
            summaries.contains(expected),
            "{expected:?} in {summaries:#?}"
        );
    }
}

/// An external enricher `name` on `bus` answering each request with
/// `answer`; subscribed when this returns.
pub async fn enricher(
    bus: Arc<dyn Bus>,
    name: &str,
    answer: fn(&en::EnrichRequest) -> en::EnrichResponse,
) -> anyhow::Result<()> {
    let mut requests = bus.subscribe(&subjects::enrich_request(name)).await?;
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let Ok(asked) = en::EnrichRequest::decode(request.payload.as_ref()) else {
                continue;
            };
            let reply = answer(&asked).encode_to_vec();
            let _ = omni_bus::reply(bus.as_ref(), &request, reply).await;
        }
    });
    Ok(())
}

/// A refund; angry when the text shouts.
fn refunds_and_anger(asked: &en::EnrichRequest) -> en::EnrichResponse {
    en::EnrichResponse {
        intent: if asked.text.contains("refund") {
            "refund".into()
        } else {
            String::new()
        },
        sentiment: Some(if asked.text.contains('!') { -0.82 } else { 0.4 }),
        ..Default::default()
    }
}

/// Two refund emails while nobody is signed in, the calm one first; Bob
/// (sales) meets billing and is offered the angry one first, explained.
async fn angry_refund_email_goes_first(
    app: &impl Endpoints,
    smtp: SocketAddr,
    router_url: &str,
    bus: Arc<dyn Bus>,
) -> anyhow::Result<()> {
    enricher(bus, "e2e", refunds_and_anger).await?;
    let to = format!("help@{DOMAIN}");
    MailClient::new(smtp, "Jo <jo@example.org>")
        .send(
            &to,
            "<jo-1@example.org>",
            "Refund",
            "Could I have a refund, please?",
        )
        .await?;
    MailClient::new(smtp, "Ann <ann@example.org>")
        .send(
            &to,
            "<ann-1@example.org>",
            "Charged twice",
            "I was charged twice. I want a refund now!",
        )
        .await?;

    let mut bob = Agent::sign_in(app, "bob").await?;
    let conversation = bob.take_next_offer().await?;
    let timeline = bob.timeline_of(&conversation, 1).await?;
    assert!(
        timeline
            .iter()
            .any(|(_, _, text)| text.contains("charged twice")),
        "{timeline:?}"
    );
    explained(
        &decisions(router_url, &conversation).await?,
        &[
            "queue billing by rule refunds: intent refund",
            "priority 5 by rule angry-customers: sentiment -0.82",
            "queued in billing (priority 0, contact priority 5)",
        ],
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_angry_refund_email_goes_to_billing_first_and_is_explained() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let data = tempfile::tempdir()?;
    let mut config = embedded_config(data.path(), RULES)?;
    config.enrichment.external = Some("e2e".into());
    config.enrichment.deadline_ms = 2_000;
    config.email.enabled = true;
    config.email.domains = vec![DOMAIN.into()];
    config.email.relay = relay.url();
    config.email.from = format!("support@{DOMAIN}");
    config.context.reply_domain = DOMAIN.into();
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let smtp = app
        .smtp_addr()
        .ok_or_else(|| anyhow::anyhow!("the app has no SMTP server"))?;
    angry_refund_email_goes_first(&app, smtp, &app.grpc_url(), app.bus()).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_an_angry_refund_email_goes_to_billing_first_and_is_explained()
-> anyhow::Result<()> {
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let env = email_and_sms_env(&relay.url(), "http://127.0.0.1:9");
    let dir = tempfile::tempdir()?;
    let extra = format!("{RULES}\n[enrichment]\nexternal = \"e2e\"\ndeadline_ms = 2000\n");
    let path = config_file(dir.path(), &[], &extra)?;
    let parts = [
        Part::Context,
        Part::Router,
        Part::Chat,
        Part::Desk,
        Part::Email,
    ];
    let cluster = blocking(move || env.start(binary(), &path, &parts)).await?;
    let bus: Arc<dyn Bus> = NatsBus::connect(&cluster.nats.url()).await?;
    let router = cluster.grpc_url(Part::Router);
    angry_refund_email_goes_first(&cluster, cluster.smtp_addr(), &router, bus).await?;
    drop(cluster);
    Ok(())
}

/// The next `position` frame with `position` `n`.
async fn place(customer: &mut Customer, n: u64) -> anyhow::Result<()> {
    customer
        .socket
        .recv_until(&format!("position {n}"), |f| {
            f["type"] == "position" && f["position"] == n
        })
        .await?;
    Ok(())
}

/// Jo waits first and Sam second in Sales; Sam's angry next message
/// raises Sam's contact ahead of Jo's, and Bob is offered Sam first.
async fn later_anger_moves_a_chat_up(app: &impl Endpoints, router_url: &str) -> anyhow::Result<()> {
    let (mut jo, _) = Customer::open(app, None, "sales").await?;
    jo.say("Hello, a question about my order").await?;
    place(&mut jo, 1).await?;
    let (mut sam, _) = Customer::open(app, None, "sales").await?;
    sam.say("Hello, a question about my invoice").await?;
    place(&mut sam, 2).await?;

    sam.say("this is terrible, I want a refund now").await?;
    place(&mut sam, 1).await?;
    place(&mut jo, 2).await?;

    let mut bob = Agent::sign_in(app, "bob").await?;
    let conversation = bob.take_next_offer().await?;
    let timeline = bob.timeline_of(&conversation, 2).await?;
    assert!(
        timeline
            .iter()
            .any(|(_, _, text)| text.contains("terrible")),
        "sam's conversation is offered first: {timeline:?}"
    );
    explained(
        &decisions(router_url, &conversation).await?,
        &[
            "contact priority raised from 0 to 5",
            "priority 5 by rule angry-customers: sentiment_label negative",
        ],
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_angry_message_moves_a_waiting_chat_up_its_queue() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = embedded_config(data.path(), LATER_ANGER)?;
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    later_anger_moves_a_chat_up(&app, &app.grpc_url()).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_later_angry_message_moves_a_waiting_chat_up_its_queue() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let path = config_file(dir.path(), &[], LATER_ANGER)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    later_anger_moves_a_chat_up(&cluster, &cluster.grpc_url(Part::Router)).await?;
    drop(cluster);
    Ok(())
}

/// Dmitri (English, Russian; the most proficient in support, so without
/// the rule offered every support chat) is free first, then Carmen
/// (English, Spanish): Ana's Spanish chat is offered to Carmen.
async fn spanish_chat_goes_to_the_spanish_speaker(
    app: &impl Endpoints,
    router_url: &str,
) -> anyhow::Result<()> {
    let _dmitri = Agent::sign_in(app, "dmitri").await?;
    let mut carmen = Agent::sign_in(app, "carmen").await?;
    let (mut ana, _) = Customer::open(app, None, "support").await?;
    ana.say("Hola, necesito ayuda con mi pedido, por favor, no ha llegado todavía")
        .await?;
    let conversation = carmen.take_next_offer().await?;
    let decisions = decisions(router_url, &conversation).await?;
    explained(
        &decisions,
        &["language es required by rule speak-their-language: lang es"],
    );
    let offer = decisions
        .iter()
        .find(|d| d.kind == "offered")
        .ok_or_else(|| anyhow::anyhow!("no offer in {decisions:#?}"))?;
    assert_eq!(offer.agent_id, "carmen", "{decisions:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spanish_chat_goes_to_the_spanish_speaker_though_an_english_one_comes_first()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = embedded_config(data.path(), LANGUAGE)?;
    // An offer never times out here: only the Spanish speaker may get it.
    config.routing.offer_timeout_secs = 600;
    config
        .agents
        .iter_mut()
        .find(|a| a.id == "dmitri")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no dmitri"))?
        .skills
        .insert("support".into(), 9);
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    spanish_chat_goes_to_the_spanish_speaker(&app, &app.grpc_url()).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_spanish_chat_goes_to_the_spanish_speaker_though_an_english_one_comes_first()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = config_file(
        dir.path(),
        &[(
            "skills = { support = 6, sales = 2 }",
            "skills = { support = 9, sales = 2 }",
        )],
        LANGUAGE,
    )?;
    let env = [("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "600")];
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &env)).await?;
    spanish_chat_goes_to_the_spanish_speaker(&cluster, &cluster.grpc_url(Part::Router)).await?;
    drop(cluster);
    Ok(())
}
