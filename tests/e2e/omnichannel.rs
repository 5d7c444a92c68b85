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

use std::time::Duration;

use omni_testkit::TestApp;
use omni_testkit::actors::{MailClient, Phone, assert_threaded_reply};
use omni_testkit::twilio::FakeTwilio;
use omni_testservers::smtp::SmtpSink;
use serde_json::json;

use crate::providers::{DOMAIN, OUR_NUMBER, SMS_PUBLIC_URL, email_and_sms_config, twilio_account};
use crate::support::{Agent, Customer};

const JO_PHONE: &str = "+14155550123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_chat_email_and_sms() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let account = twilio_account();
    let twilio = FakeTwilio::start(&account).await?;
    let data = tempfile::tempdir()?;
    let config = email_and_sms_config(data.path(), &relay, twilio.api_base())?;
    let app = TestApp::start_with(data, config).await?;
    let mailer = MailClient::new(
        app.smtp_addr().expect("email adapter runs"),
        "Jo Customer <jo@example.org>",
    );
    let mut phone = Phone::new(
        &app.sms_url().expect("sms adapter runs"),
        SMS_PUBLIC_URL,
        &account,
        JO_PHONE,
        OUR_NUMBER,
    );

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
        dmitri
            .link_identity(&conv, kind, value, "given by the customer in chat")
            .await?;
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
    mailer
        .send(
            &reply_address,
            "<jo-1@example.org>",
            "Order 1042",
            "It still has not arrived.\n\n-- \nJo",
        )
        .await?;
    phone.text("Texting from my phone now").await?;
    let t = dmitri.timeline_of(&conv, 4).await?;
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
    phone.text("Any news?").await?;
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
    assert_threaded_reply(
        mail,
        "jo@example.org",
        "jo-1@example.org",
        &reply_address,
        "Tracking number: 1Z999.",
    );

    let sent = twilio.wait_for(1, Duration::from_secs(10)).await?;
    let sms = &sent[0];
    assert_eq!(sms.field("To"), Some(JO_PHONE));
    assert_eq!(sms.field("From"), Some(OUR_NUMBER));
    assert_eq!(sms.field("Body"), Some("It ships today, tracking follows."));

    // The agent's timeline shows every message with its channel.
    let t = dmitri.timeline_of(&conv, 7).await?;
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
