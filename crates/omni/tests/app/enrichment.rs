//! Enrichment through the whole embedded app: an angry email about a
//! refund (an external enricher on the app's bus sets its intent and
//! sentiment) goes to billing with a raised priority, is offered before a
//! calm one that waited longer, and the router's explanation says why; a
//! waiting chat whose customer writes angrily later moves up its queue.
//! The same path over NATS and Redis is in omni-context's tests
//! (`tests/context/enrichment.rs`, `python_enricher.rs`).

use futures_util::StreamExt;
use omni_bus::topology::subjects;
use omni_proto::enrich as en;
use omni_proto::routing::ExplainRequest;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::test_config;
use omni_testkit::providers::DOMAIN;
use omni_testkit::{TestApp, grpc};
use omni_testservers::smtp::SmtpSink;
use prost::Message as _;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_angry_refund_email_goes_to_billing_first_and_is_explained() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    let extra = omni_core::config::Config::parse(RULES).map_err(anyhow::Error::msg)?;
    config.queues.extend(extra.queues);
    config.rules = extra.rules;
    config.enrichment.external = Some("e2e".into());
    config.enrichment.deadline_ms = 2_000;
    config.email.enabled = true;
    config.email.domains = vec![DOMAIN.into()];
    config.email.relay = relay.url();
    config.email.from = format!("support@{DOMAIN}");
    config.context.reply_domain = DOMAIN.into();
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;

    // The external enricher: a refund; angry when the mail shouts.
    let bus = app.bus();
    let mut requests = bus.subscribe(&subjects::enrich_request("e2e")).await?;
    tokio::spawn({
        let bus = bus.clone();
        async move {
            while let Some(request) = requests.next().await {
                let Ok(asked) = en::EnrichRequest::decode(request.payload.as_ref()) else {
                    continue;
                };
                let answer = en::EnrichResponse {
                    intent: if asked.text.contains("refund") {
                        "refund".into()
                    } else {
                        String::new()
                    },
                    sentiment: Some(if asked.text.contains('!') { -0.82 } else { 0.4 }),
                    ..Default::default()
                };
                let _ = omni_bus::reply(bus.as_ref(), &request, answer.encode_to_vec()).await;
            }
        }
    });

    // Nobody is signed in: both wait, the calm one first.
    let to = format!("help@{DOMAIN}");
    omni_testkit::actors::MailClient::new(app.smtp_addr().expect("smtp"), "Jo <jo@example.org>")
        .send(
            &to,
            "<jo-1@example.org>",
            "Refund",
            "Could I have a refund, please?",
        )
        .await?;
    omni_testkit::actors::MailClient::new(app.smtp_addr().expect("smtp"), "Ann <ann@example.org>")
        .send(
            &to,
            "<ann-1@example.org>",
            "Charged twice",
            "I was charged twice. I want a refund now!",
        )
        .await?;

    // Bob (sales) meets billing: the angry mail is offered first.
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let conversation = bob.take_next_offer().await?;
    let timeline = bob.timeline_of(&conversation, 1).await?;
    assert!(
        timeline
            .iter()
            .any(|(_, _, text)| text.contains("charged twice")),
        "{timeline:?}"
    );

    let mut router =
        RouterServiceClient::new(grpc::channel(&app.grpc_url(), grpc::SUPERVISOR_TOKEN)?);
    let decisions = router
        .explain_conversation(ExplainRequest {
            conversation_id: conversation.clone(),
        })
        .await?
        .into_inner()
        .decisions;
    let summaries: Vec<&str> = decisions.iter().map(|d| d.summary.as_str()).collect();
    for expected in [
        "queue billing by rule refunds: intent refund",
        "priority 5 by rule angry-customers: sentiment -0.82",
        "queued in billing (priority 0, contact priority 5)",
    ] {
        assert!(
            summaries.contains(&expected),
            "{expected:?} in {summaries:#?}"
        );
    }
    app.stop().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_angry_message_moves_a_waiting_chat_up_its_queue() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    let extra = omni_core::config::Config::parse(
        r#"
        [[rules]]
        name = "angry-customers"
        when = 'sentiment_label == "negative"'
        priority = 5
        "#,
    )
    .map_err(anyhow::Error::msg)?;
    config.rules = extra.rules;
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;

    // Nobody is signed in: jo waits first, sam second.
    let (mut jo, _) = Customer::open(&app, None, "sales").await?;
    jo.say("Hello, a question about my order").await?;
    place(&mut jo, 1).await?;
    let (mut sam, _) = Customer::open(&app, None, "sales").await?;
    sam.say("Hello, a question about my invoice").await?;
    place(&mut sam, 2).await?;

    // Sam's next message is angry: the rule raises sam's contact ahead of
    // jo's, although jo waited longer.
    sam.say("this is terrible, I want a refund now").await?;
    place(&mut sam, 1).await?;
    place(&mut jo, 2).await?;

    let mut bob = Agent::sign_in(&app, "bob").await?;
    let conversation = bob.take_next_offer().await?;
    let timeline = bob.timeline_of(&conversation, 2).await?;
    assert!(
        timeline
            .iter()
            .any(|(_, _, text)| text.contains("terrible")),
        "sam's conversation is offered first: {timeline:?}"
    );
    let mut router =
        RouterServiceClient::new(grpc::channel(&app.grpc_url(), grpc::SUPERVISOR_TOKEN)?);
    let decisions = router
        .explain_conversation(ExplainRequest {
            conversation_id: conversation.clone(),
        })
        .await?
        .into_inner()
        .decisions;
    let summaries: Vec<&str> = decisions.iter().map(|d| d.summary.as_str()).collect();
    for expected in [
        "contact priority raised from 0 to 5",
        "priority 5 by rule angry-customers: sentiment_label negative",
    ] {
        assert!(
            summaries.contains(&expected),
            "{expected:?} in {summaries:#?}"
        );
    }
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spanish_chat_goes_to_the_spanish_speaker_though_an_english_one_comes_first()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    let extra = omni_core::config::Config::parse(
        r#"
        [[rules]]
        name = "speak-their-language"
        when = "lang"
        require_language = true
        "#,
    )
    .map_err(anyhow::Error::msg)?;
    config.rules = extra.rules;
    // An offer never times out here: only the Spanish speaker may get it.
    config.routing.offer_timeout_secs = 600;
    // Dmitri (English, Russian) is the most proficient in support, so
    // without the rule he would be offered every support chat.
    config
        .agents
        .iter_mut()
        .find(|a| a.id == "dmitri")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no dmitri"))?
        .skills
        .insert("support".into(), 9);
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;

    // Dmitri is free first (longer idle), then Carmen (English, Spanish).
    let _dmitri = Agent::sign_in(&app, "dmitri").await?;
    let mut carmen = Agent::sign_in(&app, "carmen").await?;
    let (mut ana, _) = Customer::open(&app, None, "support").await?;
    ana.say("Hola, necesito ayuda con mi pedido, por favor, no ha llegado todavía")
        .await?;
    let conversation = carmen.take_next_offer().await?;

    let mut router =
        RouterServiceClient::new(grpc::channel(&app.grpc_url(), grpc::SUPERVISOR_TOKEN)?);
    let decisions = router
        .explain_conversation(ExplainRequest {
            conversation_id: conversation.clone(),
        })
        .await?
        .into_inner()
        .decisions;
    let summaries: Vec<&str> = decisions.iter().map(|d| d.summary.as_str()).collect();
    assert!(
        summaries.contains(&"language es required by rule speak-their-language: lang es"),
        "{summaries:#?}"
    );
    let offer = decisions
        .iter()
        .find(|d| d.kind == "offered")
        .ok_or_else(|| anyhow::anyhow!("no offer in {summaries:#?}"))?;
    assert_eq!(offer.agent_id, "carmen", "{summaries:#?}");
    app.stop().await;
    Ok(())
}
