//! A customer's message onto the bus: the canonical form, its idempotency
//! key, and "publish durably, then acknowledge the provider" as one call.
//!
//! [`Inbound::accept`] runs the provider's acknowledgement only after the
//! bus has stored the message; when it cannot, the caller gets an
//! [`InboundError`] that says whether the provider should retry and which
//! HTTP status tells it so (503 with `Retry-After`, or 4xx for good).

use std::sync::Arc;

use omni_bus::topology::subjects;
use omni_bus::{Bus, BusError, Message, PublishAck, TRACEPARENT};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{Channel, Identity, InboundMessage};
use omni_proto::events as ev;
use prost::Message as _;
use tracing::{Instrument, debug};

/// Longest idempotency key accepted: it is the bus message id, and an
/// email's (sender and Message-ID, each up to a 998-byte header line) must fit.
pub const MAX_KEY_BYTES: usize = 4096;

/// The idempotency key of a provider's message: `<provider>:<its id>`, so
/// the same message delivered twice by the provider is stored once, and
/// two providers' ids never collide.
pub fn idempotency_key(provider: &str, provider_message_id: &str) -> String {
    format!("{provider}:{provider_message_id}")
}

/// A customer's message in canonical form, received now, with no
/// channel-specific details (set them on the result).
pub fn canonical(
    channel: Channel,
    idempotency_key: String,
    from: Identity,
    text: String,
) -> InboundMessage {
    InboundMessage {
        idempotency_key,
        channel,
        from,
        text,
        received_at_ms: now_ms(),
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

/// Why a customer's message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// The message breaks the contract; retrying the same message will not help.
    #[error("invalid inbound message: {0}")]
    Invalid(String),
    /// The bus could not store it; the provider should retry.
    #[error("cannot accept the message now: {0}")]
    Bus(#[from] BusError),
}

impl InboundError {
    /// Whether the provider should send the same message again later.
    pub fn retryable(&self) -> bool {
        match self {
            InboundError::Invalid(_) => false,
            InboundError::Bus(BusError::TooLarge { .. }) => false,
            InboundError::Bus(_) => true,
        }
    }

    /// The HTTP status that tells a webhook provider so: 503 to retry,
    /// 413 for a message too large, 400 for an invalid one.
    pub fn http_status(&self) -> u16 {
        match self {
            InboundError::Invalid(_) => 400,
            InboundError::Bus(BusError::TooLarge { .. }) => 413,
            InboundError::Bus(_) => 503,
        }
    }
}

/// Publishes one channel's customer messages.
#[derive(Clone)]
pub struct Inbound {
    bus: Arc<dyn Bus>,
    channel: Channel,
}

impl Inbound {
    /// A publisher of `channel`'s messages on `bus`.
    pub fn new(bus: Arc<dyn Bus>, channel: Channel) -> Self {
        Self { bus, channel }
    }

    /// The channel.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Checks `message` against the contract: its channel is this one, its
    /// idempotency key is present and short enough to be a message id.
    pub fn validate(&self, message: &InboundMessage) -> Result<(), InboundError> {
        if message.channel != self.channel {
            return Err(InboundError::Invalid(format!(
                "message of channel {} published by the {} adapter",
                message.channel, self.channel
            )));
        }
        if message.idempotency_key.trim().is_empty() {
            return Err(InboundError::Invalid("empty idempotency key".into()));
        }
        if message.idempotency_key.len() > MAX_KEY_BYTES {
            return Err(InboundError::Invalid(format!(
                "idempotency key of {} bytes exceeds {MAX_KEY_BYTES}",
                message.idempotency_key.len()
            )));
        }
        Ok(())
    }

    /// Stores `message` durably on `omni.inbound.<channel>` under its
    /// idempotency key, continuing `trace`; returns once the bus has it.
    pub async fn publish(
        &self,
        message: &InboundMessage,
        trace: &TraceContext,
    ) -> Result<PublishAck, InboundError> {
        self.validate(message)?;
        let span = tracing::info_span!(
            "adapter.inbound",
            trace_id = %trace.trace_id_hex(),
            channel = %self.channel,
            key = %message.idempotency_key,
        );
        omni_telemetry::continue_trace(&span, trace);
        let outgoing = omni_telemetry::outgoing(&span, trace);
        let payload = ev::InboundMessage::from(message).encode_to_vec();
        let msg = Message::new(subjects::inbound(self.channel), payload)
            .with_header(TRACEPARENT, outgoing.to_string());
        let ack = self
            .bus
            .publish(msg, Some(&message.idempotency_key))
            .instrument(span)
            .await?;
        debug!(
            trace_id = %trace.trace_id_hex(),
            channel = %self.channel,
            key = %message.idempotency_key,
            duplicate = ack.duplicate,
            "inbound message stored"
        );
        Ok(ack)
    }

    /// Publishes `message` durably, then runs `acknowledge` (the provider's
    /// 2xx, SMTP 250, socket ack): never before the bus has it, never when
    /// it does not.
    pub async fn accept<T>(
        &self,
        message: &InboundMessage,
        trace: &TraceContext,
        acknowledge: impl FnOnce(PublishAck) -> T,
    ) -> Result<T, InboundError> {
        let ack = self.publish(message, trace).await?;
        Ok(acknowledge(ack))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use omni_bus::EmbeddedBus;
    use omni_bus::topology::CONTEXT_INBOUND;

    use super::*;

    fn sms() -> Channel {
        "sms".parse().expect("sms")
    }

    fn message(key: &str) -> InboundMessage {
        canonical(
            sms(),
            key.to_owned(),
            Identity::Phone("+14155552671".into()),
            "hello".into(),
        )
    }

    #[test]
    fn keys_name_the_provider_and_its_id() {
        assert_eq!(idempotency_key("twilio", "SM1"), "twilio:SM1");
        assert_ne!(
            idempotency_key("a", "b:c"),
            idempotency_key("kannel", "b:c")
        );
    }

    #[tokio::test]
    async fn the_provider_is_acknowledged_after_the_durable_publish_and_once_per_key() {
        let dir = tempfile::tempdir().expect("dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("bus");
        let inbound = Inbound::new(bus.clone(), sms());
        let trace = TraceContext::new_root();
        let first = inbound
            .accept(&message("twilio:SM1"), &trace, |ack| ack.duplicate)
            .await
            .expect("accepted");
        let again = inbound
            .accept(&message("twilio:SM1"), &trace, |ack| ack.duplicate)
            .await
            .expect("accepted");
        assert_eq!((first, again), (false, true));

        let mut stored = bus.consume(&CONTEXT_INBOUND).await.expect("consume");
        let delivery = stored.next().await.expect("one message");
        assert_eq!(delivery.message.subject, "omni.inbound.sms");
        let got = ev::InboundMessage::decode(delivery.message.payload.as_ref()).expect("decode");
        assert_eq!(got.idempotency_key, "twilio:SM1");
        assert_eq!(got.text, "hello");
        let header = delivery.trace_context();
        assert_eq!(header.trace_id, trace.trace_id, "the trace continues");
    }

    #[tokio::test]
    async fn a_bus_that_cannot_store_means_no_acknowledgement_and_a_retryable_503() {
        let dir = tempfile::tempdir().expect("dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("bus");
        bus.close().await;
        let inbound = Inbound::new(bus, sms());
        let mut acknowledged = false;
        let result = inbound
            .accept(&message("twilio:SM2"), &TraceContext::new_root(), |_| {
                acknowledged = true;
            })
            .await;
        let error = result.expect_err("a closed bus stores nothing");
        assert!(
            !acknowledged,
            "the provider was acknowledged without a durable publish"
        );
        assert!(error.retryable());
        assert_eq!(error.http_status(), 503);
    }

    #[tokio::test]
    async fn messages_that_break_the_contract_are_refused_for_good() {
        let dir = tempfile::tempdir().expect("dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("bus");
        let inbound = Inbound::new(bus, sms());
        let trace = TraceContext::new_root();
        let mut other = message("k");
        other.channel = "chat".parse().expect("chat");
        for (bad, why) in [
            (message(" "), "empty idempotency key"),
            (message(&"k".repeat(MAX_KEY_BYTES + 1)), "exceeds 4096"),
            (other, "channel chat published by the sms adapter"),
        ] {
            let error = inbound.publish(&bad, &trace).await.expect_err(why);
            assert!(error.to_string().contains(why), "{error}");
            assert!(!error.retryable());
            assert_eq!(error.http_status(), 400);
        }
    }
}
