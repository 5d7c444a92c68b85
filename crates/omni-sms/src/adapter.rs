//! The SMS adapter's state and its two bus effects: publishing a customer's
//! text as the canonical inbound message, and publishing delivery reports.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omni_adapter::http::{HttpClient, HttpError};
use omni_adapter::inbound::canonical;
use omni_adapter::{Capabilities, CapabilityError, HardLimit, Inbound, Reporter, idempotency_key};
use omni_bus::{Bus, BusError, PublishAck};
use omni_core::config::{Config, SmsConfig};
use omni_core::trace::TraceContext;
use omni_core::{Channel, Identity, IdentityNormalizer, OptChange, SmsDetails};
use phonenumber::country::Id;
use tracing::{Instrument, info, warn};

use crate::error::SmsError;
use crate::{keywords, phone};

/// Why the adapter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `sms.default_region` is not a region the numbering plan knows.
    #[error("sms.default_region {0:?} is not a known region")]
    Region(String),
    /// The HTTP client could not be built.
    #[error("cannot build the provider HTTP client: {0}")]
    Http(#[from] HttpError),
    /// `[channels.sms]` declares more than `sms.max_segments` carry.
    #[error(transparent)]
    Capabilities(#[from] CapabilityError),
}

/// A customer's text as a provider handed it over, the sender already an
/// identity (see [`SmsAdapter::sender`]).
#[derive(Debug, Clone)]
pub struct InboundSms {
    /// `twilio` or `kannel`.
    pub provider: &'static str,
    /// The provider's id for it (Twilio MessageSid, Kannel's id).
    pub provider_message_id: String,
    /// The customer: a phone number (E.164), or an unverified sender.
    pub from: Identity,
    /// Our number it was sent to.
    pub to: String,
    /// The text.
    pub text: String,
    /// Segments the provider reported; 0 when unknown.
    pub segments: u32,
}

/// What became of an outbound message, for `omni.delivery.sms`.
pub use omni_adapter::Report;

/// The SMS adapter.
pub struct SmsAdapter {
    inbound: Inbound,
    reporter: Reporter,
    config: Arc<Config>,
    capabilities: Capabilities,
    region: Id,
    normalizer: IdentityNormalizer,
    http: HttpClient,
    opted_out: Mutex<HashSet<String>>,
}

impl SmsAdapter {
    /// An adapter publishing to `bus`, configured by `config.sms`.
    pub fn new(bus: Arc<dyn Bus>, config: Arc<Config>) -> Result<Arc<Self>, SetupError> {
        let region = phone::region(&config.sms.default_region)
            .ok_or_else(|| SetupError::Region(config.sms.default_region.clone()))?;
        let normalizer = IdentityNormalizer::new(Some(
            config
                .sms
                .default_region
                .parse()
                .map_err(|_| SetupError::Region(config.sms.default_region.clone()))?,
        ));
        let http = HttpClient::new(
            Duration::from_secs(config.sms.request_timeout_secs),
            "omniroute-sms",
        )?;
        let capabilities = Capabilities::declared(&config, Channel::SMS)
            .map_err(CapabilityError::from)?
            .within(&HardLimit {
                max_text_chars: u32::try_from(config.sms.max_text_chars()).unwrap_or(u32::MAX),
                why: format!("sms.max_segments = {}", config.sms.max_segments),
            })?;
        let adapter = Arc::new(Self {
            capabilities,
            inbound: Inbound::new(bus.clone(), Channel::SMS),
            reporter: Reporter::new(bus, Channel::SMS)
                .with_metric("omni_sms_delivery_reports_total"),
            config,
            region,
            normalizer,
            http,
            opted_out: Mutex::new(HashSet::new()),
        });
        let weak = Arc::downgrade(&adapter);
        omni_telemetry::metrics::gauges("sms", move |out| {
            if let Some(adapter) = weak.upgrade() {
                out.push(omni_telemetry::metrics::Sample {
                    name: "omni_sms_opted_out_numbers",
                    labels: Vec::new(),
                    value: adapter.lock().len() as f64,
                });
            }
        });
        Ok(adapter)
    }

    /// The SMS channel's capabilities, as `[channels.sms]` declares them.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The SMS settings.
    pub fn config(&self) -> &SmsConfig {
        &self.config.sms
    }

    /// The per-address limits of the webhook server.
    pub fn limits(&self) -> &omni_core::config::LimitsConfig {
        &self.config.limits
    }

    /// The HTTP client for provider APIs.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `raw` in E.164, resolving national formats in the default region.
    pub fn e164(&self, raw: &str) -> Result<String, phone::PhoneError> {
        phone::to_e164(raw, self.region)
    }

    /// The identity of a text's sender: its phone number in E.164 when the
    /// numbering plan knows it, else the sender as given, unverified (short
    /// codes, alphanumeric senders, unknown ranges): a text is never refused
    /// for its sender's format. `None` only for an empty sender.
    pub fn sender(&self, raw: &str, trace: &TraceContext) -> Option<Identity> {
        match self.normalizer.sms_from(raw) {
            Ok((identity, None)) => Some(identity),
            Ok((identity, Some(reason))) => {
                warn!(
                    trace_id = %trace.trace_id_hex(),
                    sender = %identity.value(),
                    %reason,
                    "sms sender is not a valid phone number; kept as an unverified identity"
                );
                omni_telemetry::count!(
                    "omni_sms_unverified_senders_total",
                    "texts from senders that are not valid phone numbers",
                    &[]
                );
                Some(identity)
            }
            Err(_) => None,
        }
    }

    /// The public URL of `path_and_query` on this adapter, as providers call it.
    pub fn public_url(&self, path_and_query: &str) -> String {
        format!(
            "{}{path_and_query}",
            self.config.sms.public_url.trim_end_matches('/')
        )
    }

    /// Whether `number` (E.164) sent an opt-out keyword, and no opt-in
    /// since, to this process.
    pub fn is_opted_out(&self, number: &str) -> bool {
        self.lock().contains(number)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.opted_out.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes a customer's text durably; returns once the bus has it.
    /// The idempotency key is `<provider>:<provider message id>`, so a
    /// provider's retry is stored once.
    pub async fn accept(
        &self,
        sms: InboundSms,
        trace: &TraceContext,
    ) -> Result<PublishAck, SmsError> {
        let span = tracing::info_span!(
            "sms.accept",
            trace_id = %trace.trace_id_hex(),
            provider = sms.provider,
            from = %sms.from.value(),
        );
        omni_telemetry::continue_trace(&span, trace);
        let opt = keywords::opt_change(&sms.text);
        let mut message = canonical(
            Channel::SMS,
            idempotency_key(sms.provider, &sms.provider_message_id),
            sms.from.clone(),
            sms.text.clone(),
        );
        message.sms = Some(SmsDetails {
            provider: sms.provider.to_owned(),
            provider_message_id: sms.provider_message_id.clone(),
            to: sms.to.clone(),
            segments: sms.segments,
            opt,
        });
        let ack = self
            .inbound
            .publish(&message, trace)
            .instrument(span)
            .await?;
        match opt {
            Some(OptChange::Out) => {
                self.lock().insert(sms.from.value().to_owned());
            }
            Some(OptChange::In) => {
                self.lock().remove(sms.from.value());
            }
            None => {}
        }
        omni_telemetry::count!(
            "omni_sms_inbound_total",
            "texts accepted, by provider",
            &[("provider", sms.provider)]
        );
        info!(
            trace_id = %trace.trace_id_hex(),
            provider = sms.provider,
            key = %message.idempotency_key,
            verified = message.from.is_verified(),
            opt = ?opt,
            duplicate = ack.duplicate,
            "sms accepted"
        );
        Ok(ack)
    }

    /// Publishes a delivery report on `omni.delivery.sms`. The same status
    /// of the same message is stored once (providers retry callbacks).
    pub async fn report(&self, report: &Report, trace: &TraceContext) -> Result<(), BusError> {
        self.reporter.publish(report, trace).await
    }
}
