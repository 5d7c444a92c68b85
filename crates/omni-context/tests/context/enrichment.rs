//! The enrichment stage in the running service, embedded and distributed:
//! an angry email about a refund is routed to billing with a raised
//! priority and the rules' reasons; an external enricher over the bus sets
//! the intent; one that never answers lets the contact route anyway.

use futures_util::StreamExt;
use omni_bus::topology::{self, subjects};
use omni_core::config::Config;
use omni_core::{Channel, Identity};
use omni_proto::enrich as en;
use omni_proto::events as ev;
use prost::Message as _;

use crate::support::{Harness, inbound, next};

/// Billing and its rules; `external` names an external enricher.
pub fn rules(config: &mut Config, external: Option<&str>) {
    let extra = Config::parse(
        r#"
        [enrichment]
        deadline_ms = 300

        [[queues]]
        id = "billing"

        [[rules]]
        name = "refunds"
        when = 'intent == "refund"'
        queue = "billing"

        [[rules]]
        name = "angry-customers"
        when = "sentiment <= -0.5"
        priority = 5
    "#,
    )
    .expect("extra config");
    config.queues.extend(extra.queues);
    config.rules = extra.rules;
    config.enrichment = extra.enrichment;
    config.enrichment.external = external.map(str::to_owned);
}

/// An external enricher `name` on `bus` answering every request with
/// `answer`, until the bus closes.
async fn enricher(bus: &std::sync::Arc<dyn omni_bus::Bus>, name: &str, answer: en::EnrichResponse) {
    let mut requests = bus
        .subscribe(&subjects::enrich_request(name))
        .await
        .expect("subscribe");
    let bus = bus.clone();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let asked = en::EnrichRequest::decode(request.payload.as_ref()).expect("request");
            assert!(!asked.text.is_empty(), "the request carries the text");
            omni_bus::reply(bus.as_ref(), &request, answer.encode_to_vec())
                .await
                .expect("reply");
        }
    });
}

pub async fn routed(h: &Harness, text: &str) -> ev::RoutingRequest {
    routed_from(h, "ann@example.com", text).await
}

/// The routing request for an email from `from`.
pub async fn routed_from(h: &Harness, from: &str, text: &str) -> ev::RoutingRequest {
    let mut requests = h.consume(&topology::ROUTER_REQUESTS).await;
    let email = inbound(Identity::Email(from.into()), &format!("m:{from}"), text);
    assert_eq!(email.channel, Channel::EMAIL);
    h.service
        .ingest(&email, omni_core::trace::TraceContext::new_root())
        .await
        .expect("ingest");
    ev::RoutingRequest::decode(next(&mut requests).await.payload.as_ref()).expect("request")
}

async fn an_angry_refund_email_goes_to_billing_first(h: Harness) {
    enricher(
        &h.bus,
        "crm",
        en::EnrichResponse {
            intent: "refund".into(),
            sentiment: Some(-0.82),
            ..Default::default()
        },
    )
    .await;
    let request = routed(
        &h,
        "I was charged twice and nobody answers. Give my money back!",
    )
    .await;
    assert_eq!(request.queue, "billing");
    assert_eq!(request.priority, 5);
    assert_eq!(
        request.reasons,
        [
            "queue billing by rule refunds: intent refund",
            "priority 5 by rule angry-customers: sentiment -0.82",
        ]
    );
    assert_eq!(
        request.attributes.get("intent").map(String::as_str),
        Some("refund")
    );
    assert_eq!(
        request
            .attributes
            .get("sentiment_label")
            .map(String::as_str),
        Some("negative")
    );
    assert_eq!(
        request.attributes.get("channel").map(String::as_str),
        Some("email")
    );
    let conversation = h
        .service
        .conversation(&request.conversation_id.as_str().into())
        .await
        .expect("conversation");
    assert_eq!(conversation.queue.as_str(), "billing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_angry_refund_email_goes_to_billing_first_embedded() {
    let h = Harness::start(|c| rules(c, Some("crm"))).await;
    an_angry_refund_email_goes_to_billing_first(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_angry_refund_email_goes_to_billing_first_distributed() {
    let h = Harness::start_distributed_with(|c| rules(c, Some("crm"))).await;
    an_angry_refund_email_goes_to_billing_first(h).await;
}

async fn a_silent_enricher_lets_the_contact_route(h: Harness) {
    let request = routed(&h, "Hello, a question about my order").await;
    assert_eq!(request.queue, "support");
    assert_eq!(request.priority, 0);
    assert!(request.reasons.is_empty(), "{:?}", request.reasons);
    let metrics = omni_telemetry::metrics::render();
    assert!(
        metrics.contains(r#"omni_enrichment_total{source="external",result="timeout"}"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_enricher_lets_the_contact_route_embedded() {
    let h = Harness::start(|c| rules(c, Some("silent"))).await;
    a_silent_enricher_lets_the_contact_route(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_enricher_lets_the_contact_route_distributed() {
    let h = Harness::start_distributed_with(|c| rules(c, Some("silent"))).await;
    a_silent_enricher_lets_the_contact_route(h).await;
}

/// Each customer message's score joins the conversation's
/// `sentiment_trend`, oldest first, for the desk's trend.
async fn the_conversation_keeps_a_sentiment_trend(h: Harness) {
    // An enricher that hears thanks as positive and the rest as angry.
    let mut requests = h
        .bus
        .subscribe(&subjects::enrich_request("moody"))
        .await
        .expect("subscribe");
    let bus = h.bus.clone();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let asked = en::EnrichRequest::decode(request.payload.as_ref()).expect("request");
            let answer = en::EnrichResponse {
                sentiment: Some(if asked.text.contains("Thank") {
                    0.6
                } else {
                    -0.8
                }),
                ..Default::default()
            };
            omni_bus::reply(bus.as_ref(), &request, answer.encode_to_vec())
                .await
                .expect("reply");
        }
    });
    let from = Identity::Email("cy@example.com".into());
    let mut ids = Vec::new();
    for (key, text) in [
        ("t1", "Thank you, this is great and very helpful!"),
        ("t2", "This is terrible. I am furious, nothing works!"),
    ] {
        let ingested = h
            .service
            .ingest(
                &inbound(from.clone(), key, text),
                omni_core::trace::TraceContext::new_root(),
            )
            .await
            .expect("ingest");
        ids.push(ingested.conversation.id);
    }
    assert_eq!(ids[0], ids[1], "one conversation");
    let conversation = h.service.conversation(&ids[0]).await.expect("conversation");
    let trend: Vec<f64> = conversation
        .attributes
        .get("sentiment_trend")
        .expect("a trend")
        .split(' ')
        .map(|s| s.parse().expect("a score"))
        .collect();
    assert_eq!(trend.len(), 2, "{trend:?}");
    assert_eq!(trend, [0.6, -0.8]);
    assert_eq!(
        conversation
            .attributes
            .get("sentiment_label")
            .map(String::as_str),
        Some("negative")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversation_keeps_a_sentiment_trend_embedded() {
    let h = Harness::start(|c| rules(c, Some("moody"))).await;
    the_conversation_keeps_a_sentiment_trend(h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversation_keeps_a_sentiment_trend_distributed() {
    let h = Harness::start_distributed_with(|c| rules(c, Some("moody"))).await;
    the_conversation_keeps_a_sentiment_trend(h).await;
}
