//! Matching a customer's message to a FAQ entry.
//!
//! Hand-written, on purpose: a FAQ file holds tens of entries, written by
//! the people who answer the questions, and they need to predict what
//! matches. A search engine or an embedding model would add a large
//! dependency (or a model file and a GPU) for little gain at this size, and
//! make the bot's choices hard to explain. The rules:
//!
//! 1. Normalize: lowercase, accents removed (`¿Cuándo?` is `cuando`),
//!    split on anything that is not a letter or digit, a trailing `s`
//!    dropped from words of four letters or more (`hours` is `hour`),
//!    then the language's stop words removed.
//! 2. Score each entry: for each of its phrasings, the Dice overlap of the
//!    message's words and the phrasing's (`2·shared / (a + b)`, 1 when
//!    they are the same words); the entry's score is its best phrasing's,
//!    plus [`KEYWORD_WEIGHT`] for each of its keywords in the message, at
//!    most 1.
//! 3. The best entry at or over the file's threshold (default
//!    [`DEFAULT_THRESHOLD`]) answers; ties go to the entry written first.

use std::collections::BTreeSet;

/// What each keyword in the message adds to an entry's score.
pub const KEYWORD_WEIGHT: f64 = 0.5;

/// The score an entry needs to answer, unless the file sets `threshold`.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Words that say nothing about the question, per language.
fn stop_words(language: &str) -> &'static [&'static str] {
    match language {
        "en" => &[
            "a", "about", "am", "an", "and", "any", "are", "be", "can", "could", "did", "do",
            "doe", "for", "from", "get", "have", "hello", "hi", "how", "i", "if", "in", "is", "it",
            "me", "my", "of", "on", "or", "please", "so", "than", "thank", "thanks", "that", "the",
            "there", "thi", "to", "was", "we", "what", "when", "where", "which", "who", "why",
            "will", "with", "would", "you", "your",
        ],
        "es" => &[
            "a", "al", "algo", "como", "con", "cual", "cuando", "de", "del", "donde", "el", "en",
            "es", "esta", "este", "gracia", "hay", "hola", "la", "las", "lo", "los", "me", "mi",
            "para", "por", "porfavor", "puedo", "que", "quien", "se", "su", "tengo", "tu", "un",
            "una", "uno", "vosotro", "y", "yo",
        ],
        "fr" => &[
            "a", "au", "aux", "bonjour", "ce", "comment", "de", "des", "du", "est", "et", "je",
            "la", "le", "les", "mon", "ou", "pour", "quand", "que", "quel", "qui", "un", "une",
            "vou", "votre",
        ],
        "de" => &[
            "am", "bitte", "das", "der", "die", "ein", "eine", "hallo", "ich", "ihr", "ist",
            "mein", "mit", "und", "von", "wann", "was", "wie", "wo", "zu",
        ],
        _ => &[],
    }
}

/// The words of `text` that matter, in `language` (see the module doc).
pub fn words(text: &str, language: &str) -> BTreeSet<String> {
    let stop = stop_words(language);
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.chars().count() >= 4 && w.ends_with('s') {
                w[..w.len() - 1].to_owned()
            } else {
                w.to_owned()
            }
        })
        .filter(|w| !stop.contains(&w.as_str()))
        .collect()
}

/// A letter without its accent (the Latin letters of en, es, fr, de).
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ß' => 's',
        other => other,
    }
}

/// An entry as the matcher sees it: its phrasings' and keywords' words.
#[derive(Debug, Clone, PartialEq)]
pub struct Matchable {
    /// Each phrasing's words.
    pub phrasings: Vec<BTreeSet<String>>,
    /// Keywords, normalized.
    pub keywords: BTreeSet<String>,
}

impl Matchable {
    /// The entry with these phrasings and keywords, in `language`.
    pub fn new(questions: &[String], keywords: &[String], language: &str) -> Self {
        Self {
            phrasings: questions
                .iter()
                .map(|q| words(q, language))
                .filter(|w| !w.is_empty())
                .collect(),
            keywords: keywords.iter().flat_map(|k| words(k, language)).collect(),
        }
    }

    /// How well `message` (its [`words`]) matches, from 0 to 1.
    pub fn score(&self, message: &BTreeSet<String>) -> f64 {
        if message.is_empty() {
            return 0.0;
        }
        let best = self
            .phrasings
            .iter()
            .map(|p| {
                let shared = p.intersection(message).count() as f64;
                2.0 * shared / (p.len() + message.len()) as f64
            })
            .fold(0.0, f64::max);
        let keywords = self.keywords.intersection(message).count() as f64;
        (best + KEYWORD_WEIGHT * keywords).min(1.0)
    }
}

/// The index and score of the best of `entries` for `message`, if any
/// scores above zero; ties go to the first.
pub fn best<'a>(
    entries: impl IntoIterator<Item = (usize, &'a Matchable)>,
    message: &BTreeSet<String>,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, entry) in entries {
        let score = entry.score(message);
        if score > 0.0 && best.is_none_or(|(_, b)| score > b) {
            best = Some((i, score));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn entry(questions: &[&str], keywords: &[&str], language: &str) -> Matchable {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Matchable::new(&own(questions), &own(keywords), language)
    }

    #[test]
    fn words_are_lowercased_unaccented_singular_and_without_stop_words() {
        assert_eq!(
            words("What are your Opening HOURS?", "en"),
            set(&["opening", "hour"])
        );
        assert_eq!(
            words("¿Cuándo abrís los sábados?", "es"),
            set(&["abri", "sabado"])
        );
        assert_eq!(words("Hi!", "en"), set(&[]));
        // Short words keep their s; an unknown language keeps every word.
        assert_eq!(words("is bus", "xx"), set(&["is", "bus"]));
    }

    #[test]
    fn a_rephrased_question_matches_its_entry_and_not_another() {
        let hours = entry(
            &["What are your opening hours?", "When are you open?"],
            &["hours", "open", "close"],
            "en",
        );
        let refund = entry(
            &["How do I get a refund?", "Can I return an item?"],
            &["refund", "return", "money back"],
            "en",
        );
        let entries = [hours, refund];
        let ask = |text: &str| best(entries.iter().enumerate(), &words(text, "en"));
        let (i, score) = ask("when do you open on saturdays").expect("a match");
        assert_eq!(i, 0);
        assert!(score >= DEFAULT_THRESHOLD, "{score}");
        assert_eq!(ask("I want my money back").map(|(i, _)| i), Some(1));
        assert_eq!(ask("opening hours"), Some((0, 1.0)));
        assert_eq!(ask("the weather in Paris"), None);
    }

    #[test]
    fn one_keyword_alone_reaches_the_default_threshold_and_no_more() {
        let hours = entry(&["What are your opening hours?"], &["close"], "en");
        let score = hours.score(&words("what time do you close", "en"));
        // "time" shares nothing with the phrasing: the keyword alone.
        assert!((score - KEYWORD_WEIGHT).abs() < 1e-9, "{score}");
        assert!(hours.score(&words("close hours opening", "en")) <= 1.0);
    }

    #[test]
    fn ties_go_to_the_entry_written_first() {
        let a = entry(&["shipping cost"], &[], "en");
        let b = entry(&["shipping cost"], &[], "en");
        let entries = [a, b];
        assert_eq!(
            best(entries.iter().enumerate(), &words("shipping cost", "en")).map(|(i, _)| i),
            Some(0)
        );
    }
}
