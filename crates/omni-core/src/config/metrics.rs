//! The `[metrics]` section: how the contact center's numbers are counted.
//!
//! A contact whose customer left (the chat closed, the widget said goodbye)
//! while it waited is counted abandoned only once
//! [`MetricsConfig::abandon_grace_secs`] have passed without the customer
//! coming back. The daily counts the router keeps in its store are cut at
//! midnight UTC shifted by [`MetricsConfig::utc_offset_minutes`] (e.g. `60`
//! for a contact center on Central European winter time; a fixed offset, no
//! daylight-saving rules). [`MetricsConfig::token`], when set, is the
//! bearer token a scraper must present to `/metrics`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How the contact center's numbers are counted, and who may read them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Seconds a waiting customer who left may take to come back before the
    /// contact counts as abandoned.
    pub abandon_grace_secs: u64,
    /// Minutes east of UTC where the contact center's day starts at
    /// midnight (-720 to 840).
    pub utc_offset_minutes: i32,
    /// When set, `/metrics` answers only a request with `Authorization:
    /// Bearer <token>` (401 otherwise); unset, it is open to whoever
    /// reaches `listen.metrics`. Secret (never printed): set it with
    /// `OMNI_METRICS_TOKEN`.
    pub token: Option<SecretString>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            abandon_grace_secs: 30,
            utc_offset_minutes: 0,
            token: None,
        }
    }
}

impl MetricsConfig {
    /// Checks the offset is one a place on Earth uses, and that a token,
    /// when set, is not blank.
    pub fn check(&self) -> Result<(), String> {
        if self
            .token
            .as_ref()
            .is_some_and(|t| t.expose_secret().trim().is_empty())
        {
            return Err(
                "metrics.token is set but empty; unset it to leave /metrics open".to_owned(),
            );
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(format!(
                "metrics.utc_offset_minutes must be between -720 and 840, not {}",
                self.utc_offset_minutes
            ));
        }
        Ok(())
    }
}
