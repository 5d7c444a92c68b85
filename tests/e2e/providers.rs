//! The app's configuration with the email and SMS adapters on, shared by
//! the tests that play a customer's mail client and phone and Twilio (the
//! test kit has those: `omni_testkit::actors::{MailClient, Phone}` and
//! `omni_testkit::twilio`).

use omni_core::config::{Config, SmsProvider};
use omni_testkit::app::test_config;
use omni_testkit::twilio::TwilioAccount;
use omni_testservers::smtp::SmtpSink;

/// The support domain, also the domain of conversations' reply addresses.
pub const DOMAIN: &str = "support.example.com";
/// Where Twilio reaches the SMS webhooks; what the signatures are over.
pub const SMS_PUBLIC_URL: &str = "http://sms.omniroute.test";
/// The contact center's number: texts go to it and replies come from it.
pub const OUR_NUMBER: &str = "+15005550006";

/// The Twilio account the adapter is configured with.
pub fn twilio_account() -> TwilioAccount {
    TwilioAccount {
        sid: "AC00000000000000000000000000000001".into(),
        auth_token: "twilio-auth-token".into(),
    }
}

/// The test configuration with the email adapter (replies through `relay`)
/// and the SMS adapter (Twilio, its API at `twilio_api`) on.
pub fn email_and_sms_config(
    data: &std::path::Path,
    relay: &SmtpSink,
    twilio_api: &str,
) -> anyhow::Result<Config> {
    let account = twilio_account();
    let mut config = test_config(data)?;
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
    config.sms.twilio.account_sid = account.sid;
    config.sms.twilio.auth_token = account.auth_token;
    config.sms.twilio.api_base = twilio_api.into();
    config.validate()?;
    Ok(config)
}
