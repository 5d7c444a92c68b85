//! Sends agents' replies: consumes `sms-outbound` (`omni.outbound.sms`),
//! submits each message to the configured provider, and reports each step
//! on `omni.delivery.sms`.
//!
//! A message the provider refuses for good (a 4xx from Twilio or Kannel), a
//! recipient who opted out, or a text longer than `sms.max_segments` is
//! reported FAILED and acked. A provider that cannot be reached, times out,
//! or answers 5xx/429 gets the message again later (nak with backoff).

use std::sync::Arc;

use omni_bus::topology::SMS_OUTBOUND;
use omni_bus::{Bus, BusError, Delivery, drain_until};
use omni_core::DeliveryStatus;
use omni_core::config::SmsProvider;
use omni_proto::common::identity::Kind;
use omni_proto::events as ev;
use prost::Message as _;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::adapter::Report;
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

/// Attempts at publishing the report of a message already handed to the
/// provider, before giving up on the report (the message is not sent twice).
const REPORT_ATTEMPTS: u32 = 6;

/// Runs until `shutdown`.
pub async fn run(
    adapter: Arc<SmsAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = bus.consume(&SMS_OUTBOUND).await?;
    drain_until(deliveries, shutdown.cancelled(), |delivery| {
        let adapter = adapter.clone();
        async move {
            let handled = handle(&adapter, &delivery).await;
            delivery.settle(handled).await;
        }
    })
    .await;
    Ok(())
}

/// What is sent, once the outbound message is understood.
struct Job {
    report: Report,
    to: String,
    text: String,
}

/// Handles one delivery; `Err` asks for it again later.
async fn handle(adapter: &SmsAdapter, delivery: &Delivery) -> Result<(), BusError> {
    let trace = delivery.trace_context();
    let outbound = match ev::OutboundMessage::decode(delivery.message.payload.as_ref()) {
        Ok(o) => o,
        Err(e) => {
            error!(trace_id = %trace.trace_id_hex(), error = %e, "undecodable sms outbound message dropped");
            return Ok(());
        }
    };
    let Some(message) = outbound.message else {
        error!(trace_id = %trace.trace_id_hex(), "sms outbound without a message dropped");
        return Ok(());
    };
    let mut job = Job {
        report: Report {
            message_id: message.id.clone(),
            conversation_id: message.conversation_id.clone(),
            status: DeliveryStatus::Failed,
            provider_message_id: String::new(),
            error: String::new(),
        },
        to: String::new(),
        text: message.text,
    };
    // Refusals before anything is sent: reported FAILED, acked.
    let refusal = match outbound.to.and_then(|i| i.kind) {
        Some(Kind::Phone(number)) => match adapter.e164(&number) {
            Ok(e164) => {
                job.to = e164;
                check(adapter, &job)
            }
            Err(e) => Some(format!("recipient: {e}")),
        },
        // An unverified sender (short code, alphanumeric, unknown range):
        // answered as the gateway gave it; the gateway decides.
        Some(Kind::SmsSender(sender)) => {
            job.to = sender;
            check(adapter, &job)
        }
        _ => Some("recipient is not a phone number".to_owned()),
    };
    if let Some(reason) = refusal {
        warn!(trace_id = %trace.trace_id_hex(), message_id = %job.report.message_id, reason = %reason, "sms not sent");
        job.report.error = reason;
        omni_telemetry::metrics::inc("omni_sms_outbound_total", &[("result", "refused")]);
        return adapter.report(&job.report, &trace).await;
    }

    match submit(adapter, &job).await {
        Ok(submitted) => {
            omni_telemetry::metrics::inc("omni_sms_outbound_total", &[("result", "submitted")]);
            job.report.status = submitted.status;
            job.report.provider_message_id = submitted.provider_id;
        }
        Err(SendError::Permanent { provider_id, error }) => {
            warn!(trace_id = %trace.trace_id_hex(), message_id = %job.report.message_id, error = %error, "provider refused sms");
            omni_telemetry::metrics::inc("omni_sms_outbound_total", &[("result", "failed")]);
            job.report.provider_message_id = provider_id;
            job.report.error = error;
        }
        Err(SendError::Transient(error)) => {
            warn!(
                trace_id = %trace.trace_id_hex(),
                message_id = %job.report.message_id,
                attempt = delivery.attempt,
                error = %error,
                "sms provider unavailable; will retry"
            );
            omni_telemetry::metrics::inc("omni_sms_outbound_total", &[("result", "retry")]);
            return Err(BusError::Unavailable(error));
        }
    }
    // The provider has it: a failed report must not send it again.
    for attempt in 1..=REPORT_ATTEMPTS {
        match adapter.report(&job.report, &trace).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < REPORT_ATTEMPTS => {
                warn!(message_id = %job.report.message_id, error = %e, "delivery report not published; retrying");
                let _ = delivery.in_progress().await;
                tokio::time::sleep(omni_bus::retry_delay(attempt)).await;
            }
            Err(e) => {
                error!(message_id = %job.report.message_id, error = %e, "delivery report lost after the message was sent");
            }
        }
    }
    Ok(())
}

/// Why `job` must not be sent, if anything.
fn check(adapter: &SmsAdapter, job: &Job) -> Option<String> {
    if adapter.is_opted_out(&job.to) {
        return Some("recipient opted out".to_owned());
    }
    if job.text.trim().is_empty() {
        return Some("empty message".to_owned());
    }
    let counted = segments::count(&job.text);
    let max = adapter.config().max_segments as usize;
    if counted.count > max {
        return Some(format!(
            "message needs {} segments ({:?}, {} units), more than the maximum of {max}",
            counted.count, counted.encoding, counted.units
        ));
    }
    None
}

async fn submit(adapter: &SmsAdapter, job: &Job) -> Result<Submitted, SendError> {
    let config = adapter.config();
    let ids = form_urlencoded::Serializer::new(String::new())
        .append_pair("message_id", &job.report.message_id)
        .append_pair("conversation_id", &job.report.conversation_id)
        .finish();
    match config.provider {
        SmsProvider::Twilio => {
            let callback = adapter.public_url(&format!("/twilio/status?{ids}"));
            twilio::send(
                adapter.http(),
                &config.twilio,
                &config.from,
                &job.to,
                &job.text,
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
            let encoding = segments::encoding(&job.text);
            kannel::send(
                adapter.http(),
                &config.kannel,
                &config.from,
                &job.to,
                &job.text,
                encoding,
                &dlr,
            )
            .await
        }
    }
}
