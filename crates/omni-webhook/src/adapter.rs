//! The webhook adapter's state and its bus effects: a customer's message
//! from the app as the canonical inbound message, and the app's delivery
//! statuses as delivery reports.

use std::sync::Arc;

use omni_adapter::inbound::canonical;
use omni_adapter::{Capabilities, Inbound, Report, Reporter, idempotency_key};
use omni_bus::{Bus, BusError, PublishAck};
use omni_core::config::{Config, WebhookConfig};
use omni_core::trace::TraceContext;
use omni_core::{Channel, Identity, IdentityNormalizer};
use omni_proto::auth::AuthChannel as GrpcChannel;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tracing::{Instrument, info};

use crate::error::WebhookError;
use crate::lookup::Replies;

/// The idempotency key prefix: `app:<message_id>` for channel `app`.
const PROVIDER: &str = "webhook";

/// Why the adapter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `webhook.channel` is not a declared channel.
    #[error("webhook.channel {0:?} is not a declared channel")]
    Channel(String),
}

/// A customer's message as the app posts it to `POST /webhook/v1/messages`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppMessage {
    /// The app's id for the message: the idempotency key (the same id
    /// posted twice is one message).
    pub message_id: String,
    /// The customer's id in the app, of the channel's identity kind.
    pub customer_id: String,
    /// The text.
    pub text: String,
    /// The customer's name, as the app shows it.
    #[serde(default)]
    pub display_name: Option<String>,
    /// When the customer wrote it, Unix milliseconds (informational).
    #[serde(default)]
    pub sent_at_ms: Option<i64>,
}

/// What the app says became of a reply, posted to `POST /webhook/v1/status`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppStatus {
    /// Our message id, as the reply carried it.
    pub message_id: String,
    /// Its conversation, as the reply carried it.
    pub conversation_id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// The app's id for it, if any.
    #[serde(default)]
    pub app_message_id: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// The webhook adapter.
pub struct WebhookAdapter {
    inbound: Inbound,
    reporter: Reporter,
    config: Arc<Config>,
    channel: Channel,
    capabilities: Capabilities,
    normalizer: IdentityNormalizer,
    outbound: omni_bus::topology::ConsumerSpec,
    /// Where a status's conversation and message are checked; `None`
    /// checks nothing (an adapter without the context service).
    replies: Option<Replies>,
}

impl WebhookAdapter {
    /// An adapter publishing to `bus`, configured by `config.webhook` and
    /// the declared channel it names.
    pub fn new(bus: Arc<dyn Bus>, config: Arc<Config>) -> Result<Arc<Self>, SetupError> {
        Self::build(bus, config, None)
    }

    /// An adapter that also checks, with the context service on `context`,
    /// that a delivery status names a conversation and a message that
    /// exist (404 otherwise): how the app runs it.
    pub fn with_context(
        bus: Arc<dyn Bus>,
        config: Arc<Config>,
        context: GrpcChannel,
    ) -> Result<Arc<Self>, SetupError> {
        Self::build(bus, config, Some(Replies::new(context)))
    }

    fn build(
        bus: Arc<dyn Bus>,
        config: Arc<Config>,
        replies: Option<Replies>,
    ) -> Result<Arc<Self>, SetupError> {
        let name = &config.webhook.channel;
        let set = config.channel_set();
        let channel = set
            .find(name)
            .ok_or_else(|| SetupError::Channel(name.clone()))?;
        let capabilities = Capabilities::declared(&config, channel)
            .map_err(|_| SetupError::Channel(name.clone()))?;
        let normalizer = IdentityNormalizer::new(None).with_kinds(config.identity_kinds());
        Ok(Arc::new(Self {
            inbound: Inbound::new(bus.clone(), channel),
            reporter: Reporter::new(bus, channel)
                .with_metric("omni_webhook_delivery_reports_total"),
            config,
            channel,
            capabilities,
            normalizer,
            outbound: crate::outbound::consumer_of(channel),
            replies,
        }))
    }

    /// The webhook settings.
    pub fn config(&self) -> &WebhookConfig {
        &self.config.webhook
    }

    /// The per-address limits of the HTTP server.
    pub fn limits(&self) -> &omni_core::config::LimitsConfig {
        &self.config.limits
    }

    /// The channel the app's messages arrive on.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The durable consumer of the channel's replies.
    pub fn outbound_consumer(&self) -> omni_bus::topology::ConsumerSpec {
        self.outbound
    }

    /// The channel's capabilities, as `[channels.<name>]` declares them.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The keys a request from the app may be signed with: the current
    /// one and, during a rotation, the previous one.
    pub fn keys(&self) -> [&[u8]; 2] {
        [
            self.config.webhook.key.expose_secret().as_bytes(),
            self.config.webhook.previous_key.expose_secret().as_bytes(),
        ]
    }

    /// The key replies are signed with.
    pub fn signing_key(&self) -> &[u8] {
        self.config.webhook.key.expose_secret().as_bytes()
    }

    /// The customer's identity for the app's `customer_id`, normalized by
    /// the channel's identity kind.
    pub fn customer(&self, raw: &str) -> Result<Identity, WebhookError> {
        self.normalizer
            .declared(&self.capabilities.identity_kind, raw)
            .map_err(|e| WebhookError::bad_request("invalid_customer_id", e.to_string()))
    }

    /// Publishes a customer's message durably; returns once the bus has it.
    pub async fn accept(
        &self,
        message: AppMessage,
        trace: &TraceContext,
    ) -> Result<PublishAck, WebhookError> {
        if message.message_id.trim().is_empty() {
            return Err(WebhookError::bad_request(
                "missing_message_id",
                "message_id is required: it is the idempotency key",
            ));
        }
        if message.text.trim().is_empty() {
            return Err(WebhookError::bad_request("empty_text", "text is empty"));
        }
        if let Some(reason) = self.capabilities.text_too_long(&message.text) {
            return Err(WebhookError::TooLarge(reason));
        }
        let from = self.customer(&message.customer_id)?;
        let span = tracing::info_span!(
            "webhook.accept",
            trace_id = %trace.trace_id_hex(),
            channel = %self.channel,
            message_id = %message.message_id,
        );
        omni_telemetry::continue_trace(&span, trace);
        let mut canonical = canonical(
            self.channel,
            idempotency_key(
                PROVIDER,
                &format!("{}:{}", self.channel, message.message_id),
            ),
            from,
            message.text,
        );
        canonical.display_name = message.display_name.filter(|n| !n.trim().is_empty());
        let ack = self
            .inbound
            .publish(&canonical, trace)
            .instrument(span)
            .await?;
        omni_telemetry::count!(
            "omni_webhook_inbound_total",
            "messages accepted on the webhook channel",
            &[("channel", self.channel.as_str())],
        );
        info!(
            trace_id = %trace.trace_id_hex(),
            channel = %self.channel,
            key = %canonical.idempotency_key,
            duplicate = ack.duplicate,
            "webhook message accepted"
        );
        Ok(ack)
    }

    /// Publishes the app's word on a reply as a delivery report.
    pub async fn status(
        &self,
        status: AppStatus,
        trace: &TraceContext,
    ) -> Result<(), WebhookError> {
        use omni_core::DeliveryStatus as S;
        let parsed = match status.status.as_str() {
            "sent" => S::Sent,
            "delivered" => S::Delivered,
            "read" => S::Read,
            "failed" => S::Failed,
            other => {
                return Err(WebhookError::bad_request(
                    "invalid_status",
                    format!("status {other:?} is not one of sent, delivered, read, failed"),
                ));
            }
        };
        if status.message_id.trim().is_empty() || status.conversation_id.trim().is_empty() {
            return Err(WebhookError::bad_request(
                "missing_message_id",
                "message_id and conversation_id are required",
            ));
        }
        if let Some(replies) = &self.replies {
            replies
                .check(&status.conversation_id, &status.message_id)
                .await?;
        }
        let report = Report {
            message_id: status.message_id,
            conversation_id: status.conversation_id,
            status: parsed,
            provider_message_id: status.app_message_id.unwrap_or_default(),
            error: status.error.unwrap_or_default(),
        };
        self.report(&report, trace).await?;
        Ok(())
    }

    /// Publishes a delivery report on `omni.delivery.<channel>`.
    pub async fn report(&self, report: &Report, trace: &TraceContext) -> Result<(), BusError> {
        self.reporter.publish(report, trace).await
    }
}
