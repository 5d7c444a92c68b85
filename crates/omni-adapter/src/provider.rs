//! The trait an integrator implements to connect a provider: declare the
//! channel's capabilities, refuse what must not be sent, send one message.

use async_trait::async_trait;
use omni_core::DeliveryStatus;
use omni_core::trace::TraceContext;
use omni_proto::adapter as pb;
use omni_proto::common as common_pb;
use omni_proto::events as ev;

use crate::Capabilities;

/// One outbound message, as the consumer hands it to the provider.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The message (id, conversation, text).
    pub message: common_pb::Message,
    /// The recipient, when the command names one.
    pub to: Option<common_pb::Identity>,
    /// Email threading, for the email channel.
    pub email: Option<ev::EmailOutbound>,
    /// Files the agent attached (a channel whose capabilities allow them:
    /// email), in order.
    pub attachments: Vec<ev::Attachment>,
    /// 1 for the first attempt, more for retries.
    pub attempt: u32,
    /// The trace to continue toward the provider.
    pub trace: TraceContext,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    /// The provider's id for it; empty when it gives none.
    pub provider_message_id: String,
    /// Where it stands now: queued, sent or delivered.
    pub status: DeliveryStatus,
}

/// The provider did not take the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ProviderError {
    /// Whether trying again later may succeed (timeout, 5xx, 429).
    pub retryable: bool,
    /// The provider's reason, in its words.
    pub reason: String,
    /// The provider's error code, when it gives one.
    pub code: Option<String>,
    /// The provider's id for the message, when it made one before failing it.
    pub provider_message_id: String,
}

impl ProviderError {
    /// Worth another attempt later.
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self {
            retryable: true,
            reason: reason.into(),
            code: None,
            provider_message_id: String::new(),
        }
    }

    /// Refused for good: another attempt would be refused too.
    pub fn refused(reason: impl Into<String>) -> Self {
        Self {
            retryable: false,
            ..Self::retryable(reason)
        }
    }

    /// With the provider's code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// With the provider's id for the message.
    pub fn with_provider_message_id(mut self, id: impl Into<String>) -> Self {
        self.provider_message_id = id.into();
        self
    }

    /// The reason as a delivery report carries it: `<code>: <reason>`
    /// when there is a code.
    pub fn describe(&self) -> String {
        match &self.code {
            Some(code) if !self.reason.contains(code.as_str()) => {
                format!("{code}: {}", self.reason)
            }
            _ => self.reason.clone(),
        }
    }
}

impl From<&ProviderError> for pb::ProviderError {
    fn from(e: &ProviderError) -> Self {
        pb::ProviderError {
            retryable: e.retryable,
            reason: e.reason.clone(),
            code: e.code.clone().unwrap_or_default(),
            provider_message_id: e.provider_message_id.clone(),
        }
    }
}

impl From<pb::ProviderError> for ProviderError {
    fn from(e: pb::ProviderError) -> Self {
        ProviderError {
            retryable: e.retryable,
            reason: e.reason,
            code: (!e.code.is_empty()).then_some(e.code),
            provider_message_id: e.provider_message_id,
        }
    }
}

/// A channel's provider, as the outbound consumer drives it.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The adapter's name and version in its announcement, e.g. `omni-sms/0.1.0`.
    fn name(&self) -> String {
        format!("{}-adapter", self.capabilities().channel)
    }

    /// What the channel can carry, as the configuration declares it
    /// ([`Capabilities::declared`]), taken once when the consumer starts;
    /// the consumer refuses texts longer than
    /// [`Capabilities::max_text_chars`] without calling [`Provider::send`].
    fn capabilities(&self) -> Capabilities;

    /// Why `outbound` must not be sent at all (an opted-out recipient, a
    /// recipient of the wrong kind, a channel-specific size rule), checked
    /// before the declared limits and before sending.
    fn check(&self, _outbound: &Outbound) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Hands `outbound` to the provider.
    async fn send(&self, outbound: &Outbound) -> Result<ProviderReceipt, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_carries_the_providers_code_and_reason_once() {
        let e = ProviderError::refused("invalid To number").with_code("21211");
        assert!(!e.retryable);
        assert_eq!(e.describe(), "21211: invalid To number");
        let already = ProviderError::refused("twilio error 21211: invalid").with_code("21211");
        assert_eq!(already.describe(), "twilio error 21211: invalid");
        let wire = pb::ProviderError::from(&e);
        assert_eq!(wire.code, "21211");
        assert_eq!(ProviderError::from(wire), e);
        assert!(ProviderError::retryable("timeout").retryable);
    }
}
