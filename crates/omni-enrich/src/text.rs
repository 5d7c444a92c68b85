//! Folding and words: the one way every part of the enricher reads text.
//!
//! Folding lowercases and removes accents (`Rückerstattung` and
//! `ruckerstattung` fold alike; `ß` folds to `ss`), so keywords and lexicon
//! entries match whether or not the customer typed accents. Accents are
//! removed from precomposed Latin letters by a table and combining marks
//! are dropped; other scripts fold to lowercase only.
//!
//! Words are runs of letters and digits; an apostrophe inside a word keeps
//! it whole (`don't`), except French elisions, which split off their
//! article or pronoun (`n'est` gives `ne`, `est`; `l'article` gives
//! `article`), and English `'s`, `'m`, `'re`, `'ve`, `'ll`, `'d`, which
//! are dropped. Emoji are words of their own.

/// `text` spelled as German is typed without umlauts (`ä` as `ae`, `ö`
/// as `oe`, `ü` as `ue`), when it has any: a keyword or lexicon entry is
/// kept in both spellings, since folding `ü` to `u` cannot meet `ue`.
pub(crate) fn umlaut_spelling(text: &str) -> Option<String> {
    if !text
        .chars()
        .any(|c| matches!(c, 'ä' | 'ö' | 'ü' | 'Ä' | 'Ö' | 'Ü'))
    {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            _ => out.push(c),
        }
    }
    Some(out)
}

/// One word of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// The folded form, used for every lookup.
    pub folded: String,
    /// Whether the customer wrote it in capitals (two letters or more).
    pub shouted: bool,
    /// Whether a clause ends right after it (`.`, `,`, `;`, `!`, `?`).
    pub clause_end: bool,
}

/// Lowercases `text` and removes its accents.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let base = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => return out.push_str("ss"),
        'œ' | 'Œ' => return out.push_str("oe"),
        'æ' | 'Æ' => return out.push_str("ae"),
        '’' | '‘' | 'ʼ' => '\'',
        // Combining accents (from decomposed input) carry no letter.
        '\u{0300}'..='\u{036f}' => return,
        _ => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push(base);
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ')
}

/// Emoji and pictographs, which carry sentiment on their own.
fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x2600..=0x27bf | 0x1f300..=0x1faff)
}

/// French articles and pronouns that elide before a vowel.
const ELISIONS: &[&str] = &[
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu",
];

/// English contractions whose tail carries no meaning for us.
const CLITICS: &[&str] = &["s", "m", "re", "ve", "ll", "d"];

/// The words of `text`, in order.
pub(crate) fn words(text: &str) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut raw = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let inner_apostrophe = is_apostrophe(c)
            && !raw.is_empty()
            && chars.peek().is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || inner_apostrophe {
            raw.push(c);
            continue;
        }
        push_word(&mut out, &raw);
        raw.clear();
        if is_emoji(c) {
            push_word(&mut out, &c.to_string());
        } else if matches!(c, '.' | ',' | ';' | '!' | '?' | ':')
            && let Some(last) = out.last_mut()
        {
            last.clause_end = true;
        }
    }
    push_word(&mut out, &raw);
    out
}

fn push_word(out: &mut Vec<Word>, raw: &str) {
    if raw.is_empty() {
        return;
    }
    let letters = raw.chars().filter(|c| c.is_alphabetic()).count();
    let shouted = letters >= 2 && !raw.chars().any(char::is_lowercase);
    let folded = fold(raw);
    let mut push = |folded: String| {
        out.push(Word {
            folded,
            shouted,
            clause_end: false,
        })
    };
    if let Some((head, tail)) = folded.split_once('\'') {
        if ELISIONS.contains(&head) {
            // `n'` is the French negation `ne`; other elided words carry
            // nothing a lookup needs.
            if head == "n" {
                push("ne".to_owned());
            }
            push(tail.to_owned());
            return;
        }
        if CLITICS.contains(&tail) {
            push(head.to_owned());
            return;
        }
    }
    push(folded);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str) -> Vec<String> {
        words(text).into_iter().map(|w| w.folded).collect()
    }

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(
            fold("Rückerstattung GRÖSSE Straße"),
            "ruckerstattung grosse strasse"
        );
        assert_eq!(fold("Dévolution"), "devolution");
        assert_eq!(fold("e\u{0301}te\u{0301}"), "ete");
    }

    #[test]
    fn umlauts_have_a_typed_spelling() {
        assert_eq!(
            umlaut_spelling("kündigen Größe").as_deref(),
            Some("kuendigen Groeße")
        );
        assert_eq!(umlaut_spelling("Rechnung"), None);
    }

    #[test]
    fn words_split_elisions_and_keep_negations() {
        assert_eq!(
            folded("Ce n'est pas l'article"),
            ["ce", "ne", "est", "pas", "article"]
        );
        assert_eq!(
            folded("I don't think it's OK"),
            ["i", "don't", "think", "it", "ok"]
        );
        assert_eq!(folded("c’est génial 😡!"), ["est", "genial", "😡"]);
    }

    #[test]
    fn words_note_capitals_and_clause_ends() {
        let w = words("This is WRONG, fix it");
        assert!(w[2].shouted && !w[0].shouted);
        assert!(w[2].clause_end && !w[1].clause_end);
    }
}
