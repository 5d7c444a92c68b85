//! The engine's settings: offer timeout, miss threshold, decline cooldown,
//! the epoch that keeps offer ids unique across restarts and the declared
//! channels it routes.

use omni_core::Channel;
use omni_core::config::RoutingConfig;
use omni_core::time::Millis;

/// Settings of an [`Engine`](crate::Engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long an agent has to accept an offer. An offer expires at
    /// `offered_at + offer_timeout_ms`; zero or less expires at the next tick.
    pub offer_timeout_ms: Millis,
    /// Offers in a row an agent lets time out before the engine sets them
    /// away. Zero disables the rule.
    pub max_consecutive_misses: u32,
    /// How long an agent who declined a contact, or let its offer time out,
    /// is not offered that same contact again. Zero or less disables it.
    pub decline_cooldown_ms: Millis,
    /// Distinguishes offer ids across process restarts: offer ids are
    /// `off_{epoch:x}_{counter}`. Use a value that differs per start, such
    /// as the start time.
    pub epoch: u64,
    /// The channels the engine routes (the declared set): agents' capacity
    /// and contacts on any other channel are refused. Default: chat, email,
    /// SMS.
    pub channels: Vec<Channel>,
    /// The bound on each queue's contacts (waiting or offered) for queues
    /// that set none ([`QueueSpec::max_waiting`](crate::QueueSpec::max_waiting));
    /// `None`: unbounded. The service sets it from
    /// `limits.max_waiting_per_queue`.
    pub default_max_waiting: Option<u32>,
}

impl EngineConfig {
    /// These settings bounding each queue that sets no bound of its own to
    /// `max` contacts; 0 leaves them unbounded.
    pub fn with_default_max_waiting(mut self, max: u32) -> Self {
        self.default_max_waiting = (max > 0).then_some(max);
        self
    }

    /// The settings from the `[routing]` configuration section.
    pub fn from_config(routing: &RoutingConfig, epoch: u64) -> Self {
        Self {
            offer_timeout_ms: secs_to_ms(routing.offer_timeout_secs),
            max_consecutive_misses: routing.max_consecutive_misses,
            decline_cooldown_ms: secs_to_ms(routing.decline_cooldown_secs),
            epoch,
            channels: Channel::BUILT_IN.to_vec(),
            default_max_waiting: None,
        }
    }

    /// These settings routing `channels` (the declared set).
    pub fn with_channels(mut self, channels: impl IntoIterator<Item = Channel>) -> Self {
        self.channels = channels.into_iter().collect();
        self
    }
}

fn secs_to_ms(secs: u64) -> Millis {
    Millis::try_from(secs.saturating_mul(1000)).unwrap_or(Millis::MAX)
}

impl Default for EngineConfig {
    /// The defaults of the configuration file, epoch 0.
    fn default() -> Self {
        Self::from_config(&RoutingConfig::default(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_seconds_to_milliseconds() {
        let routing = RoutingConfig {
            offer_timeout_secs: 15,
            max_consecutive_misses: 2,
            decline_cooldown_secs: 45,
            disconnect_grace_secs: 30,
        };
        let config = EngineConfig::from_config(&routing, 7);
        assert_eq!(config.offer_timeout_ms, 15_000);
        assert_eq!(config.max_consecutive_misses, 2);
        assert_eq!(config.decline_cooldown_ms, 45_000);
        assert_eq!(config.epoch, 7);
    }

    #[test]
    fn huge_timeout_saturates_instead_of_overflowing() {
        let routing = RoutingConfig {
            offer_timeout_secs: u64::MAX,
            ..RoutingConfig::default()
        };
        assert_eq!(
            EngineConfig::from_config(&routing, 0).offer_timeout_ms,
            Millis::MAX
        );
    }
}
