//! Delivers agents' replies to the app: the webhook [`Provider`] of the
//! `omni-adapter` outbound consumer on `omni.outbound.<channel>`.
//!
//! Each reply is POSTed as JSON ([`AppReply`]) to `webhook.outbound_url`,
//! signed like the app's requests ([`crate::signature`]). What the app
//! answers decides:
//!
//! | answer | result |
//! |---|---|
//! | (not sent) a recipient of another kind, an empty text, a text over the channel's `max_text_chars` | reported `FAILED` with the reason |
//! | 2xx | reported `SENT` (the app may post `delivered`/`read` later) |
//! | 408, 429, 5xx, no answer, timeout | retried with backoff (250 ms doubling to 16 s, 30 attempts) |
//! | any other 4xx | reported `FAILED` with the app's reason, not retried |
//! | still failing on the last attempt | a dead letter on `omni.deadletter.<channel>`, then `FAILED` |
//!
//! A dead letter (`adapter.v1.DeadLetter`) is logged at error level,
//! counted in `omni_webhook_dead_letters_total{channel}` and kept on the
//! `OMNI_DEADLETTER` stream for operators.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_adapter::{
    Backoff, Capabilities, Outbound, OutboundOptions, Provider, ProviderError, ProviderReceipt,
};
use omni_bus::topology::{ConsumerSpec, OUTBOUND, subjects};
use omni_bus::{Bus, BusError, Message};
use omni_core::DeliveryStatus;
use omni_core::time::now_ms;
use omni_proto::adapter as pb;
use omni_proto::common::identity::Kind;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::WebhookAdapter;
use crate::client::{AppClient, ClientError};

/// A reply as the app receives it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppReply {
    /// Our message id (quote it in a status).
    pub message_id: String,
    /// Its conversation (quote it in a status).
    pub conversation_id: String,
    /// The customer's id in the app.
    pub customer_id: String,
    /// The text.
    pub text: String,
    /// 1 for the first attempt, more for retries of the same reply.
    pub attempt: u32,
}

/// What the app may answer a reply with.
#[derive(Debug, Default, Deserialize)]
struct AppAnswer {
    #[serde(default)]
    app_message_id: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The webhook channel as the outbound consumer drives it.
pub struct WebhookOutbound {
    adapter: Arc<WebhookAdapter>,
    bus: Arc<dyn Bus>,
    client: AppClient,
    backoff: Backoff,
}

impl WebhookOutbound {
    /// Replies of `adapter`'s channel, dead letters on `bus`, retried by
    /// `backoff` (the same the consumer runs with).
    pub fn new(adapter: Arc<WebhookAdapter>, bus: Arc<dyn Bus>, backoff: Backoff) -> Self {
        let timeout = Duration::from_secs(adapter.config().request_timeout_secs.max(1));
        Self {
            adapter,
            bus,
            client: AppClient::new(timeout),
            backoff,
        }
    }

    fn customer_id(&self, outbound: &Outbound) -> Result<String, ProviderError> {
        let kind = &self.adapter.capabilities().identity_kind;
        match outbound.to.as_ref().and_then(|i| i.kind.clone()) {
            Some(Kind::Declared(d)) if &d.kind == kind => Ok(d.value),
            _ => Err(ProviderError::refused(format!(
                "recipient is not an identity of kind {kind}"
            ))),
        }
    }

    async fn post(
        &self,
        outbound: &Outbound,
        reply: &AppReply,
    ) -> Result<ProviderReceipt, ProviderError> {
        let body = serde_json::to_vec(reply).map_err(|e| ProviderError::refused(e.to_string()))?;
        let url = &self.adapter.config().outbound_url;
        let trace = [(omni_bus::TRACEPARENT, outbound.trace.to_string())];
        let answer = self
            .client
            .post_signed(url, self.adapter.signing_key(), body, &trace)
            .await
            .map_err(|e| match e {
                ClientError::Request(..) => ProviderError::refused(e.to_string()),
                ClientError::Io(..) | ClientError::Timeout(..) => {
                    ProviderError::retryable(e.to_string())
                }
            })?;
        let parsed: AppAnswer = serde_json::from_slice(&answer.body).unwrap_or_default();
        let status = answer.status;
        if status.is_success() {
            return Ok(ProviderReceipt {
                provider_message_id: parsed.app_message_id.unwrap_or_default(),
                status: DeliveryStatus::Sent,
            });
        }
        let reason = match (&parsed.error, &parsed.message) {
            (_, Some(message)) => message.clone(),
            (Some(error), None) => error.clone(),
            (None, None) => String::from_utf8_lossy(&answer.body)
                .trim()
                .chars()
                .take(500)
                .collect(),
        };
        let reason = format!("app answered {}: {reason}", status.as_u16());
        let e = if status.is_server_error()
            || status == hyper::StatusCode::TOO_MANY_REQUESTS
            || status == hyper::StatusCode::REQUEST_TIMEOUT
        {
            ProviderError::retryable(reason)
        } else {
            ProviderError::refused(reason)
        };
        let e = match parsed.error {
            Some(code) => e.with_code(code),
            None => e,
        };
        Err(e.with_provider_message_id(parsed.app_message_id.unwrap_or_default()))
    }

    /// Keeps `outbound` for operators after its last failed attempt.
    async fn dead_letter(&self, outbound: &Outbound, reason: &ProviderError) {
        let channel = self.adapter.channel();
        let record = pb::DeadLetter {
            message_id: outbound.message.id.clone(),
            conversation_id: outbound.message.conversation_id.clone(),
            channel: channel.to_string(),
            destination: self.adapter.config().outbound_url.clone(),
            attempts: outbound.attempt,
            reason: reason.describe(),
            at_ms: now_ms(),
            text: outbound.message.text.clone(),
        };
        let key = format!("deadletter:{channel}:{}", record.message_id);
        let msg = Message::new(subjects::deadletter(channel), record.encode_to_vec())
            .with_header(omni_bus::TRACEPARENT, outbound.trace.to_string());
        let kept = self.bus.publish(msg, Some(&key)).await;
        omni_telemetry::count!(
            "omni_webhook_dead_letters_total",
            "webhook replies given up after the last retry",
            &[("channel", channel.as_str())],
        );
        error!(
            trace_id = %outbound.trace.trace_id_hex(),
            %channel,
            message_id = %record.message_id,
            conversation_id = %record.conversation_id,
            attempts = record.attempts,
            reason = %record.reason,
            kept = kept.is_ok(),
            "reply dead-lettered after its last attempt"
        );
        if let Err(e) = kept {
            error!(message_id = %record.message_id, error = %e, "dead letter not stored");
        }
    }
}

#[async_trait]
impl Provider for WebhookOutbound {
    fn name(&self) -> String {
        concat!("omni-webhook/", env!("CARGO_PKG_VERSION")).to_owned()
    }

    /// As the declared channel's `[channels.<name>]` says.
    fn capabilities(&self) -> Capabilities {
        self.adapter.capabilities().clone()
    }

    fn check(&self, outbound: &Outbound) -> Result<(), ProviderError> {
        self.customer_id(outbound)?;
        let text = &outbound.message.text;
        if text.trim().is_empty() {
            return Err(ProviderError::refused("empty message"));
        }
        Ok(())
    }

    async fn send(&self, outbound: &Outbound) -> Result<ProviderReceipt, ProviderError> {
        let reply = AppReply {
            message_id: outbound.message.id.clone(),
            conversation_id: outbound.message.conversation_id.clone(),
            customer_id: self.customer_id(outbound)?,
            text: outbound.message.text.clone(),
            attempt: outbound.attempt,
        };
        let result = self.post(outbound, &reply).await;
        if let Err(e) = &result
            && e.retryable
            && self.backoff.exhausted(outbound.attempt)
        {
            self.dead_letter(outbound, e).await;
        }
        result
    }
}

/// The durable consumer of the channel's replies: `webhook-outbound` on
/// `omni.outbound.<channel>`.
pub fn consumer(adapter: &WebhookAdapter) -> ConsumerSpec {
    adapter.outbound_consumer()
}

/// The consumer spec of `channel` (its filter names the configured channel,
/// so it is built once per adapter, in [`WebhookAdapter::new`]).
pub(crate) fn consumer_of(channel: omni_core::Channel) -> ConsumerSpec {
    let filter: &'static str = Box::leak(subjects::outbound(channel).into_boxed_str());
    ConsumerSpec {
        name: "webhook-outbound",
        stream: OUTBOUND.name,
        filter,
        ack_wait: Duration::from_secs(30),
        max_ack_pending: 64,
    }
}

/// Registers the channel's durable consumer on `bus`, so replies
/// published from now on wait for it even before [`run`] takes them (the
/// embedded bus routes a message only to consumers registered when it is
/// published). Call it before anything may publish a reply.
pub async fn declare(adapter: &WebhookAdapter, bus: &dyn Bus) -> Result<(), BusError> {
    bus.consume(&consumer(adapter)).await.map(drop)
}

/// How the consumer runs: `backoff`, and the webhook's counters.
pub fn options(backoff: Backoff) -> OutboundOptions {
    OutboundOptions {
        backoff,
        metric: "omni_webhook_outbound_total",
        report_metric: "omni_webhook_delivery_reports_total",
        ..OutboundOptions::default()
    }
}

/// Runs the consumer until `shutdown`, retrying by `backoff`.
pub async fn run_with(
    adapter: Arc<WebhookAdapter>,
    bus: Arc<dyn Bus>,
    backoff: Backoff,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let spec = consumer(&adapter);
    let provider = Arc::new(WebhookOutbound::new(adapter, bus.clone(), backoff));
    omni_adapter::outbound::run(provider, bus, &spec, options(backoff), shutdown).await
}

/// Runs the consumer until `shutdown`, with the default backoff.
pub async fn run(
    adapter: Arc<WebhookAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    run_with(adapter, bus, Backoff::default(), shutdown).await
}
