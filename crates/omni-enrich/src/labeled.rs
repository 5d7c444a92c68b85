//! The labeled set and the sample intent rules that ship with the crate,
//! and the scoring of an enricher against the set: what the accuracy test
//! holds and the accuracy bench prints (docs/enrichment.md, "Accuracy").
//!
//! `data/labeled.tsv` holds customer-service messages written for this
//! project (see its header): `id`, `lang`, `sentiment`, `intent` (`-` for
//! none) and `text`, tab-separated. Every fourth message (`id % 4 == 0`)
//! is held out: the lexicons and sample rules were tuned looking only at
//! the others, so the held-out figures are the honest ones.

use std::collections::BTreeMap;

use omni_core::config::{Config, EnrichmentConfig};

use crate::{Enricher, SentimentLabel};

/// The labeled set, as shipped.
pub const LABELED_TSV: &str = include_str!("../data/labeled.tsv");

/// The sample intent rules, an `[enrichment]` section as shipped.
pub const SAMPLE_INTENTS_TOML: &str = include_str!("../data/intents.toml");

/// One labeled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Its number in the set.
    pub id: u32,
    /// Its language (ISO 639-1).
    pub lang: String,
    /// Its sentiment.
    pub sentiment: SentimentLabel,
    /// Its intent, absent for none.
    pub intent: Option<String>,
    /// The message.
    pub text: String,
}

impl Example {
    /// Whether the example was held out while tuning.
    pub fn held_out(&self) -> bool {
        self.id.is_multiple_of(4)
    }
}

/// Reads a labeled set; an error names the line.
pub fn parse(tsv: &str) -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("id\t") {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        let cols: Vec<&str> = line.split('\t').collect();
        let [id, lang, sentiment, intent, text] = cols[..] else {
            return Err(bad("expected 5 tab-separated columns"));
        };
        out.push(Example {
            id: id.parse().map_err(|_| bad("the id is not a number"))?,
            lang: lang.to_owned(),
            sentiment: SentimentLabel::parse(sentiment).ok_or_else(|| bad("unknown sentiment"))?,
            intent: (intent != "-").then(|| intent.to_owned()),
            text: text.to_owned(),
        });
    }
    Ok(out)
}

/// The shipped labeled set.
pub fn examples() -> Result<Vec<Example>, String> {
    parse(LABELED_TSV)
}

/// The shipped sample rules as an `[enrichment]` configuration.
pub fn sample_config() -> Result<EnrichmentConfig, String> {
    Config::parse(SAMPLE_INTENTS_TOML).map(|c| c.enrichment)
}

/// Right answers out of all, for one measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Right answers.
    pub right: u32,
    /// All answers.
    pub total: u32,
}

impl Tally {
    fn add(&mut self, right: bool) {
        self.right += u32::from(right);
        self.total += 1;
    }

    /// The share of right answers, 0 when there were none.
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            f64::from(self.right) / f64::from(self.total)
        }
    }
}

/// The three measures for one group of examples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scores {
    /// Sentiment in three classes.
    pub sentiment: Tally,
    /// Detected language (with no hint).
    pub language: Tally,
    /// Intent, exact (none must be none).
    pub intent: Tally,
}

/// How an enricher did on a set.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// By language.
    pub by_language: BTreeMap<String, Scores>,
    /// Every example.
    pub all: Scores,
    /// The held-out examples only.
    pub held_out: Scores,
    /// Sentiment confusion: (expected, got) and how often.
    pub sentiment_confusion: BTreeMap<(SentimentLabel, SentimentLabel), u32>,
    /// Intent confusion where they differ: (expected, got), `-` for none.
    pub intent_confusion: BTreeMap<(String, String), u32>,
    /// The tuning examples that were missed: (id, what, expected, got).
    pub misses: Vec<(u32, &'static str, String, String)>,
}

/// Enriches every example without a language hint (so language detection
/// is measured on its own) and scores the answers.
pub fn evaluate(enricher: &Enricher, examples: &[Example]) -> Report {
    let mut report = Report::default();
    for ex in examples {
        let e = enricher.enrich(&ex.text, None);
        let sentiment = e.sentiment.map_or(SentimentLabel::Neutral, |s| s.label);
        let lang = e.language.map(|l| l.code).unwrap_or_else(|| "-".into());
        let intent = e.intent.map(|i| i.name).unwrap_or_else(|| "-".into());
        let want_intent = ex.intent.clone().unwrap_or_else(|| "-".into());
        let checks = [
            (
                "sentiment",
                ex.sentiment.as_str().to_owned(),
                sentiment.as_str().to_owned(),
            ),
            ("language", ex.lang.clone(), lang),
            ("intent", want_intent.clone(), intent.clone()),
        ];
        tally(
            report.by_language.entry(ex.lang.clone()).or_default(),
            &checks,
        );
        tally(&mut report.all, &checks);
        if ex.held_out() {
            tally(&mut report.held_out, &checks);
        }
        *report
            .sentiment_confusion
            .entry((ex.sentiment, sentiment))
            .or_default() += 1;
        if want_intent != intent {
            *report
                .intent_confusion
                .entry((want_intent, intent))
                .or_default() += 1;
        }
        if !ex.held_out() {
            for (what, want, got) in checks {
                if want != got {
                    report.misses.push((ex.id, what, want, got));
                }
            }
        }
    }
    report
}

fn tally(scores: &mut Scores, checks: &[(&str, String, String); 3]) {
    scores.sentiment.add(checks[0].1 == checks[0].2);
    scores.language.add(checks[1].1 == checks[1].2);
    scores.intent.add(checks[2].1 == checks[2].2);
}
