//! The `[metrics]` section: how the contact center's numbers are counted.
//!
//! A contact whose customer left (the chat closed, the widget said goodbye)
//! while it waited is counted abandoned only once
//! [`MetricsConfig::abandon_grace_secs`] have passed without the customer
//! coming back. The daily counts the router keeps in its store are cut at
//! midnight UTC shifted by [`MetricsConfig::utc_offset_minutes`] (e.g. `60`
//! for a contact center on Central European winter time; a fixed offset, no
//! daylight-saving rules).

use serde::Deserialize;

/// How the contact center's numbers are counted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Seconds a waiting customer who left may take to come back before the
    /// contact counts as abandoned.
    pub abandon_grace_secs: u64,
    /// Minutes east of UTC where the contact center's day starts at
    /// midnight (-720 to 840).
    pub utc_offset_minutes: i32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            abandon_grace_secs: 30,
            utc_offset_minutes: 0,
        }
    }
}

impl MetricsConfig {
    /// Checks the offset is one a place on Earth uses.
    pub fn check(&self) -> Result<(), String> {
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(format!(
                "metrics.utc_offset_minutes must be between -720 and 840, not {}",
                self.utc_offset_minutes
            ));
        }
        Ok(())
    }
}
