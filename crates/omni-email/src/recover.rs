//! Reading what can be read from damaged mail, as mail clients do.
//!
//! - **Raw 8-bit headers.** A header with bytes that are not UTF-8 (a
//!   Latin-1 subject sent without RFC 2047) is decoded with the charset the
//!   message declares for its body, else Windows-1252 (the superset of
//!   ISO-8859-1 that mail clients assume), instead of becoming replacement
//!   characters.
//! - **Broken MIME structure.** A multipart without a boundary, an
//!   unterminated multipart, a text part with bad base64, nesting deeper
//!   than the parser follows: [`text`] scans the raw body line by line,
//!   skips boundary lines, part headers and non-text parts, and decodes
//!   base64 (leniently, skipping what is not base64) and quoted-printable
//!   text parts. The caller shows that text with a note and attaches the
//!   original.

use std::borrow::Cow;

use encoding_rs::{Encoding, WINDOWS_1252};

/// Most bytes of recovered text kept.
const MAX_TEXT_BYTES: usize = 256 * 1024;

/// `raw` with every header line that is not UTF-8 decoded to UTF-8 (see
/// the module docs); `raw` itself when all its headers are UTF-8.
pub fn utf8_headers(raw: &[u8]) -> Cow<'_, [u8]> {
    let end = header_end(raw);
    let headers = &raw[..end];
    if std::str::from_utf8(headers).is_ok() {
        return Cow::Borrowed(raw);
    }
    let charset = declared_charset(headers).unwrap_or(WINDOWS_1252);
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 8);
    for line in headers.split_inclusive(|b| *b == b'\n') {
        match std::str::from_utf8(line) {
            Ok(_) => out.extend_from_slice(line),
            Err(_) => {
                let (text, _, _) = charset.decode(line);
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out.extend_from_slice(&raw[end..]);
    Cow::Owned(out)
}

/// Where the header block ends (the blank line included), or the length.
fn header_end(raw: &[u8]) -> usize {
    let mut at = 0;
    for line in raw.split_inclusive(|b| *b == b'\n') {
        at += line.len();
        if line == b"\r\n" || line == b"\n" {
            return at;
        }
    }
    raw.len()
}

/// The single-byte charset of the message's `Content-Type`, if it names
/// one `encoding_rs` knows (UTF-8 and multi-byte charsets are no fallback
/// for bytes that already failed as UTF-8).
fn declared_charset(headers: &[u8]) -> Option<&'static Encoding> {
    let text = String::from_utf8_lossy(headers).to_ascii_lowercase();
    let at = text.find("charset=")?;
    let label: String = text[at + "charset=".len()..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        .collect();
    let encoding = Encoding::for_label(label.as_bytes())?;
    encoding.is_single_byte().then_some(encoding)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transfer {
    Plain,
    Base64,
    QuotedPrintable,
}

/// The state of the line scanner.
struct Part {
    /// In the part's headers (after a boundary line, before a blank line).
    in_headers: bool,
    /// Whether the part is text (else its lines are skipped).
    text: bool,
    transfer: Transfer,
    charset: &'static Encoding,
    /// Decoded bytes of the current part.
    bytes: Vec<u8>,
}

impl Part {
    fn new(in_headers: bool, headers: &str) -> Self {
        let mut part = Part {
            in_headers,
            text: true,
            transfer: Transfer::Plain,
            charset: encoding_rs::UTF_8,
            bytes: Vec::new(),
        };
        part.header(headers);
        part
    }

    fn header(&mut self, line: &str) {
        let lower = line.to_ascii_lowercase();
        if let Some(ct) = lower.strip_prefix("content-type:") {
            let ct = ct.trim();
            self.text = ct.starts_with("text/plain") || ct.is_empty();
            if let Some(at) = ct.find("charset=") {
                let label: String = ct[at + 8..]
                    .trim_start_matches('"')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if let Some(e) = Encoding::for_label(label.as_bytes()) {
                    self.charset = e;
                }
            }
        }
        if let Some(cte) = lower.strip_prefix("content-transfer-encoding:") {
            self.transfer = match cte.trim() {
                "base64" => Transfer::Base64,
                "quoted-printable" => Transfer::QuotedPrintable,
                _ => Transfer::Plain,
            };
        }
    }

    fn line(&mut self, line: &str) {
        match self.transfer {
            Transfer::Plain => {
                self.bytes.extend_from_slice(line.as_bytes());
                self.bytes.push(b'\n');
            }
            Transfer::Base64 => {
                // Lenient, as mail clients are: a line that is not base64
                // is skipped, the rest decode.
                let line = line.trim();
                let data = line.trim_end_matches('=');
                if data.is_empty()
                    || !data
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
                {
                    return;
                }
                let usable = if data.len() % 4 == 1 {
                    &data[..data.len() - 1]
                } else {
                    data
                };
                use base64::Engine as _;
                if let Ok(decoded) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(usable)
                {
                    self.bytes.extend_from_slice(&decoded);
                }
            }
            Transfer::QuotedPrintable => {
                let (body, soft) = match line.strip_suffix('=') {
                    Some(body) => (body, true),
                    None => (line, false),
                };
                let bytes = body.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match (bytes[i], hex) {
                        (b'=', Some(byte)) => {
                            self.bytes.push(byte);
                            i += 3;
                        }
                        (b, _) => {
                            self.bytes.push(b);
                            i += 1;
                        }
                    }
                }
                if !soft {
                    self.bytes.push(b'\n');
                }
            }
        }
    }

    /// The part's text, if it is a text part with any.
    fn finish(self) -> Option<String> {
        if !self.text {
            return None;
        }
        let (text, _, _) = self.charset.decode(&self.bytes);
        let text = text.trim().to_owned();
        (!text.is_empty()).then_some(text)
    }
}

/// Whether `line` looks like a MIME boundary line (`--token`, `--token--`).
fn is_boundary(line: &str) -> bool {
    line.len() > 2
        && line.starts_with("--")
        && !line.contains(char::is_whitespace)
        && line[2..].chars().any(|c| c.is_ascii_alphanumeric())
}

/// The best text that can be read from the body of a damaged message `raw`
/// (see the module docs); empty when there is none.
pub fn text(raw: &[u8]) -> String {
    let end = header_end(raw);
    let top_headers = String::from_utf8_lossy(&raw[..end]);
    let top = unfold(&top_headers);
    let multipart = top.iter().any(|h| {
        h.to_ascii_lowercase()
            .trim_start()
            .strip_prefix("content-type:")
            .is_some_and(|ct| ct.trim().starts_with("multipart/"))
    });
    let mut part = Part::new(false, "");
    if multipart {
        // The preamble ("This is a multi-part message in MIME format.").
        part.text = false;
    } else {
        for h in &top {
            part.header(h);
        }
    }
    let mut texts = Vec::new();
    let body = String::from_utf8_lossy(&raw[end..]);
    let mut last_header: Option<String> = None;
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        if is_boundary(line) {
            let done = std::mem::replace(&mut part, Part::new(true, ""));
            texts.extend(done.finish());
            last_header = None;
            continue;
        }
        if part.in_headers {
            if line.trim().is_empty() {
                if let Some(h) = last_header.take() {
                    part.header(&h);
                }
                part.in_headers = false;
            } else if line.starts_with([' ', '\t']) {
                if let Some(h) = last_header.as_mut() {
                    h.push(' ');
                    h.push_str(line.trim());
                }
            } else {
                if let Some(h) = last_header.replace(line.to_owned()) {
                    part.header(&h);
                }
            }
            continue;
        }
        if part.text {
            part.line(line);
        }
    }
    texts.extend(part.finish());
    let mut text = texts.join("\n\n");
    if text.is_empty() && multipart {
        // A "multipart" with no part in it: its body is all there is.
        text = body.replace("\r\n", "\n").trim().to_owned();
    }
    if text.len() > MAX_TEXT_BYTES {
        let mut cut = MAX_TEXT_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// Header lines with their continuation lines joined.
fn unfold(headers: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in headers.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        match out.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => out.push(line.to_owned()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_headers_decode_as_mail_clients_do() {
        let raw = b"From: a@example.com\r\nSubject: Caf\xe9 cr\xe8me\r\n\r\nbody\r\n";
        let fixed = utf8_headers(raw);
        assert!(
            String::from_utf8_lossy(&fixed).contains("Subject: Café crème"),
            "{}",
            String::from_utf8_lossy(&fixed)
        );
        // Windows-1252's euro sign, and the declared body charset wins.
        let raw = b"Subject: 5 \x80\r\n\r\nx";
        assert!(String::from_utf8_lossy(&utf8_headers(raw)).contains("5 €"));
        let raw = b"Subject: \xb1\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\nx";
        assert!(String::from_utf8_lossy(&utf8_headers(raw)).contains("Subject: ą"));
        let utf8 = "Subject: Café\r\n\r\n\u{e9}".as_bytes();
        assert!(matches!(utf8_headers(utf8), Cow::Borrowed(_)));
    }

    #[test]
    fn text_is_recovered_from_broken_multiparts() {
        let no_boundary = b"Content-Type: multipart/mixed\r\n\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nMy order is late\r\n--xyz\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--xyz--\r\n";
        assert_eq!(text(no_boundary), "My order is late");
        let bad_base64 = b"Content-Type: multipart/alternative; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8sIG15IG9yZGVy\r\nIGlzIGxhdGU=\r\n!!!***\r\n";
        assert_eq!(text(bad_base64), "Hello, my order is late");
        let qp = b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 is=\r\n open\r\n";
        assert_eq!(text(qp), "Café is open");
    }
}
