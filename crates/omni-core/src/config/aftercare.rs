//! After service: a queue's survey (`[queues.survey]`) and follow-up
//! (`[queues.followup]`), sent on the customer's channel within
//! `[context] sending_hours` (docs/surveys.md).
//!
//! ```toml
//! [[queues]]
//! id = "support"
//! survey = { kind = "csat", comment = true, prompt = { en = "How did we do? 1-5" } }
//! followup = { after_days = 3, template = { en = "Checking in: is all well?" } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which scale a survey asks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SurveyKind {
    /// Customer satisfaction, 1-5; satisfied is 4 or 5.
    Csat,
    /// Net promoter score, 0-10: promoters 9-10, detractors 0-6.
    Nps,
    /// Customer effort score, 1-7.
    Ces,
}

impl SurveyKind {
    /// `csat`, `nps` or `ces`.
    pub fn as_str(self) -> &'static str {
        match self {
            SurveyKind::Csat => "csat",
            SurveyKind::Nps => "nps",
            SurveyKind::Ces => "ces",
        }
    }

    /// The lowest and highest valid score.
    pub fn range(self) -> (u8, u8) {
        match self {
            SurveyKind::Csat => (1, 5),
            SurveyKind::Nps => (0, 10),
            SurveyKind::Ces => (1, 7),
        }
    }

    /// The default question, in English.
    pub fn default_prompt(self) -> &'static str {
        match self {
            SurveyKind::Csat => {
                "How satisfied were you with our help? Reply 1 (poor) to 5 (great)."
            }
            SurveyKind::Nps => {
                "How likely are you to recommend us to a friend? Reply 0 (not at all) to 10 (very)."
            }
            SurveyKind::Ces => {
                "How easy was it to get your issue solved? Reply 1 (very hard) to 7 (very easy)."
            }
        }
    }
}

/// A queue's survey after service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyConfig {
    /// The scale.
    pub kind: SurveyKind,
    /// Whether a comment after the score is kept. Default false.
    #[serde(default)]
    pub comment: bool,
    /// The question per language (ISO 639-1; `en` is the fallback);
    /// absent: a built-in English one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompt: BTreeMap<String, String>,
    /// The thanks for an answer per language; absent: "Thank you for your
    /// feedback!".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thanks: BTreeMap<String, String>,
    /// At most one survey per customer per this many days. Default 30.
    #[serde(default = "default_min_days")]
    pub min_days_between: u32,
}

fn default_min_days() -> u32 {
    30
}

/// A queue's proactive follow-up after resolve.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FollowupConfig {
    /// Days after resolve; 0: only when the agent sets a date at resolve.
    #[serde(default)]
    pub after_days: u32,
    /// The message per language (ISO 639-1; `en` is the fallback);
    /// absent: "We are checking in: is everything all right?".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub template: BTreeMap<String, String>,
}

/// The text for `language` from a per-language map: that language, else
/// `en`, else any, else `fallback`.
pub fn localized<'a>(
    texts: &'a BTreeMap<String, String>,
    language: Option<&str>,
    fallback: &'a str,
) -> &'a str {
    language
        .and_then(|l| texts.get(l))
        .or_else(|| texts.get("en"))
        .or_else(|| texts.values().next())
        .map_or(fallback, String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localized_falls_back_to_english_then_any() {
        let mut texts = BTreeMap::new();
        assert_eq!(localized(&texts, Some("fr"), "x"), "x");
        texts.insert("de".to_owned(), "Wie war es?".to_owned());
        assert_eq!(localized(&texts, Some("fr"), "x"), "Wie war es?");
        texts.insert("en".to_owned(), "How was it?".to_owned());
        assert_eq!(localized(&texts, Some("fr"), "x"), "How was it?");
        assert_eq!(localized(&texts, Some("de"), "x"), "Wie war es?");
    }

    #[test]
    fn survey_defaults() {
        let s: SurveyConfig = toml::from_str("kind = \"nps\"").unwrap();
        assert_eq!(
            (s.kind.range(), s.comment, s.min_days_between),
            ((0, 10), false, 30)
        );
        assert!(toml::from_str::<SurveyConfig>("kind = \"stars\"").is_err());
    }
}
