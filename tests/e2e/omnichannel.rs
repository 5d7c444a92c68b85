//! One customer across web chat, email and SMS, over the real protocols:
//! the chat WebSocket, SMTP from Python's `smtplib`, Twilio's signed
//! webhook; replies leave through a real SMTP relay (aiosmtpd) and a fake
//! Twilio Messages API that follows Twilio's documented wire format.
//!
//! The customer starts on chat and gives their email and phone; the agent
//! links them. The customer then writes to the conversation's reply address
//! by email and texts from their phone: one conversation, every message in
//! order with its channel. After resolve, a new text reopens it and goes
//! first to the agent who handled it (over a more proficient colleague). The
//! agent answers by SMS and by email; the email threads under the
//! customer's own message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use omni_core::config::SmsProvider;
use omni_testkit::app::test_config;
use omni_testkit::{HttpClient, TestApp};
use omni_testservers::smtp::SmtpSink;
use serde_json::{Value, json};

use crate::support::{Agent, Customer};

const DOMAIN: &str = "support.example.com";
const TWILIO_ACCOUNT: &str = "AC00000000000000000000000000000001";
const TWILIO_TOKEN: &str = "twilio-auth-token";
const SMS_PUBLIC_URL: &str = "http://sms.omniroute.test";
const OUR_NUMBER: &str = "+15005550006";
const JO_PHONE: &str = "+14155550123";

/// What the fake Twilio Messages API was sent: the form fields of each POST.
type Sent = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A Twilio-compatible Messages API on a free port: `POST
/// /2010-04-01/Accounts/{sid}/Messages.json` answers 201 with a JSON message
/// resource, as Twilio documents.
async fn fake_twilio() -> anyhow::Result<(String, Sent)> {
    async fn create(State(sent): State<Sent>, body: String) -> (StatusCode, axum::Json<Value>) {
        let form: Vec<(String, String)> = body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        let n = {
            let mut sent = sent.lock().unwrap_or_else(|p| p.into_inner());
            sent.push(form);
            sent.len()
        };
        (
            StatusCode::CREATED,
            axum::Json(json!({
                "sid": format!("SM{n:032}"),
                "status": "queued",
                "error_code": null,
                "error_message": null,
            })),
        )
    }
    let sent: Sent = Arc::default();
    let app = Router::new()
        .route(
            &format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages.json"),
            post(create),
        )
        .with_state(sent.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, sent))
}

fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(hex), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends one email with Python's smtplib, as a customer's mail client would.
fn send_email(smtp: std::net::SocketAddr, to: &str, message_id: &str, subject: &str, body: &str) {
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let script = r#"
import smtplib, sys
from email.message import EmailMessage
host, port, to, mid, subject, body = sys.argv[1:7]
m = EmailMessage()
m["From"] = "Jo Customer <jo@example.org>"
m["To"] = to
m["Subject"] = subject
m["Message-ID"] = mid
m.set_content(body)
with smtplib.SMTP(host, int(port), timeout=10) as s:
    s.send_message(m)
"#;
    let out = std::process::Command::new(python)
        .args([
            "-c",
            script,
            &smtp.ip().to_string(),
            &smtp.port().to_string(),
            to,
            message_id,
            subject,
            body,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "smtplib: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Posts a text from Jo's phone to the Twilio webhook, signed as Twilio signs.
async fn text_from_phone(sms: &HttpClient, sid: &str, body: &str) -> anyhow::Result<()> {
    let params: Vec<(String, String)> = [
        ("AccountSid", TWILIO_ACCOUNT),
        ("Body", body),
        ("From", JO_PHONE),
        ("MessageSid", sid),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("To", OUR_NUMBER),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signature = omni_sms::signature::sign(
        TWILIO_TOKEN,
        &format!("{SMS_PUBLIC_URL}/twilio/sms"),
        &params,
    );
    let r = sms
        .post_form("/twilio/sms", &params, &[("x-twilio-signature", signature)])
        .await?;
    anyhow::ensure!(r.status == 200, "webhook: {} {}", r.status, r.body);
    Ok(())
}

/// The (channel, direction, text) of a conversation's timeline.
async fn timeline(agent: &Agent, conv: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    let r = agent.api.get(&format!("/api/conversations/{conv}")).await?;
    anyhow::ensure!(r.status == 200, "{}", r.body);
    Ok(r.body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| {
                    (
                        m["channel"].as_str().unwrap_or_default().to_owned(),
                        m["direction"].as_str().unwrap_or_default().to_owned(),
                        m["text"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Waits until the conversation's timeline has `n` messages.
async fn timeline_len(
    agent: &Agent,
    conv: &str,
    n: usize,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let t = timeline(agent, conv).await?;
        if t.len() >= n || tokio::time::Instant::now() > deadline {
            return Ok(t);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_chat_email_and_sms() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let (twilio_url, sent_sms) = fake_twilio().await?;
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.context.reply_domain = DOMAIN.into();
    config.context.default_region = Some("US".into());
    config.email.enabled = true;
    config.email.domains = vec![DOMAIN.into()];
    config.email.relay = relay.url();
    config.email.from = format!("support@{DOMAIN}");
    config.sms.enabled = true;
    config.sms.provider = SmsProvider::Twilio;
    config.sms.from = OUR_NUMBER.into();
    config.sms.public_url = SMS_PUBLIC_URL.into();
    config.sms.twilio.account_sid = TWILIO_ACCOUNT.into();
    config.sms.twilio.auth_token = TWILIO_TOKEN.into();
    config.sms.twilio.api_base = twilio_url;
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let smtp = app.smtp_addr().expect("email adapter runs");
    let sms = HttpClient::new(app.sms_url().expect("sms adapter runs"));

    // Chat: dmitri (support 6) is the only agent on; he takes it.
    let mut dmitri = Agent::sign_in(&app, "dmitri").await?;
    let (mut jo, _) = Customer::open(&app, None, "support").await?;
    jo.say("Hi, my order 1042 is late").await?;
    let (offer, conv) = dmitri.next_offer().await?;
    dmitri.settle(&offer, "accept").await?;
    jo.say("You can reach me at jo@example.org or +1 415 555 0123")
        .await?;

    // The agent links what the customer gave, as verified by the chat.
    for (kind, value) in [("email", "jo@Example.ORG"), ("phone", "(415) 555-0123")] {
        let r = dmitri
            .api
            .post(
                &format!("/api/conversations/{conv}/customer/identities"),
                &json!({ "kind": kind, "value": value, "evidence": "given by the customer in chat" }),
            )
            .await?;
        assert_eq!(r.status, 200, "link {kind}: {}", r.body);
    }
    let profile = dmitri
        .api
        .get(&format!("/api/conversations/{conv}/customer"))
        .await?;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let identities = profile.body.to_string();
    assert!(
        identities.contains("jo@example.org") && identities.contains(JO_PHONE),
        "normalized identities on the profile: {identities}"
    );

    // A more proficient colleague comes on; the conversation stays dmitri's.
    let mut carmen = Agent::sign_in(&app, "carmen").await?;

    // Email to the conversation's reply address, then a text from the phone.
    let reply_address = format!("reply+{conv}@{DOMAIN}");
    send_email(
        smtp,
        &reply_address,
        "<jo-1@example.org>",
        "Order 1042",
        "It still has not arrived.\n\n-- \nJo",
    );
    text_from_phone(
        &sms,
        "SM00000000000000000000000000000001",
        "Texting from my phone now",
    )
    .await?;
    let t = timeline_len(&dmitri, &conv, 4).await?;
    assert_eq!(
        t.iter()
            .map(|(c, d, x)| (c.as_str(), d.as_str(), x.as_str()))
            .collect::<Vec<_>>(),
        [
            ("chat", "inbound", "Hi, my order 1042 is late"),
            (
                "chat",
                "inbound",
                "You can reach me at jo@example.org or +1 415 555 0123"
            ),
            ("email", "inbound", "It still has not arrived."),
            ("sms", "inbound", "Texting from my phone now"),
        ],
        "one conversation, every channel, in order"
    );

    // Resolved; a new text reopens it, offered first to dmitri, who handled
    // it, although carmen (support 8) is available with room.
    dmitri.resolve(&conv).await?;
    dmitri.events.recv_type("released").await?;
    text_from_phone(&sms, "SM00000000000000000000000000000002", "Any news?").await?;
    let (offer, again) = dmitri.next_offer().await?;
    assert_eq!(again, conv, "the same conversation reopens");
    dmitri.settle(&offer, "accept").await?;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), carmen.next_offer())
            .await
            .is_err(),
        "carmen is not offered the returning customer"
    );

    // Replies by SMS and by email.
    let r = dmitri
        .api
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &json!({ "text": "It ships today, tracking follows.", "client_id": "r-sms", "channel": "sms" }),
        )
        .await?;
    assert_eq!(r.status, 200, "sms reply: {}", r.body);
    let r = dmitri
        .api
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &json!({ "text": "Tracking number: 1Z999.", "client_id": "r-mail", "channel": "email" }),
        )
        .await?;
    assert_eq!(r.status, 200, "email reply: {}", r.body);

    let mail =
        tokio::task::spawn_blocking(move || relay.wait_for(1, Duration::from_secs(15))).await??;
    let mail = &mail[0];
    assert_eq!(
        mail.rcpt_to,
        ["jo@example.org"],
        "to the customer's address"
    );
    let header = |name: &str| mail.header(name).unwrap_or_default();
    assert!(
        header("In-Reply-To").contains("jo-1@example.org"),
        "threads under jo's mail: {}",
        header("In-Reply-To")
    );
    assert!(header("References").contains("jo-1@example.org"));
    assert!(
        header("Reply-To").contains(&reply_address),
        "{}",
        header("Reply-To")
    );
    assert!(
        header("Subject").starts_with("Re: "),
        "{}",
        header("Subject")
    );
    assert!(String::from_utf8_lossy(&mail.raw).contains("Tracking number: 1Z999."));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let sms_sent = loop {
        let sent = sent_sms.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if !sent.is_empty() || tokio::time::Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let form = sms_sent
        .first()
        .expect("one SMS sent through the provider API");
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    assert_eq!(field("To"), JO_PHONE);
    assert_eq!(field("From"), OUR_NUMBER);
    assert_eq!(field("Body"), "It ships today, tracking follows.");

    // The agent's timeline shows every message with its channel.
    let t = timeline_len(&dmitri, &conv, 7).await?;
    let channels: Vec<(&str, &str)> = t.iter().map(|(c, d, _)| (c.as_str(), d.as_str())).collect();
    assert_eq!(
        channels,
        [
            ("chat", "inbound"),
            ("chat", "inbound"),
            ("email", "inbound"),
            ("sms", "inbound"),
            ("sms", "inbound"),
            ("sms", "outbound"),
            ("email", "outbound"),
        ]
    );
    app.stop().await;
    Ok(())
}
