//! The email and SMS settings the multichannel tests run with: the support
//! domain, the contact center's number and the Twilio account, as a
//! configuration for the embedded app and as `OMNI_*` variables for a
//! cluster, where each adapter's switch and secrets reach its own process
//! only (as in `deploy/`).

use std::path::Path;

use omni::Part;
use omni_core::config::{Config, SmsProvider};
use omni_testclients::twilio::TwilioAccount;
use omni_testservers::smtp::SmtpSink;

use crate::app::test_config;

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
    data: &Path,
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
    config.sms.twilio.auth_token = account.auth_token.into();
    config.sms.twilio.api_base = twilio_api.into();
    config.validate()?;
    Ok(config)
}

/// `OMNI_*` variables for a cluster: those every part gets, and each
/// part's own.
#[derive(Debug, Clone)]
pub struct ClusterEnv {
    /// For every part.
    pub shared: Vec<(String, String)>,
    /// For one part only.
    pub own: Vec<(Part, String, String)>,
}

impl ClusterEnv {
    /// Starts NATS, Redis and `parts` from `binary` with the configuration
    /// file `config` and these variables ([`crate::Cluster::start_parts`]).
    pub fn start(
        &self,
        binary: &Path,
        config: &Path,
        parts: &[Part],
    ) -> anyhow::Result<crate::Cluster> {
        let shared: Vec<(&str, &str)> = self
            .shared
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let own: Vec<(Part, &str, &str)> = self
            .own
            .iter()
            .map(|(p, k, v)| (*p, k.as_str(), v.as_str()))
            .collect();
        crate::Cluster::start_parts(binary, config, parts, &shared, &own)
    }
}

/// The same settings for a cluster: the variables every part gets (the
/// test timeouts of [`test_config`] too), and each adapter's own.
pub fn email_and_sms_env(relay_url: &str, twilio_api: &str) -> ClusterEnv {
    let account = twilio_account();
    let shared = [
        ("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "2"),
        ("OMNI_ROUTING_DECLINE_COOLDOWN_SECS", "1"),
        ("OMNI_CONTEXT_REPLY_DOMAIN", DOMAIN),
        ("OMNI_CONTEXT_DEFAULT_REGION", "US"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec();
    let from = format!("support@{DOMAIN}");
    let own = [
        (Part::Email, "OMNI_EMAIL_ENABLED", "true"),
        (Part::Email, "OMNI_EMAIL_DOMAINS", DOMAIN),
        (Part::Email, "OMNI_EMAIL_RELAY", relay_url),
        (Part::Email, "OMNI_EMAIL_FROM", from.as_str()),
        (Part::Sms, "OMNI_SMS_ENABLED", "true"),
        (Part::Sms, "OMNI_SMS_PROVIDER", "twilio"),
        (Part::Sms, "OMNI_SMS_FROM", OUR_NUMBER),
        (Part::Sms, "OMNI_SMS_PUBLIC_URL", SMS_PUBLIC_URL),
        (
            Part::Sms,
            "OMNI_SMS_TWILIO_ACCOUNT_SID",
            account.sid.as_str(),
        ),
        (
            Part::Sms,
            "OMNI_SMS_TWILIO_AUTH_TOKEN",
            account.auth_token.as_str(),
        ),
        (Part::Sms, "OMNI_SMS_TWILIO_API_BASE", twilio_api),
    ]
    .map(|(p, k, v)| (p, k.to_owned(), v.to_owned()))
    .to_vec();
    ClusterEnv { shared, own }
}
