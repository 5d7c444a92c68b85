//! The SMS adapter's section: the provider, Twilio and Kannel.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;

/// Which gateway sends outbound SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Twilio's Messages REST API, or any API compatible with it.
    Twilio,
    /// A Kannel gateway's `sendsms` HTTP interface.
    Kannel,
}

/// SMS adapter settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// Whether this process runs the SMS adapter.
    pub enabled: bool,
    /// The gateway outbound messages go through.
    pub provider: SmsProvider,
    /// Our number messages are sent from, E.164 (or a national number in
    /// `default_region`).
    pub from: String,
    /// Region (ISO 3166 alpha-2, e.g. `US`) for phone numbers written in
    /// national format.
    pub default_region: String,
    /// The adapter's public base URL as providers reach it (through any
    /// proxy), e.g. `https://sms.example.com`. Twilio signs requests over
    /// it, and callback URLs given to providers start with it.
    pub public_url: String,
    /// Messages needing more segments than this fail without being sent.
    pub max_segments: u32,
    /// Seconds a request to the provider may take before it is retried.
    pub request_timeout_secs: u64,
    /// Replies handed to the provider per second at most (a long code
    /// sends about one per second); 0 for no limit.
    pub sends_per_second: u32,
    /// Twilio settings.
    pub twilio: TwilioConfig,
    /// Kannel settings.
    pub kannel: KannelConfig,
}

/// Twilio settings of the SMS adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioConfig {
    /// Account SID (`AC...`): webhooks for another account are refused.
    pub account_sid: String,
    /// Auth token: signs webhooks and authenticates API calls. Secret
    /// (never printed): set it with `OMNI_SMS_TWILIO_AUTH_TOKEN`.
    pub auth_token: SecretString,
    /// Base URL of the Messages API.
    pub api_base: String,
}

/// Kannel settings of the SMS adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KannelConfig {
    /// smsbox's `sendsms` URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    pub sendsms_url: String,
    /// A `sendsms-user` username.
    pub username: String,
    /// Its password. Secret (never printed): set it with
    /// `OMNI_SMS_KANNEL_PASSWORD`.
    pub password: SecretString,
    /// The `secret` parameter smsbox's `get-url` and DLR URLs must carry.
    /// Secret (never printed): set it with `OMNI_SMS_KANNEL_SECRET`.
    pub secret: SecretString,
    /// Kannel `dlr-mask` asked for on each message (1 delivered, 2 failed,
    /// 4 buffered, 8 SMSC accepted, 16 SMSC rejected).
    pub dlr_mask: u8,
}

impl SmsConfig {
    /// The most characters `max_segments` segments carry: 160 GSM-7
    /// characters alone, 153 each when split (the rest is the
    /// concatenation header); the SMS channel's text limit by default.
    pub fn max_text_chars(&self) -> usize {
        match self.max_segments {
            0 | 1 => 160,
            n => 153 * n as usize,
        }
    }
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            provider: SmsProvider::Twilio,
            from: String::new(),
            default_region: "US".into(),
            public_url: "http://127.0.0.1:8082".into(),
            max_segments: 10,
            request_timeout_secs: 10,
            sends_per_second: 0,
            twilio: TwilioConfig::default(),
            kannel: KannelConfig::default(),
        }
    }
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            account_sid: String::new(),
            auth_token: SecretString::default(),
            api_base: "https://api.twilio.com".into(),
        }
    }
}

impl Default for KannelConfig {
    fn default() -> Self {
        Self {
            sendsms_url: "http://127.0.0.1:13013/cgi-bin/sendsms".into(),
            username: String::new(),
            password: SecretString::default(),
            secret: SecretString::default(),
            dlr_mask: 31,
        }
    }
}

impl SmsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if !self.enabled {
            return Ok(());
        }
        if self.from.trim().is_empty() {
            return invalid("sms.from: the number messages are sent from is required".into());
        }
        if self.default_region.len() != 2
            || !self.default_region.bytes().all(|b| b.is_ascii_uppercase())
        {
            return invalid(format!(
                "sms.default_region {:?} is not an ISO 3166 alpha-2 code such as \"US\"",
                self.default_region
            ));
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return invalid(format!(
                "sms.public_url {:?} must be an http:// or https:// URL",
                self.public_url
            ));
        }
        if self.max_segments == 0 {
            return invalid("sms.max_segments must be at least 1".into());
        }
        if self.request_timeout_secs == 0 {
            return invalid("sms.request_timeout_secs must be at least 1".into());
        }
        match self.provider {
            SmsProvider::Twilio => {
                if self.twilio.account_sid.trim().is_empty()
                    || self.twilio.auth_token.expose_secret().trim().is_empty()
                {
                    return invalid("sms.twilio.account_sid and sms.twilio.auth_token are required with provider \"twilio\" (the token via OMNI_SMS_TWILIO_AUTH_TOKEN)".into());
                }
            }
            SmsProvider::Kannel => {
                if self.kannel.username.is_empty() || self.kannel.secret.expose_secret().is_empty()
                {
                    return invalid("sms.kannel.username and sms.kannel.secret are required with provider \"kannel\" (secrets via OMNI_SMS_KANNEL_PASSWORD, OMNI_SMS_KANNEL_SECRET)".into());
                }
            }
        }
        if self.kannel.dlr_mask > 31 {
            return invalid(format!(
                "sms.kannel.dlr_mask {} is outside 0-31",
                self.kannel.dlr_mask
            ));
        }
        Ok(())
    }
}
