//! Property tests: the MIME parser and the quote splitter never panic on
//! arbitrary input, and generated messages round-trip.

use lettre::message::header::ContentType;
use omni_email::{mime, quote};
use proptest::prelude::*;

/// Text lines that trigger none of the quote heuristics.
fn plain_line() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9äöüéñ€ ,.!?]{1,60}".prop_filter("not a trigger", |l| {
        let s = quote::split(l);
        s.new == l.trim_end() && s.quoted.is_empty() && s.signature.is_empty()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_bytes(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = mime::parse(&raw);
    }

    #[test]
    fn parse_never_panics_on_damaged_mime(
        cut in 0usize..600,
        noise in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut raw = b"From: =?utf-8?B?QW5u?= <a@example.com>\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=shift_jis\r\nContent-Transfer-Encoding: base64\r\n\r\ngpCCooKk\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Hi=3D=\r\nthere</p>\r\n--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n".to_vec();
        let at = cut.min(raw.len());
        raw.splice(at..at, noise);
        let _ = mime::parse(&raw);
    }

    #[test]
    fn split_never_panics_and_loses_no_line(text in "(\\PC{0,40}\n){0,12}") {
        let s = quote::split(&text);
        let parts = format!("{}\n{}\n{}", s.new, s.quoted, s.signature);
        for line in text.replace("\r\n", "\n").split('\n') {
            let line = line.trim_end();
            if line.trim().is_empty() || line == "--" {
                continue;
            }
            prop_assert!(parts.contains(line), "line {:?} lost from {:?}: {:?}", line, text, s);
        }
    }

    #[test]
    fn generated_replies_round_trip(
        new in proptest::collection::vec(plain_line(), 1..6),
        quoted in proptest::collection::vec(plain_line(), 1..6),
        signature in proptest::collection::vec(plain_line(), 0..3),
    ) {
        let mut text = new.join("\n");
        if !signature.is_empty() {
            text.push_str("\n-- \n");
            text.push_str(&signature.join("\n"));
        }
        text.push_str("\n\nOn Mon, 23 Nov 2026 at 10:00, Support <help@support.test> wrote:\n");
        for q in &quoted {
            text.push_str("> ");
            text.push_str(q);
            text.push('\n');
        }
        let s = quote::split(&text);
        if new.iter().all(|l| l.trim().is_empty()) {
            // Nothing new was written: by design the whole text is the new
            // text, so nothing the customer sent is hidden from the agent.
            prop_assert!(s.new.contains("wrote:"), "{:?}", s);
            for q in &quoted {
                prop_assert!(s.new.contains(q.trim_end()));
            }
            return Ok(());
        }
        let trimmed: Vec<&str> = new.iter().map(|l| l.trim_end()).collect();
        let expected = trimmed.join("\n");
        prop_assert_eq!(s.new.trim(), expected.trim());
        prop_assert!(s.quoted.starts_with("On Mon, 23 Nov 2026"));
        for q in &quoted {
            prop_assert!(s.quoted.contains(q.trim_end()));
        }
        let sig: Vec<&str> = signature.iter().map(|l| l.trim_end()).collect();
        let expected = sig.join("\n");
        prop_assert_eq!(s.signature.trim(), expected.trim());
    }

    #[test]
    fn generated_messages_round_trip_through_mime(
        subject in "[\\p{L}\\p{N} ,.!?€]{1,80}",
        lines in proptest::collection::vec("[\\p{L}\\p{N} ,.!?€]{1,200}", 1..8),
        attachment in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let body = lines.join("\n");
        let mail = lettre::Message::builder()
            .from("Ann <ann@example.com>".parse().unwrap())
            .to("help@support.test".parse().unwrap())
            .subject(subject.clone())
            .message_id(Some("<gen@example.com>".into()))
            .multipart(
                lettre::message::MultiPart::mixed()
                    .singlepart(
                        lettre::message::SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(body.clone()),
                    )
                    .singlepart(
                        lettre::message::Attachment::new("data.bin".into())
                            .body(attachment.clone(), "application/octet-stream".parse().unwrap()),
                    ),
            )
            .unwrap();
        let parsed = mime::parse(&mail.formatted()).unwrap();
        // lettre encodes a run of two or more spaces between non-ASCII words
        // as the gap between two encoded words, which RFC 2047 decoders
        // (ours and Python's alike) drop: compare without whitespace.
        let words = |s: &str| s.split_whitespace().collect::<String>();
        prop_assert_eq!(words(&parsed.subject), words(&subject));
        let text = parsed.text.replace("\r\n", "\n");
        prop_assert_eq!(text.trim_end(), body.trim_end());
        prop_assert_eq!(parsed.message_id, "gen@example.com");
        prop_assert_eq!(parsed.attachments.len(), 1);
        prop_assert_eq!(&parsed.attachments[0].content, &attachment);
    }
}
