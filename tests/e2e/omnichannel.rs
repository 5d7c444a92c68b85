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

use omni_core::config::SmsProvider;
use omni_testkit::TestApp;
use omni_testkit::actors::{MailClient, Phone};
use omni_testkit::app::test_config;
use omni_testkit::twilio::{FakeTwilio, TwilioAccount};
use omni_testservers::smtp::SmtpSink;
use serde_json::json;

use crate::support::{Agent, Customer};

const DOMAIN: &str = "support.example.com";
const SMS_PUBLIC_URL: &str = "http://sms.omniroute.test";
const OUR_NUMBER: &str = "+15005550006";
const JO_PHONE: &str = "+14155550123";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_chat_email_and_sms() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let account = TwilioAccount {
        sid: "AC00000000000000000000000000000001".into(),
        auth_token: "twilio-auth-token".into(),
    };
    let twilio = FakeTwilio::start(&account).await?;
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
    config.sms.twilio.account_sid = account.sid.clone();
    config.sms.twilio.auth_token = account.auth_token.clone();
    config.sms.twilio.api_base = twilio.api_base().to_owned();
    config.validate()?;
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
