//! One customer across web chat, email and SMS in the embedded app: the
//! test kit's scenario (`omni_testkit::scenario`), which the distributed
//! tests run against every part in its own process too.

use omni_testkit::TestApp;
use omni_testkit::scenario::one_customer_across_chat_email_and_sms;
use omni_testkit::twilio::FakeTwilio;
use omni_testservers::smtp::SmtpSink;

use crate::providers::{email_and_sms_config, twilio_account};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_conversation_across_chat_email_and_sms() -> anyhow::Result<()> {
    let relay = SmtpSink::start()?;
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let data = tempfile::tempdir()?;
    let config = email_and_sms_config(data.path(), &relay, twilio.api_base())?;
    let app = TestApp::start_with(data, config).await?;
    one_customer_across_chat_email_and_sms(&app, relay, &twilio).await?;
    app.stop().await;
    Ok(())
}
