use super::*;

fn facts(pairs: &[(&str, &str)]) -> Facts {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn holds(text: &str, pairs: &[(&str, &str)]) -> bool {
    Condition::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .holds(&facts(pairs))
}

#[test]
fn strings_compare_for_equality() {
    let angry_refund = [
        ("intent", "refund"),
        ("sentiment", "-0.82"),
        ("sentiment_label", "negative"),
        ("lang", "es"),
        ("customer.language", "en"),
        ("tier", "gold"),
        ("channel", "email"),
    ];
    assert!(holds(r#"intent == "refund""#, &angry_refund));
    assert!(!holds(r#"intent == "billing""#, &angry_refund));
    assert!(holds(r#"intent != "billing""#, &angry_refund));
    assert!(holds(r#"sentiment_label == "negative""#, &angry_refund));
    assert!(holds(
        r#"tier == "gold" AND channel == "email""#,
        &angry_refund
    ));
    assert!(holds("lang != customer.language", &angry_refund));
    assert!(!holds("lang == customer.language", &angry_refund));
}

#[test]
fn numbers_compare_numerically() {
    let f = [("sentiment", "-0.82"), ("orders", "12")];
    assert!(holds("sentiment <= -0.5", &f));
    assert!(holds("sentiment < -0.8", &f));
    assert!(!holds("sentiment > -0.5", &f));
    assert!(!holds("sentiment >= 0", &f));
    // 12 > 9 as numbers, though "12" < "9" as strings.
    assert!(holds("orders > 9", &f));
    assert!(holds("orders == 12.0", &f));
}

#[test]
fn ordering_strings_never_holds() {
    assert!(!holds(r#"tier < "silver""#, &[("tier", "gold")]));
    assert!(!holds(r#"tier >= "gold""#, &[("tier", "gold")]));
}

#[test]
fn an_unknown_fact_makes_every_comparison_false() {
    assert!(!holds(r#"intent == "refund""#, &[]));
    assert!(!holds(r#"intent != "refund""#, &[]));
    assert!(!holds("lang != customer.language", &[("lang", "es")]));
    assert!(holds(r#"NOT intent == "refund""#, &[]));
}

#[test]
fn a_bare_fact_means_known_and_not_empty() {
    assert!(holds("order_number", &[("order_number", "A-1")]));
    assert!(!holds("order_number", &[("order_number", "")]));
    assert!(!holds("order_number", &[]));
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_group() {
    let f = [("intent", "refund"), ("tier", "bronze")];
    assert!(holds(
        r#"intent == "refund" OR tier == "gold" AND channel == "sms""#,
        &f
    ));
    assert!(!holds(
        r#"(intent == "refund" OR tier == "gold") AND channel == "sms""#,
        &f
    ));
    assert!(holds(r#"not (tier == "gold") and intent == "refund""#, &f));
    assert!(holds("", &f));
    assert!(holds("true", &f));
}

#[test]
fn parse_errors_name_the_column() {
    let cases = [
        (r#"intent = "refund""#, 8, "\"=\" is not an operator"),
        (r#"intent == "refund"#, 11, "unterminated string"),
        (r#"intent == "refund" AND"#, 23, "unexpected end"),
        (r#"(intent == "refund""#, 20, "expected \")\""),
        (
            r#"intent == == 1"#,
            11,
            "expected a fact, a string or a number",
        ),
        (r#""refund""#, 1, "alone is not a condition"),
        (r#"intent == "a" tier"#, 15, "expected AND, OR or the end"),
        ("sentiment <= -0.5.5", 14, "is not a number"),
        ("intent # 1", 8, "unexpected character"),
    ];
    for (text, column, message) in cases {
        let e = Condition::parse(text).expect_err(text);
        assert_eq!(e.column, column, "{text}: {e}");
        assert!(e.message.contains(message), "{text}: {e}");
    }
}

#[test]
fn cited_facts_are_the_named_known_ones_in_order() {
    let c = Condition::parse(r#"sentiment <= -0.5 AND (intent == "refund" OR tier)"#).unwrap();
    let f = facts(&[("intent", "refund"), ("sentiment", "-0.82"), ("lang", "en")]);
    assert_eq!(
        c.cited(&f),
        vec![
            ("sentiment".to_owned(), "-0.82"),
            ("intent".to_owned(), "refund")
        ]
    );
}

#[test]
fn display_is_canonical_and_parses_back() {
    let text = r#"(intent == "refund" OR NOT tier) and sentiment <= -0.5"#;
    let c = Condition::parse(text).unwrap();
    assert_eq!(
        c.to_string(),
        r#"(intent == "refund" OR NOT tier) AND sentiment <= -0.5"#
    );
    assert_eq!(Condition::parse(&c.to_string()).unwrap(), c);
}
