//! Separating the new text of a reply from the quoted earlier text and the
//! signature.
//!
//! A documented heuristic, line by line over the plain text:
//!
//! 1. **Reply header.** The first line that starts a quoted earlier message
//!    cuts the text there; it and everything after it is quoted:
//!    - an attribution line ending in "wrote:" or its equivalent in other
//!      languages and clients ("a écrit :", "schrieb:", "escribió:",
//!      "ha scritto:", "schreef:", "escreveu:", "skrev:", "napisał(a):",
//!      "kirjoitti:", "написал(а):", ...), or starting "On"/"Le"/"Am"/...
//!      with such a verb before the sender ("Am ... schrieb Ann <a@b>:"),
//!      also when a client wrapped it over two lines (Gmail);
//!    - Outlook's "-----Original Message-----" line (and its translations),
//!      or a line of underscores followed by a "From:" header;
//!    - an Outlook header block: a "From:" line (or "De :", "Von:", ...)
//!      followed within four lines by "Sent:"/"Date:" and "To:"/"Subject:".
//! 2. **`>` quotes.** Without a reply header, lines starting with `>` are
//!    quoted; the lines between them stay new text (inline answers).
//! 3. **Signature.** In the new text, the last `-- ` delimiter line starts
//!    the signature (the delimiter itself is dropped); otherwise a trailing
//!    mobile signature ("Sent from my iPhone", "Get Outlook for Android",
//!    "Von meinem iPhone gesendet", ...) is the signature.
//!
//! Blank lines at the edges of each part are trimmed. When nothing new is
//! left (a forward without comment, a reply in an unknown style that looks
//! all quoted), the whole text is the new text, so nothing the customer
//! wrote is hidden from the agent.

/// A reply's text in three parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// What the sender wrote now.
    pub new: String,
    /// Earlier messages quoted below (or between) it.
    pub quoted: String,
    /// The sender's signature.
    pub signature: String,
}

/// Lines ending an attribution ("On ... wrote:"), lowercase, in several languages.
const ATTRIBUTION_ENDINGS: &[&str] = &[
    "wrote:",
    "wrote :",
    "writes:",
    "a écrit :",
    "a écrit:",
    "schrieb:",
    "schrieb :",
    "escribió:",
    "escribio:",
    "scrisse:",
    "ha scritto:",
    "schreef:",
    "escreveu:",
    "skrev:",
    "skrev følgende:",
    "napisał:",
    "napisała:",
    "napisał(a):",
    "kirjoitti:",
    "írta:",
    "написал:",
    "написала:",
    "написал(а):",
    "yazdı:",
    "napsal:",
    "のメッセージ:",
    "写道：",
    "寫道：",
    "작성:",
];

/// How attribution lines begin, lowercase ("On", "Le", "Am", ...).
const ATTRIBUTION_STARTS: &[&str] = &[
    "on ", "le ", "am ", "el ", "il ", "op ", "em ", "den ", "w dniu ", "dne ",
];

/// Outlook's separator lines, lowercase, without the dashes.
const ORIGINAL_MESSAGE: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "message d'origine",
    "mensaje original",
    "messaggio originale",
    "mensagem original",
    "oorspronkelijk bericht",
    "originalmeddelande",
];

/// Header names that open an Outlook header block, lowercase.
const FROM_HEADERS: &[&str] = &["from:", "de :", "de:", "von:", "da:", "van:", "från:"];
/// Header names that follow "From:" in an Outlook header block, lowercase.
const BLOCK_HEADERS: &[&str] = &[
    "sent:",
    "date:",
    "to:",
    "subject:",
    "envoyé :",
    "envoyé:",
    "à :",
    "objet :",
    "gesendet:",
    "an:",
    "betreff:",
    "enviado:",
    "para:",
    "asunto:",
    "inviato:",
    "oggetto:",
];

/// Mobile and webmail signatures, lowercase prefixes.
const MOBILE_SIGNATURES: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent from proton mail",
    "sent with proton mail",
    "sent from the all new aol app",
    "sent via the samsung",
    "get outlook for ",
    "envoyé de mon ",
    "envoyé depuis mon ",
    "von meinem ",
    "gesendet von meinem ",
    "enviado desde mi ",
    "enviado do meu ",
    "inviato da ",
    "verzonden vanaf mijn ",
    "skickat från min ",
];

/// Splits `text` into new text, quoted text and signature.
pub fn split(text: &str) -> Split {
    let normalized = text.replace("\r\n", "\n");
    let lines: Vec<&str> = normalized.split('\n').collect();

    let (new_lines, quoted_lines): (Vec<&str>, Vec<&str>) = match reply_header(&lines) {
        Some(at) => (lines[..at].to_vec(), lines[at..].to_vec()),
        None => {
            let (quoted, new): (Vec<&str>, Vec<&str>) =
                lines.iter().partition(|l| l.trim_start().starts_with('>'));
            (new, quoted)
        }
    };

    let (body, signature) = split_signature(&new_lines);
    let new = join_trimmed(body);
    if new.is_empty() {
        return Split {
            new: join_trimmed(&lines),
            ..Split::default()
        };
    }
    Split {
        new,
        quoted: join_trimmed(&quoted_lines),
        signature: join_trimmed(signature),
    }
}

/// The index of the first line that opens a quoted earlier message.
fn reply_header(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).find(|&i| {
        is_attribution(lines[i])
            || (i + 1 < lines.len()
                && is_attribution_start(lines[i])
                && is_attribution(&format!("{} {}", lines[i].trim_end(), lines[i + 1].trim())))
            || is_original_message(lines[i])
            || (is_underscore_rule(lines[i])
                && lines
                    .get(i + 1)
                    .is_some_and(|next| starts_with_any(next, FROM_HEADERS)))
            || is_outlook_block(&lines[i..])
    })
}

fn lower(line: &str) -> String {
    line.trim().to_lowercase()
}

fn starts_with_any(line: &str, prefixes: &[&str]) -> bool {
    let l = lower(line);
    prefixes.iter().any(|p| l.starts_with(p))
}

/// "On Tue, 3 Mar 2026 at 10:00, Ann <ann@example.com> wrote:" and the like.
fn is_attribution(line: &str) -> bool {
    let l = lower(line);
    // Long lines are sentences, not attributions.
    if l.chars().count() > 300 || l.chars().count() <= 6 || l.starts_with('>') {
        return false;
    }
    if ATTRIBUTION_ENDINGS.iter().any(|e| l.ends_with(e)) {
        return true;
    }
    // "Am ... schrieb Ann <ann@example.com>:": the verb comes before the sender.
    l.ends_with(':')
        && has_attribution_start(&l)
        && ATTRIBUTION_ENDINGS
            .iter()
            .any(|e| l.contains(&format!(" {} ", e.trim_end_matches(':').trim_end())))
}

fn has_attribution_start(l: &str) -> bool {
    ATTRIBUTION_STARTS.iter().any(|p| l.starts_with(p))
}

/// The first half of an attribution a client wrapped over two lines.
fn is_attribution_start(line: &str) -> bool {
    let l = lower(line);
    has_attribution_start(&l)
        && l.chars().count() <= 200
        && !ATTRIBUTION_ENDINGS.iter().any(|e| l.ends_with(e))
}

/// "-----Original Message-----" and its translations.
fn is_original_message(line: &str) -> bool {
    let l = lower(line);
    if !l.starts_with("--") {
        return false;
    }
    let inner = l.trim_matches(|c: char| c == '-' || c.is_whitespace());
    ORIGINAL_MESSAGE.contains(&inner)
}

/// Outlook's "________________________________" separator.
fn is_underscore_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 20 && t.chars().all(|c| c == '_')
}

/// "From: ..." followed within four lines by two of "Sent:", "To:", "Subject:", ...
fn is_outlook_block(lines: &[&str]) -> bool {
    let Some(first) = lines.first() else {
        return false;
    };
    if !starts_with_any(first, FROM_HEADERS) {
        return false;
    }
    lines
        .iter()
        .skip(1)
        .take(4)
        .filter(|l| starts_with_any(l, BLOCK_HEADERS))
        .count()
        >= 2
}

/// Splits off the signature: after the last `-- ` delimiter, or a trailing
/// mobile signature.
fn split_signature<'a, 'b>(lines: &'b [&'a str]) -> (&'b [&'a str], &'b [&'a str]) {
    if let Some(at) = lines.iter().rposition(|l| *l == "-- " || *l == "--") {
        return (&lines[..at], &lines[at + 1..]);
    }
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    if let Some(last) = last {
        // A mobile signature is the last non-blank line.
        if starts_with_any(lines[last], MOBILE_SIGNATURES) {
            return (&lines[..last], &lines[last..]);
        }
    }
    (lines, &[])
}

/// The lines joined with `\n`, without blank lines at either end.
fn join_trimmed(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => lines[s..=e]
            .iter()
            .map(|l| l.trim_end())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, new: &str, quoted_starts: &str, signature: &str) {
        let s = split(text);
        assert_eq!(s.new, new, "new of {text:?}");
        assert!(
            s.quoted.starts_with(quoted_starts),
            "quoted of {text:?}: {:?}",
            s.quoted
        );
        assert_eq!(s.signature, signature, "signature of {text:?}");
    }

    #[test]
    fn gmail_attribution_and_gt_quotes() {
        check(
            "Thanks, that worked!\n\nOn Tue, Nov 24, 2026 at 10:00 AM Support <reply+c1@example.com> wrote:\n> Please restart the router.\n> \n",
            "Thanks, that worked!",
            "On Tue, Nov 24, 2026",
            "",
        );
    }

    #[test]
    fn gmail_attribution_wrapped_over_two_lines() {
        check(
            "Yes please.\n\nOn Tue, Nov 24, 2026 at 10:00 AM Example Support <\nreply+c1@example.com> wrote:\n\n> Shall we call you?\n",
            "Yes please.",
            "On Tue, Nov 24",
            "",
        );
    }

    #[test]
    fn attributions_in_other_languages() {
        for header in [
            "Le mar. 24 nov. 2026 à 10:00, Support <s@example.com> a écrit :",
            "Am Di., 24. Nov. 2026 um 10:00 Uhr schrieb Support <s@example.com>:",
            "El mar, 24 nov 2026 a las 10:00, Support (<s@example.com>) escribió:",
            "Il giorno mar 24 nov 2026 alle ore 10:00 Support <s@example.com> ha scritto:\n",
            "Op di 24 nov. 2026 om 10:00 schreef Support <s@example.com>:",
            "W dniu 24.11.2026 o 10:00 Support <s@example.com> napisał(a):",
        ] {
            let text = format!("Merci\n\n{header}\n> old\n");
            let s = split(&text);
            assert_eq!(s.new, "Merci", "{header}");
            assert!(
                s.quoted.starts_with(header.trim()),
                "{header}: {:?}",
                s.quoted
            );
        }
    }

    #[test]
    fn outlook_original_message_and_header_block() {
        check(
            "See attached.\r\n\r\n-----Original Message-----\r\nFrom: Support\r\nSent: Monday\r\nTo: Ann\r\nSubject: Your order\r\n\r\nHello Ann\r\n",
            "See attached.",
            "-----Original Message-----",
            "",
        );
        check(
            "Works now.\n\n________________________________\nFrom: Support <s@example.com>\nSent: Monday, 23 November 2026 10:00\nTo: Ann\nSubject: Re: order\n\nDid it work?",
            "Works now.",
            "________________________________",
            "",
        );
        check(
            "Danke\n\nVon: Support <s@example.com>\nGesendet: Montag, 23. November 2026 10:00\nAn: Ann\nBetreff: Bestellung\n\nHallo",
            "Danke",
            "Von: Support",
            "",
        );
    }

    #[test]
    fn a_from_line_in_the_text_is_not_a_header_block() {
        let s = split("From: the shop, I got a parcel\nbut it was empty.");
        assert_eq!(s.new, "From: the shop, I got a parcel\nbut it was empty.");
        assert!(s.quoted.is_empty());
    }

    #[test]
    fn inline_answers_keep_the_new_lines() {
        let s = split("> Which model?\nThe X200.\n> Since when?\nSince Monday.\n");
        assert_eq!(s.new, "The X200.\nSince Monday.");
        assert_eq!(s.quoted, "> Which model?\n> Since when?");
    }

    #[test]
    fn signature_delimiter_and_mobile_signatures() {
        check(
            "Please call me.\n\n-- \nAnn Example\n+1 555 0100\n",
            "Please call me.",
            "",
            "Ann Example\n+1 555 0100",
        );
        check(
            "Ok, thanks\n\nSent from my iPhone",
            "Ok, thanks",
            "",
            "Sent from my iPhone",
        );
        check(
            "Ok\n\nGet Outlook for Android\n\nOn Mon, Nov 23, 2026, Support wrote:\n> hi",
            "Ok",
            "On Mon",
            "Get Outlook for Android",
        );
        check(
            "Bis morgen\n\nVon meinem iPhone gesendet",
            "Bis morgen",
            "",
            "Von meinem iPhone gesendet",
        );
    }

    #[test]
    fn text_that_only_mentions_a_phone_stays_new() {
        let s = split("Sent from my iPhone, the photo is broken.\nCan you help?");
        assert_eq!(
            s.new,
            "Sent from my iPhone, the photo is broken.\nCan you help?"
        );
        assert!(s.signature.is_empty());
    }

    #[test]
    fn all_quoted_falls_back_to_the_whole_text() {
        let s = split("> forwarded thing\n> more\n");
        assert_eq!(s.new, "> forwarded thing\n> more");
        assert!(s.quoted.is_empty());
    }
}
