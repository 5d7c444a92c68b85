//! Language detection: `whatlang` (trigram profiles of about 70 languages
//! compiled into the crate; no model file, no download, no heavy optional
//! features), reporting ISO 639-1 codes.
//!
//! A deployment may restrict detection to the languages it serves, which
//! removes look-alike languages from the guess (Catalan for Spanish,
//! Afrikaans for Dutch). For very short or unreliable texts the caller's
//! hint (the customer's known language) wins: a detector cannot tell
//! "ok merci" from a three-word greeting in another language, the
//! customer's record can.

use whatlang::{Detector, Lang};

use crate::{EnrichError, Language};

/// Below this many words detection is not trusted over a hint.
const SHORT_WORDS: usize = 4;

/// The confidence reported for a hint that detection did not confirm.
const HINT_CONFIDENCE: f32 = 0.5;

/// ISO 639-1 codes of the languages whatlang knows (those that have one).
const CODES: &[(&str, Lang)] = &[
    ("af", Lang::Afr),
    ("ak", Lang::Aka),
    ("am", Lang::Amh),
    ("ar", Lang::Ara),
    ("az", Lang::Aze),
    ("be", Lang::Bel),
    ("bg", Lang::Bul),
    ("bn", Lang::Ben),
    ("ca", Lang::Cat),
    ("cs", Lang::Ces),
    ("cy", Lang::Cym),
    ("da", Lang::Dan),
    ("de", Lang::Deu),
    ("el", Lang::Ell),
    ("en", Lang::Eng),
    ("eo", Lang::Epo),
    ("es", Lang::Spa),
    ("et", Lang::Est),
    ("fa", Lang::Pes),
    ("fi", Lang::Fin),
    ("fr", Lang::Fra),
    ("gu", Lang::Guj),
    ("he", Lang::Heb),
    ("hi", Lang::Hin),
    ("hr", Lang::Hrv),
    ("hu", Lang::Hun),
    ("hy", Lang::Hye),
    ("id", Lang::Ind),
    ("it", Lang::Ita),
    ("ja", Lang::Jpn),
    ("jv", Lang::Jav),
    ("ka", Lang::Kat),
    ("km", Lang::Khm),
    ("kn", Lang::Kan),
    ("ko", Lang::Kor),
    ("la", Lang::Lat),
    ("lt", Lang::Lit),
    ("lv", Lang::Lav),
    ("mk", Lang::Mkd),
    ("ml", Lang::Mal),
    ("mr", Lang::Mar),
    ("my", Lang::Mya),
    ("nb", Lang::Nob),
    ("ne", Lang::Nep),
    ("nl", Lang::Nld),
    ("or", Lang::Ori),
    ("pa", Lang::Pan),
    ("pl", Lang::Pol),
    ("pt", Lang::Por),
    ("ro", Lang::Ron),
    ("ru", Lang::Rus),
    ("si", Lang::Sin),
    ("sk", Lang::Slk),
    ("sl", Lang::Slv),
    ("sn", Lang::Sna),
    ("sr", Lang::Srp),
    ("sv", Lang::Swe),
    ("ta", Lang::Tam),
    ("te", Lang::Tel),
    ("th", Lang::Tha),
    ("tk", Lang::Tuk),
    ("tl", Lang::Tgl),
    ("tr", Lang::Tur),
    ("uk", Lang::Ukr),
    ("ur", Lang::Urd),
    ("uz", Lang::Uzb),
    ("vi", Lang::Vie),
    ("yi", Lang::Yid),
    ("zh", Lang::Cmn),
    ("zu", Lang::Zul),
];

/// Every code detection can answer with.
pub(crate) fn codes() -> impl Iterator<Item = &'static str> {
    CODES.iter().map(|(c, _)| *c)
}

fn lang_of(code: &str) -> Option<Lang> {
    let code = code.trim().to_ascii_lowercase();
    // `no` is the macrolanguage most people write for Bokmål.
    let code = if code == "no" { "nb" } else { code.as_str() };
    CODES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

fn code_of(lang: Lang) -> Option<&'static str> {
    CODES.iter().find(|(_, l)| *l == lang).map(|(c, _)| *c)
}

/// Tells a message's language.
#[derive(Debug)]
pub(crate) struct LanguageDetector {
    detector: Detector,
}

impl Default for LanguageDetector {
    fn default() -> Self {
        Self {
            detector: Detector::new(),
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
        Ok(Self {
            detector: Detector::with_allowlist(langs),
        })
    }

    /// The language of `text` with `word_count` words; `hint` is the
    /// customer's known language, which wins when detection is unsure.
    pub(crate) fn detect(
        &self,
        text: &str,
        word_count: usize,
        hint: Option<&str>,
    ) -> Option<Language> {
        let detected = self
            .detector
            .detect(text)
            .and_then(|info| Some((code_of(info.lang())?, info)));
        let hint = hint
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty());
        if let Some((code, info)) = detected {
            let trusted = word_count >= SHORT_WORDS && info.is_reliable();
            if hint.as_deref().is_none_or(|h| h == code || trusted) {
                return Some(Language {
                    code: code.to_owned(),
                    confidence: info.confidence() as f32,
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
        let words = text.split_whitespace().count();
        d.detect(text, words, hint).map(|l| l.code)
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
