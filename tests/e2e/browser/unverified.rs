//! The email thread hijack as the agent sees it
//! (`tests/browser/unverified.mjs`): a stranger's mail to a conversation's
//! reply address shows in the timeline, the stranger is listed as not
//! verified in the profile (an agent gets no Confirm and no merge form),
//! and the reply goes to the customer; made a supervisor, the same person
//! confirms the address.
//!
//! This test plays the mail clients and reads the relay when the script
//! asks: `email` (over SMTP), `relay_sent` (each mail's recipients) and
//! `set_role` (the admin changes an account's role).

use std::time::Duration;

use anyhow::Context as _;
use omni_testkit::TestApp;
use omni_testkit::actors::MailClient;
use omni_testservers::smtp::SmtpSink;
use serde_json::{Value, json};

use omni_testkit::actors::set_role;

use super::Scenario;
use crate::providers::{DOMAIN, email_and_sms_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverified_sender_in_chromium() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let data = tempfile::tempdir()?;
    let config = email_and_sms_config(data.path(), &relay, "http://127.0.0.1:9")?;
    let app = TestApp::start_with(data, config).await?;
    let result = drive(&app, &relay).await;
    app.stop().await;
    result
}

async fn drive(app: &TestApp, relay: &SmtpSink) -> anyhow::Result<()> {
    let smtp = app.smtp_addr().context("the email adapter runs")?;
    Scenario::new("unverified.mjs", app)?
        .env("SUPPORT", &format!("support@{DOMAIN}"))
        .run_with(async |ask: Value| -> anyhow::Result<Value> {
            let arg = |name: &str| {
                ask[name]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("request without {name:?}: {ask}"))
            };
            match arg("action")?.as_str() {
                "email" => {
                    MailClient::new(smtp, &arg("from")?)
                        .send(
                            &arg("to")?,
                            &arg("message_id")?,
                            &arg("subject")?,
                            &arg("body")?,
                        )
                        .await?;
                    Ok(json!({}))
                }
                "set_role" => {
                    set_role(app, &arg("user")?, &arg("role")?).await?;
                    Ok(json!({}))
                }
                "relay_sent" => {
                    let count = ask["count"].as_u64().context("count")?;
                    let sent = relay.wait_for(usize::try_from(count)?, Duration::from_secs(15))?;
                    let recipients: Vec<Value> = sent.iter().map(|m| json!(m.rcpt_to)).collect();
                    Ok(json!({ "recipients": recipients }))
                }
                other => anyhow::bail!("unknown request {other:?}"),
            }
        })
        .await
}
