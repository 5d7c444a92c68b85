//! The FAQ file: questions and answers in TOML (docs/bots.md has the
//! format), read and checked once, with errors that name the line.
//!
//! ```toml
//! language = "en"     # of entries that do not say; default "en"
//! threshold = 0.5     # the score a match needs (see `matching`)
//!
//! [greetings.en]
//! text = "Hello! Ask me a question, or pick one:"
//! options = ["Opening hours", "Returns"]
//!
//! [texts.en]          # optional: the bot's own phrases (see `texts`)
//! person_option = "Talk to a person"
//!
//! [[entries]]
//! id = "opening_hours"
//! questions = ["What are your opening hours?", "When are you open?"]
//! keywords = ["hours", "open", "close"]
//! answer = "We are open Monday to Friday, 9:00 to 18:00."
//! options = ["Returns"]   # optional quick replies with the answer
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::matching::{DEFAULT_THRESHOLD, Matchable};
use super::texts::{self, Texts, TextsToml};

/// Why a FAQ file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FaqError {
    /// It cannot be read.
    #[error("cannot read the FAQ file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a valid FAQ file; the message names the line.
    #[error("invalid FAQ file {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where (`line N: ...`).
        message: String,
    },
}

/// A greeting: what the bot says first, and the options it offers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Greeting {
    /// The text.
    pub text: String,
    /// Quick-reply options (the person option is added after them).
    #[serde(default)]
    pub options: Vec<String>,
}

/// One question and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Stable id, unique in its language (the same question in two
    /// languages may share it); the handoff's intent when it is the
    /// closest guess.
    pub id: String,
    /// The language it is written in.
    pub language: String,
    /// The answer.
    pub answer: String,
    /// Quick-reply options sent with the answer.
    pub options: Vec<String>,
    /// Its words, for matching.
    pub matchable: Matchable,
}

/// A FAQ file, checked.
#[derive(Debug, Clone)]
pub struct Faq {
    /// The language of entries that do not say, and of turns that do not.
    pub language: String,
    /// The score a match needs.
    pub threshold: f64,
    /// Greetings by language.
    pub greetings: BTreeMap<String, Greeting>,
    /// The bot's own phrases by language (built in, then the file's).
    pub texts: BTreeMap<String, Texts>,
    /// The entries, in file order.
    pub entries: Vec<Entry>,
    english: Texts,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqToml {
    #[serde(default = "default_language")]
    language: String,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    greetings: BTreeMap<String, Greeting>,
    #[serde(default)]
    texts: BTreeMap<String, TextsToml>,
    #[serde(default)]
    entries: Vec<EntryToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryToml {
    id: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    questions: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    answer: String,
    #[serde(default)]
    options: Vec<String>,
}

fn default_language() -> String {
    "en".to_owned()
}

impl Faq {
    /// Reads and checks the FAQ file at `path`.
    pub fn load(path: &Path) -> Result<Faq, FaqError> {
        let text = std::fs::read_to_string(path).map_err(|source| FaqError::Read {
            path: path.to_owned(),
            source,
        })?;
        Faq::parse(&text).map_err(|message| FaqError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses and checks FAQ text; the error names the line.
    pub fn parse(text: &str) -> Result<Faq, String> {
        let file: FaqToml = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(line) => format!("line {line}: {}", e.message().trim_end()),
                None => e.message().trim_end().to_owned(),
            }
        })?;
        let threshold = file.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(format!(
                "line {}: threshold {threshold} is outside (0, 1]",
                line_of(text, "threshold", 0)
            ));
        }
        if file.entries.is_empty() {
            return Err("no [[entries]]: give at least one question and its answer".into());
        }
        for (language, greeting) in &file.greetings {
            if greeting.text.trim().is_empty() {
                return Err(format!(
                    "line {}: greetings.{language}: the text is empty",
                    line_of(text, &format!("[greetings.{language}]"), 0)
                ));
            }
        }
        let mut ids = HashSet::new();
        let mut entries = Vec::with_capacity(file.entries.len());
        for (n, entry) in file.entries.into_iter().enumerate() {
            let at = |what: &str| {
                format!(
                    "line {}: entry {:?}: {what}",
                    line_of(text, "[[entries]]", n),
                    entry.id
                )
            };
            if entry.id.trim().is_empty() {
                return Err(at("the id is empty"));
            }
            let language = entry
                .language
                .clone()
                .unwrap_or_else(|| file.language.clone());
            if !ids.insert((language.clone(), entry.id.clone())) {
                return Err(at(
                    "the id is used by an earlier entry in the same language",
                ));
            }
            if entry.answer.trim().is_empty() {
                return Err(at("the answer is empty"));
            }
            let matchable = Matchable::new(&entry.questions, &entry.keywords, &language);
            if matchable.phrasings.is_empty() && matchable.keywords.is_empty() {
                return Err(at(
                    "give questions or keywords with words that matter (not only stop words)",
                ));
            }
            entries.push(Entry {
                id: entry.id,
                language,
                answer: entry.answer,
                options: entry.options,
                matchable,
            });
        }
        let mut texts: BTreeMap<String, Texts> = ["en", "es", "fr", "de"]
            .into_iter()
            .filter_map(|l| texts::built_in(l).map(|t| (l.to_owned(), t)))
            .collect();
        for (language, own) in file.texts {
            let base = texts.get(&language).cloned().unwrap_or_else(texts::english);
            texts.insert(language, own.over(base));
        }
        let english = texts.get("en").cloned().unwrap_or_else(texts::english);
        Ok(Faq {
            language: file.language,
            threshold,
            greetings: file.greetings,
            texts,
            english,
            entries,
        })
    }

    /// The phrases for `language`, else the file's language, else English.
    pub fn texts(&self, language: &str) -> &Texts {
        self.texts
            .get(language)
            .or_else(|| self.texts.get(&self.language))
            .unwrap_or(&self.english)
    }
}

/// The line of the `n`th (from 0) line of `text` that starts with `start`
/// (trimmed); the last line when there is none.
fn line_of(text: &str, start: &str, n: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(start))
        .nth(n)
        .map_or_else(|| text.lines().count().max(1), |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
language = "en"

[greetings.es]
text = "¡Hola!"
options = ["Horario"]

[texts.es]
person_option = "Quiero hablar con alguien"

[[entries]]
id = "hours"
questions = ["When are you open?"]
answer = "9 to 5."

[[entries]]
id = "horario"
language = "es"
keywords = ["horario"]
answer = "De 9 a 17."
"#;

    #[test]
    fn a_good_file_reads_with_its_languages_and_phrases() {
        let faq = Faq::parse(GOOD).unwrap();
        assert_eq!(faq.entries.len(), 2);
        assert_eq!(faq.entries[1].language, "es");
        assert_eq!(faq.threshold, DEFAULT_THRESHOLD);
        assert_eq!(faq.texts("es").person_option, "Quiero hablar con alguien");
        // The rest of es stays built in; an unknown language falls back.
        assert_eq!(
            faq.texts("es").invalid,
            texts::built_in("es").unwrap().invalid
        );
        assert_eq!(faq.texts("xx").person_option, "Talk to a person");
        assert_eq!(faq.greetings["es"].options, ["Horario"]);
    }

    #[test]
    fn errors_name_the_line() {
        for (text, want) in [
            ("[[entries]]\nid = \"a\"\nanswer = 3\n", "line 3:"),
            (
                "[[entries]]\nid = \"a\"\n",
                "line 1: missing field `answer`",
            ),
            (
                "[[entries]]\nid = \"a\"\nanswer = \"x\"\nwhat = 1\n",
                "line 4:",
            ),
            (
                "[[entries]]\nid = \"a\"\nquestions = [\"q\"]\nanswer = \"x\"\n\n[[entries]]\nid = \"a\"\nquestions = [\"r\"]\nanswer = \"y\"\n",
                "line 6: entry \"a\": the id is used by an earlier entry",
            ),
            (
                "[[entries]]\nid = \"a\"\nquestions = [\"what is it?\"]\nanswer = \"x\"\n",
                "line 1: entry \"a\": give questions or keywords",
            ),
            (
                "threshold = 2.0\n[[entries]]\nid = \"a\"\nkeywords = [\"k\"]\nanswer = \"x\"\n",
                "line 1: threshold 2",
            ),
            ("language = \"en\"\n", "no [[entries]]"),
            (
                "[[entries]]\nid = \"a\"\nkeywords = [\"k\"]\nanswer = \" \"\n",
                "the answer is empty",
            ),
        ] {
            let err = Faq::parse(text).expect_err(want);
            assert!(err.contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn the_sample_faq_file_reads() {
        let faq = Faq::parse(include_str!("../../../../config/faq.toml")).unwrap();
        assert!(faq.entries.iter().any(|e| e.language == "es"));
        assert!(faq.greetings.contains_key("es"));
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = Faq::load(Path::new("/nonexistent/faq.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read the FAQ file /nonexistent/faq.toml"),
            "{err}"
        );
    }
}
