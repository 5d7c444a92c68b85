//! Sends agents' replies: the SMS [`Provider`] of the `omni-adapter`
//! outbound consumer, which consumes `sms-outbound` (`omni.outbound.sms`),
//! retries, paces and reports each step on `omni.delivery.sms`.
//!
//! A message the provider refuses for good (a 4xx from Twilio or Kannel), a
//! recipient who opted out, or a text longer than `sms.max_segments` is
//! reported FAILED and acked. A provider that cannot be reached, times out,
//! or answers 5xx/429 gets the message again after a backoff with jitter
//! (250 ms doubling to 16 s), up to 30 attempts, then it is reported
//! FAILED with the last reason.

use std::num::NonZeroU32;
use std::sync::Arc;

use async_trait::async_trait;
use omni_adapter::{
    Capabilities, Outbound, OutboundOptions, Provider, ProviderError, ProviderReceipt, Quota,
};
use omni_bus::topology::SMS_OUTBOUND;
use omni_bus::{Bus, BusError};
use omni_core::DeliveryStatus;
use omni_core::config::{SmsConfig, SmsProvider};
use omni_proto::common::identity::Kind;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::{SmsAdapter, kannel, segments, twilio};

/// A message the provider took.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The provider's id for it; empty when the provider gives none (Kannel).
    pub provider_id: String,
    /// Where it stands after the submit (queued or sent).
    pub status: DeliveryStatus,
}

/// Why a submit did not go through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: no answer, a timeout, 5xx, 429.
    #[error("{0}")]
    Transient(String),
    /// The provider refused it; retrying would not help.
    #[error("{error}")]
    Permanent {
        /// The provider's id, when it created one before failing it.
        provider_id: String,
        /// The provider's reason.
        error: String,
    },
}

impl From<SendError> for ProviderError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Transient(reason) => ProviderError::retryable(reason),
            SendError::Permanent { provider_id, error } => {
                ProviderError::refused(error).with_provider_message_id(provider_id)
            }
        }
    }
}

/// SMS as the outbound consumer drives it.
pub struct SmsOutbound(pub Arc<SmsAdapter>);

impl SmsOutbound {
    /// The recipient's number (E.164) or unverified sender, as the gateway
    /// takes it.
    fn recipient(&self, outbound: &Outbound) -> Result<String, ProviderError> {
        match outbound.to.as_ref().and_then(|i| i.kind.clone()) {
            Some(Kind::Phone(number)) => self
                .0
                .e164(&number)
                .map_err(|e| ProviderError::refused(format!("recipient: {e}"))),
            // An unverified sender (short code, alphanumeric, unknown range):
            // answered as the gateway gave it; the gateway decides.
            Some(Kind::SmsSender(sender)) => Ok(sender),
            _ => Err(ProviderError::refused("recipient is not a phone number")),
        }
    }
}

#[async_trait]
impl Provider for SmsOutbound {
    fn name(&self) -> String {
        concat!("omni-sms/", env!("CARGO_PKG_VERSION")).to_owned()
    }

    /// As `[channels.sms]` declares them, checked on start against what
    /// `sms.max_segments` carry; [`Provider::check`] counts the segments
    /// of each text itself (UCS-2 texts take more).
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities().clone()
    }

    fn check(&self, outbound: &Outbound) -> Result<(), ProviderError> {
        let to = self.recipient(outbound)?;
        if self.0.is_opted_out(&to) {
            return Err(ProviderError::refused("recipient opted out"));
        }
        let text = &outbound.message.text;
        if text.trim().is_empty() {
            return Err(ProviderError::refused("empty message"));
        }
        let counted = segments::count(text);
        let max = self.0.config().max_segments as usize;
        if counted.count > max {
            return Err(ProviderError::refused(format!(
                "message needs {} segments ({:?}, {} units), more than the maximum of {max}",
                counted.count, counted.encoding, counted.units
            )));
        }
        Ok(())
    }

    async fn send(&self, outbound: &Outbound) -> Result<ProviderReceipt, ProviderError> {
        let to = self.recipient(outbound)?;
        let submitted = submit(&self.0, outbound, &to).await?;
        Ok(ProviderReceipt {
            provider_message_id: submitted.provider_id,
            status: submitted.status,
        })
    }
}

/// How the outbound consumer runs for `config`: its counters, and
/// `sms.sends_per_second` as the rate limit toward the provider.
pub fn options(config: &SmsConfig) -> OutboundOptions {
    OutboundOptions {
        metric: "omni_sms_outbound_total",
        report_metric: "omni_sms_delivery_reports_total",
        rate: NonZeroU32::new(config.sends_per_second).map(Quota::per_second),
        ..OutboundOptions::default()
    }
}

/// Runs until `shutdown`.
pub async fn run(
    adapter: Arc<SmsAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let options = options(adapter.config());
    omni_adapter::outbound::run(
        Arc::new(SmsOutbound(adapter)),
        bus,
        &SMS_OUTBOUND,
        options,
        shutdown,
    )
    .await
}

async fn submit(
    adapter: &SmsAdapter,
    outbound: &Outbound,
    to: &str,
) -> Result<Submitted, SendError> {
    let config = adapter.config();
    let text = &outbound.message.text;
    // The delivery's trace rides in the callback URL, so the provider's
    // later report continues it (the URL is ours: Twilio signs it, Kannel's
    // carries the secret).
    let delivery = omni_telemetry::outgoing(&tracing::Span::current(), &outbound.trace);
    let ids = form_urlencoded::Serializer::new(String::new())
        .append_pair("message_id", &outbound.message.id)
        .append_pair("conversation_id", &outbound.message.conversation_id)
        .append_pair(crate::server::TRACEPARENT_PARAM, &delivery.to_string())
        .finish();
    match config.provider {
        SmsProvider::Twilio => {
            let callback = adapter.public_url(&format!("/twilio/status?{ids}"));
            twilio::send(
                adapter.http(),
                &config.twilio,
                &config.from,
                to,
                text,
                &callback,
            )
            .await
        }
        SmsProvider::Kannel => {
            let secret = form_urlencoded::Serializer::new(String::new())
                .append_pair("secret", config.kannel.secret.expose_secret())
                .finish();
            // %d and %A are Kannel's: the DLR type and the SMSC's reply.
            let dlr = adapter.public_url(&format!("/kannel/dlr?{secret}&{ids}&type=%d&reply=%A"));
            let encoding = segments::encoding(text);
            kannel::send(
                adapter.http(),
                &config.kannel,
                &config.from,
                to,
                text,
                encoding,
                &dlr,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_per_second_limits_the_rate_toward_the_provider() {
        let mut config = SmsConfig::default();
        assert_eq!(options(&config).rate, None, "no limit by default");
        config.sends_per_second = 1;
        let quota = options(&config).rate.expect("a limit");
        assert_eq!(
            quota.replenish_interval(),
            std::time::Duration::from_secs(1)
        );
        assert_eq!(quota.burst_size().get(), 1);
    }
}
