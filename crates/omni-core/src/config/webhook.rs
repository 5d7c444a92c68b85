//! The `[webhook]` section: the webhook channel, a company's own app
//! posting its customers' messages and receiving agents' replies over
//! signed HTTP (see `docs/adapters.md`, "Walk-through: the webhook
//! channel").

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;

/// Webhook channel settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Whether this process runs the webhook adapter.
    pub enabled: bool,
    /// Where the app posts messages and delivery statuses.
    pub listen: SocketAddr,
    /// The declared channel the app's messages arrive on (`[channels.<name>]`).
    pub channel: String,
    /// The app's URL that agents' replies are POSTed to: `https://`;
    /// `http://` only to a loopback host or with `allow_insecure_http`.
    pub outbound_url: String,
    /// Allows an `http://` `outbound_url` to any host (replies and their
    /// signatures then cross the network in clear): for tests only.
    pub allow_insecure_http: bool,
    /// The signing key, both ways. Secret (never printed): set it with
    /// `OMNI_WEBHOOK_KEY`.
    pub key: SecretString,
    /// The key before a rotation, still accepted on requests from the app
    /// until it is removed; empty for none. Secret: `OMNI_WEBHOOK_PREVIOUS_KEY`.
    pub previous_key: SecretString,
    /// Seconds a request's `X-Omni-Timestamp` may be away from now, either way.
    pub tolerance_secs: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Seconds a POST to the app may take before it is retried.
    pub request_timeout_secs: u64,
    /// Attempts at delivering a reply the app keeps failing (5xx, 429,
    /// timeout), 250 ms doubling to 16 s apart; after the last the reply is
    /// a dead letter (see `docs/operations.md`, "Dead letters").
    pub max_attempts: u32,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 8083)),
            channel: "app".into(),
            outbound_url: String::new(),
            allow_insecure_http: false,
            key: SecretString::default(),
            previous_key: SecretString::default(),
            tolerance_secs: 300,
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 10,
            max_attempts: 30,
        }
    }
}

/// The shortest signing key accepted, in bytes.
pub const MIN_WEBHOOK_KEY_BYTES: usize = 16;

impl WebhookConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if !self.enabled {
            return Ok(());
        }
        if self.key.expose_secret().len() < MIN_WEBHOOK_KEY_BYTES {
            return invalid(format!(
                "webhook.key must be at least {MIN_WEBHOOK_KEY_BYTES} bytes (set it with OMNI_WEBHOOK_KEY)"
            ));
        }
        let previous = self.previous_key.expose_secret();
        if !previous.is_empty() && previous.len() < MIN_WEBHOOK_KEY_BYTES {
            return invalid(format!(
                "webhook.previous_key must be empty or at least {MIN_WEBHOOK_KEY_BYTES} bytes"
            ));
        }
        if let Some(rest) = self.outbound_url.strip_prefix("http://") {
            if !self.allow_insecure_http && !is_loopback(rest) {
                return invalid(format!(
                    "webhook.outbound_url {:?} must be an https:// URL (http:// only to a loopback host, or with webhook.allow_insecure_http = true for tests)",
                    self.outbound_url
                ));
            }
        } else if !self.outbound_url.starts_with("https://") {
            return invalid(format!(
                "webhook.outbound_url {:?} must be an https:// URL",
                self.outbound_url
            ));
        }
        if self.tolerance_secs == 0
            || self.request_timeout_secs == 0
            || self.max_body_bytes == 0
            || self.max_attempts == 0
        {
            return invalid(
                "webhook.tolerance_secs, webhook.request_timeout_secs, webhook.max_body_bytes and webhook.max_attempts must be at least 1"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Whether the authority at the start of `rest` (a URL after its scheme)
/// names a loopback host: `localhost`, 127.0.0.0/8 or `[::1]`.
fn is_loopback(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::Config;

    const APP: &str = r#"
[[queues]]
id = "support"

[channels.app]
identity = "app"

[identities.app]
normalize = "opaque"

[webhook]
enabled = true
outbound_url = "http://127.0.0.1:9000/replies"
"#;

    fn with_key(text: &str, key: &str) -> Result<Config, String> {
        let mut config = Config::parse(text)?;
        let env = BTreeMap::from([("OMNI_WEBHOOK_KEY".to_owned(), key.to_owned())]);
        config.apply_env(&env).map_err(|e| e.to_string())?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn a_configured_webhook_needs_a_key_a_declared_channel_and_a_url() {
        let config = with_key(APP, "a-key-of-enough-bytes").expect("valid");
        assert_eq!(config.webhook.channel, "app");
        assert_eq!(config.webhook.tolerance_secs, 300);
        assert!(
            !format!("{config:?}").contains("a-key-of-enough-bytes"),
            "the key never prints"
        );

        let short = with_key(APP, "short").expect_err("short key");
        assert!(
            short.contains("webhook.key must be at least 16 bytes"),
            "{short}"
        );

        let undeclared = APP.replace("[channels.app]\nidentity = \"app\"\n", "");
        let err = with_key(&undeclared, "a-key-of-enough-bytes").expect_err("undeclared");
        assert!(
            err.contains("webhook.channel \"app\" is not a declared channel"),
            "{err}"
        );

        let https = APP.replace("http://127.0.0.1:9000", "https://app.example.com");
        with_key(&https, "a-key-of-enough-bytes").expect("https to any host");

        let disabled =
            Config::parse(&APP.replace("enabled = true", "enabled = false")).expect("parse");
        disabled
            .validate()
            .expect("a disabled webhook needs nothing");
    }

    #[test]
    fn replies_leave_over_https_unless_the_app_is_on_this_host_or_a_test_says_so() {
        let key = "a-key-of-enough-bytes";
        let url = |u: &str| APP.replace("http://127.0.0.1:9000/replies", u);
        for ok in [
            "https://app.example.com/replies",
            "http://127.0.0.1:9000/replies",
            "http://127.8.0.1/replies",
            "http://localhost:9000/replies",
            "http://[::1]:9000/replies",
            "http://user@127.0.0.1:9000",
        ] {
            with_key(&url(ok), key).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let err = with_key(&url("http://app.example.com/replies"), key).expect_err("clear text");
        assert_eq!(
            err,
            "invalid configuration: webhook.outbound_url \"http://app.example.com/replies\" must be an https:// URL (http:// only to a loopback host, or with webhook.allow_insecure_http = true for tests)"
        );
        for refused in [
            "http://127.0.0.1.example.com/replies",
            "http://localhost.evil.test/",
            "http://10.0.0.5:9000/replies",
        ] {
            with_key(&url(refused), key).expect_err(refused);
        }
        let err = with_key(&url("ftp://app.example.com"), key).expect_err("scheme");
        assert!(err.ends_with("must be an https:// URL"), "{err}");
        let allowed = url("http://app.example.com/replies").replace(
            "enabled = true",
            "enabled = true\nallow_insecure_http = true",
        );
        with_key(&allowed, key).expect("allowed for tests");
    }

    #[test]
    fn a_container_sets_the_listen_address_and_the_url_from_the_environment() {
        let mut config = Config::parse(APP).expect("parse");
        let env = BTreeMap::from([
            (
                "OMNI_WEBHOOK_KEY".to_owned(),
                "a-key-of-enough-bytes".to_owned(),
            ),
            ("OMNI_WEBHOOK_LISTEN".to_owned(), "0.0.0.0:8083".to_owned()),
            (
                "OMNI_WEBHOOK_OUTBOUND_URL".to_owned(),
                "https://app.example.com/omniroute".to_owned(),
            ),
        ]);
        config.apply_env(&env).expect("env");
        config.validate().expect("valid");
        assert_eq!(config.webhook.listen.to_string(), "0.0.0.0:8083");
        assert_eq!(
            config.webhook.outbound_url,
            "https://app.example.com/omniroute"
        );
    }
}
