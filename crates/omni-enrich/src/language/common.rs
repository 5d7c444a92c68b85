//! Common words: the most frequent function words of the languages with a
//! lexicon, which tell a short message's language where trigrams cannot
//! ("How do I change my password?" has too few letters for trigram
//! statistics, but four English function words). Words shared by two of
//! these languages (`de`, `la`, `en`, `un`, `es`, `que`, `me`, `no`) are
//! left out. Written for this project.

use crate::text::Word;

/// From this many words on, trigram detection that is sure of itself is
/// not second-guessed.
pub(super) const LONG_WORDS: usize = 8;

/// The confidence reported for a language decided by common words.
pub(super) const CONFIDENCE: f32 = 0.8;

/// Folded common words by language.
const COMMON: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "is", "my", "you", "i", "to", "of", "it", "for", "have", "this", "was",
            "with", "your", "can", "how", "what", "do", "thank", "are", "would", "as", "up",
            "please", "am", "will", "be", "did", "not", "where", "why", "when", "want", "need",
            "thanks", "hello", "cant", "dont",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "mi", "y", "por", "para", "con", "una", "lo", "mis", "pero",
            "esta", "hay", "como", "gracias", "tengo", "del", "muy", "ya", "su", "sus", "al",
            "puedo", "ha", "han", "cuando", "donde", "quiero", "necesito", "hola", "vale",
            "buenas",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "je", "et", "est", "mon", "ma", "mes", "vous", "une", "pas", "pour",
            "des", "du", "il", "elle", "ce", "au", "avec", "sur", "merci", "votre", "vos", "ne",
            "ai", "quand", "comment", "ou", "suis", "veux", "voudrais", "bonjour", "accord", "svp",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "ich", "mein", "meine", "nicht", "sie", "ein",
            "eine", "mit", "zu", "den", "dem", "wie", "bitte", "danke", "ihr", "ihre", "habe",
            "auf", "noch", "wir", "wo", "warum", "wann", "bin", "mochte", "moechte", "hallo",
        ],
    ),
];

/// The language the common words of `words` clearly point to (at least
/// two hits and more than twice the runner-up's; in a message of one or
/// two words, one hit and none for another language), among `allowed`
/// when given.
pub(super) fn vote(words: &[Word], allowed: Option<&[&str]>) -> Option<&'static str> {
    let mut counts: Vec<(&'static str, usize)> = COMMON
        .iter()
        .filter(|(code, _)| allowed.is_none_or(|a| a.contains(code)))
        .map(|(code, list)| {
            let hits = words
                .iter()
                .filter(|w| list.contains(&w.folded.as_str()))
                .count();
            (*code, hits)
        })
        .collect();
    counts.sort_by_key(|(_, hits)| std::cmp::Reverse(*hits));
    let (best, hits) = *counts.first()?;
    let runner_up = counts.get(1).map_or(0, |(_, h)| *h);
    let short = words.len() <= 2 && hits == 1 && runner_up == 0;
    (short || (hits >= 2 && hits > 2 * runner_up)).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::words;

    #[test]
    fn no_word_is_common_to_two_languages() {
        for (i, (a, list)) in COMMON.iter().enumerate() {
            for (b, other) in &COMMON[i + 1..] {
                for w in *list {
                    assert!(!other.contains(w), "{w:?} is in {a} and {b}");
                }
            }
        }
    }

    #[test]
    fn a_vote_needs_two_hits_and_a_clear_lead() {
        assert_eq!(vote(&words("where is my parcel"), None), Some("en"));
        assert_eq!(vote(&words("merci"), None), Some("fr"));
        assert_eq!(vote(&words("merci danke"), None), None);
        assert_eq!(vote(&words("the le"), None), None);
        assert_eq!(
            vote(&words("where is my parcel"), Some(&["de", "fr"])),
            None
        );
    }
}
