//! SMS segment accounting (3GPP TS 23.038 / 23.040).
//!
//! A text that fits the GSM 7-bit default alphabet and its extension table
//! is sent in GSM-7: a basic character takes one septet, an extension
//! character (`€ [ ] { } \ ^ ~ |` and form feed) two (escape + code). One
//! segment holds 160 septets; a concatenated message carries a 7-octet user
//! data header, leaving 153 septets per segment. Any other character makes
//! the whole text UCS-2 (UTF-16 code units): 70 units alone, 67 per
//! concatenated segment.
//!
//! Segments are cut between characters, so an escape pair or a surrogate
//! pair is never split across two segments, which is what handsets do and
//! why a segment may hold one unit less than the maximum.

/// How a text is encoded on the air interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GSM 03.38 default alphabet with its extension table.
    Gsm7,
    /// UTF-16 code units.
    Ucs2,
}

impl Encoding {
    /// Units (septets or UTF-16 code units) in a message of one segment.
    pub fn single_limit(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Units in each segment of a concatenated message.
    pub fn concatenated_limit(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }

    /// Units `c` takes in this encoding; `None` when GSM-7 cannot carry it.
    pub fn units(self, c: char) -> Option<usize> {
        match self {
            Encoding::Gsm7 => gsm7_septets(c),
            Encoding::Ucs2 => Some(c.len_utf16()),
        }
    }
}

/// The accounting of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// The encoding the text needs.
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text.
    pub units: usize,
    /// Segments it is sent in; an empty text is one segment.
    pub count: usize,
}

/// The GSM 03.38 default alphabet, in code order (0x1B, the escape to the
/// extension table, is not a character and is left out).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Characters of the extension table: escape + code, two septets each.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// Septets `c` takes in GSM-7, or `None` when it is not in the alphabet.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding `text` needs: GSM-7 when every character is in the
/// alphabet, else UCS-2.
pub fn encoding(text: &str) -> Encoding {
    if text.chars().all(|c| gsm7_septets(c).is_some()) {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    }
}

/// Counts the segments `text` is sent in.
pub fn count(text: &str) -> Segments {
    let encoding = encoding(text);
    let units = units_of(encoding, text);
    let count = if units <= encoding.single_limit() {
        1
    } else {
        split_with(encoding, text).len()
    };
    Segments {
        encoding,
        units,
        count,
    }
}

/// Splits `text` into the parts each segment carries: the whole text when
/// it fits one segment, else greedy parts of at most the concatenated
/// limit, cut only between characters.
pub fn split(text: &str) -> Vec<&str> {
    let encoding = encoding(text);
    if units_of(encoding, text) <= encoding.single_limit() {
        return vec![text];
    }
    split_with(encoding, text)
}

fn units_of(encoding: Encoding, text: &str) -> usize {
    text.chars().map(|c| encoding.units(c).unwrap_or(2)).sum()
}

fn split_with(encoding: Encoding, text: &str) -> Vec<&str> {
    let limit = encoding.concatenated_limit();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (at, c) in text.char_indices() {
        let cost = encoding.units(c).unwrap_or(2);
        if used + cost > limit {
            parts.push(&text[start..at]);
            start = at;
            used = 0;
        }
        used += cost;
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alphabet_tables_have_the_standard_sizes() {
        // 128 codes minus the escape; 10 extension characters in common use.
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
    }

    #[test]
    fn gsm7_single_segment_holds_160_septets() {
        assert_eq!(count(&"a".repeat(160)).count, 1);
        let two = count(&"a".repeat(161));
        assert_eq!(
            (two.encoding, two.units, two.count),
            (Encoding::Gsm7, 161, 2)
        );
        assert_eq!(count(&"a".repeat(306)).count, 2);
        assert_eq!(count(&"a".repeat(307)).count, 3);
        assert_eq!(count("").count, 1);
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let euro = count(&"€".repeat(80));
        assert_eq!(
            (euro.encoding, euro.units, euro.count),
            (Encoding::Gsm7, 160, 1)
        );
        assert_eq!(count(&"€".repeat(81)).count, 2);
        assert_eq!(count("{[]}").units, 8);
    }

    #[test]
    fn escape_pair_is_never_split() {
        // 152 single septets then '€': 154 septets in the first part would
        // exceed 153, so '€' moves whole to the second segment.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        let parts = split(&text);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], "a".repeat(152));
        assert!(parts[1].starts_with('€'));
    }

    #[test]
    fn ucs2_holds_70_then_67() {
        let one = count(&"é".repeat(69));
        assert_eq!(one.encoding, Encoding::Gsm7, "é is in the GSM alphabet");
        let text = "ж".repeat(70);
        assert_eq!(count(&text).encoding, Encoding::Ucs2);
        assert_eq!(count(&text).count, 1);
        assert_eq!(count(&"ж".repeat(71)).count, 2);
        assert_eq!(count(&"ж".repeat(134)).count, 2);
        assert_eq!(count(&"ж".repeat(135)).count, 3);
        // One character outside the alphabet turns the whole text UCS-2.
        assert_eq!(count(&format!("{}ж", "a".repeat(100))).count, 2);
    }

    #[test]
    fn surrogate_pair_is_never_split() {
        // 66 units then an emoji (2 units): the emoji cannot fit in 67.
        let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(10));
        let parts = split(&text);
        assert_eq!(parts[0].encode_utf16().count(), 66);
        assert!(parts[1].starts_with('😀'));
        assert_eq!(count("😀").units, 2);
    }

    fn sms_text() -> impl Strategy<Value = String> {
        let chars = prop_oneof![
            4 => proptest::char::ranges(vec!['a'..='z', ' '..='?'].into()),
            1 => proptest::sample::select(GSM7_EXTENSION.chars().collect::<Vec<_>>()),
            1 => proptest::sample::select(vec!['ж', 'é', '😀', '中', 'Ω']),
        ];
        proptest::collection::vec(chars, 0..700).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn parts_rebuild_the_text_and_respect_limits(text in sms_text()) {
            let parts = split(&text);
            let segments = count(&text);
            prop_assert_eq!(parts.concat(), text.clone());
            prop_assert_eq!(parts.len(), segments.count);
            let limit = if parts.len() == 1 {
                segments.encoding.single_limit()
            } else {
                segments.encoding.concatenated_limit()
            };
            for part in &parts {
                let units: usize = part
                    .chars()
                    .map(|c| segments.encoding.units(c).unwrap_or(usize::MAX))
                    .sum();
                prop_assert!(units <= limit, "{} units > {}", units, limit);
                prop_assert!(!part.is_empty() || text.is_empty());
            }
            // Greedy: each part but the last could not take the next character.
            for pair in parts.windows(2) {
                let used: usize = pair[0].chars().map(|c| segments.encoding.units(c).unwrap_or(0)).sum();
                let next = pair[1].chars().next().and_then(|c| segments.encoding.units(c)).unwrap_or(0);
                prop_assert!(used + next > limit);
            }
        }

        #[test]
        fn gsm7_count_matches_the_formula_for_single_septets(n in 0usize..2000) {
            let expected = if n <= 160 { 1 } else { n.div_ceil(153) };
            prop_assert_eq!(count(&"x".repeat(n)).count, expected);
        }
    }
}
