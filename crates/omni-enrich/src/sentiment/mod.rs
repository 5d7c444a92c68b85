//! Sentiment: a VADER-style lexicon scorer for English, Spanish, French
//! and German, written for this project.
//!
//! Why by hand: the Rust ports of VADER on crates.io (`vader_sentiment`
//! 0.1, the best known) are English only, unmaintained since 2019 and
//! pull in `lazy_static`, `maplit` and `unicase`; a small model would need
//! a runtime and weights. The VADER method itself is simple and well
//! described: a lexicon of words rated from -4 to 4, and rules for what
//! changes a word's weight. This module implements those rules:
//!
//! - negation (`not`, `no`, `nunca`, `ne ... pas`, `nicht`, `kein`) in the
//!   three words before a rated word flips and shrinks it (x -0.74); in
//!   German a negation may also follow within the clause (`gefällt mir
//!   nicht`);
//! - intensifiers (`very`, `muy`, `très`, `sehr`) add 0.293 to its size,
//!   softeners (`slightly`, `un peu`, `etwas`) take it away, less with
//!   distance;
//! - a word in capitals in a text that is not all capitals weighs 0.733
//!   more; a message mostly in capitals with nothing positive in it is
//!   shouting, which counts -1.5 (a customer-service rule, not VADER's);
//! - praise opening a complaint is irony ("Great, late again.") and
//!   counts against (a customer-service rule, not VADER's);
//! - `but` (`pero`, `mais`, `aber`): what precedes counts half, what
//!   follows one and a half times;
//! - exclamation marks (up to four) and repeated question marks add to the
//!   total's size;
//! - the total `s` is squashed into -1..1 as `s / sqrt(s² + 15)`.
//!
//! The lexicons (`data/lexicon/*.txt`) were written for this project from
//! customer-service language (complaints, thanks, delivery and billing
//! words, common emoji), 150 to 210 entries per language, under the
//! project's license (Apache-2.0); no published word list was copied. A
//! message in a language without a lexicon is scored with all four merged.

mod lexicon;

use std::sync::LazyLock;

use lexicon::Lexicon;

use crate::text::Word;
use crate::{Sentiment, SentimentLabel};

const NEGATION: f32 = -0.74;
const CAPS: f32 = 0.733;
const EXCLAMATION: f32 = 0.292;
const QUESTION: f32 = 0.18;
const ALPHA: f32 = 15.0;
/// What a message typed mostly in capitals, with nothing positive in it,
/// weighs against.
const SHOUTING: f32 = 1.5;
/// How far back an intensifier or a negation reaches, and its weight at
/// each distance.
const REACH: [f32; 3] = [1.0, 0.95, 0.9];

/// The shipped lexicons, by ISO 639-1 code.
const SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("../../data/lexicon/en.txt")),
    ("es", include_str!("../../data/lexicon/es.txt")),
    ("fr", include_str!("../../data/lexicon/fr.txt")),
    ("de", include_str!("../../data/lexicon/de.txt")),
];

struct Lexicons {
    by_language: Vec<(&'static str, Lexicon)>,
    merged: Lexicon,
}

static LEXICONS: LazyLock<Lexicons> = LazyLock::new(|| {
    let by_language: Vec<_> = SOURCES
        .iter()
        .map(|(code, source)| (*code, Lexicon::parse(source).0))
        .collect();
    let mut merged = Lexicon::default();
    for (_, lex) in &by_language {
        merged.merge(lex);
    }
    Lexicons {
        by_language,
        merged,
    }
});

/// Reads the lexicons now, so that the first message does not pay for it.
pub(crate) fn load() {
    LazyLock::force(&LEXICONS);
}

/// The languages with a lexicon of their own.
pub fn languages() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|(code, _)| *code)
}

/// The sentiment of a message: its `words`, its `text` (for punctuation),
/// in `language` (absent or without a lexicon: all lexicons merged).
pub(crate) fn analyze(words: &[Word], text: &str, language: Option<&str>) -> Sentiment {
    let lexicons = &*LEXICONS;
    let lex = language
        .and_then(|code| lexicons.by_language.iter().find(|(c, _)| *c == code))
        .map_or(&lexicons.merged, |(_, lex)| lex);
    let score = score(lex, &lexicons.merged, words, text);
    Sentiment {
        score,
        label: SentimentLabel::of(score),
    }
}

/// Scores with `lex`, the message language's lexicon; a word it does not
/// rate is looked up in `others` (a misdetected language, a word of
/// another language, emoji), unless `lex` rates it 0 (a false friend).
fn score(lex: &Lexicon, others: &Lexicon, words: &[Word], text: &str) -> f32 {
    let shouting_differs = words
        .iter()
        .any(|w| !w.shouted && w.folded.chars().any(char::is_alphabetic));
    let mut rated: Vec<(usize, f32)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let Some((mut v, len)) = lex
            .valence(&words[i..])
            .or_else(|| others.valence(&words[i..]))
        else {
            i += 1;
            continue;
        };
        let sign = v.signum();
        if shouting_differs && words[i].shouted {
            v += sign * CAPS;
        }
        let mut negated = false;
        for (d, weight) in REACH.iter().enumerate() {
            let Some(j) = i.checked_sub(d + 1) else { break };
            if words[j].clause_end {
                break;
            }
            if let Some(b) = lex.boost(&words[j].folded) {
                let b = if shouting_differs && words[j].shouted {
                    b + b.signum() * CAPS
                } else {
                    b
                };
                v += sign * b * weight;
            }
            negated |= lex.negates(&words[j].folded);
        }
        if lex.negate_after && !negated {
            for k in i + len..(i + len + 3).min(words.len()) {
                if words[k - 1].clause_end {
                    break;
                }
                negated |= lex.negates(&words[k].folded);
            }
        }
        if negated {
            v *= NEGATION;
        }
        rated.push((i, v));
        i += len;
    }
    irony(lex, words, &mut rated);
    if let Some(turn) = words.iter().rposition(|w| lex.contrasts(&w.folded)) {
        for (at, v) in &mut rated {
            *v *= if *at < turn { 0.5 } else { 1.5 };
        }
    }
    let mut sum: f32 = rated.iter().map(|(_, v)| v).sum();
    if sum <= 0.0 && shouting(words) {
        sum -= SHOUTING;
    }
    let exclamations = text.matches('!').count().min(4) as f32;
    let questions = text.matches('?').count();
    let mut emphasis = exclamations * EXCLAMATION;
    if questions > 1 {
        emphasis += questions.min(3) as f32 * QUESTION;
    }
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

/// Whether a message is shouted: three words or more, two thirds of
/// them in capitals.
fn shouting(words: &[Word]) -> bool {
    let alphabetic = words
        .iter()
        .filter(|w| w.folded.chars().any(char::is_alphabetic))
        .count();
    let shouted = words.iter().filter(|w| w.shouted).count();
    alphabetic >= 3 && shouted * 3 >= alphabetic * 2
}

/// Praise that opens a complaint is irony ("Great, late again."): when
/// the first clause is at most three words with an ironic word of praise,
/// and what follows is negative, the praise counts against.
fn irony(lex: &Lexicon, words: &[Word], rated: &mut [(usize, f32)]) {
    let Some(opener_end) = words.iter().position(|w| w.clause_end) else {
        return;
    };
    if opener_end >= 3 {
        return;
    }
    let rest: f32 = rated
        .iter()
        .filter(|(at, _)| *at > opener_end)
        .map(|(_, v)| v)
        .sum();
    if rest >= 0.0 {
        return;
    }
    for (at, v) in rated.iter_mut() {
        if *at <= opener_end && *v > 0.0 && lex.ironic(&words[*at].folded) {
            *v = -*v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text;

    fn s(text: &str, lang: &str) -> f32 {
        analyze(&text::words(text), text, Some(lang)).score
    }

    #[test]
    fn the_shipped_lexicons_read_without_a_bad_line() {
        for (code, source) in SOURCES {
            let (_, bad) = Lexicon::parse(source);
            assert!(bad.is_empty(), "{code}: {bad:?}");
        }
    }

    #[test]
    fn rated_words_set_the_direction_in_each_language() {
        for (pos, neg, lang) in [
            (
                "Thank you, great service",
                "This is terrible, I am very angry",
                "en",
            ),
            (
                "Muchas gracias, excelente atención",
                "Es una vergüenza, estoy muy enfadado",
                "es",
            ),
            (
                "Merci beaucoup, service génial",
                "C'est inadmissible, je suis furieux",
                "fr",
            ),
            (
                "Vielen Dank, super Service",
                "Das ist eine Frechheit, ich bin sehr verärgert",
                "de",
            ),
        ] {
            assert!(s(pos, lang) >= SentimentLabel::THRESHOLD, "{pos}");
            assert!(s(neg, lang) <= -SentimentLabel::THRESHOLD, "{neg}");
        }
        assert_eq!(s("Where is my order", "en"), 0.0);
    }

    #[test]
    fn negation_flips_in_each_language() {
        assert!(s("the service was good", "en") > 0.0);
        assert!(s("the service was not good", "en") < 0.0);
        assert!(s("ce n'est pas bon", "fr") < 0.0);
        assert!(s("no estoy contento", "es") < 0.0);
        assert!(s("Das ist nicht gut", "de") < 0.0);
        assert!(s("Das gefällt mir nicht", "de") < 0.0);
    }

    #[test]
    fn intensifiers_capitals_and_exclamations_weigh_more() {
        let plain = s("the app is bad", "en");
        assert!(s("the app is very bad", "en") < plain);
        assert!(s("the app is BAD", "en") < plain);
        assert!(s("the app is bad!!", "en") < plain);
        assert!(s("the app is slightly bad", "en") > plain);
    }

    #[test]
    fn a_shouted_message_is_negative_unless_it_is_praise() {
        assert_eq!(s("I want my money back", "en"), 0.0);
        assert!(s("I WANT MY MONEY BACK", "en") < 0.0);
        assert!(s("THANK YOU SO MUCH", "en") > 0.0);
        assert!(s("OK", "en") == 0.0);
    }

    #[test]
    fn praise_that_opens_a_complaint_is_irony() {
        assert!(s("Great, the delivery is late again.", "en") < 0.0);
        assert!(s("Great, thanks a lot!", "en") > 0.0);
        assert!(s("Perfect, that's all I needed.", "en") > 0.0);
        assert!(s("Toll, das Paket ist schon wieder verspätet.", "de") < 0.0);
    }

    #[test]
    fn a_word_of_another_language_still_counts_unless_shadowed() {
        assert!(s("Great service as always", "de") > 0.0);
        assert_eq!(s("Können Sie mal schauen", "de"), 0.0);
        assert!(s("c'est mal", "fr") < 0.0);
    }

    #[test]
    fn inflected_forms_are_found() {
        assert!(s("Ihr schrecklicher Service", "de") < 0.0);
        assert!(s("des colis abîmés", "fr") < 0.0);
    }

    #[test]
    fn what_follows_but_outweighs_what_precedes() {
        assert!(s("the agent was nice but the product is terrible", "en") < 0.0);
        assert!(s("l'attente était horrible mais l'agent était parfait", "fr") > 0.0);
    }
}
