//! The chat page's message catalogs (`assets/chat/i18n/*.js`) say the same
//! things: every language has every key English has, and no other, and
//! keeps each `{placeholder}` of the English text.

use std::collections::{BTreeMap, BTreeSet};

const EN: &str = include_str!("../assets/chat/i18n/en.js");
const OTHERS: [(&str, &str); 3] = [
    ("es", include_str!("../assets/chat/i18n/es.js")),
    ("fr", include_str!("../assets/chat/i18n/fr.js")),
    ("de", include_str!("../assets/chat/i18n/de.js")),
];

/// `key: 'text',` lines of a catalog, by key (the catalogs keep one entry
/// per line).
fn entries(catalog: &str) -> BTreeMap<String, String> {
    catalog
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//"))
        .filter_map(|l| {
            let (key, text) = l.split_once(": ")?;
            key.chars()
                .all(|c| c.is_ascii_alphanumeric())
                .then(|| (key.to_owned(), text.to_owned()))
        })
        .collect()
}

fn placeholders(text: &str) -> BTreeSet<String> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

#[test]
fn every_language_says_what_english_says() {
    let en = entries(EN);
    assert!(en.len() > 40, "the English catalog was read: {}", en.len());
    for (lang, catalog) in OTHERS {
        let other = entries(catalog);
        let missing: Vec<_> = en.keys().filter(|k| !other.contains_key(*k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        assert!(
            extra.is_empty(),
            "{lang} has keys English has not: {extra:?}"
        );
        for (key, text) in &en {
            assert_eq!(
                placeholders(&other[key]),
                placeholders(text),
                "{lang}.{key} keeps English's placeholders"
            );
        }
    }
}
