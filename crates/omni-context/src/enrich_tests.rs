use std::sync::Arc;

use omni_bus::EmbeddedBus;
use omni_core::config::Config;
use omni_core::{Customer, CustomerId};

use super::*;

/// A stand-in for the built-in analyzers: "refund" is the intent, "!"
/// is anger, and the hint is the language.
struct Fixed;

impl Enrich for Fixed {
    fn enrich(&self, text: &str, hint: Option<&str>) -> EnrichmentFacts {
        let angry = text.contains('!');
        EnrichmentFacts {
            intent: text.contains("refund").then(|| "refund".to_owned()),
            sentiment: Some(if angry { -0.9 } else { 0.3 }),
            sentiment_label: Some(if angry { "negative" } else { "positive" }.to_owned()),
            lang: Some(
                if text.contains("reembolso") {
                    "es"
                } else {
                    hint.unwrap_or("en")
                }
                .to_owned(),
            ),
            attributes: BTreeMap::new(),
        }
    }
}

fn config(external: Option<&str>) -> Config {
    let mut config = Config::parse(
        r#"
        [[queues]]
        id = "support"
        [[queues]]
        id = "billing"
        [[queues]]
        id = "spanish"

        [[rules]]
        name = "refunds"
        when = 'intent == "refund"'
        queue = "billing"

        [[rules]]
        name = "other-language"
        when = "lang != customer.language"
        queue = "spanish"
        priority = 2

        [[rules]]
        name = "gold-and-angry"
        when = 'tier == "gold" AND sentiment_label == "negative"'
        priority = 7
    "#,
    )
    .expect("config");
    config.validate().expect("valid");
    config.enrichment.external = external.map(str::to_owned);
    config.enrichment.deadline_ms = 100;
    config
}

fn gold(language: &str) -> Customer {
    let mut customer = Customer::new(
        CustomerId::from("cus_1"),
        omni_core::Identity::Email("ann@example.com".into()),
        0,
    );
    customer.tier = Some("gold".into());
    customer.language = Some(language.into());
    customer
}

fn input<'a>(text: &'a str, customer: Option<&'a Customer>) -> Input<'a> {
    Input {
        conversation_id: "",
        message_key: "k1",
        text,
        channel: "email",
        customer,
    }
}

async fn bus() -> (tempfile::TempDir, Arc<dyn Bus>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
    (dir, bus)
}

#[tokio::test]
async fn rules_read_the_message_the_customer_and_the_channel() {
    let (_dir, bus) = bus().await;
    let stage = Stage::new(&config(None), Some(Arc::new(Fixed)));
    let ann = gold("en");
    let d = stage
        .run(bus.as_ref(), &input("I want a refund now!", Some(&ann)))
        .await;
    assert_eq!(d.queue.as_deref(), Some("billing"));
    assert_eq!(d.priority, 7);
    assert_eq!(
        d.reason_lines(true),
        [
            "queue billing by rule refunds: intent refund",
            "priority 7 by rule gold-and-angry: tier gold, sentiment_label negative",
        ]
    );
    assert_eq!(
        d.facts.get("customer.language").map(String::as_str),
        Some("en")
    );
    assert_eq!(
        d.message_facts.get("sentiment").map(String::as_str),
        Some("-0.90")
    );
    assert!(
        !d.message_facts.contains_key("tier"),
        "{:?}",
        d.message_facts
    );

    // Another language than the customer's: the first queue rule wins, the
    // highest priority counts.
    let d = stage
        .run(bus.as_ref(), &input("quiero un reembolso", Some(&ann)))
        .await;
    assert_eq!(d.queue.as_deref(), Some("spanish"));
    assert_eq!(d.priority, 2);
    // The conversation was already in a queue: only the priority is a
    // reason, and a rule that only chose a queue is none.
    assert_eq!(
        d.reason_lines(false),
        ["priority 2 by rule other-language: lang es, customer.language en"]
    );

    // An unknown customer: no tier, no language to differ from.
    let d = stage.run(bus.as_ref(), &input("hello", None)).await;
    assert_eq!((d.queue, d.priority), (None, 0));
    assert!(d.reasons.is_empty());
}

#[tokio::test]
async fn the_external_enricher_overrides_what_it_sets() {
    let (_dir, bus) = bus().await;
    let mut requests = bus
        .subscribe(&subjects::enrich_request("crm"))
        .await
        .expect("subscribe");
    let responder = {
        let bus = bus.clone();
        tokio::spawn(async move {
            let request = requests.next().await.expect("a request");
            let asked = en::EnrichRequest::decode(request.payload.as_ref()).expect("decodes");
            assert_eq!(asked.text, "where is my parcel");
            assert_eq!(asked.customer_language, "en");
            assert_eq!(
                asked.builtin.get("sentiment").map(String::as_str),
                Some("0.30")
            );
            let answer = en::EnrichResponse {
                intent: "refund".into(),
                sentiment: Some(-0.7),
                language: String::new(),
                attributes: [("order_number".to_owned(), "A-17".to_owned())].into(),
            };
            omni_bus::reply(bus.as_ref(), &request, answer.encode_to_vec())
                .await
                .expect("reply");
        })
    };
    use futures_util::StreamExt;
    let stage = Stage::new(&config(Some("crm")), Some(Arc::new(Fixed)));
    let ann = gold("en");
    let d = stage
        .run(bus.as_ref(), &input("where is my parcel", Some(&ann)))
        .await;
    responder.await.expect("responder");
    assert_eq!(
        d.message_facts.get("intent").map(String::as_str),
        Some("refund")
    );
    assert_eq!(
        d.message_facts.get("sentiment").map(String::as_str),
        Some("-0.70")
    );
    assert_eq!(
        d.message_facts.get("sentiment_label").map(String::as_str),
        Some("negative")
    );
    // Not set by the enricher: the built-in language stays.
    assert_eq!(d.message_facts.get("lang").map(String::as_str), Some("en"));
    assert_eq!(
        d.message_facts.get("order_number").map(String::as_str),
        Some("A-17")
    );
    assert_eq!(d.queue.as_deref(), Some("billing"));
    assert_eq!(d.priority, 7);
}

#[tokio::test]
async fn a_silent_external_enricher_fails_open() {
    let (_dir, bus) = bus().await;
    let stage = Stage::new(&config(Some("nobody")), Some(Arc::new(Fixed)));
    let d = stage
        .run(bus.as_ref(), &input("I want a refund", None))
        .await;
    // The built-in results still count.
    assert_eq!(d.queue.as_deref(), Some("billing"));
    let metrics = omni_telemetry::metrics::render();
    assert!(
        metrics.contains(r#"omni_enrichment_total{source="external",result="timeout"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"omni_enrichment_total{source="builtin",result="ok"}"#),
        "{metrics}"
    );
}

#[test]
fn disabled_enrichment_still_applies_rules_on_the_customer() {
    let mut config = config(None);
    config.enrichment.enabled = false;
    let stage = Stage::new(&config, Some(Arc::new(Fixed)));
    let ann = gold("en");
    let d = stage.decide(&input("refund!", Some(&ann)), Facts::new());
    assert_eq!((d.queue, d.priority), (None, 0));
    assert_eq!(d.facts.get("tier").map(String::as_str), Some("gold"));
}

#[test]
fn the_trend_keeps_the_latest_ten_scores_oldest_first() {
    assert_eq!(push_trend(None, "0.30"), "0.30");
    assert_eq!(push_trend(Some("0.30"), "-0.83"), "0.30 -0.83");
    assert_eq!(push_trend(Some("x 0.10 "), "0.20"), "0.10 0.20");
    let mut trend = String::new();
    for i in 0..12 {
        trend = push_trend(Some(&trend), &format!("0.{i:02}"));
    }
    assert_eq!(
        trend, "0.02 0.03 0.04 0.05 0.06 0.07 0.08 0.09 0.10 0.11",
        "the two oldest scores are dropped"
    );
}

#[test]
fn a_rule_requires_the_message_language_else_the_customers() {
    let mut config = config(None);
    let extra = Config::parse(
        r#"
        [[rules]]
        name = "speak-their-language"
        when = "lang OR customer.language"
        require_language = true
        "#,
    )
    .expect("rules");
    config.rules = extra.rules;
    let stage = Stage::new(&config, Some(Arc::new(Fixed)));
    let ann = gold("de");
    let mut message = Facts::new();
    message.insert("lang".into(), "es".into());
    let d = stage.decide(&input("hola", Some(&ann)), message);
    assert_eq!(d.language.as_deref(), Some("es"));
    assert_eq!((d.queue.as_deref(), d.priority), (None, 0));
    assert_eq!(
        d.reason_lines(false),
        ["language es required by rule speak-their-language: lang es, customer.language de"]
    );
    // No language detected: the customer's.
    let d = stage.decide(&input("ok", Some(&ann)), Facts::new());
    assert_eq!(d.language.as_deref(), Some("de"));
    // Neither known: nothing required, no reason.
    let d = stage.decide(&input("ok", None), Facts::new());
    assert_eq!(d.language, None);
    assert!(d.reasons.is_empty(), "{:?}", d.reasons);
}
