//! What enrichment learns from one message: its sentiment, language and
//! intent, and the attribute names routing rules and the desk read them by.

use std::collections::BTreeMap;
use std::fmt;

/// The result of enriching one message. Each part is absent when it is
/// switched off in `[enrichment]` or could not be told from the text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Enrichment {
    /// How the customer feels, from the words they use.
    pub sentiment: Option<Sentiment>,
    /// The language the message is written in.
    pub language: Option<Language>,
    /// What the customer wants, from the first intent rule that matched.
    pub intent: Option<Intent>,
}

/// A message's sentiment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sentiment {
    /// From -1 (very negative) to 1 (very positive); 0 is neutral.
    pub score: f32,
    /// The score in three classes.
    pub label: SentimentLabel,
}

/// A sentiment in three classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SentimentLabel {
    /// Unhappy, angry, disappointed.
    Negative,
    /// Neither: a question, a fact, a request.
    Neutral,
    /// Happy, thankful, satisfied.
    Positive,
}

impl SentimentLabel {
    /// Scores at or below `-THRESHOLD` are negative, at or above it positive.
    pub const THRESHOLD: f32 = 0.05;

    /// The label of a score.
    pub fn of(score: f32) -> Self {
        if score >= Self::THRESHOLD {
            Self::Positive
        } else if score <= -Self::THRESHOLD {
            Self::Negative
        } else {
            Self::Neutral
        }
    }

    /// The lowercase name: `negative`, `neutral` or `positive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Negative => "negative",
            Self::Neutral => "neutral",
            Self::Positive => "positive",
        }
    }

    /// Parses a lowercase name as written by [`SentimentLabel::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "negative" => Some(Self::Negative),
            "neutral" => Some(Self::Neutral),
            "positive" => Some(Self::Positive),
            _ => None,
        }
    }
}

impl fmt::Display for SentimentLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message's language.
#[derive(Debug, Clone, PartialEq)]
pub struct Language {
    /// ISO 639-1 code, e.g. `en`.
    pub code: String,
    /// From 0 to 1: how sure the detection is.
    pub confidence: f32,
}

/// A message's intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The intent rule's name, e.g. `refund`.
    pub name: String,
    /// What matched, for the explanation: `keyword "money back"` or
    /// `pattern '\bcharged twice\b'`.
    pub rule: String,
}

impl Enrichment {
    /// The attributes routing rules and the desk use: `intent`,
    /// `sentiment` (the score with two decimals), `sentiment_label` and
    /// `lang`; a part that is absent gives no attribute.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(intent) = &self.intent {
            out.insert("intent".to_owned(), intent.name.clone());
        }
        if let Some(s) = &self.sentiment {
            out.insert("sentiment".to_owned(), format!("{:.2}", s.score));
            out.insert("sentiment_label".to_owned(), s.label.as_str().to_owned());
        }
        if let Some(l) = &self.language {
            out.insert("lang".to_owned(), l.code.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_name_every_present_part() {
        let e = Enrichment {
            sentiment: Some(Sentiment {
                score: -0.8251,
                label: SentimentLabel::Negative,
            }),
            language: Some(Language {
                code: "fr".into(),
                confidence: 0.9,
            }),
            intent: Some(Intent {
                name: "refund".into(),
                rule: "keyword \"remboursement\"".into(),
            }),
        };
        let a = e.attributes();
        assert_eq!(a.get("intent").map(String::as_str), Some("refund"));
        assert_eq!(a.get("sentiment").map(String::as_str), Some("-0.83"));
        assert_eq!(
            a.get("sentiment_label").map(String::as_str),
            Some("negative")
        );
        assert_eq!(a.get("lang").map(String::as_str), Some("fr"));
        assert_eq!(a.len(), 4);
    }

    #[test]
    fn absent_parts_give_no_attribute() {
        assert!(Enrichment::default().attributes().is_empty());
    }

    #[test]
    fn labels_split_at_the_threshold() {
        assert_eq!(SentimentLabel::of(0.05), SentimentLabel::Positive);
        assert_eq!(SentimentLabel::of(0.049), SentimentLabel::Neutral);
        assert_eq!(SentimentLabel::of(-0.05), SentimentLabel::Negative);
        for l in [
            SentimentLabel::Negative,
            SentimentLabel::Neutral,
            SentimentLabel::Positive,
        ] {
            assert_eq!(SentimentLabel::parse(l.as_str()), Some(l));
        }
    }
}
