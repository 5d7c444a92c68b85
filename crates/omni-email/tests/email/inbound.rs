//! Real-world mail sent with Python's smtplib (messages built by Python's
//! `email` package, or as raw bytes), read back from the bus.

use omni_proto::common::identity::Kind;

use crate::support::{self, Mail, Server, inbound, no_more_inbound, smtplib};

fn from_email(m: &omni_proto::events::InboundMessage) -> String {
    match m.from.as_ref().and_then(|f| f.kind.clone()) {
        Some(Kind::Email(e)) => e,
        other => panic!("from is not an email: {other:?}"),
    }
}

#[tokio::test]
async fn plain_reply_is_split_into_new_text_quote_and_signature() {
    let server = Server::start().await;
    let out = Mail::new(
        "Where is my parcel?",
        "p1@mail.example.com",
        r#"
msg.set_content('My parcel has not arrived.\nOrder 1234.\n\n-- \nAnn Example\n\nOn Mon, Nov 23, 2026 at 9:00 AM Support <help@support.test> wrote:\n> Thanks for your order.\n')
"#,
    )
    .from("Ann Example <Ann.B@Example.COM>")
    .send(server.port)
    .await;
    assert!(out.starts_with("OK {}"), "{out}");
    let m = &inbound(&server.bus, 1).await[0];
    assert_eq!(m.idempotency_key, support::key(m, "p1@mail.example.com"));
    assert_eq!(m.channel, omni_proto::common::Channel::Email as i32);
    assert_eq!(from_email(m), "Ann.B@example.com");
    assert_eq!(m.display_name, "Ann Example");
    assert_eq!(m.text, "My parcel has not arrived.\nOrder 1234.");
    assert!(m.received_at_ms > 0);
    let e = m.email.as_ref().expect("email details");
    assert_eq!(e.message_id, "p1@mail.example.com");
    assert_eq!(e.subject, "Where is my parcel?");
    assert_eq!(e.to, "help@support.test");
    assert_eq!(e.signature, "Ann Example");
    assert!(
        e.quoted.starts_with("On Mon, Nov 23, 2026")
            && e.quoted.contains("> Thanks for your order."),
        "{:?}",
        e.quoted
    );
    assert!(e.html.is_empty());
    assert!(e.in_reply_to.is_empty() && e.references.is_empty());
}

#[tokio::test]
async fn multipart_alternative_prefers_text_and_sanitizes_html() {
    let server = Server::start().await;
    let out = Mail::new(
        "Broken link",
        "alt1@mail.example.com",
        r#"
msg.set_content('The link in your mail is broken.')
msg.add_alternative('<html><body><p onclick="x()">The <b>link</b> in your mail is broken.</p><script>steal()</script><img src="https://tracker.example/p.gif"><a href="https://shop.example/x">shop</a></body></html>', subtype='html')
"#,
    )
    .send(server.port)
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let m = &inbound(&server.bus, 1).await[0];
    assert_eq!(m.text, "The link in your mail is broken.");
    let html = &m.email.as_ref().unwrap().html;
    assert!(html.contains("<b>link</b>"), "{html}");
    assert!(
        html.contains(r#"rel="noopener noreferrer nofollow""#),
        "{html}"
    );
    for gone in ["script", "steal", "onclick", "tracker.example"] {
        assert!(!html.contains(gone), "{gone} in {html}");
    }
}

#[tokio::test]
async fn html_only_mail_gets_text_from_its_html() {
    let server = Server::start().await;
    let out = Mail::new(
        "HTML only",
        "h1@mail.example.com",
        r#"
msg.set_content('<html><head><style>p {color:red}</style></head><body><p>Please cancel <b>order 77</b>.</p><div>Thanks</div></body></html>', subtype='html')
"#,
    )
    .send(server.port)
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let m = &inbound(&server.bus, 1).await[0];
    assert!(m.text.contains("Please cancel order 77."), "{:?}", m.text);
    assert!(m.text.contains("Thanks"), "{:?}", m.text);
    assert!(
        !m.text.contains('<') && !m.text.contains("color"),
        "{:?}",
        m.text
    );
    let html = &m.email.as_ref().unwrap().html;
    assert!(html.contains("<b>order 77</b>"), "{html}");
    assert!(!html.contains("style"), "{html}");
}

#[tokio::test]
async fn quoted_printable_and_base64_bodies_are_decoded() {
    let server = Server::start().await;
    // Python picks base64 for UTF-8 text by default; QP is asked for.
    let out = smtplib(
        server.port,
        r#"
from email.charset import Charset, QP
cs = Charset('utf-8')
cs.body_encoding = QP
msg = MIMEText('Grüße! Der Artikel ist beschädigt — bitte ersetzen. ' + 'x' * 120, 'plain', cs)
msg['From'] = 'ann@example.com'
msg['To'] = 'help@support.test'
msg['Subject'] = 'qp'
msg['Message-ID'] = '<qp1@mail.example.com>'
assert msg['Content-Transfer-Encoding'] == 'quoted-printable'
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let out = smtplib(
        server.port,
        r#"
msg = MIMEText('Здравствуйте, посылка не пришла.', 'plain', 'utf-8')
msg['From'] = 'ivan@example.ru'
msg['To'] = 'help@support.test'
msg['Subject'] = 'b64'
msg['Message-ID'] = '<b64@mail.example.ru>'
assert msg['Content-Transfer-Encoding'] == 'base64'
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let got = inbound(&server.bus, 2).await;
    assert_eq!(
        got[0].text,
        format!(
            "Grüße! Der Artikel ist beschädigt — bitte ersetzen. {}",
            "x".repeat(120)
        )
    );
    assert_eq!(got[1].text, "Здравствуйте, посылка не пришла.");
}

#[tokio::test]
async fn non_utf8_charsets_and_rfc2047_headers_are_decoded() {
    let server = Server::start().await;
    // ISO-8859-1 in 8bit, Windows-1252 in QP, Shift_JIS with an ISO-2022-JP
    // encoded subject: raw bytes as old clients send them.
    let out = smtplib(
        server.port,
        r#"
msg = (b'From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <jm@example.de>\r\n'
       b'To: help@support.test\r\n'
       b'Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\r\n'
       b'Message-ID: <latin1@example.de>\r\n'
       b'MIME-Version: 1.0\r\n'
       b'Content-Type: text/plain; charset=ISO-8859-1\r\n'
       b'Content-Transfer-Encoding: 8bit\r\n\r\n'
       + 'Die Lieferung für Köln ist verspätet.\r\n'.encode('latin-1'))
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let out = smtplib(
        server.port,
        r#"
body = '“Smart quotes” cost 5 € – really.'.encode('cp1252')
import quopri
msg = (b'From: bob@example.com\r\nTo: help@support.test\r\n'
       b'Subject: =?windows-1252?B?' + __import__('base64').b64encode('Preis in €'.encode('cp1252')) + b'?=\r\n'
       b'Message-ID: <cp1252@example.com>\r\nMIME-Version: 1.0\r\n'
       b'Content-Type: text/plain; charset=windows-1252\r\n'
       b'Content-Transfer-Encoding: quoted-printable\r\n\r\n' + quopri.encodestring(body) + b'\r\n')
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let out = smtplib(
        server.port,
        r#"
msg = MIMEText('注文した商品が届きません。', 'plain', 'shift_jis')
msg['Subject'] = Header('注文について', 'iso-2022-jp')
msg['From'] = formataddr((str(Header('山田太郎', 'utf-8')), 'taro@example.jp'))
msg['To'] = 'help@support.test'
msg['Message-ID'] = '<sjis@example.jp>'
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let got = inbound(&server.bus, 3).await;
    assert_eq!(got[0].text, "Die Lieferung für Köln ist verspätet.");
    assert_eq!(got[0].email.as_ref().unwrap().subject, "Grüße aus Köln");
    assert_eq!(got[0].display_name, "Jürgen Müller");
    assert_eq!(got[1].text, "“Smart quotes” cost 5 € – really.");
    assert_eq!(got[1].email.as_ref().unwrap().subject, "Preis in €");
    assert_eq!(got[2].text, "注文した商品が届きません。");
    assert_eq!(got[2].email.as_ref().unwrap().subject, "注文について");
    assert_eq!(got[2].display_name, "山田太郎");
}

#[tokio::test]
async fn attachments_keep_name_type_size_and_bytes() {
    let server = Server::start().await;
    let out = Mail::new(
        "Invoice and photo",
        "att@mail.example.com",
        r#"
msg.set_content('Invoice and a photo of the damage attached.')
msg.add_attachment(b'%PDF-1.4 fake invoice\x00\x01\x02', maintype='application', subtype='pdf', filename='Rechnung März.pdf')
msg.add_attachment(bytes(range(256)) * 4, maintype='image', subtype='png', filename='C:\\photos\\damage.png')
"#,
    )
    .send(server.port)
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let m = &inbound(&server.bus, 1).await[0];
    assert_eq!(m.text, "Invoice and a photo of the damage attached.");
    let a = &m.email.as_ref().unwrap().attachments;
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0].name, "Rechnung März.pdf");
    assert_eq!(a[0].content_type, "application/pdf");
    assert_eq!(a[0].content, b"%PDF-1.4 fake invoice\x00\x01\x02");
    assert_eq!(a[0].size, a[0].content.len() as u64);
    assert_eq!(a[1].name, "damage.png");
    assert_eq!(a[1].content_type, "image/png");
    assert_eq!(a[1].size, 1024);
    assert_eq!(
        a[1].content,
        (0..=255u8).cycle().take(1024).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn reply_to_a_conversation_address_carries_threading_and_topic_by_mailbox() {
    let server = Server::start().await;
    let out = smtplib(
        server.port,
        r#"
rcpts = ['sales@support.test', 'Reply+c_42@Support.Test']
msg = EmailMessage()
msg['From'] = 'ann@example.com'
msg['To'] = 'Example Support <reply+c_42@support.test>'
msg['Cc'] = 'sales@support.test'
msg['Subject'] = 'Something else entirely'
msg['Message-ID'] = '<r2@mail.example.com>'
msg['In-Reply-To'] = '<out1@support.test>'
msg['References'] = '<first@mail.example.com> <out1@support.test>'
msg.set_content('New subject, same thread.')
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let out = smtplib(
        server.port,
        r#"
rcpts = ['SALES@support.test']
msg = EmailMessage()
msg['From'] = 'bob@example.com'
msg['Subject'] = 'Quote please'
msg['Message-ID'] = '<s1@mail.example.com>'
msg.set_content('I want to buy 10.')
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let got = inbound(&server.bus, 2).await;
    let e = got[0].email.as_ref().unwrap();
    assert_eq!(e.to, "Reply+c_42@Support.Test");
    assert_eq!(e.in_reply_to, "out1@support.test");
    assert_eq!(
        e.references,
        ["first@mail.example.com", "out1@support.test"]
    );
    assert_eq!(e.subject, "Something else entirely");
    assert_eq!(got[0].topic, "", "a reply address maps to no topic");
    assert_eq!(got[1].topic, "sales");
    assert_eq!(got[1].email.as_ref().unwrap().to, "SALES@support.test");
}

#[tokio::test]
async fn resent_mail_without_message_id_is_one_message() {
    let server = Server::start().await;
    let code = r#"
msg = b'From: ann@example.com\r\nTo: help@support.test\r\nSubject: no id\r\n\r\nNo Message-ID here.\r\n'
"#;
    assert!(smtplib(server.port, code).await.starts_with("OK"));
    assert!(smtplib(server.port, code).await.starts_with("OK"));
    let got = inbound(&server.bus, 1).await;
    assert!(
        got[0]
            .idempotency_key
            .ends_with("@derived.omniroute.invalid"),
        "{}",
        got[0].idempotency_key
    );
    let message_id = &got[0].email.as_ref().unwrap().message_id;
    assert_eq!(got[0].idempotency_key, support::key(&got[0], message_id));
    assert!(no_more_inbound(&server.bus, std::time::Duration::from_millis(500)).await);
}

#[tokio::test]
async fn malformed_mime_is_rejected_only_when_nothing_is_usable() {
    let server = Server::start().await;
    // Not a message: no header at all.
    let out = smtplib(server.port, "msg = b'\\x00\\x01\\x02 just noise\\r\\n'").await;
    assert!(out.starts_with("ERR 550 5.6.0"), "{out}");
    // Broken, but with usable parts: a multipart without its closing
    // boundary and a part with invalid base64 is accepted as far as it reads.
    let out = smtplib(
        server.port,
        r#"
msg = (b'From: ann@example.com\r\nTo: help@support.test\r\nSubject: broken\r\n'
       b'Message-ID: <broken@example.com>\r\nMIME-Version: 1.0\r\n'
       b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
       b'--XX\r\nContent-Type: text/plain\r\n\r\nReadable part.\r\n'
       b'--XX\r\nContent-Type: application/pdf; name="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
       b'%%%not base64%%%\r\n')
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let got = inbound(&server.bus, 1).await;
    assert_eq!(
        got[0].idempotency_key,
        support::key(&got[0], "broken@example.com")
    );
    assert_eq!(
        got[0].text,
        format!(
            "{}\n\nReadable part.",
            omni_email::adapter::malformed_note("a part that does not decode")
        )
    );
    let attachments = &got[0].email.as_ref().expect("email").attachments;
    assert_eq!(attachments.len(), 1, "the original, not the broken part");
    assert_eq!(attachments[0].name, "original.eml");
    // And no sender at all: 550 5.1.7.
    let out = smtplib(
        server.port,
        r#"
sender = ''
msg = b'To: help@support.test\r\nSubject: who am I\r\nMessage-ID: <anon@x>\r\n\r\nhi\r\n'
"#,
    )
    .await;
    assert!(out.starts_with("ERR 550 5.1.7"), "{out}");
    assert!(no_more_inbound(&server.bus, std::time::Duration::from_millis(300)).await);
}

#[tokio::test]
async fn malformed_mime_shows_the_agent_recovered_text_a_note_and_the_original() {
    let server = Server::start().await;
    // A multipart without a boundary, and a raw Latin-1 subject (no RFC 2047).
    let out = smtplib(
        server.port,
        r#"
msg = (b'From: ann@example.com\r\nTo: help@support.test\r\nSubject: Caf\xe9 order\r\n'
       b'Message-ID: <noboundary@example.com>\r\nMIME-Version: 1.0\r\n'
       b'Content-Type: multipart/mixed\r\n\r\n'
       b'--zz\r\nContent-Type: text/plain\r\n\r\nWhere is my order?\r\n--zz--\r\n')
"#,
    )
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let got = inbound(&server.bus, 1).await;
    let text = &got[0].text;
    assert!(
        text.starts_with("[This email was malformed (a multipart without a boundary)"),
        "{text}"
    );
    assert!(text.ends_with("Where is my order?"), "{text}");
    let email = got[0].email.as_ref().expect("email");
    assert_eq!(email.subject, "Café order");
    assert_eq!(email.attachments.len(), 1);
    assert_eq!(email.attachments[0].name, "original.eml");
    assert_eq!(email.attachments[0].content_type, "message/rfc822");
    assert!(
        email.attachments[0]
            .content
            .windows(12)
            .any(|w| w == b"Subject: Caf"),
        "the original bytes"
    );
}

#[tokio::test]
async fn html_only_gmail_reply_separates_the_blockquote() {
    let server = Server::start().await;
    let out = Mail::new(
        "Re: order",
        "g1@mail.gmail.com",
        r#"
msg.set_content('<div dir="ltr">Yes, please send a new one.<br></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Nov 23, 2026 at 10:00 AM Example Support &lt;<a href="mailto:reply+c_7@support.test">reply+c_7@support.test</a>&gt; wrote:<br></div><blockquote class="gmail_quote">Shall we send a replacement?</blockquote></div>', subtype='html')
"#,
    )
    .to("reply+c_7@support.test")
    .send(server.port)
    .await;
    assert!(out.starts_with("OK"), "{out}");
    let m = &inbound(&server.bus, 1).await[0];
    assert_eq!(m.text, "Yes, please send a new one.");
    let e = m.email.as_ref().unwrap();
    assert!(
        e.quoted.starts_with("On Mon, Nov 23, 2026"),
        "{:?}",
        e.quoted
    );
    assert!(
        e.quoted.contains("Shall we send a replacement?"),
        "{:?}",
        e.quoted
    );
    assert!(e.html.contains("<blockquote"), "{}", e.html);
}

/// The Message-ID is the sender's choice: another sender reusing it sends
/// another message, not a duplicate of the first; the first sender's resend
/// stays a duplicate.
#[tokio::test]
async fn a_message_id_is_scoped_by_channel_and_sender() {
    let server = Server::start().await;
    let body = "\nmsg.set_content('hello')\n";
    let first = Mail::new("One", "same@mail.example.com", body);
    assert!(first.send(server.port).await.starts_with("OK"));
    let other = first.from("Mallory <mallory@evil.example>");
    assert!(other.send(server.port).await.starts_with("OK"));
    // The first sender sending again is a duplicate.
    assert!(first.send(server.port).await.starts_with("OK"));
    let got = inbound(&server.bus, 2).await;
    assert_eq!(
        got.iter()
            .map(|m| m.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        vec![
            "email:ann@example.com:same@mail.example.com",
            "email:mallory@evil.example:same@mail.example.com",
        ]
    );
    assert!(no_more_inbound(&server.bus, std::time::Duration::from_millis(500)).await);
}
