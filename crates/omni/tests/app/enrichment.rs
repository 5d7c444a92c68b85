//! Enrichment through the whole embedded app: an angry email about a
//! refund (an external enricher on the app's bus sets its intent and
//! sentiment) goes to billing with a raised priority, is offered before a
//! calm one that waited longer, and the router's explanation says why.
//! The same path over NATS and Redis is in omni-context's tests
//! (`tests/context/enrichment.rs`, `python_enricher.rs`).

use futures_util::StreamExt;
use omni_bus::topology::subjects;
use omni_proto::enrich as en;
use omni_proto::routing::ExplainRequest;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_testkit::actors::Agent;
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
