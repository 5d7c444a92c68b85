//! The `[retention]` section: how long customers' data is kept.
//!
//! Resolved conversations (with their messages and attachments) are deleted
//! by the context service's retention task once they have been resolved for
//! longer than [`RetentionConfig::conversation_days`]; the bus streams keep
//! a message at most [`RetentionConfig::stream_max_age_days`]. Zero keeps
//! forever. The defaults keep conversations a year and stream messages 30
//! days: long enough for any redelivery and for an investigation, short
//! enough that nothing lingers for ever.

use serde::Deserialize;

/// How long customers' data is kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days a resolved conversation is kept after it was resolved; 0 keeps
    /// it forever.
    pub conversation_days: u64,
    /// Days a bus stream keeps a message (NATS `max_age`, and the embedded
    /// bus's unconsumed messages); 0 keeps them forever.
    pub stream_max_age_days: u64,
    /// How often the retention task looks for conversations to delete, in
    /// seconds.
    pub interval_secs: u64,
    /// Conversations deleted per batch (one store transaction each; the
    /// task logs progress after every batch).
    pub batch_size: u32,
    /// Dead letters (replies adapters gave up on) the context service
    /// keeps, the newest; older ones are deleted as new ones come.
    pub dead_letters_kept: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            conversation_days: 365,
            stream_max_age_days: 30,
            interval_secs: 3600,
            batch_size: 100,
            dead_letters_kept: 10_000,
        }
    }
}

const DAY_MS: i64 = 86_400_000;

impl RetentionConfig {
    /// How long a resolved conversation is kept, in milliseconds; `None`
    /// keeps it forever.
    pub fn conversation_ms(&self) -> Option<i64> {
        (self.conversation_days > 0)
            .then(|| i64::try_from(self.conversation_days).unwrap_or(i64::MAX / DAY_MS))
            .map(|days| days.saturating_mul(DAY_MS))
    }

    /// How long a bus stream keeps a message; `None` keeps it forever.
    pub fn stream_max_age(&self) -> Option<std::time::Duration> {
        (self.stream_max_age_days > 0).then(|| {
            std::time::Duration::from_secs(self.stream_max_age_days.saturating_mul(86_400))
        })
    }

    /// Checks that the task runs and deletes something per batch.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.interval_secs == 0 {
            return Err("retention.interval_secs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("retention.batch_size must be at least 1".into());
        }
        if self.dead_letters_kept == 0 {
            return Err("retention.dead_letters_kept must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RetentionConfig;

    #[test]
    fn ten_thousand_dead_letters_are_kept_and_none_is_refused() {
        let config = RetentionConfig::default();
        assert_eq!(config.dead_letters_kept, 10_000);
        assert_eq!(config.check(), Ok(()));
        let none = RetentionConfig {
            dead_letters_kept: 0,
            ..RetentionConfig::default()
        };
        let err = none.check().unwrap_err();
        assert!(err.contains("retention.dead_letters_kept"), "{err}");
    }
}
