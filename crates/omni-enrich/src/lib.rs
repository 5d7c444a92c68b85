//! Omniroute's built-in enrichment: what the context service learns from
//! a customer message before routing it (docs/enrichment.md). Pure and
//! synchronous: no I/O, no async; the lexicons are compiled into the
//! crate and read once, the rules compiled once per [`Enricher`]. The
//! context service calls it within its deadline.
//!
//! ```
//! use omni_core::config::{EnrichmentConfig, IntentRuleConfig};
//! use omni_enrich::{Enricher, SentimentLabel};
//!
//! let config = EnrichmentConfig {
//!     intents: vec![IntentRuleConfig {
//!         name: "refund".into(),
//!         language: None,
//!         keywords: vec!["refund".into(), "money back".into()],
//!         patterns: vec![],
//!     }],
//!     ..EnrichmentConfig::default()
//! };
//! let enricher = Enricher::new(&config)?;
//! let e = enricher.enrich("This is ridiculous, I want my money back!", Some("en"));
//! assert_eq!(e.intent.unwrap().name, "refund");
//! assert_eq!(e.sentiment.unwrap().label, SentimentLabel::Negative);
//! assert_eq!(e.language.unwrap().code, "en");
//! # Ok::<(), omni_enrich::EnrichError>(())
//! ```
//!
//! # Layout
//!
//! - [`Enricher`] (here): built once from `[enrichment]`, enriches a text.
//! - `enrichment`: [`Enrichment`] and its parts, and
//!   [`Enrichment::attributes`], the names routing rules and the desk use.
//! - `error`: [`EnrichError`], naming the configuration key at fault.
//! - `text`: folding (case, accents) and words, shared by every analyzer.
//! - `sentiment`: the VADER-style scorer; `sentiment/lexicon.rs` reads the
//!   lexicons in `data/lexicon/`.
//! - `language`: detection with `whatlang` and the hint;
//!   `language/codes.rs` maps ISO 639-1 codes, `language/common.rs`
//!   decides short messages by their common words.
//! - `intent`: the intent rules, compiled once, first match wins.
//! - [`labeled`]: the labeled set in `data/labeled.tsv` and the sample
//!   rules in `data/intents.toml`, read by the accuracy test and bench.
//! - `tests`: the enricher as a whole; `tests/accuracy.rs` holds the
//!   accuracy floors, `benches/accuracy.rs` prints the figures.

mod enrichment;
mod error;
mod intent;
pub mod labeled;
mod language;
mod sentiment;
mod text;

use omni_core::config::EnrichmentConfig;

pub use enrichment::{Enrichment, Intent, Language, Sentiment, SentimentLabel};
pub use error::EnrichError;

use intent::IntentRules;
use language::LanguageDetector;

/// The languages with a sentiment lexicon of their own (ISO 639-1); other
/// languages are scored with all of them merged.
pub fn sentiment_languages() -> impl Iterator<Item = &'static str> {
    sentiment::languages()
}

/// The languages detection can tell (ISO 639-1), the codes
/// [`Enricher::with_languages`] accepts.
pub fn detectable_languages() -> impl Iterator<Item = &'static str> {
    language::codes()
}

/// The built-in enricher: sentiment, language and intent rules, as
/// configured in `[enrichment]`. Build it once; [`Enricher::enrich`] is
/// cheap and takes `&self`, so one enricher serves every message.
/// (`enabled` is the context service's switch: it decides whether to call
/// the enricher at all.)
#[derive(Debug)]
pub struct Enricher {
    sentiment: bool,
    language: bool,
    detector: LanguageDetector,
    intents: IntentRules,
}

impl Enricher {
    /// Compiles the intent rules of `config`; an invalid pattern or an
    /// empty name is an error naming `enrichment.intents[<i>]`.
    pub fn new(config: &EnrichmentConfig) -> Result<Self, EnrichError> {
        if config.sentiment {
            sentiment::load();
        }
        Ok(Self {
            sentiment: config.sentiment,
            language: config.language,
            detector: LanguageDetector::default(),
            intents: IntentRules::compile(&config.intents)?,
        })
    }

    /// Restricts language detection to `codes` (ISO 639-1), the languages
    /// the deployment serves; an unknown code is an error. No codes: every
    /// language the detector knows.
    pub fn with_languages(mut self, codes: &[String]) -> Result<Self, EnrichError> {
        self.detector = if codes.is_empty() {
            LanguageDetector::default()
        } else {
            LanguageDetector::restricted(codes)?
        };
        Ok(self)
    }

    /// Enriches one message. `language_hint` is the customer's known
    /// language (ISO 639-1), which wins over detection for short or
    /// unclear texts, and stands for the language when detection is off.
    /// Intent rules with a `language` apply to messages in that language.
    pub fn enrich(&self, text: &str, language_hint: Option<&str>) -> Enrichment {
        let words = text::words(text);
        let language = if self.language {
            self.detector.detect(text, &words, language_hint)
        } else {
            language_hint
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .map(|code| Language {
                    code,
                    confidence: 1.0,
                })
        };
        let code = language.as_ref().map(|l| l.code.as_str());
        let sentiment = self
            .sentiment
            .then(|| sentiment::analyze(&words, text, code));
        let intent = self.intents.find(&words, text, &text::fold(text), code);
        Enrichment {
            sentiment,
            // Detection off: the hint served the rules and lexicons, but
            // the message's language is not reported as learned.
            language: language.filter(|_| self.language),
            intent,
        }
    }
}

#[cfg(test)]
mod tests;
