//! The SMTP state machine over raw dialogues: sequence, syntax, limits,
//! relaying, pipelining, timeouts, shutdown.

use std::time::Duration;

use crate::support::{self, DOMAIN, Mail, Raw, Server, inbound, no_more_inbound, smtplib};

fn code(reply: &str) -> &str {
    reply.get(..9).unwrap_or(reply)
}

#[tokio::test]
async fn greeting_and_ehlo_advertise_the_extensions() {
    let server = Server::start().await;
    let (mut c, greeting) = Raw::connect(server.port).await;
    assert!(greeting.starts_with("220 mx.support.test "), "{greeting}");
    let ehlo = c.cmd("EHLO client.test").await;
    for ext in [
        "250-mx.support.test",
        "250-SIZE 65536",
        "250-8BITMIME",
        "250-PIPELINING",
        "250-SMTPUTF8",
        "250 ENHANCEDSTATUSCODES",
    ] {
        assert!(ehlo.contains(ext), "{ext} missing in {ehlo}");
    }
    assert!(
        c.cmd("HELO client.test")
            .await
            .starts_with("250 mx.support.test")
    );
    assert!(c.cmd("NOOP").await.starts_with("250 2.0.0"));
    assert!(c.cmd("VRFY bob").await.starts_with("252 2.5.0"));
    assert!(c.cmd("HELP").await.starts_with("214"));
    assert!(c.cmd("QUIT").await.starts_with("221 2.0.0"));
    assert!(c.closed().await);
}

#[tokio::test]
async fn commands_out_of_sequence_get_503() {
    let mut config = support::config();
    config.email.max_errors = 20;
    let server = Server::start_with(config).await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert_eq!(code(&c.cmd("MAIL FROM:<a@example.com>").await), "503 5.5.1");
    assert!(
        c.cmd("EHLO client.test")
            .await
            .starts_with("250-mx.support.test")
    );
    assert_eq!(
        code(&c.cmd(&format!("RCPT TO:<help@{DOMAIN}>")).await),
        "503 5.5.1"
    );
    assert_eq!(code(&c.cmd("DATA").await), "503 5.5.1");
    assert_eq!(code(&c.cmd("MAIL FROM:<a@example.com>").await), "250 2.1.0");
    assert_eq!(code(&c.cmd("MAIL FROM:<a@example.com>").await), "503 5.5.1");
    assert_eq!(code(&c.cmd("DATA").await), "503 5.5.1", "no recipient yet");
    assert_eq!(
        code(&c.cmd(&format!("RCPT TO:<help@{DOMAIN}>")).await),
        "250 2.1.5"
    );
    assert_eq!(code(&c.cmd("RSET").await), "250 2.0.0");
    assert_eq!(
        code(&c.cmd("DATA").await),
        "503 5.5.1",
        "RSET ended the transaction"
    );
}

#[tokio::test]
async fn syntax_errors_and_unknown_commands() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert_eq!(code(&c.cmd("EHLO").await), "501 5.5.4");
    assert!(
        c.cmd("HELO client.test")
            .await
            .starts_with("250 mx.support.test")
    );
    assert_eq!(code(&c.cmd("MAIL FROM:not-an-address").await), "501 5.1.7");
    assert_eq!(
        code(&c.cmd("MAIL FROM:<a@example.com> RET=HDRS").await),
        "555 5.5.4"
    );
    assert_eq!(code(&c.cmd("FROB").await), "500 5.5.2");
    // The four errors so far, plus this one, reach max_errors (5): 421.
    let last = c.cmd("EXPN staff").await;
    assert!(last.starts_with("502 5.5.1"), "{last}");
    let closing = c.reply().await;
    assert!(closing.starts_with("421 4.7.0"), "{closing}");
    assert!(c.closed().await);
}

#[tokio::test]
async fn foreign_domains_are_refused_never_relayed() {
    let mut config = support::config();
    config.email.max_errors = 20;
    let server = Server::start_with(config).await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    assert!(c.cmd("MAIL FROM:<a@example.com>").await.starts_with("250"));
    for foreign in [
        "victim@example.org",
        "help@support.test.evil.test",
        "help@sub.support.test",
        "\"help@support.test\"@evil.test",
        "@support.test:victim@evil.test",
    ] {
        let reply = c.cmd(&format!("RCPT TO:<{foreign}>")).await;
        assert!(
            reply.starts_with("550 5.7.1 relaying denied"),
            "{foreign}: {reply}"
        );
        c.cmd("NOOP").await;
    }
    // Case does not matter for our own domains.
    assert!(
        c.cmd("RCPT TO:<HELP@Support.TEST>")
            .await
            .starts_with("250")
    );
    assert!(
        c.cmd("RCPT TO:<x@help.support.test>")
            .await
            .starts_with("250")
    );

    // Python's smtplib sees the same refusal.
    let out = smtplib(
        server.port,
        "rcpts = ['victim@example.org']\nmsg = b'From: a@example.com\\r\\nSubject: x\\r\\n\\r\\nrelay me\\r\\n'",
    )
    .await;
    assert!(out.starts_with("ERR 550 5.7.1 relaying denied"), "{out}");
    assert!(no_more_inbound(&server.bus, Duration::from_millis(300)).await);
}

#[tokio::test]
async fn recipients_are_bounded() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    c.start_transaction().await;
    assert!(c.cmd("RCPT TO:<b@support.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<c@support.test>").await.starts_with("250"));
    assert_eq!(code(&c.cmd("RCPT TO:<d@support.test>").await), "452 4.5.3");
}

#[tokio::test]
async fn oversize_mail_gets_552_and_the_session_stays_in_step() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    assert_eq!(
        code(&c.cmd("MAIL FROM:<a@example.com> SIZE=70000").await),
        "552 5.3.4"
    );
    c.start_transaction().await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    let line = "y".repeat(900);
    let mut body =
        String::from("From: a@example.com\r\nSubject: big\r\nMessage-ID: <big@x>\r\n\r\n");
    for _ in 0..80 {
        body.push_str(&line);
        body.push_str("\r\n");
    }
    c.send_bytes(body.as_bytes()).await;
    let reply = c.cmd(".").await;
    assert!(reply.starts_with("552 5.3.4"), "{reply}");
    // In step: the next transaction works on the same connection.
    assert!(c.cmd("NOOP").await.starts_with("250"));
    c.start_transaction().await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send("From: a@example.com\r\nSubject: small\r\nMessage-ID: <small@x>\r\n\r\nsmall one")
        .await;
    let reply = c.cmd(".").await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    let got = inbound(&server.bus, 1).await;
    assert_eq!(got[0].idempotency_key, support::key(&got[0], "small@x"));
    assert!(no_more_inbound(&server.bus, Duration::from_millis(300)).await);

    // smtplib declares SIZE and gets 552 at MAIL.
    let out = smtplib(
        server.port,
        "msg = b'From: a@example.com\\r\\nSubject: big\\r\\n\\r\\n' + (b'z' * 900 + b'\\r\\n') * 80",
    )
    .await;
    assert!(out.starts_with("ERR 552 5.3.4"), "{out}");
}

#[tokio::test]
async fn dot_stuffing_is_undone_and_long_lines_are_refused() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    c.start_transaction().await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send("From: a@example.com\r\nSubject: dots\r\nMessage-ID: <dots@x>\r\n\r\n..leading dot\r\n...\r\nend")
        .await;
    assert!(c.cmd(".").await.starts_with("250"));
    let got = inbound(&server.bus, 1).await;
    assert_eq!(got[0].text, ".leading dot\n..\nend");

    c.start_transaction().await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send(&format!(
        "From: a@example.com\r\nSubject: long\r\nMessage-ID: <long@x>\r\n\r\n{}",
        "w".repeat(1200)
    ))
    .await;
    let reply = c.cmd(".").await;
    assert!(reply.starts_with("500 5.5.2"), "{reply}");
    let reply = c.cmd(&format!("NOOP {}", "n".repeat(600))).await;
    assert!(reply.starts_with("500 5.5.2 line too long"), "{reply}");
    assert!(c.cmd("NOOP").await.starts_with("250"));
    assert!(no_more_inbound(&server.bus, Duration::from_millis(300)).await);
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("EHLO client.test").await.contains("PIPELINING"));
    c.send_bytes(
        b"MAIL FROM:<a@example.com>\r\nRCPT TO:<nobody@evil.test>\r\nRCPT TO:<help@support.test>\r\nDATA\r\n",
    )
    .await;
    assert!(c.reply().await.starts_with("250 2.1.0"));
    assert!(c.reply().await.starts_with("550 5.7.1"));
    assert!(c.reply().await.starts_with("250 2.1.5"));
    assert!(c.reply().await.starts_with("354"));
    c.send_bytes(
        b"From: a@example.com\r\nSubject: p\r\nMessage-ID: <pipe@x>\r\n\r\npiped\r\n.\r\nQUIT\r\n",
    )
    .await;
    assert!(c.reply().await.starts_with("250 2.0.0"));
    assert!(c.reply().await.starts_with("221"));
    assert_eq!(inbound(&server.bus, 1).await[0].text, "piped");
}

#[tokio::test]
async fn idle_clients_are_dropped_with_421() {
    let mut config = support::config();
    config.email.idle_timeout_secs = 1;
    let server = Server::start_with(config).await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    let reply = c.reply().await;
    assert!(reply.starts_with("421 4.4.2"), "{reply}");
    assert!(c.closed().await);
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_with_421_and_stops() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    server.shutdown.cancel();
    let reply = c.reply().await;
    assert!(reply.starts_with("421 4.3.2"), "{reply}");
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("server stops")
        .expect("join")
        .expect("serve ok");
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_closed_bus_answers_421() {
    let server = Server::start().await;
    server.bus.close().await;
    let (mut c, _) = Raw::connect(server.port).await;
    c.start_transaction().await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send("From: a@example.com\r\nSubject: s\r\nMessage-ID: <closed@x>\r\n\r\nhi")
        .await;
    let reply = c.cmd(".").await;
    assert!(reply.starts_with("421 4.3.2"), "{reply}");
    assert!(c.closed().await);
}

#[tokio::test]
async fn a_bare_lf_dot_does_not_end_data_so_nothing_is_smuggled() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    c.start_transaction().await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send_bytes(
        b"From: a@example.com\r\nSubject: one\r\nMessage-ID: <one@x>\r\n\r\nfirst\n.\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<help@support.test>\r\nDATA\r\nFrom: ceo@example.com\r\nSubject: smuggled\r\n\r\npay now\r\n",
    )
    .await;
    let reply = c.cmd(".").await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert!(
        c.cmd("NOOP").await.starts_with("250"),
        "no replies to smuggled commands"
    );
    let got = inbound(&server.bus, 1).await;
    assert_eq!(got[0].idempotency_key, support::key(&got[0], "one@x"));
    assert!(
        got[0].text.contains("MAIL FROM:<ceo@example.com>"),
        "{:?}",
        got[0].text
    );
    assert!(no_more_inbound(&server.bus, Duration::from_millis(300)).await);
}

#[tokio::test]
async fn a_message_too_large_for_the_bus_after_decoding_gets_552() {
    let mut config = support::config();
    config.email.max_message_bytes = 4 * 1024 * 1024;
    let server = Server::start_with(config).await;
    // 1.5 MiB of attachment: within the SMTP limit, over the bus's 1 MiB.
    let out = Mail::new(
        "big scan",
        "scan@mail.example.com",
        r#"
msg.set_content('Scan attached.')
msg.add_attachment(bytes(1536 * 1024), maintype='application', subtype='pdf', filename='scan.pdf')
"#,
    )
    .send(server.port)
    .await;
    assert!(
        out.starts_with("ERR 552 5.3.4 message too large after decoding"),
        "{out}"
    );
    assert!(no_more_inbound(&server.bus, Duration::from_millis(300)).await);
}
