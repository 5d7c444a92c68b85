//! Language detection: `whatlang` (trigram profiles of about 70 languages
//! compiled into the crate; no model file, no download, no heavy optional
//! features), reporting ISO 639-1 codes.
//!
//! A deployment may restrict detection to the languages it serves, which
//! removes look-alike languages from the guess (Catalan for Spanish,
//! Afrikaans for Dutch). For very short or unreliable texts the caller's
//! hint (the customer's known language) wins: a detector cannot tell
//! "ok merci" from a three-word greeting in another language, the
//! customer's record can. Without a hint, a short or unclear message is
//! decided by its common words when they clearly point to one of the
//! languages that have a list (`common.rs`: en, es, fr, de).

mod codes;
mod common;

use whatlang::Detector;

use crate::text::Word;
use crate::{EnrichError, Language};

pub(crate) use codes::codes;
use codes::{code_of, lang_of};

/// Below this many words detection is not trusted over a hint.
const SHORT_WORDS: usize = 4;

/// Detection reads at most this many characters: enough to tell a
/// language, and a long email costs no more than a short one.
const DETECT_CHARS: usize = 1000;

/// The confidence reported for a hint that detection did not confirm.
const HINT_CONFIDENCE: f32 = 0.5;

/// Tells a message's language.
#[derive(Debug)]
pub(crate) struct LanguageDetector {
    detector: Detector,
    /// The languages served, when restricted.
    allowed: Option<Vec<&'static str>>,
}

impl Default for LanguageDetector {
    fn default() -> Self {
        Self {
            detector: Detector::new(),
            allowed: None,
        }
    }
}

impl LanguageDetector {
    /// A detector that only answers with one of `codes` (ISO 639-1).
    pub(crate) fn restricted(codes: &[String]) -> Result<Self, EnrichError> {
        let langs = codes
            .iter()
            .map(|c| lang_of(c).ok_or_else(|| EnrichError::UnknownLanguage { code: c.clone() }))
            .collect::<Result<Vec<_>, _>>()?;
        let allowed = langs.iter().filter_map(|l| code_of(*l)).collect();
        Ok(Self {
            detector: Detector::with_allowlist(langs),
            allowed: Some(allowed),
        })
    }

    /// The language of `text` (its `words`); `hint` is the customer's
    /// known language, which wins when detection is unsure.
    pub(crate) fn detect(
        &self,
        text: &str,
        words: &[Word],
        hint: Option<&str>,
    ) -> Option<Language> {
        let hint = hint
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty());
        let head = text
            .char_indices()
            .nth(DETECT_CHARS)
            .map_or(text, |(at, _)| &text[..at]);
        let detected = self
            .detector
            .detect(head)
            .and_then(|info| Some((code_of(info.lang())?, info)));
        let reliable = detected
            .as_ref()
            .is_some_and(|(_, info)| info.is_reliable());
        // Trigrams need text: for a short or unclear message, a decisive
        // count of common words (`the`, `mi`, `vous`, `ich`) decides.
        let vote = (words.len() < common::LONG_WORDS || !reliable)
            .then(|| common::vote(words, self.allowed.as_deref()))
            .flatten();
        let guess = match (vote, detected) {
            (Some(code), _) => Some((code, common::CONFIDENCE, true)),
            (None, Some((code, info))) => {
                Some((code, info.confidence() as f32, info.is_reliable()))
            }
            (None, None) => None,
        };
        if let Some((code, confidence, sure)) = guess {
            let trusted = words.len() >= SHORT_WORDS && sure;
            if hint.as_deref().is_none_or(|h| h == code || trusted) {
                return Some(Language {
                    code: code.to_owned(),
                    confidence,
                });
            }
        }
        hint.map(|code| Language {
            code,
            confidence: HINT_CONFIDENCE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(d: &LanguageDetector, text: &str, hint: Option<&str>) -> Option<String> {
        d.detect(text, &crate::text::words(text), hint)
            .map(|l| l.code)
    }

    #[test]
    fn detects_the_four_languages_of_the_set() {
        let d = LanguageDetector::default();
        let cases = [
            (
                "I ordered a jacket two weeks ago and it still has not arrived",
                "en",
            ),
            (
                "Hice un pedido hace dos semanas y todavía no ha llegado nada",
                "es",
            ),
            (
                "J'ai commandé une veste il y a deux semaines et je n'ai rien reçu",
                "fr",
            ),
            (
                "Ich habe vor zwei Wochen eine Jacke bestellt und sie ist noch nicht da",
                "de",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(code(&d, text, None).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn the_hint_wins_for_short_texts() {
        let d = LanguageDetector::default();
        assert_eq!(code(&d, "ok merci", Some("fr")).as_deref(), Some("fr"));
        assert_eq!(code(&d, "Danke!", Some("DE")).as_deref(), Some("de"));
    }

    #[test]
    fn a_long_clear_text_overrides_a_wrong_hint() {
        let d = LanguageDetector::default();
        let text =
            "Hello, I would like to know where my parcel is, the tracking page shows nothing";
        assert_eq!(code(&d, text, Some("de")).as_deref(), Some("en"));
    }

    #[test]
    fn a_long_text_is_told_from_its_beginning() {
        let d = LanguageDetector::default();
        let text = format!(
            "{} {}",
            "Je voudrais savoir où est ma commande, merci de me répondre. ".repeat(40),
            "Ich möchte wissen, wo meine Bestellung ist. ".repeat(400)
        );
        assert_eq!(code(&d, &text, None).as_deref(), Some("fr"));
    }

    #[test]
    fn common_words_decide_short_texts() {
        let d = LanguageDetector::default();
        assert_eq!(
            code(&d, "How do I change my password?", None).as_deref(),
            Some("en")
        );
        assert_eq!(
            code(&d, "Quand ma commande sera-t-elle expédiée ?", None).as_deref(),
            Some("fr")
        );
    }

    #[test]
    fn a_restricted_detector_answers_within_its_languages() {
        let d = LanguageDetector::restricted(&["en".into(), "es".into()]).unwrap();
        let got = code(&d, "Bon dia, voldria saber on és la meva comanda", None);
        assert!(matches!(got.as_deref(), Some("en" | "es")), "{got:?}");
        assert!(matches!(
            LanguageDetector::restricted(&["xx".into()]),
            Err(EnrichError::UnknownLanguage { .. })
        ));
    }
}
