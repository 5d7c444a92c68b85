//! Scenarios written once and run against both ways Omniroute runs: the
//! embedded app ([`TestApp`]) and every part in its own process
//! ([`Cluster`]), each behind [`Deployment`].
//!
//! [`one_customer_across_chat_email_and_sms`]: the customer starts on chat
//! and gives their email and phone; the agent (a supervisor, so the links
//! are verified) links them. Mail to the
//! conversation's reply address (over real SMTP) and texts (Twilio's signed
//! webhooks) reopen the one conversation after each resolve and are offered
//! first to the agent who handled it, over a more proficient colleague.
//! The agent answers by SMS (a fake Twilio Messages API) and by email
//! (through a real SMTP relay, threaded under the customer's mail); the
//! timeline shows every message in order with its channel, and the email
//! reply is reported sent.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use omni::Part;
use omni_testclients::Endpoints;
use omni_testclients::actors::{
    Agent, Customer, MailClient, Phone, assert_threaded_reply, set_role,
};
use omni_testclients::twilio::FakeTwilio;
use omni_testservers::smtp::SmtpSink;
use serde_json::json;

use crate::providers::{DOMAIN, OUR_NUMBER, SMS_PUBLIC_URL, twilio_account};
use crate::{Cluster, TestApp};

/// A running Omniroute with its email and SMS adapters on.
pub trait Deployment: Endpoints {
    /// Where the email adapter's SMTP server listens.
    fn smtp_addr(&self) -> anyhow::Result<SocketAddr>;
    /// Base URL of the SMS adapter's webhooks.
    fn sms_url(&self) -> anyhow::Result<String>;
    /// The tail of `part`'s own log, for failure messages (empty where the
    /// part logs with the test itself).
    fn log_tail(&self, part: Part) -> String;
}

impl Deployment for TestApp {
    fn smtp_addr(&self) -> anyhow::Result<SocketAddr> {
        TestApp::smtp_addr(self).context("the email adapter is not enabled")
    }
    fn sms_url(&self) -> anyhow::Result<String> {
        TestApp::sms_url(self).context("the sms adapter is not enabled")
    }
    fn log_tail(&self, _part: Part) -> String {
        String::new()
    }
}

impl Deployment for Cluster {
    fn smtp_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(Cluster::smtp_addr(self))
    }
    fn sms_url(&self) -> anyhow::Result<String> {
        Ok(Cluster::sms_url(self))
    }
    fn log_tail(&self, part: Part) -> String {
        Cluster::log_tail(self, part)
    }
}

/// The customer's phone number.
const JO_PHONE: &str = "+14155550123";

/// One customer across chat, email and SMS (see the module doc), against
/// `app` configured with [`crate::providers`], replies reaching `relay`
/// (the app's email relay) and `twilio` (its Twilio API).
pub async fn one_customer_across_chat_email_and_sms(
    app: &impl Deployment,
    relay: SmtpSink,
    twilio: &FakeTwilio,
) -> anyhow::Result<()> {
    // Chat: alice (support 4; chat, email and sms capacity) is the only
    // agent on; she takes it. She is a supervisor here: linking verified
    // identities is a supervisor's.
    set_role(app, "alice", "supervisor").await?;
    let mut alice = Agent::sign_in(app, "alice").await?;
    let (mut jo, _) = Customer::open(app, None, "support").await?;
    jo.say("Hi, my order 1042 is late").await?;
    let (offer, conv) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    jo.say("You can reach me at jo@example.org or +1 415 555 0123")
        .await?;

    // The agent links what the customer gave, as verified by the chat.
    for (kind, value) in [("email", "jo@Example.ORG"), ("phone", "(415) 555-0123")] {
        alice
            .link_identity(&conv, kind, value, "given by the customer in chat")
            .await?;
    }
    let profile = alice
        .api
        .get(&format!("/api/conversations/{conv}/customer"))
        .await?;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let identities = profile.body.to_string();
    assert!(
        identities.contains("jo@example.org") && identities.contains(JO_PHONE),
        "normalized identities on the profile: {identities}"
    );

    // A more proficient colleague comes on (support 8 to alice's 4): what
    // the customer sends next still goes to alice, who handled them.
    let mut carmen = Agent::sign_in(app, "carmen").await?;
    let same_conversation = |what: &str, offer: (String, String)| {
        assert_eq!(offer.1, conv, "{what} reopens the same conversation");
        offer.0
    };

    // Email: resolved, then mail to the reply address over SMTP; the
    // context service reopens the conversation, the router offers it.
    alice.resolve(&conv).await?;
    alice.events.recv_type("released").await?;
    let reply_address = format!("reply+{conv}@{DOMAIN}");
    MailClient::new(app.smtp_addr()?, "Jo Customer <jo@example.org>")
        .send(
            &reply_address,
            "<jo-1@example.org>",
            "Order 1042",
            "It still has not arrived.\n\n-- \nJo",
        )
        .await?;
    let offer = same_conversation("the mail", alice.next_offer().await?);
    alice.settle(&offer, "accept").await?;

    // SMS: a text from the linked phone, as Twilio's signed webhook, joins
    // the open conversation.
    let mut phone = Phone::new(
        &app.sms_url()?,
        SMS_PUBLIC_URL,
        &twilio_account(),
        JO_PHONE,
        OUR_NUMBER,
    );
    phone.text("Texting from my phone now").await?;
    let mut expected = vec![
        ("chat", "inbound", "Hi, my order 1042 is late"),
        (
            "chat",
            "inbound",
            "You can reach me at jo@example.org or +1 415 555 0123",
        ),
        ("email", "inbound", "It still has not arrived."),
        ("sms", "inbound", "Texting from my phone now"),
    ];
    assert_timeline(&alice, &conv, &expected).await?;

    // Resolved again; a new text reopens it, offered first to alice
    // although carmen is available with room.
    alice.resolve(&conv).await?;
    alice.events.recv_type("released").await?;
    phone.text("Any news?").await?;
    let offer = same_conversation("the text", alice.next_offer().await?);
    alice.settle(&offer, "accept").await?;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), carmen.next_offer())
            .await
            .is_err(),
        "carmen is not offered the returning customer"
    );

    // Replies by SMS and by email.
    for (channel, text) in [
        ("sms", "It ships today, tracking follows."),
        ("email", "Tracking number: 1Z999."),
    ] {
        let r = alice
            .api
            .post(
                &format!("/api/conversations/{conv}/messages"),
                &json!({ "text": text, "client_id": format!("r-{channel}"), "channel": channel }),
            )
            .await?;
        assert_eq!(r.status, 200, "{channel} reply: {}", r.body);
    }
    let sent = twilio.wait_for(1, Duration::from_secs(15)).await?;
    let sms = &sent[0];
    assert_eq!(sms.field("To"), Some(JO_PHONE), "{sms:?}");
    assert_eq!(sms.field("From"), Some(OUR_NUMBER), "{sms:?}");
    assert_eq!(
        sms.field("Body"),
        Some("It ships today, tracking follows."),
        "{sms:?}"
    );
    assert!(
        sms.field("StatusCallback")
            .is_some_and(|url| url.starts_with(&format!("{SMS_PUBLIC_URL}/twilio/status"))),
        "{sms:?}"
    );
    let mail =
        tokio::task::spawn_blocking(move || relay.wait_for(1, Duration::from_secs(15))).await??;
    assert_threaded_reply(
        &mail[0],
        "jo@example.org",
        "jo-1@example.org",
        &reply_address,
        "Tracking number: 1Z999.",
    );

    // The agent's timeline shows every message with its channel, in order.
    expected.extend([
        ("sms", "inbound", "Any news?"),
        ("sms", "outbound", "It ships today, tracking follows."),
        ("email", "outbound", "Tracking number: 1Z999."),
    ]);
    assert_timeline(&alice, &conv, &expected).await?;

    // The relay's 250 comes back from the email adapter as the reply's
    // delivery status.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = alice.api.get(&format!("/api/conversations/{conv}")).await?;
        let delivery = r.body["messages"][6]["delivery"].clone();
        if delivery == "sent" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the email reply is reported sent, not {delivery}\nemail log:\n{}",
            app.log_tail(Part::Email)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Asserts that the agent's timeline of `conversation` is `expected`:
/// (channel, direction, text) of every message, in order.
async fn assert_timeline(
    agent: &Agent,
    conversation: &str,
    expected: &[(&str, &str, &str)],
) -> anyhow::Result<()> {
    let t = agent.timeline_of(conversation, expected.len()).await?;
    assert_eq!(
        t.iter()
            .map(|(c, d, x)| (c.as_str(), d.as_str(), x.as_str()))
            .collect::<Vec<_>>(),
        expected,
        "one conversation, every channel, in order"
    );
    Ok(())
}
