//! The enricher as a whole: configuration switches, the hint, rules that
//! depend on the detected language, errors.

use omni_core::config::{EnrichmentConfig, IntentRuleConfig};

use crate::{EnrichError, Enricher, SentimentLabel};

fn rule(name: &str, language: Option<&str>, keywords: &[&str]) -> IntentRuleConfig {
    IntentRuleConfig {
        name: name.into(),
        language: language.map(Into::into),
        keywords: keywords.iter().map(|s| s.to_string()).collect(),
        patterns: Vec::new(),
    }
}

fn config(intents: Vec<IntentRuleConfig>) -> EnrichmentConfig {
    EnrichmentConfig {
        intents,
        ..EnrichmentConfig::default()
    }
}

#[test]
fn an_angry_refund_email_is_negative_english_and_a_refund() {
    let enricher = Enricher::new(&config(vec![rule("refund", None, &["refund"])])).unwrap();
    let e = enricher.enrich(
        "I was charged twice and nobody answers. This is unacceptable, I want a refund now!",
        None,
    );
    let s = e.sentiment.unwrap();
    assert_eq!(s.label, SentimentLabel::Negative);
    assert!(s.score < -0.5, "{s:?}");
    assert_eq!(e.language.unwrap().code, "en");
    let intent = e.intent.unwrap();
    assert_eq!(
        (intent.name.as_str(), intent.rule.as_str()),
        ("refund", "keyword \"refund\"")
    );
}

#[test]
fn rules_follow_the_detected_language() {
    let enricher = Enricher::new(&config(vec![
        rule("refund", Some("en"), &["refund"]),
        rule("refund", Some("de"), &["rückerstatt*", "geld zurück"]),
    ]))
    .unwrap();
    let e = enricher.enrich(
        "Ich möchte bitte mein Geld zurück, die Jacke passt nicht",
        None,
    );
    assert_eq!(e.intent.unwrap().rule, "keyword \"geld zurück\"");
    let e = enricher.enrich("Geld zurück", Some("de"));
    assert_eq!(e.language.unwrap().code, "de");
    assert!(e.intent.is_some());
    assert!(enricher.enrich("Geld zurück", Some("en")).intent.is_none());
}

#[test]
fn switched_off_parts_are_absent_and_the_hint_still_serves_rules() {
    let mut c = config(vec![rule("refund", Some("fr"), &["remboursement"])]);
    c.sentiment = false;
    c.language = false;
    let enricher = Enricher::new(&c).unwrap();
    let e = enricher.enrich("Je suis furieux, je veux un remboursement", Some("fr"));
    assert!(e.sentiment.is_none());
    assert!(e.language.is_none());
    assert!(!e.attributes().contains_key("lang"));
    assert_eq!(e.intent.unwrap().name, "refund");
}

#[test]
fn no_rules_no_intent_and_empty_text_is_neutral() {
    let enricher = Enricher::new(&EnrichmentConfig::default()).unwrap();
    let e = enricher.enrich("", None);
    assert!(e.intent.is_none() && e.language.is_none());
    assert_eq!(e.sentiment.unwrap().label, SentimentLabel::Neutral);
}

#[test]
fn a_restricted_enricher_refuses_unknown_codes() {
    let enricher = Enricher::new(&EnrichmentConfig::default()).unwrap();
    let err = enricher
        .with_languages(&["en".into(), "klingon".into()])
        .unwrap_err();
    assert_eq!(
        err,
        EnrichError::UnknownLanguage {
            code: "klingon".into()
        }
    );
}

#[test]
fn an_invalid_rule_is_refused_naming_its_key() {
    let mut bad = rule("billing", None, &[]);
    bad.patterns = vec!["[unclosed".into()];
    let err = Enricher::new(&config(vec![rule("refund", None, &["refund"]), bad])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("enrichment.intents[1] (billing): invalid pattern"),
        "{err}"
    );
}

#[test]
fn one_enricher_serves_every_task() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Enricher>();
}

static ENRICHER: std::sync::LazyLock<Enricher> = std::sync::LazyLock::new(|| {
    Enricher::new(&config(vec![rule(
        "refund",
        None,
        &["refund*", "geld zurück"],
    )]))
    .unwrap()
});

proptest::proptest! {
    // Unoptimized detection takes milliseconds on long random text.
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any text a customer sends, in any script, with any hint, is
    /// enriched without a panic, and the score stays in range.
    #[test]
    fn any_text_is_enriched_in_range(
        text in "\\PC{0,200}",
        words in proptest::collection::vec("(?i)(not|nicht|ne|pas|great|toll|ÄRGER|but|aber|!|\\?|,|😡|🙂|n't|qu'|l')", 0..30),
        hint in proptest::option::of("[a-zA-Z]{0,3}"),
    ) {
        for text in [text, words.join(" ")] {
            let e = ENRICHER.enrich(&text, hint.as_deref());
            let s = e.sentiment.unwrap();
            proptest::prop_assert!((-1.0..=1.0).contains(&s.score), "{s:?}");
            proptest::prop_assert_eq!(s.label, SentimentLabel::of(s.score));
            if let Some(l) = e.language {
                proptest::prop_assert!((0.0..=1.0).contains(&l.confidence));
            }
        }
    }
}
