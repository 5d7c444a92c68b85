//! A sentiment lexicon: one language's words with their valence and its
//! function words (negations, intensifiers, softeners, contrasts), read
//! from a text file compiled into the crate.
//!
//! ```text
//! # a comment
//! @negate not no never        # flips the valence of what follows
//! @boost very really          # intensifies what follows
//! @damp slightly a bit        # softens what follows (one word each)
//! @but but however            # what follows outweighs what precedes
//! @negate-after               # a negation may also follow (German)
//! @ironic great wonderful      # ironic when they open a complaint
//! @suffixes en e s            # endings tried off a word not found
//! great 3.1                   # a word or phrase and its valence, -4..4
//! enttäusch* -2.0             # `*`: any word that begins so
//! ```

use std::collections::{HashMap, HashSet};

use crate::text;

/// How much an intensifier adds to (a softener takes from) a valence.
const BOOST: f32 = 0.293;

/// One language's lexicon.
#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    words: HashMap<String, f32>,
    /// Phrases of several words, longest first.
    phrases: Vec<(Vec<String>, f32)>,
    prefixes: Vec<(String, f32)>,
    negators: HashSet<String>,
    boosters: HashMap<String, f32>,
    contrasts: HashSet<String>,
    ironic: HashSet<String>,
    /// Inflection endings, longest first.
    suffixes: Vec<String>,
    /// Whether a negation may follow the word it negates (`gefällt mir
    /// nicht`).
    pub negate_after: bool,
}

impl Lexicon {
    /// Reads a lexicon file; the second value lists the lines that could
    /// not be read (a test keeps it empty for the shipped lexicons).
    pub(crate) fn parse(source: &str) -> (Self, Vec<String>) {
        let mut lex = Self::default();
        let mut bad = Vec::new();
        for line in source.lines() {
            let line = line.split(" #").next().unwrap_or_default().trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(directive) = line.strip_prefix('@') {
                let (name, rest) = directive.split_once(' ').unwrap_or((directive, ""));
                let entries = rest.split_whitespace().map(text::fold);
                match name {
                    "negate" => lex.negators.extend(entries),
                    "boost" => lex.boosters.extend(entries.map(|w| (w, BOOST))),
                    "damp" => lex.boosters.extend(entries.map(|w| (w, -BOOST))),
                    "but" => lex.contrasts.extend(entries),
                    "negate-after" => lex.negate_after = true,
                    "ironic" => lex.ironic.extend(entries),
                    "suffixes" => lex.suffixes.extend(entries),
                    _ => bad.push(line.to_owned()),
                }
                continue;
            }
            let Some((entry, value)) = line.rsplit_once(char::is_whitespace) else {
                bad.push(line.to_owned());
                continue;
            };
            let Ok(value) = value.parse::<f32>() else {
                bad.push(line.to_owned());
                continue;
            };
            let entry = entry.trim();
            let typed = text::umlaut_spelling(entry);
            for entry in std::iter::once(entry).chain(typed.as_deref()) {
                if !lex.add(entry, value) {
                    bad.push(line.to_owned());
                }
            }
        }
        lex.phrases
            .sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        (lex, bad)
    }

    /// Adds a word, phrase or `prefix*` with its valence; false when the
    /// entry has no word.
    fn add(&mut self, entry: &str, value: f32) -> bool {
        if let Some(prefix) = entry.strip_suffix('*') {
            self.prefixes.push((text::fold(prefix), value));
            return true;
        }
        let mut words: Vec<String> = text::words(entry).into_iter().map(|w| w.folded).collect();
        match words.len() {
            0 => false,
            1 => {
                self.words.extend(words.pop().map(|w| (w, value)));
                true
            }
            _ => {
                self.phrases.push((words, value));
                true
            }
        }
    }

    /// The valence of the word or phrase starting at `words[0]`, and how
    /// many words it spans.
    pub(crate) fn valence(&self, words: &[text::Word]) -> Option<(f32, usize)> {
        for (phrase, v) in &self.phrases {
            if phrase.len() <= words.len() && phrase.iter().zip(words).all(|(p, w)| *p == w.folded)
            {
                return Some((*v, phrase.len()));
            }
        }
        let first = &words.first()?.folded;
        if let Some(v) = self.words.get(first) {
            return Some((*v, 1));
        }
        // An inflected form of a listed word (`miserablen`, `toller`),
        // keeping a stem of three letters at least.
        for suffix in &self.suffixes {
            if let Some(stem) = first.strip_suffix(suffix.as_str())
                && stem.chars().count() >= 3
                && let Some(v) = self.words.get(stem)
            {
                return Some((*v, 1));
            }
        }
        self.prefixes
            .iter()
            .find(|(p, _)| first.starts_with(p.as_str()))
            .map(|(_, v)| (*v, 1))
    }

    /// Whether `word` negates.
    pub(crate) fn negates(&self, word: &str) -> bool {
        self.negators.contains(word) || word.ends_with("n't")
    }

    /// What `word` adds to a valence's size (negative for a softener).
    pub(crate) fn boost(&self, word: &str) -> Option<f32> {
        self.boosters.get(word).copied()
    }

    /// Whether `word` turns a sentence (`but`).
    pub(crate) fn contrasts(&self, word: &str) -> bool {
        self.contrasts.contains(word)
    }

    /// Whether `word` is praise that turns ironic when it opens a
    /// complaint (`Great, late again`).
    pub(crate) fn ironic(&self, word: &str) -> bool {
        self.ironic.contains(word)
    }

    /// Adds every entry of `other` that this lexicon lacks, but not its
    /// inflection endings.
    pub(crate) fn merge(&mut self, other: &Lexicon) {
        for (w, v) in &other.words {
            self.words.entry(w.clone()).or_insert(*v);
        }
        self.phrases.extend(other.phrases.iter().cloned());
        self.phrases
            .sort_by_key(|(words, _)| std::cmp::Reverse(words.len()));
        self.prefixes.extend(other.prefixes.iter().cloned());
        self.negators.extend(other.negators.iter().cloned());
        for (w, v) in &other.boosters {
            self.boosters.entry(w.clone()).or_insert(*v);
        }
        self.contrasts.extend(other.contrasts.iter().cloned());
        self.ironic.extend(other.ironic.iter().cloned());
        // Endings stay with their language: German `-n` taken off a French
        // `lien` would find the English `lie`.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_phrases_prefixes_and_directives() {
        let (lex, bad) = Lexicon::parse(
            "# c\n@negate not nie\n@boost very\n@damp slightly\n@but but\n@negate-after\n@ironic good\n@suffixes e en\ngood 1.9\nmoney back -0.5\nenttäusch* -2.0\nbroken\nbad x\nmies -2\n",
        );
        assert_eq!(bad, ["broken", "bad x"]);
        let w = text::words("money back good enttäuscht");
        assert_eq!(lex.valence(&w), Some((-0.5, 2)));
        assert_eq!(lex.valence(&w[2..]), Some((1.9, 1)));
        assert_eq!(lex.valence(&w[3..]), Some((-2.0, 1)));
        assert_eq!(lex.valence(&w[1..]), None);
        assert!(lex.negates("nie") && lex.negates("isn't") && !lex.negates("good"));
        assert_eq!(lex.boost("slightly"), Some(-BOOST));
        assert!(lex.contrasts("but") && lex.negate_after && lex.ironic("good"));
        let (lex2, _) = Lexicon::parse("enttäusch* -2.0\närgerlich -2\n");
        assert_eq!(lex2.valence(&text::words("enttaeuscht")), Some((-2.0, 1)));
        assert_eq!(lex2.valence(&text::words("aergerlich")), Some((-2.0, 1)));
        let w = text::words("miesen mien");
        assert_eq!(lex.valence(&w), Some((-2.0, 1)));
        assert_eq!(lex.valence(&w[1..]), None);
    }
}
