//! The channel edge: what an outsider can send to the SMS webhooks and the
//! SMTP server, and what the configuration lets slip into output.
//!
//! - A forged Twilio webhook under the Kannel provider (signed with the
//!   empty key the Twilio section has then) finds no route and stores
//!   nothing: no `STOP` opt-out, no message under the victim's number.
//! - The email thread hijack: mail from a stranger to a conversation's
//!   reply address, or quoting its Message-ID, stays in the conversation
//!   with the stranger as an unverified participant; the customer is not
//!   linked to them and the agent's reply still goes to the customer.
//! - The tab-in-URL tracking pixel (`ht&#9;tps://...`) and its variants
//!   are removed from the HTML an agent sees, also from a body stored
//!   before (it is sanitized again when the desk serves it).
//! - A NOOP flood: one address holding every SMTP session locks nobody out;
//!   it gets its cap of sessions and a 421 for the rest.
//! - Secrets (relay password, Twilio token, Kannel password and secret,
//!   credentials in the NATS and Redis URLs) appear neither in `Debug` of
//!   the configuration nor in the logs of a starting app, nor in the error
//!   of a part that cannot reach NATS.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use omni_core::config::{Config, SmsProvider};
use omni_testkit::actors::{Agent, MailClient};
use omni_testkit::app::test_config;
use omni_testkit::mail::{literal, smtplib};
use omni_testkit::providers::{
    DOMAIN, OUR_NUMBER, SMS_PUBLIC_URL, email_and_sms_config, twilio_account,
};
use omni_testkit::twilio::signature;
use omni_testkit::{HttpClient, TestApp};
use omni_testservers::smtp::SmtpSink;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;

const KANNEL_SECRET: &str = "kannel-shared-secret";
const VICTIM: &str = "+12025550199";

/// The app with the SMS adapter on Kannel (no Twilio credentials at all).
async fn kannel_app() -> anyhow::Result<TestApp> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.context.default_region = Some("US".into());
    config.sms.enabled = true;
    config.sms.provider = SmsProvider::Kannel;
    config.sms.from = OUR_NUMBER.into();
    config.sms.public_url = SMS_PUBLIC_URL.into();
    config.sms.kannel.username = "omni".into();
    config.sms.kannel.secret = KANNEL_SECRET.into();
    config.validate()?;
    TestApp::start_with(data, config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_twilio_webhook_under_kannel_finds_no_route_and_stores_nothing()
-> anyhow::Result<()> {
    let app = kannel_app().await?;
    let sms = HttpClient::new(app.sms_url().context("the sms adapter runs")?);
    let mut alice = Agent::sign_in(&app, "alice").await?;

    // Signed as Twilio would, with the key the adapter would have used
    // before: the empty auth token of the unused Twilio section.
    for (path, extra) in [
        ("/twilio/sms", ("Body", "STOP")),
        ("/twilio/status", ("MessageStatus", "delivered")),
    ] {
        let form: Vec<(String, String)> = [
            ("MessageSid", "SMforged0001"),
            ("AccountSid", ""),
            ("From", VICTIM),
            ("To", OUR_NUMBER),
            extra,
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signed = signature("", &format!("{SMS_PUBLIC_URL}{path}"), &form);
        let response = sms
            .post_form(path, &form, &[("x-twilio-signature", signed)])
            .await?;
        assert_eq!(response.status, 404, "{path}: {}", response.body);
    }

    // The victim's real text through Kannel: its conversation holds that
    // text only, and no opt-out (a stored forged STOP would come first).
    let response = sms
        .get(&format!(
            "/kannel/inbound?secret={KANNEL_SECRET}&id=k1&from=%2B12025550199&to={}&text=hello",
            OUR_NUMBER.replace('+', "%2B")
        ))
        .await?;
    assert_eq!(response.status, 200, "{}", response.body);
    let (offer, conversation) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    let timeline = alice.timeline(&conversation).await?;
    assert_eq!(
        timeline,
        vec![("sms".to_owned(), "inbound".to_owned(), "hello".to_owned())]
    );
    let view = alice
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    assert_eq!(
        view.body["customer"]["sms_opt_outs"],
        Value::Array(vec![]),
        "{}",
        view.body
    );
    app.stop().await;
    Ok(())
}

/// The app with the email adapter on (replies through `relay`).
async fn email_app(relay: &SmtpSink) -> anyhow::Result<TestApp> {
    let data = tempfile::tempdir()?;
    let config = email_and_sms_config(data.path(), relay, "http://127.0.0.1:9")?;
    TestApp::start_with(data, config).await
}

/// `kind: value` of each identity in a customer view's `field`.
fn identities(customer: &Value, field: &str) -> Vec<String> {
    customer[field]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    format!(
                        "{}: {}",
                        i["kind"].as_str().unwrap_or(""),
                        i["value"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_thread_hijack_leaves_the_customer_and_the_reply_target_alone()
-> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let app = email_app(&relay).await?;
    let smtp = app.smtp_addr().context("the email adapter runs")?;
    let mut alice = Agent::sign_in(&app, "alice").await?;

    MailClient::new(smtp, "Jo Customer <jo@example.org>")
        .send(
            &format!("support@{DOMAIN}"),
            "<order-1042@example.org>",
            "Order 1042",
            "Where is my parcel?",
        )
        .await?;
    let (offer, conversation) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;

    // A stranger writes to the conversation's reply address...
    MailClient::new(smtp, "Mallory <mallory@evil.example>")
        .send(
            &format!("reply+{conversation}@{DOMAIN}"),
            "<m1@evil.example>",
            "Re: Order 1042",
            "Please send the refund to my new account instead.",
        )
        .await?;
    // ...and another quotes the customer's Message-ID.
    let code = format!(
        "msg = EmailMessage()\nmsg['From'] = 'eve@evil.example'\nmsg['To'] = {to}\n\
         msg['Subject'] = 'Re: Order 1042'\nmsg['Message-ID'] = '<e1@evil.example>'\n\
         msg['In-Reply-To'] = '<order-1042@example.org>'\nmsg.set_content('Ship it to my address.')",
        to = literal(&format!("support@{DOMAIN}")),
    );
    let out = smtplib(
        smtp,
        "eve@evil.example",
        &[&format!("support@{DOMAIN}")],
        &code,
    )
    .await?;
    assert!(out.starts_with("OK {}"), "{out}");

    let timeline = alice.timeline_of(&conversation, 3).await?;
    assert_eq!(
        timeline.len(),
        3,
        "both stay in the conversation: {timeline:?}"
    );
    let view = alice
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    let customer = &view.body["customer"];
    assert_eq!(
        identities(customer, "identities"),
        vec!["email: jo@example.org"],
        "strangers are not linked: {customer}"
    );
    assert_eq!(
        identities(customer, "unverified"),
        vec!["email: mallory@evil.example", "email: eve@evil.example"],
        "strangers are unverified participants the agent sees: {customer}"
    );

    alice
        .reply(&conversation, "Your parcel ships today.", "r1")
        .await?;
    let sent = relay.wait_for(1, Duration::from_secs(15))?;
    assert_eq!(
        sent[0].rcpt_to,
        ["jo@example.org"],
        "the reply goes to the verified customer"
    );
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tab_in_url_tracking_pixel_never_reaches_the_desk() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let app = email_app(&relay).await?;
    let smtp = app.smtp_addr().context("the email adapter runs")?;
    let mut alice = Agent::sign_in(&app, "alice").await?;
    let pixels = [
        "ht&#9;tps://tracker.test/tab.gif",
        "ht&#x0A;tp://tracker.test/newline.gif",
        "&#1; HTTPS://tracker.test/control.gif",
        "/&#9;/tracker.test/relative.gif",
    ];
    let html: String = pixels
        .iter()
        .map(|src| format!("<img src=\"{src}\" width=\"1\" height=\"1\">"))
        .chain(["<p>Hello, where is my order?</p>".to_owned()])
        .collect();
    let code = format!(
        "msg = EmailMessage()\nmsg['From'] = 'jo@example.org'\nmsg['To'] = {to}\n\
         msg['Subject'] = 'Order'\nmsg['Message-ID'] = '<px1@example.org>'\n\
         msg.set_content('Hello, where is my order?')\nmsg.add_alternative({html}, subtype='html')",
        to = literal(&format!("support@{DOMAIN}")),
        html = literal(&html),
    );
    let out = smtplib(
        smtp,
        "jo@example.org",
        &[&format!("support@{DOMAIN}")],
        &code,
    )
    .await?;
    assert!(out.starts_with("OK {}"), "{out}");
    let (offer, conversation) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    let view = alice
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    let shown = view.body["messages"][0]["email"]["html"]
        .as_str()
        .context("the html part is shown")?;
    assert!(shown.contains("where is my order"), "{shown}");
    assert!(!shown.contains("tracker.test"), "a pixel left: {shown}");
    app.stop().await;
    Ok(())
}

/// An idle SMTP session from `from`: greeted, then NOOP. Returns the
/// greeting's code (220, or 421 when turned away) and keeps the socket.
async fn idle_session(
    from: std::net::IpAddr,
    server: SocketAddr,
) -> anyhow::Result<(u16, tokio::net::TcpStream)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let stream = socket.connect(server).await?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let code: u16 = line.get(..3).unwrap_or("").parse().unwrap_or(0);
    let mut stream = reader.into_inner();
    if code == 220 {
        stream.write_all(b"NOOP\r\n").await?;
        let mut reader = BufReader::new(stream);
        let mut reply = String::new();
        reader.read_line(&mut reply).await?;
        anyhow::ensure!(reply.starts_with("250"), "NOOP: {reply}");
        stream = reader.into_inner();
    }
    Ok((code, stream))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noop_flood_from_one_address_locks_no_real_mail_client_out() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let app = email_app(&relay).await?;
    let smtp = app.smtp_addr().context("the email adapter runs")?;
    let cap = Config::default().email.max_sessions_per_address;
    let flooder: std::net::IpAddr = [127, 0, 0, 2].into();

    // 256 sockets from one address, each greeted and sending NOOP, held open.
    let mut held = Vec::new();
    let mut greeted = 0;
    for _ in 0..256 {
        let (code, stream) = idle_session(flooder, smtp).await?;
        match code {
            220 => greeted += 1,
            421 => {}
            other => anyhow::bail!("greeting {other}"),
        }
        held.push(stream);
    }
    assert_eq!(
        greeted, cap,
        "one address holds at most its cap of sessions"
    );

    // A real mail client from another address still gets through.
    MailClient::new(smtp, "jo@example.org")
        .send(
            &format!("support@{DOMAIN}"),
            "<after-flood@example.org>",
            "Still there?",
            "Sent while 256 sockets sit idle.",
        )
        .await?;
    drop(held);
    app.stop().await;
    Ok(())
}

/// Log output captured from every thread of this test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const SECRETS: [&str; 6] = [
    "relay-pass-0001",
    "twilio-token-0002",
    "kannel-pass-0003",
    "kannel-secret-0004",
    "nats-pass-0005",
    "redis-pass-0006",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_appear_in_no_debug_output_log_line_or_error() -> anyhow::Result<()> {
    // Every log line of this process (nextest runs each test in its own),
    // at the most verbose level.
    let captured = Captured::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(captured.clone())
            .finish(),
    )?;

    let relay = SmtpSink::start_with_auth("relay-user", SECRETS[0])?;
    let data = tempfile::tempdir()?;
    let mut config = email_and_sms_config(data.path(), &relay, "http://127.0.0.1:9")?;
    config.email.relay_user = Some("relay-user".into());
    config.email.relay_password = Some(SECRETS[0].into());
    config.sms.twilio.auth_token = SECRETS[1].into();
    config.sms.kannel.password = SECRETS[2].into();
    config.sms.kannel.secret = SECRETS[3].into();
    config.nats.url = format!("nats://omni:{}@127.0.0.1:1", SECRETS[4]).into();
    config.redis.url = format!("redis://omni:{}@127.0.0.1:1", SECRETS[5]).into();
    config.validate()?;

    let debug = format!("{config:?} {config:#?}");
    for secret in SECRETS {
        assert!(!debug.contains(secret), "{secret} in Debug: {debug}");
    }

    // The embedded app starts, takes a mail and replies through the relay
    // with its password (so the secrets are in use), then stops.
    let app = TestApp::start_with(data, config.clone()).await?;
    let smtp = app.smtp_addr().context("the email adapter runs")?;
    let mut alice = Agent::sign_in(&app, "alice").await?;
    MailClient::new(smtp, "jo@example.org")
        .send(
            &format!("support@{DOMAIN}"),
            "<s1@example.org>",
            "Hi",
            "Hello",
        )
        .await?;
    let (offer, conversation) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    alice.reply(&conversation, "Hello Jo", "r1").await?;
    relay.wait_for(1, Duration::from_secs(15))?;
    app.stop().await;

    // A distributed part that cannot reach NATS names the server, not the
    // password in its URL.
    let listeners = omni::Listeners::loopback(&[omni::Part::Email]).await?;
    let error = match omni::distributed::start(config, omni::Part::Email, listeners).await {
        Ok(running) => {
            running.shutdown().await;
            anyhow::bail!("started without NATS");
        }
        Err(e) => format!("{e:#} {e:?}"),
    };
    assert!(error.contains("127.0.0.1:1"), "{error}");

    let logs =
        String::from_utf8_lossy(&captured.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?)
            .into_owned();
    assert!(
        logs.contains("email accepted"),
        "the logs were captured: {logs}"
    );
    // The forms credentials travel in: SMTP AUTH PLAIN and LOGIN, HTTP basic.
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for encoded in [
        b64(&format!("\0relay-user\0{}", SECRETS[0])),
        b64(SECRETS[0]),
        b64(&format!("{}:{}", twilio_account().sid, SECRETS[1])),
    ] {
        assert!(!logs.contains(&encoded), "{encoded} in the logs");
    }
    for secret in SECRETS {
        let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in the logs: {leaks:#?}");
        assert!(!error.contains(secret), "{secret} in the error: {error}");
    }
    Ok(())
}

/// A body stored before a sanitizer fix (here: written straight to the
/// store, past the email adapter) reaches the desk sanitized by today's
/// rules: no script, no event handler, no tab-in-URL pixel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_unsanitized_email_body_is_sanitized_when_served() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = test_config(data.path())?;
    let raw = "<p onclick=\"steal()\">Old mail</p><script>steal()</script>\
               <img src=\"ht&#9;tps://tracker.test/old.gif\">";
    let conversation = {
        let store = omni_store::EmbeddedStore::open(&config.data_dir.join("store.redb"))?;
        let message = omni_core::InboundMessage {
            idempotency_key: "email:old-1".into(),
            channel: omni_core::Channel::EMAIL,
            from: omni_core::Identity::Email("jo@example.org".into()),
            text: "Old mail".into(),
            received_at_ms: omni_core::time::now_ms(),
            topic: None,
            display_name: None,
            email: Some(omni_core::EmailDetails {
                message_id: "old-1@example.org".into(),
                subject: "Old".into(),
                html: raw.into(),
                ..Default::default()
            }),
            sms: None,
        };
        let ingested = omni_store::ContextStore::ingest(
            store.as_ref(),
            &message,
            &"support".into(),
            omni_store::ContinuityPolicy {
                reopen_window_ms: 0,
            },
        )
        .await?;
        ingested.conversation.id.to_string()
    };
    let app = TestApp::start_with(data, config).await?;
    let (answer, desk) = HttpClient::new(app.desk_url())
        .sign_in("supervisor", omni_testkit::actors::TEST_PASSWORD)
        .await?;
    let desk = desk.with_context(|| format!("supervisor signs in: {}", answer.body))?;
    let view = desk
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    let shown = view.body["messages"][0]["email"]["html"]
        .as_str()
        .with_context(|| format!("the html part is shown: {}", view.body))?;
    assert!(shown.contains("Old mail"), "{shown}");
    for gone in ["script", "steal", "onclick", "tracker.test"] {
        assert!(!shown.contains(gone), "{gone} left in {shown}");
    }
    app.stop().await;
    Ok(())
}
