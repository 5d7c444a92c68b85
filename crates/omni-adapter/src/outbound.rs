//! The consumer of a channel's outbound messages (`omni.outbound.<channel>`,
//! `events.v1.OutboundMessage`): each goes to the [`Provider`], and what
//! became of it is reported on `omni.delivery.<channel>`.
//!
//! | what happens | delivery | report |
//! |---|---|---|
//! | the provider takes it | ack | its status (queued, sent, delivered), the provider's id |
//! | [`Provider::check`] refuses it, or its text exceeds the declared maximum | ack | `FAILED`, the reason |
//! | the provider refuses it (not retryable) | ack | `FAILED`, the provider's reason |
//! | the provider fails retryably | held, sent again after [`Backoff::delay`] | none |
//! | ... on the last of [`Backoff::max_attempts`] | ack | `FAILED`, "gave up after N attempts: reason" |
//! | shutdown while it waits for a retry or the rate limit | nak, at once | none |
//! | undecodable, or without a message | ack (logged) | none (no id to report on) |
//! | a refusal's report cannot be published | nak | later |
//!
//! A report of a message the provider already took is retried a few times
//! and then given up (logged): the message is never sent twice for a lost
//! report, unless [`OutboundOptions::resend_when_report_lost`] asks for a
//! nak instead. Retries happen while the delivery is held (and kept alive), not
//! by a nak, so a conversation's next message never overtakes one being
//! retried: messages of one conversation keep their order (lanes are keyed
//! by conversation). Attempts are counted per process: a message
//! redelivered after a crash starts again at one. Sends are paced by an
//! optional rate limit. On shutdown it takes no new message, finishes a
//! send in progress, and naks one waiting for a retry or the rate limit so
//! the next consumer takes it at once.

use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use omni_bus::{Bus, BusError, ConsumerSpec, Delivery, drain_keyed, key_hash};
use omni_core::DeliveryStatus;
use omni_proto::events as ev;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, warn};

use crate::{Backoff, Outbound, Provider, Report, Reporter};

/// How the consumer works.
#[derive(Debug, Clone)]
pub struct OutboundOptions {
    /// Messages handled at once (different conversations); 1 keeps one order.
    pub lanes: usize,
    /// Retries of retryable failures.
    pub backoff: Backoff,
    /// Sends toward the provider at most this often (a GCRA bucket, e.g.
    /// `Quota::per_second(10)`); `None` for no limit.
    pub rate: Option<Quota>,
    /// Attempts at publishing the report of a message the provider took.
    pub report_attempts: u32,
    /// When that report cannot be published: nak the delivery, so the
    /// message is sent again (for providers where a second send is
    /// harmless, like mail with the same Message-ID), instead of dropping
    /// the report.
    pub resend_when_report_lost: bool,
    /// Counter of outcomes, labels `channel` and `result` (`submitted`,
    /// `failed`, `refused`, `retry`, `gave_up`).
    pub metric: &'static str,
    /// Counter of delivery reports, labels `channel` and `status`.
    pub report_metric: &'static str,
}

impl Default for OutboundOptions {
    fn default() -> Self {
        Self {
            lanes: 1,
            backoff: Backoff::default(),
            rate: None,
            report_attempts: 6,
            resend_when_report_lost: false,
            metric: "omni_adapter_outbound_total",
            report_metric: "omni_adapter_delivery_reports_total",
        }
    }
}

/// What to do with a delivery once handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    Ack,
    Nak(Duration),
}

struct Consumer<P> {
    provider: Arc<P>,
    /// The provider's capabilities, taken once on start.
    capabilities: crate::Capabilities,
    reporter: Reporter,
    /// `options.metric`'s family.
    counts: omni_telemetry::metrics::Counters,
    options: OutboundOptions,
    limiter: Option<DefaultDirectRateLimiter>,
    shutdown: CancellationToken,
}

/// Consumes `spec` (the channel's outbound consumer) until `shutdown`,
/// handing each message to `provider`; announces the provider's
/// capabilities first.
pub async fn run<P: Provider>(
    provider: Arc<P>,
    bus: Arc<dyn Bus>,
    spec: &ConsumerSpec,
    options: OutboundOptions,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let capabilities = provider.capabilities();
    let channel = capabilities.channel;
    let deliveries = bus.consume(spec).await?;
    if let Err(e) = capabilities.announce(bus.as_ref(), &provider.name()).await {
        warn!(%channel, error = %e, "capabilities not announced");
    }
    let consumer = Arc::new(Consumer {
        capabilities,
        reporter: Reporter::new(bus, channel).with_metric(options.report_metric),
        counts: omni_telemetry::metrics::counter(
            options.metric,
            "messages for customers handled by the channel's adapter, by result",
        ),
        limiter: options.rate.map(RateLimiter::direct),
        provider,
        options,
        shutdown: shutdown.clone(),
    });
    let lanes = consumer.options.lanes.max(1);
    drain_keyed(
        deliveries,
        shutdown.cancelled_owned(),
        lanes,
        |delivery| {
            let decoded = ev::OutboundMessage::decode(delivery.message.payload.as_ref());
            let key = match &decoded {
                Ok(ev::OutboundMessage {
                    message: Some(m), ..
                }) => key_hash(m.conversation_id.as_bytes()),
                _ => 0,
            };
            (key, decoded)
        },
        move |delivery, decoded| {
            let consumer = consumer.clone();
            async move {
                let settle = consumer.handle(&delivery, decoded).await;
                let subject = delivery.message.subject.clone();
                let settled = match settle {
                    Settle::Ack => delivery.ack().await,
                    Settle::Nak(delay) => delivery.nak(delay).await,
                };
                if let Err(e) = settled {
                    warn!(%subject, error = %e, "could not settle outbound delivery; the bus will redeliver it");
                }
            }
        },
    )
    .await;
    Ok(())
}

impl<P: Provider> Consumer<P> {
    fn count(&self, result: &'static str) {
        let channel = self.reporter.channel();
        self.counts
            .inc(&[("channel", channel.as_str()), ("result", result)]);
        let center = omni_telemetry::metrics::contact::contact_center();
        center.outbound(channel.as_str(), result);
        if matches!(result, "failed" | "refused" | "gave_up") {
            center.delivery_failure(channel.as_str(), result);
        }
    }

    async fn handle(
        &self,
        delivery: &Delivery,
        decoded: Result<ev::OutboundMessage, prost::DecodeError>,
    ) -> Settle {
        let trace = delivery.trace_context();
        let command = match decoded {
            Ok(command) => command,
            Err(e) => {
                error!(trace_id = %trace.trace_id_hex(), subject = %delivery.message.subject, error = %e, "undecodable outbound message dropped");
                return Settle::Ack;
            }
        };
        let Some(message) = command.message else {
            error!(trace_id = %trace.trace_id_hex(), subject = %delivery.message.subject, "outbound command without a message dropped");
            return Settle::Ack;
        };
        let span = tracing::info_span!(
            "adapter.send",
            channel = %self.reporter.channel(),
            omni.conversation_id = %message.conversation_id,
            omni.message_id = %message.id,
            attempt = delivery.attempt,
        );
        omni_telemetry::continue_trace(&span, &trace);
        let mut outbound = Outbound {
            trace: omni_telemetry::outgoing(&span, &trace),
            message,
            to: command.to,
            email: command.email,
            attachments: command.attachments,
            attempt: delivery.attempt,
        };
        self.send(delivery, &mut outbound).instrument(span).await
    }

    async fn send(&self, delivery: &Delivery, outbound: &mut Outbound) -> Settle {
        let mut report = Report {
            message_id: outbound.message.id.clone(),
            conversation_id: outbound.message.conversation_id.clone(),
            status: DeliveryStatus::Failed,
            provider_message_id: String::new(),
            error: String::new(),
        };
        // Refusals before anything is sent.
        let refusal = match self.provider.check(outbound) {
            Err(e) => Some(e.describe()),
            Ok(()) => self.capabilities.text_too_long(&outbound.message.text),
        };
        if let Some(reason) = refusal {
            warn!(message_id = %report.message_id, reason = %reason, "outbound message not sent");
            self.count("refused");
            if report.message_id.is_empty() {
                // Nothing to attach a report to; the refusal is logged.
                return Settle::Ack;
            }
            report.error = reason;
            return match self.reporter.publish(&report, &outbound.trace).await {
                Ok(()) => Settle::Ack,
                Err(e) => {
                    warn!(message_id = %report.message_id, error = %e, "refusal not reported; will retry");
                    Settle::Nak(self.options.backoff.delay(delivery.attempt))
                }
            };
        }
        // Retried here, not nak'ed: a nak would let the conversation's
        // next message overtake this one.
        let mut attempt = 1;
        loop {
            if let Some(limiter) = &self.limiter {
                tokio::select! {
                    () = limiter.until_ready() => {}
                    () = self.shutdown.cancelled() => return Settle::Nak(Duration::ZERO),
                }
            }
            outbound.attempt = attempt;
            // The delivery to the provider, a span of its own per attempt.
            let deliver = tracing::info_span!(
                "adapter.deliver",
                otel.kind = "client",
                channel = %self.reporter.channel(),
                omni.conversation_id = %outbound.message.conversation_id,
                omni.message_id = %outbound.message.id,
                attempt,
            );
            match self.provider.send(outbound).instrument(deliver).await {
                Ok(receipt) => {
                    self.count("submitted");
                    report.status = receipt.status;
                    report.provider_message_id = receipt.provider_message_id;
                }
                Err(e) if e.retryable && !self.options.backoff.exhausted(attempt) => {
                    warn!(
                        message_id = %report.message_id,
                        attempt,
                        error = %e,
                        "provider unavailable; will retry"
                    );
                    self.count("retry");
                    let delay = self.options.backoff.delay(attempt);
                    attempt += 1;
                    tokio::select! {
                        () = tokio::time::sleep(delay) => continue,
                        // Not sent: the next consumer takes it at once.
                        () = self.shutdown.cancelled() => return Settle::Nak(Duration::ZERO),
                    }
                }
                Err(e) if e.retryable => {
                    warn!(message_id = %report.message_id, attempt, error = %e, "provider still unavailable; giving up");
                    self.count("gave_up");
                    report.error = format!("gave up after {attempt} attempts: {}", e.describe());
                    report.provider_message_id = e.provider_message_id;
                }
                Err(e) => {
                    warn!(message_id = %report.message_id, error = %e, "provider refused the message");
                    self.count("failed");
                    report.error = e.describe();
                    report.provider_message_id = e.provider_message_id;
                }
            }
            break;
        }
        if report.message_id.is_empty() {
            // Nothing to attach a report to; the outcome is logged above.
            return Settle::Ack;
        }
        let reported = self.report_taken(delivery, &report, outbound).await;
        if !reported && self.options.resend_when_report_lost {
            return Settle::Nak(self.options.backoff.delay(delivery.attempt));
        }
        Settle::Ack
    }

    /// Reports on a message the provider has dealt with; a report that
    /// cannot be published is retried, then given up (false).
    async fn report_taken(
        &self,
        delivery: &Delivery,
        report: &Report,
        outbound: &Outbound,
    ) -> bool {
        let attempts = self.options.report_attempts.max(1);
        for attempt in 1..=attempts {
            match self.reporter.publish(report, &outbound.trace).await {
                Ok(()) => return true,
                Err(e) if attempt < attempts => {
                    warn!(message_id = %report.message_id, error = %e, "delivery report not published; retrying");
                    let _ = delivery.in_progress().await;
                    tokio::time::sleep(self.options.backoff.delay(attempt)).await;
                }
                Err(e) => {
                    error!(message_id = %report.message_id, error = %e, "delivery report lost after the provider took the message");
                }
            }
        }
        false
    }
}
