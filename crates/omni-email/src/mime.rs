//! Parsing real-world mail (RFC 5322 and MIME) into the parts Omniroute
//! keeps: threading headers, decoded subject, sender, text, HTML and
//! attachments.
//!
//! Built on `mail-parser`, which decodes quoted-printable and base64,
//! RFC 2047 encoded words and RFC 2231 parameters, and converts every
//! charset `encoding_rs` knows (ISO-8859-*, Windows-125x, Shift_JIS,
//! ISO-2022-JP, GB18030, ...) to UTF-8. It is lenient: a damaged message
//! yields what can be read, and this module decides whether that is enough.
//!
//! - `text` prefers `text/plain` bodies; HTML-only mail gets text derived
//!   from its HTML. Several text bodies (e.g. text around an inline image)
//!   are joined in order.
//! - `html` is the raw HTML of the `text/html` bodies; the caller sanitizes
//!   it (see [`crate::html`]) before anyone sees it.
//! - A message without a Message-ID gets a stable one derived from a
//!   SHA-256 of the raw bytes, `<hex>@derived.omniroute.invalid`, so a
//!   client's retry of the same bytes is still recognized as a duplicate.
//! - Raw 8-bit headers are decoded as mail clients do, and a message whose
//!   MIME structure is broken (a multipart without a boundary, a text part
//!   that does not decode, no readable text where the body has some) is
//!   [`ParsedEmail::malformed`]: its text is what [`crate::recover`] reads
//!   from the raw body, and its only attachment is the original
//!   ([`ORIGINAL_NAME`]).

use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::recover;

/// Domain of Message-IDs derived from the raw bytes of a message without one.
pub const DERIVED_ID_DOMAIN: &str = "derived.omniroute.invalid";
/// File name of the original of a malformed message, attached to it.
pub const ORIGINAL_NAME: &str = "original.eml";

/// A file that came with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAttachment {
    /// File name without any path, or `attachment-<n>` (from 1).
    pub name: String,
    /// MIME type, lowercase, e.g. `application/pdf`.
    pub content_type: String,
    /// The decoded bytes.
    pub content: Vec<u8>,
}

/// What Omniroute keeps of an email.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedEmail {
    /// Message-ID without angle brackets (derived when the message has none).
    pub message_id: String,
    /// Whether `message_id` was derived from the raw bytes.
    pub message_id_derived: bool,
    /// In-Reply-To without angle brackets; empty when absent.
    pub in_reply_to: String,
    /// References, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The decoded subject; empty when absent.
    pub subject: String,
    /// The `From` address, if the header has one.
    pub from_address: Option<String>,
    /// The `From` display name, if any.
    pub from_name: Option<String>,
    /// The whole plain text (before separating quotes and signature).
    pub text: String,
    /// The raw, unsanitized HTML; empty for plain-text mail.
    pub html: String,
    /// Attachments, in order.
    pub attachments: Vec<ParsedAttachment>,
    /// Parts that could not be decoded cleanly (logged by the caller).
    pub problems: Vec<String>,
    /// Why the MIME structure is broken, when it is: the text is then the
    /// best that could be recovered and the original is attached.
    pub malformed: Option<String>,
}

/// Why nothing usable could be read from a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// Not a message at all (no header could be parsed).
    #[error("not an RFC 5322 message: no header could be parsed")]
    NotAMessage,
    /// Headers but no subject, no text, no HTML and no attachment.
    #[error("nothing usable in the message: no subject, text, HTML or attachment")]
    Empty,
}

/// Parses `raw` (the message as received after DATA, CRLF line ends).
pub fn parse(raw: &[u8]) -> Result<ParsedEmail, MimeError> {
    let fixed = recover::utf8_headers(raw);
    let message = MessageParser::default()
        .parse(&fixed[..])
        .ok_or(MimeError::NotAMessage)?;
    if message.root_part().headers.is_empty() {
        return Err(MimeError::NotAMessage);
    }

    let mut parsed = ParsedEmail {
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        in_reply_to: first_id(message.in_reply_to()).unwrap_or_default(),
        references: ids(message.references()),
        ..ParsedEmail::default()
    };
    match message
        .message_id()
        .map(clean_id)
        .filter(|id| !id.is_empty())
    {
        Some(id) => parsed.message_id = id,
        None => {
            parsed.message_id = derived_message_id(raw);
            parsed.message_id_derived = true;
        }
    }
    if let Some(addr) = message.from().and_then(|a| a.first()) {
        parsed.from_address = addr
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| a.contains('@'))
            .map(str::to_owned);
        parsed.from_name = addr
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
    }

    let texts: Vec<String> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .map(|t| t.replace("\r\n", "\n").trim_end().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    parsed.text = texts.join("\n\n");
    let htmls: Vec<String> = message
        .html_bodies()
        .filter_map(|part| match &part.body {
            PartType::Html(html) => Some(html.to_string()),
            _ => None,
        })
        .collect();
    parsed.html = htmls.join("\n");

    for (n, part) in message.attachments().enumerate() {
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .map(|ct| ct.to_ascii_lowercase())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let name = part
            .attachment_name()
            .map(sanitize_file_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment-{}", n + 1));
        parsed.attachments.push(ParsedAttachment {
            name,
            content_type,
            content: part.contents().to_vec(),
        });
    }

    for (i, part) in message.parts.iter().enumerate() {
        if part.is_encoding_problem {
            parsed
                .problems
                .push(format!("part {i} could not be decoded cleanly"));
        }
    }
    check_structure(&message, &fixed, raw, &mut parsed);

    if parsed.subject.is_empty()
        && parsed.text.trim().is_empty()
        && parsed.html.trim().is_empty()
        && parsed.attachments.is_empty()
    {
        return Err(MimeError::Empty);
    }
    Ok(parsed)
}

/// Marks `parsed` malformed when the structure of `message` is broken, with
/// the best text recovered from `fixed` and `raw` as the only attachment.
fn check_structure(
    message: &mail_parser::Message<'_>,
    fixed: &[u8],
    raw: &[u8],
    parsed: &mut ParsedEmail,
) {
    let no_boundary = message.parts.iter().any(|p| {
        p.content_type()
            .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
            && !matches!(p.body, PartType::Multipart(_))
    });
    let text_problem = message
        .text_body
        .iter()
        .chain(&message.html_body)
        .any(|&i| {
            message
                .parts
                .get(i as usize)
                .is_some_and(|p| p.is_encoding_problem)
        });
    let unreadable = parsed.text.trim().is_empty() && parsed.html.trim().is_empty();
    if !(no_boundary || text_problem || unreadable || !parsed.problems.is_empty()) {
        return;
    }
    // Only damaged (or textless) mail pays for the second reading.
    let recovered = recover::text(fixed);
    let reason = if no_boundary {
        "a multipart without a boundary"
    } else if text_problem {
        "a text part that does not decode"
    } else if unreadable && !recovered.is_empty() {
        "no text the MIME structure leads to"
    } else if !parsed.problems.is_empty() {
        "a part that does not decode"
    } else {
        return;
    };
    if (no_boundary || text_problem || unreadable) && !recovered.is_empty() {
        parsed.text = recovered;
        parsed.html.clear();
    }
    parsed.malformed = Some(reason.to_owned());
    parsed.attachments = vec![ParsedAttachment {
        name: ORIGINAL_NAME.to_owned(),
        content_type: "message/rfc822".to_owned(),
        content: raw.to_vec(),
    }];
}

/// A stable Message-ID for a message that has none.
pub fn derived_message_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@{DERIVED_ID_DOMAIN}")
}

/// A message id without angle brackets or surrounding space.
fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<String> = match value {
        HeaderValue::Text(t) => t.split_whitespace().map(clean_id).collect(),
        HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    };
    list.into_iter().filter(|id| !id.is_empty()).collect()
}

fn first_id(value: &HeaderValue<'_>) -> Option<String> {
    ids(value).into_iter().next()
}

/// The last path segment of a file name, without control characters.
fn sanitize_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    cleaned.chars().take(255).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message_with_threading_headers() {
        let raw = b"From: Ann Example <Ann@Example.COM>\r\nTo: reply+c_1@support.test\r\nSubject: Re: order\r\nMessage-ID: <m2@mail.example.com>\r\nIn-Reply-To: <m1@support.test>\r\nReferences: <m0@support.test>\r\n <m1@support.test>\r\n\r\nHello\r\n";
        let p = parse(raw).unwrap();
        assert_eq!(p.message_id, "m2@mail.example.com");
        assert!(!p.message_id_derived);
        assert_eq!(p.in_reply_to, "m1@support.test");
        assert_eq!(p.references, ["m0@support.test", "m1@support.test"]);
        assert_eq!(p.subject, "Re: order");
        assert_eq!(p.from_address.as_deref(), Some("Ann@Example.COM"));
        assert_eq!(p.from_name.as_deref(), Some("Ann Example"));
        assert_eq!(p.text, "Hello");
        assert!(p.html.is_empty());
    }

    #[test]
    fn missing_message_id_is_derived_stably() {
        let raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
        let a = parse(raw).unwrap();
        let b = parse(raw).unwrap();
        assert!(a.message_id_derived);
        assert_eq!(a.message_id, b.message_id);
        assert!(a.message_id.ends_with(DERIVED_ID_DOMAIN));
        let other = parse(b"From: a@example.com\r\nSubject: hi\r\n\r\nbody 2\r\n").unwrap();
        assert_ne!(other.message_id, a.message_id);
    }

    #[test]
    fn nothing_usable_is_an_error() {
        assert_eq!(parse(b""), Err(MimeError::NotAMessage));
        assert_eq!(
            parse(b"From: a@example.com\r\n\r\n   \r\n"),
            Err(MimeError::Empty)
        );
    }

    #[test]
    fn malformed_mime_shows_recovered_text_and_keeps_the_original() {
        let no_boundary: &[u8] = b"From: a@example.com\r\nSubject: late\r\nContent-Type: multipart/mixed\r\n\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nMy order is late\r\n--xyz--\r\n";
        let bad_base64: &[u8] = b"From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8sIG15IG9yZGVy\r\nIGlzIGxhdGU=\r\n!!!*** not base64 at all\r\n";
        let mut deep = b"From: a@example.com\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n".to_vec();
        for i in 1..200 {
            deep.extend_from_slice(
                format!(
                    "--b{}\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n",
                    i - 1
                )
                .as_bytes(),
            );
        }
        deep.extend_from_slice(b"--b199\r\nContent-Type: text/plain\r\n\r\nstill here\r\n");
        for (raw, text) in [
            (no_boundary, "My order is late"),
            (bad_base64, "Hello, my order is late"),
            (&deep[..], "still here"),
        ] {
            let p = parse(raw).unwrap();
            assert_eq!(p.text, text);
            assert!(p.malformed.is_some(), "{text}");
            assert_eq!(p.attachments.len(), 1);
            assert_eq!(p.attachments[0].name, ORIGINAL_NAME);
            assert_eq!(p.attachments[0].content_type, "message/rfc822");
            assert_eq!(p.attachments[0].content, raw);
        }
        let fine = parse(b"From: a@example.com\r\nSubject: ok\r\n\r\nfine\r\n").unwrap();
        assert_eq!(fine.malformed, None);
    }

    #[test]
    fn raw_latin1_subject_is_not_replacement_characters() {
        let p = parse(b"From: a@example.com\r\nSubject: Caf\xe9 cr\xe8me\r\n\r\nhi\r\n").unwrap();
        assert_eq!(p.subject, "Café crème");
        assert_eq!(p.malformed, None);
    }

    #[test]
    fn attachment_names_lose_their_paths() {
        assert_eq!(
            sanitize_file_name("C:\\Users\\ann\\invoice.pdf"),
            "invoice.pdf"
        );
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("..\u{7}"), "");
    }
}
