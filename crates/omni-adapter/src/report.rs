//! Delivery reports: what became of an outbound message, on
//! `omni.delivery.<channel>` (`events.v1.DeliveryReport`). The same status
//! of the same message is stored once (message id
//! `<channel>-delivery:<message id>:<STATUS>`), so a provider's repeated
//! callback or a retried report is one report.

use std::sync::Arc;

use omni_bus::topology::subjects;
use omni_bus::{Bus, BusError, Message, TRACEPARENT};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{Channel, DeliveryStatus};
use omni_proto::common as pb;
use omni_proto::events as ev;
use omni_telemetry::metrics::{Counters, counter};
use prost::Message as _;
use tracing::{Instrument as _, info};

/// What became of one outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Our message id.
    pub message_id: String,
    /// Its conversation.
    pub conversation_id: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// The provider's id, when known.
    pub provider_message_id: String,
    /// Why it failed, in the provider's words; empty otherwise.
    pub error: String,
}

/// Publishes one channel's delivery reports.
#[derive(Clone)]
pub struct Reporter {
    bus: Arc<dyn Bus>,
    channel: Channel,
    metric: Counters,
}

const REPORTS_HELP: &str = "delivery reports published, by channel and status";

impl Reporter {
    /// Reports of `channel` on `bus`, counted in
    /// `omni_adapter_delivery_reports_total{channel,status}`.
    pub fn new(bus: Arc<dyn Bus>, channel: Channel) -> Self {
        Self {
            bus,
            channel,
            metric: counter("omni_adapter_delivery_reports_total", REPORTS_HELP),
        }
    }

    /// Counted under `metric` instead (labels `channel`, `status`).
    pub fn with_metric(mut self, metric: &'static str) -> Self {
        self.metric = counter(metric, REPORTS_HELP);
        self
    }

    /// The channel.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Publishes `report` durably, continuing `trace`.
    pub async fn publish(&self, report: &Report, trace: &TraceContext) -> Result<(), BusError> {
        let status = pb::DeliveryStatus::from(report.status);
        let (channel, channel_name) = crate::wire_channel(self.channel);
        let event = ev::DeliveryReport {
            message_id: report.message_id.clone(),
            conversation_id: report.conversation_id.clone(),
            channel,
            channel_name,
            status: status as i32,
            provider_message_id: report.provider_message_id.clone(),
            error: report.error.clone(),
            at_ms: now_ms(),
        };
        let key = format!(
            "{}-delivery:{}:{}",
            self.channel,
            report.message_id,
            status.as_str_name()
        );
        // Inside a delivery the report is the delivery span's child; a
        // provider's later callback continues the trace it carries.
        let span = tracing::info_span!(
            "adapter.report",
            channel = %self.channel,
            status = status.as_str_name(),
            omni.conversation_id = %report.conversation_id,
            omni.message_id = %report.message_id,
        );
        if tracing::Span::current().is_none() {
            omni_telemetry::continue_trace(&span, trace);
        }
        let msg = Message::new(subjects::delivery(self.channel), event.encode_to_vec())
            .with_header(
                TRACEPARENT,
                omni_telemetry::outgoing(&span, trace).to_string(),
            );
        self.bus.publish(msg, Some(&key)).instrument(span).await?;
        self.metric.inc(&[
            ("channel", self.channel.as_str()),
            ("status", status.as_str_name()),
        ]);
        info!(
            trace_id = %trace.trace_id_hex(),
            channel = %self.channel,
            message_id = %report.message_id,
            status = status.as_str_name(),
            provider_message_id = %report.provider_message_id,
            error = %report.error,
            "delivery report"
        );
        Ok(())
    }
}
