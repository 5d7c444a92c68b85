//! What a customer's text means to the bot machinery, without I/O: asking
//! for a person (the bot's `person_keywords`), picking one of the bot's
//! options by its number or text, and the numbered list a channel without
//! quick-reply buttons shows.

use std::collections::BTreeMap;

/// Whether `text` contains one of the person keywords of `language`, as a
/// whole word, case-insensitively; with no language, or one the bot has no
/// list for, every list counts.
pub fn asks_for_person(
    text: &str,
    language: Option<&str>,
    keywords: &BTreeMap<String, Vec<String>>,
) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let lists: Vec<&Vec<String>> = match language.and_then(|l| keywords.get(l)) {
        Some(list) => vec![list],
        None => keywords.values().collect(),
    };
    lists
        .into_iter()
        .flatten()
        .any(|k| words.iter().any(|w| *w == k.to_lowercase()))
}

/// The option `text` picks among `options`: its number (`2`, from 1) or
/// the option's own text, case-insensitively.
pub fn picked_option(text: &str, options: &[String]) -> Option<String> {
    let answer = text.trim().trim_end_matches(['.', ')']);
    if let Ok(n) = answer.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| options.get(i)).cloned();
    }
    options
        .iter()
        .find(|o| o.trim().eq_ignore_ascii_case(answer))
        .cloned()
}

/// `text` with `options` appended as a numbered list, one per line.
pub fn with_numbered_options(text: &str, options: &[String]) -> String {
    if options.is_empty() {
        return text.to_owned();
    }
    let list: Vec<String> = options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{}. {o}", i + 1))
        .collect();
    if text.is_empty() {
        list.join("\n")
    } else {
        format!("{text}\n{}", list.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            (
                "en".to_owned(),
                vec!["agent".to_owned(), "human".to_owned()],
            ),
            ("es".to_owned(), vec!["persona".to_owned()]),
        ])
    }

    #[test]
    fn a_person_is_asked_for_by_whole_word_in_the_customers_language() {
        let k = keywords();
        assert!(asks_for_person("I want an AGENT, now!", Some("en"), &k));
        assert!(!asks_for_person("my agents are fine", Some("en"), &k));
        assert!(!asks_for_person("una persona", Some("en"), &k));
        assert!(asks_for_person("una persona", None, &k));
        assert!(asks_for_person("una persona", Some("xx"), &k));
        assert!(!asks_for_person("where is my order", None, &k));
    }

    #[test]
    fn an_option_is_picked_by_number_or_text() {
        let options = ["Billing".to_owned(), "Shipping".to_owned()];
        assert_eq!(picked_option(" 2 ", &options).as_deref(), Some("Shipping"));
        assert_eq!(picked_option("1.", &options).as_deref(), Some("Billing"));
        assert_eq!(
            picked_option("shipping", &options).as_deref(),
            Some("Shipping")
        );
        assert_eq!(picked_option("3", &options), None);
        assert_eq!(picked_option("0", &options), None);
        assert_eq!(picked_option("hello", &options), None);
    }

    #[test]
    fn options_become_a_numbered_list() {
        let options = ["Billing".to_owned(), "Shipping".to_owned()];
        assert_eq!(
            with_numbered_options("Which?", &options),
            "Which?\n1. Billing\n2. Shipping"
        );
        assert_eq!(with_numbered_options("Hi", &[]), "Hi");
    }
}
