//! The `[surveys]` section: one-click answer links in email surveys
//! (docs/surveys.md, "Email links"). Links are on only when both the
//! chat service's public address and a signing key are set; without a key
//! email surveys ask for a digit only.
//!
//! ```toml
//! [surveys]
//! public_url = "https://chat.example.com"   # where customers reach the chat service
//! # link_key: set it with OMNI_SURVEYS_LINK_KEY (a secret, at least 32 bytes)
//! ```

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;

/// The shortest link key accepted, in bytes.
pub const MIN_LINK_KEY_BYTES: usize = 32;

/// Survey settings shared by every queue's survey.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurveysConfig {
    /// The chat service's address as customers reach it (`https://…`), the
    /// base of the links (`<public_url>/survey/<token>/<score>`); empty:
    /// no links.
    pub public_url: String,
    /// The HMAC-SHA256 key that signs the links' tokens. Secret (never
    /// printed): set it with `OMNI_SURVEYS_LINK_KEY`; empty: no links.
    pub link_key: SecretString,
}

impl SurveysConfig {
    /// Whether email surveys carry one-click links.
    pub fn links_on(&self) -> bool {
        !self.public_url.is_empty() && !self.link_key.expose_secret().is_empty()
    }

    /// The public address without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Why links are off, for the start-up log and `check-config`;
    /// `None` when they are on.
    pub fn links_off_reason(&self) -> Option<&'static str> {
        match (
            self.public_url.is_empty(),
            self.link_key.expose_secret().is_empty(),
        ) {
            (false, false) => None,
            (_, true) => Some("no surveys.link_key (OMNI_SURVEYS_LINK_KEY)"),
            (true, false) => Some("no surveys.public_url"),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let key = self.link_key.expose_secret();
        if !key.is_empty() && key.len() < MIN_LINK_KEY_BYTES {
            return invalid(format!(
                "surveys.link_key must be at least {MIN_LINK_KEY_BYTES} bytes (set it with OMNI_SURVEYS_LINK_KEY)"
            ));
        }
        let url = &self.public_url;
        let web = url.starts_with("https://") || url.starts_with("http://");
        if !url.is_empty() && !web {
            return invalid(format!(
                "surveys.public_url {url:?} must be an http:// or https:// URL"
            ));
        }
        if url.contains(['?', '#', ' ']) {
            return invalid(format!(
                "surveys.public_url {url:?} must be a base address without a query or fragment"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, key: &str) -> SurveysConfig {
        SurveysConfig {
            public_url: url.into(),
            link_key: key.into(),
        }
    }

    #[test]
    fn links_need_both_an_address_and_a_key() {
        let key = "k".repeat(MIN_LINK_KEY_BYTES);
        assert!(config("https://chat.example.com/", &key).links_on());
        assert_eq!(
            config("https://chat.example.com/", &key).base_url(),
            "https://chat.example.com"
        );
        assert!(!config("https://chat.example.com", "").links_on());
        assert!(!config("", &key).links_on());
        assert!(
            config("", "")
                .links_off_reason()
                .is_some_and(|r| r.contains("link_key"))
        );
        assert!(SurveysConfig::default().validate().is_ok());
    }

    #[test]
    fn a_short_key_and_a_bad_address_are_refused() {
        let short = config("https://chat.example.com", "short").validate();
        assert!(
            short.is_err_and(|e| e.to_string().contains("at least 32 bytes")),
            "a short key"
        );
        let key = "k".repeat(MIN_LINK_KEY_BYTES);
        assert!(config("chat.example.com", &key).validate().is_err());
        assert!(
            config("https://chat.example.com/?a=1", &key)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn the_key_is_never_printed() {
        let secret = "a-survey-link-key-that-must-not-show";
        let shown = format!("{:?}", config("https://chat.example.com", secret));
        assert!(!shown.contains(secret), "{shown}");
    }
}
