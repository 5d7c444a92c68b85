//! Intent rules: `[[enrichment.intents]]` compiled once, tried in order;
//! the first rule that matches names the message's intent.
//!
//! A keyword matches whole words of the folded text (lowercase, accents
//! removed), so `reembolso` matches "REEMBOLSO" and "réembolso" but not
//! "reembolsos"; a word ending in `*` matches any word it begins
//! (`rückerstatt*` matches "Rückerstattung"), which serves inflected
//! languages. A keyword with `ä`, `ö` or `ü` also matches them typed as
//! `ae`, `oe`, `ue`. A keyword of several words matches them in sequence. A
//! pattern (Rust `regex` syntax, case-insensitive) is tried on the text as
//! written and on its folded form, so a pattern written without accents
//! matches accented text too. A rule with a `language` applies only to
//! messages in that language.

use omni_core::config::IntentRuleConfig;
use regex::{Regex, RegexBuilder};

use crate::text::{self, Word};
use crate::{EnrichError, Intent};

/// One word of a keyword.
#[derive(Debug)]
struct KeyWord {
    folded: String,
    prefix: bool,
}

impl KeyWord {
    fn matches(&self, word: &str) -> bool {
        if self.prefix {
            word.starts_with(&self.folded)
        } else {
            word == self.folded
        }
    }
}

#[derive(Debug)]
struct Keyword {
    written: String,
    /// The keyword's words as written, and as typed without umlauts.
    spellings: Vec<Vec<KeyWord>>,
}

impl Keyword {
    fn matches(&self, words: &[Word]) -> bool {
        self.spellings.iter().any(|spelling| {
            let n = spelling.len();
            n <= words.len()
                && words
                    .windows(n)
                    .any(|w| w.iter().zip(spelling).all(|(w, k)| k.matches(&w.folded)))
        })
    }
}

/// The words of a keyword; a word ending in `*` is a prefix.
fn keyword_words(keyword: &str) -> Vec<KeyWord> {
    keyword
        .split_whitespace()
        .flat_map(|part| {
            let prefix = part.ends_with('*');
            let part = part.trim_end_matches('*');
            let mut ws: Vec<KeyWord> = text::words(part)
                .into_iter()
                .map(|w| KeyWord {
                    folded: w.folded,
                    prefix: false,
                })
                .collect();
            if let Some(last) = ws.last_mut() {
                last.prefix = prefix;
            }
            ws
        })
        .collect()
}

#[derive(Debug)]
struct Rule {
    name: String,
    language: Option<String>,
    keywords: Vec<Keyword>,
    patterns: Vec<(String, Regex)>,
}

/// The compiled intent rules.
#[derive(Debug, Default)]
pub(crate) struct IntentRules {
    rules: Vec<Rule>,
}

impl IntentRules {
    /// Compiles `configs`; an error names the rule at fault.
    pub(crate) fn compile(configs: &[IntentRuleConfig]) -> Result<Self, EnrichError> {
        let rules = configs
            .iter()
            .enumerate()
            .map(|(index, c)| compile_rule(index, c))
            .collect::<Result<_, _>>()?;
        Ok(Self { rules })
    }

    /// The intent of a message: its `words`, its `text` as written and
    /// folded, in `language` (absent: unknown, and then only rules without
    /// a language apply).
    pub(crate) fn find(
        &self,
        words: &[Word],
        text: &str,
        folded: &str,
        language: Option<&str>,
    ) -> Option<Intent> {
        self.rules
            .iter()
            .filter(|r| r.language.is_none() || r.language.as_deref() == language)
            .find_map(|r| {
                let matched = r
                    .keywords
                    .iter()
                    .find(|k| k.matches(words))
                    .map(|k| format!("keyword {:?}", k.written))
                    .or_else(|| {
                        r.patterns
                            .iter()
                            .find(|(_, re)| re.is_match(text) || re.is_match(folded))
                            .map(|(src, _)| format!("pattern '{src}'"))
                    })?;
                Some(Intent {
                    name: r.name.clone(),
                    rule: matched,
                })
            })
    }
}

fn compile_rule(index: usize, c: &IntentRuleConfig) -> Result<Rule, EnrichError> {
    let name = c.name.trim();
    if name.is_empty() {
        return Err(EnrichError::EmptyName { index });
    }
    let fail = |reason: String| EnrichError::Rule {
        index,
        name: name.to_owned(),
        reason,
    };
    if c.keywords.is_empty() && c.patterns.is_empty() {
        return Err(fail("the rule has no keywords and no patterns".into()));
    }
    let keywords = c
        .keywords
        .iter()
        .map(|k| {
            let words = keyword_words(k);
            if words.is_empty() {
                return Err(fail(format!("keyword {k:?} has no words")));
            }
            let mut spellings = vec![words];
            spellings.extend(text::umlaut_spelling(k).map(|typed| keyword_words(&typed)));
            Ok(Keyword {
                written: k.clone(),
                spellings,
            })
        })
        .collect::<Result<_, _>>()?;
    let patterns = c
        .patterns
        .iter()
        .map(|p| {
            RegexBuilder::new(p)
                .case_insensitive(true)
                .build()
                .map(|re| (p.clone(), re))
                .map_err(|e| fail(format!("invalid pattern '{p}': {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        name: name.to_owned(),
        language: c
            .language
            .as_deref()
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| !l.is_empty()),
        keywords,
        patterns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        name: &str,
        language: Option<&str>,
        keywords: &[&str],
        patterns: &[&str],
    ) -> IntentRuleConfig {
        IntentRuleConfig {
            name: name.into(),
            language: language.map(Into::into),
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn find(rules: &IntentRules, text: &str, lang: Option<&str>) -> Option<Intent> {
        rules.find(&text::words(text), text, &text::fold(text), lang)
    }

    #[test]
    fn keywords_match_whole_words_without_case_or_accents() {
        let rules =
            IntentRules::compile(&[rule("refund", None, &["reembolso", "money back"], &[])])
                .unwrap();
        let hit = find(&rules, "Quiero un RÉEMBOLSO ya", None).unwrap();
        assert_eq!(hit.name, "refund");
        assert_eq!(hit.rule, "keyword \"reembolso\"");
        assert!(find(&rules, "I want my Money  back!", None).is_some());
        assert!(find(&rules, "reembolsos", None).is_none());
        assert!(find(&rules, "money is back", None).is_none());
    }

    #[test]
    fn a_star_keyword_matches_word_beginnings() {
        let rules = IntentRules::compile(&[rule("refund", None, &["rückerstatt*"], &[])]).unwrap();
        assert!(find(&rules, "Wann kommt meine Rückerstattung?", None).is_some());
        assert!(find(&rules, "Erstattung", None).is_none());
        assert!(find(&rules, "meine Rueckerstattung", None).is_some());
    }

    #[test]
    fn patterns_match_as_written_or_folded() {
        let rules = IntentRules::compile(&[rule(
            "billing",
            None,
            &[],
            &[r"\bfactur(e|é)\b", r"cobrado dos veces"],
        )])
        .unwrap();
        assert_eq!(
            find(&rules, "Ma FACTURE est fausse", None).unwrap().rule,
            r"pattern '\bfactur(e|é)\b'"
        );
        assert!(find(&rules, "me han cobrado dos véces", None).is_some());
    }

    #[test]
    fn the_first_matching_rule_wins_and_languages_filter() {
        let rules = IntentRules::compile(&[
            rule("refund", Some("en"), &["refund"], &[]),
            rule("billing", None, &["charged", "refund"], &[]),
        ])
        .unwrap();
        assert_eq!(
            find(&rules, "charged twice, refund please", Some("en"))
                .unwrap()
                .name,
            "refund"
        );
        assert_eq!(
            find(&rules, "charged twice, refund please", Some("de"))
                .unwrap()
                .name,
            "billing"
        );
        assert_eq!(find(&rules, "refund", None).unwrap().name, "billing");
        assert!(find(&rules, "hello", Some("en")).is_none());
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        let err = IntentRules::compile(&[
            rule("ok", None, &["x"], &[]),
            rule("refund", None, &[], &["(unclosed"]),
        ])
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("enrichment.intents[1] (refund): invalid pattern '(unclosed'"),
            "{msg}"
        );
        let err = IntentRules::compile(&[rule(" ", None, &["x"], &[])]).unwrap_err();
        assert_eq!(err, EnrichError::EmptyName { index: 0 });
        let err = IntentRules::compile(&[rule("empty", None, &[], &[])]).unwrap_err();
        assert!(err.to_string().contains("enrichment.intents[0] (empty)"));
        let err = IntentRules::compile(&[rule("punct", None, &["!!"], &[])]).unwrap_err();
        assert!(err.to_string().contains("has no words"));
    }
}
