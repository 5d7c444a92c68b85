//! The desk's customer screens (`tests/browser/customer.mjs`), with the
//! email and SMS adapters on: the agent links a chat customer's email
//! address and phone number in the profile, sees the customer's text and
//! email join the conversation's timeline with their channels, replies by
//! SMS chosen in the reply menu and sees Twilio's status callbacks on the
//! reply, then merges in a customer known by another number and undoes it.
//! Linking verified identities and merging are a supervisor's: bob is made
//! one here (he still takes conversations).
//!
//! This test plays the customer's phone and mail client and Twilio, when
//! the script asks: `text` (a signed webhook; answered once a customer has
//! that number), `email` (over SMTP), `twilio_sent` (what the fake Twilio
//! API was sent) and `twilio_status` (a signed status callback).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use omni_proto::common as pb;
use omni_proto::context::FindCustomerRequest;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_testkit::TestApp;
use omni_testkit::actors::{MailClient, Phone};
use omni_testkit::twilio::{FakeTwilio, status_callback};
use omni_testservers::smtp::SmtpSink;
use serde_json::{Value, json};

use omni_testkit::actors::set_role;

use super::Scenario;
use crate::providers::{DOMAIN, OUR_NUMBER, SMS_PUBLIC_URL, email_and_sms_config, twilio_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_screens_in_chromium() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let data = tempfile::tempdir()?;
    let config = email_and_sms_config(data.path(), &relay, twilio.api_base())?;
    let app = TestApp::start_with(data, config).await?;
    set_role(&app, "bob", "supervisor").await?;
    let result = drive(&app, &twilio).await;
    app.stop().await;
    result
}

async fn drive(app: &TestApp, twilio: &FakeTwilio) -> anyhow::Result<()> {
    let smtp = app.smtp_addr().context("the email adapter runs")?;
    let sms_url = app.sms_url().context("the sms adapter runs")?;
    let account = twilio_account();
    // One phone per number: each numbers its own texts' SIDs.
    let mut phones: HashMap<String, Phone> = HashMap::new();
    let mut context =
        ContextServiceClient::new(omni_testkit::grpc::admin_channel(&app.grpc_url())?);
    Scenario::new("customer.mjs", app)?
        .env("SMS_FROM", OUR_NUMBER)
        .env("REPLY_DOMAIN", DOMAIN)
        .run_with(async |ask: Value| -> anyhow::Result<Value> {
            match arg(&ask, "action")? {
                "text" => {
                    let from = arg(&ask, "from")?;
                    phones
                        .entry(from.to_owned())
                        .or_insert_with(|| {
                            Phone::new(&sms_url, SMS_PUBLIC_URL, &account, from, OUR_NUMBER)
                        })
                        .text(arg(&ask, "body")?)
                        .await?;
                    customer_known(&mut context, from).await?;
                }
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
                "twilio_sent" => {
                    let count = ask["count"].as_u64().context("count")?;
                    let sent = twilio
                        .wait_for(usize::try_from(count)?, Duration::from_secs(15))
                        .await?;
                    let messages: Vec<Value> = sent
                        .iter()
                        .map(|m| {
                            json!({
                                "sid": m.sid,
                                "to": m.field("To"),
                                "from": m.field("From"),
                                "body": m.field("Body"),
                            })
                        })
                        .collect();
                    return Ok(json!({ "messages": messages }));
                }
                "twilio_status" => {
                    let sid = arg(&ask, "sid")?;
                    let sent = twilio
                        .sent()
                        .into_iter()
                        .find(|m| m.sid == sid)
                        .with_context(|| format!("the Twilio API sent no message {sid}"))?;
                    status_callback(
                        &sms_url,
                        SMS_PUBLIC_URL,
                        &account,
                        &sent,
                        arg(&ask, "status")?,
                    )
                    .await?;
                }
                other => anyhow::bail!("unknown request {other:?}"),
            }
            Ok(json!({}))
        })
        .await?;
    let sent = twilio.sent();
    anyhow::ensure!(
        sent.len() == 1,
        "one reply, sent once through the Twilio API: {sent:?}"
    );
    Ok(())
}

/// A string field of a request.
fn arg<'a>(ask: &'a Value, name: &str) -> anyhow::Result<&'a str> {
    ask[name]
        .as_str()
        .with_context(|| format!("request without {name:?}: {ask}"))
}

/// Waits until the context service knows a customer by `phone`: a text from
/// a new number is on the bus once its webhook is answered, in the store a
/// moment later.
async fn customer_known(
    context: &mut ContextServiceClient<omni_proto::auth::AuthChannel>,
    phone: &str,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = context
            .find_customer(FindCustomerRequest {
                identity: Some(pb::Identity {
                    kind: Some(pb::identity::Kind::Phone(phone.to_owned())),
                }),
            })
            .await;
        match found {
            Ok(_) => return Ok(()),
            Err(status) if status.code() == tonic::Code::NotFound => {
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "no customer with {phone} 10 s after the text"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => return Err(status.into()),
        }
    }
}
