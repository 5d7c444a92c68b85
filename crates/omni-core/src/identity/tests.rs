//! Normalizing identities: spellings, errors, and never a panic.

use proptest::prelude::*;

use super::*;

fn us() -> IdentityNormalizer {
    IdentityNormalizer::new(Some("US".parse().expect("region")))
}

#[test]
fn email_domains_are_idna_normalized_and_local_parts_kept() {
    let n = us();
    let a = n.email("  Ana@BÜCHER.example ").expect("unicode domain");
    let b = n
        .email("Ana@xn--bcher-kva.example")
        .expect("punycode domain");
    let c = n
        .email("Ana@Xn--Bcher-Kva.Example.")
        .expect("mixed case, root dot");
    assert_eq!(a, Identity::Email("Ana@xn--bcher-kva.example".into()));
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_ne!(a, n.email("ana@bücher.example").expect("lowercase local"));
}

#[test]
fn invalid_emails_are_rejected_with_a_reason() {
    let n = us();
    for (raw, reason) in [
        ("", "must not be empty"),
        ("ana.example.com", "missing @"),
        ("@example.com", "empty local part"),
        ("ana@", "empty domain"),
        ("ana@localhost", "has no dot"),
        ("a b@example.com", "local part contains"),
        ("ana@exa mple.com", "not a valid"),
        ("ana@-x.example", "not a valid"),
    ] {
        let err = n.email(raw).expect_err(raw).to_string();
        assert!(err.contains(reason), "{raw:?}: {err}");
    }
}

#[test]
fn phone_numbers_become_e164() {
    let n = us();
    let want = Identity::Phone("+12025550143".into());
    assert_eq!(n.phone("(202) 555-0143").expect("national"), want);
    assert_eq!(n.phone("+1 202-555-0143").expect("international"), want);
    assert_eq!(n.phone("+12025550143").expect("e164"), want);
    let de = IdentityNormalizer::new(Some("de".parse().expect("region")));
    assert_eq!(
        de.phone("030 1234567").expect("berlin"),
        Identity::Phone("+49301234567".into())
    );
    assert_eq!(de.phone("+12025550143").expect("foreign e164"), want);
}

#[test]
fn unparsable_phone_numbers_are_rejected() {
    let n = us();
    for raw in ["", "hello", "12", "+999 123", "555-01"] {
        let err = n.phone(raw).expect_err(raw);
        assert!(matches!(err, IdentityError::Phone { .. }), "{raw:?}: {err}");
    }
    let without_region = IdentityNormalizer::default();
    let err = without_region
        .phone("(202) 555-0143")
        .expect_err("no region");
    assert!(err.to_string().contains("default_region"), "{err}");
}

#[test]
fn sms_senders_that_are_not_numbers_are_kept_unverified() {
    let n = us();
    let (phone, why) = n.sms_from("(202) 555-0143").expect("a number");
    assert_eq!(phone, Identity::Phone("+12025550143".into()));
    assert!(phone.is_verified() && why.is_none());
    for raw in ["+15551234567", "72345", "MyShop", " +1 555 123 4567 "] {
        let (sender, why) = n.sms_from(raw).expect(raw);
        assert_eq!(sender, Identity::SmsSender(raw.trim().into()), "{raw:?}");
        assert!(!sender.is_verified());
        assert_eq!(sender.channel(), Some(Channel::SMS));
        assert!(why.is_some(), "{raw:?}");
        assert_eq!(n.normalize(&sender).expect("stays valid"), sender);
    }
    assert!(n.sms_from("").is_err());
    assert_eq!(
        n.sms_sender("a\u{0}b").expect("kept"),
        Identity::SmsSender("ab".into())
    );
    let long = "é".repeat(40);
    let Identity::SmsSender(cut) = n.sms_sender(&long).expect("kept") else {
        panic!("not an sms sender");
    };
    assert_eq!(cut.len(), MAX_PHONE_INPUT_BYTES);
}

#[test]
fn unknown_region_is_named() {
    let err = "ZZZ".parse::<Region>().expect_err("not a region");
    assert!(err.contains("ZZZ"), "{err}");
}

#[test]
fn declared_kinds_normalize_by_their_rule_and_become_the_same_person() {
    let kind = |normalize, same: Option<&str>| DeclaredKind {
        normalize,
        same_person_as: same.map(str::to_owned),
    };
    let n = us().with_kinds([
        ("whatsapp".to_owned(), kind(Normalize::E164, Some("phone"))),
        ("app".to_owned(), kind(Normalize::Opaque, None)),
        ("corp".to_owned(), kind(Normalize::Email, None)),
    ]);
    let wa = Identity::Declared {
        kind: "whatsapp".into(),
        value: "(202) 555-0143".into(),
    };
    assert_eq!(n.normalize(&wa), Ok(Identity::Phone("+12025550143".into())));
    let app = n.declared("app", " user-42 ").expect("opaque");
    assert_eq!(app.key(), "app:user-42");
    assert_eq!(n.normalize(&app), Ok(app.clone()));
    assert_eq!(
        n.declared("corp", "Ana@BÜCHER.example").map(|i| i.key()),
        Ok("corp:Ana@xn--bcher-kva.example".to_owned())
    );
    let err = n.declared("app", "two words").expect_err("not opaque");
    assert_eq!(
        err.to_string(),
        "invalid app identity \"two words\": only visible ASCII characters are allowed"
    );
    assert_eq!(
        n.declared("fax", "1"),
        Err(IdentityError::UnknownKind("fax".into()))
    );
    // Stored as {kind, value}, like the built-in kinds.
    let json = serde_json::to_string(&app).expect("json");
    assert_eq!(json, r#"{"kind":"app","value":"user-42"}"#);
    assert_eq!(serde_json::from_str::<Identity>(&json).expect("back"), app);
    let old = r#"{"kind":"sms_sender","value":"MyShop"}"#;
    assert_eq!(
        serde_json::from_str::<Identity>(old).expect("stored before"),
        Identity::SmsSender("MyShop".into())
    );
}

proptest! {
    #[test]
    fn normalizing_never_panics(raw in "\\PC{0,80}") {
        let n = us();
        let _ = n.email(&raw);
        let _ = n.phone(&raw);
        let _ = n.chat_visitor(&raw);
        let _ = n.sms_from(&raw);
    }

    #[test]
    fn phone_like_input_never_panics(raw in "[+]?[0-9 ()#*.-]{0,30}") {
        let _ = us().phone(&raw);
    }

    #[test]
    fn email_normalization_is_idempotent(
        local in "[A-Za-z0-9._%+-]{1,20}",
        domain in "[a-zA-Z0-9äöüÜéß-]{1,15}\\.[a-zA-Z]{2,6}",
    ) {
        let n = us();
        if let Ok(once) = n.email(&format!("{local}@{domain}")) {
            let twice = n.normalize(&once).expect("a normalized email stays valid");
            prop_assert_eq!(&once, &twice);
            // The ASCII case of the domain never matters.
            let upper = n.email(&format!("{local}@{}", domain.to_ascii_uppercase()));
            prop_assert_eq!(Ok(once), upper);
        }
    }

    #[test]
    fn phone_normalization_is_idempotent_and_spelling_free(
        area in 201u32..990, exchange in 200u32..999, line in 0u32..10000,
    ) {
        let n = us();
        let national = format!("({area}) {exchange}-{line:04}");
        if let Ok(once) = n.phone(&national) {
            prop_assert_eq!(n.normalize(&once).expect("e164 stays valid"), once.clone());
            let spaced = format!("+1 {area} {exchange} {line:04}");
            prop_assert_eq!(n.phone(&spaced).expect("same number"), once.clone());
            let dotted = format!("{area}.{exchange}.{line:04}");
            prop_assert_eq!(n.phone(&dotted).expect("same number"), once);
        }
    }
}
