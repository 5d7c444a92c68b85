//! An agent's desk through a shift (`tests/browser/deskflow.mjs`): three
//! conversations at once on two channels (two chats and an email), unread
//! markers and channel badges in the list, drafts kept per conversation
//! while switching, the customer's typing in the desk, the agent's typing
//! and "Read" on the customer's chat page; a file attached to an email
//! reply reaching the customer's mailbox as a MIME attachment.
//!
//! This test plays the customer's mail client when the script asks:
//! `email` (over SMTP, to the support address), and reads the SMTP relay:
//! `relay_mail` (the mails the email adapter sent, parsed).

use std::time::Duration;

use anyhow::Context as _;
use omni_testkit::TestApp;
use omni_testkit::actors::MailClient;
use omni_testkit::twilio::FakeTwilio;
use omni_testservers::smtp::SmtpSink;
use serde_json::{Value, json};

use super::Scenario;
use crate::providers::{DOMAIN, email_and_sms_config, twilio_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_shift_in_chromium() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let data = tempfile::tempdir()?;
    let mut config = email_and_sms_config(data.path(), &relay, twilio.api_base())?;
    // The agent accepts by hand: the offers must outlast a slow page.
    config.routing.offer_timeout_secs = 60;
    let app = TestApp::start_with(data, config).await?;
    let result = drive(&app, &relay).await;
    app.stop().await;
    result
}

async fn drive(app: &TestApp, relay: &SmtpSink) -> anyhow::Result<()> {
    let smtp = app.smtp_addr().context("the email adapter runs")?;
    Scenario::new("deskflow.mjs", app)?
        .env("SUPPORT_ADDRESS", &format!("help@{DOMAIN}"))
        .run_with(async |ask: Value| -> anyhow::Result<Value> {
            match arg(&ask, "action")? {
                "email" => {
                    MailClient::new(smtp, arg(&ask, "from")?)
                        .send(
                            arg(&ask, "to")?,
                            arg(&ask, "message_id")?,
                            arg(&ask, "subject")?,
                            arg(&ask, "body")?,
                        )
                        .await?;
                }
                "relay_mail" => {
                    let count = usize::try_from(ask["count"].as_u64().context("count")?)?;
                    let sunk = relay.wait_for(count, Duration::from_secs(15))?;
                    let mut mails = Vec::new();
                    for mail in &sunk {
                        mails.push(parsed(mail)?);
                    }
                    return Ok(json!({ "mails": mails }));
                }
                other => anyhow::bail!("unknown request {other:?}"),
            }
            Ok(json!({}))
        })
        .await
}

/// A mail the relay got, as the customer's mail program reads it: its
/// recipients, subject, new text, the text it quotes, and attachments
/// (content in base64).
fn parsed(mail: &omni_testservers::smtp::SunkMail) -> anyhow::Result<Value> {
    use base64::Engine as _;
    let email = omni_email::mime::parse(&mail.raw)?;
    let split = omni_email::quote::split(&email.text);
    let files: Vec<Value> = email
        .attachments
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "content_type": a.content_type,
                "content_base64": base64::engine::general_purpose::STANDARD.encode(&a.content),
            })
        })
        .collect();
    Ok(json!({
        "to": mail.rcpt_to,
        "subject": email.subject,
        "text": split.new,
        "quoted": split.quoted,
        "content_type": mail.header("Content-Type").unwrap_or_default(),
        "attachments": files,
    }))
}

/// A string field of a request.
fn arg<'a>(ask: &'a Value, name: &str) -> anyhow::Result<&'a str> {
    ask[name]
        .as_str()
        .with_context(|| format!("request without {name:?}: {ask}"))
}
