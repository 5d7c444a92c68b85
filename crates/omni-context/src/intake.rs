//! The durable bus consumers that feed the context service: customer
//! messages from every adapter, the router's assignments and refusals (a
//! full queue), and the adapters' delivery reports.
//!
//! A delivery is acked only after its effect is in the store. A payload that
//! cannot be decoded is logged with its subject and trace id and acked, so it
//! cannot block the stream; a store or bus outage naks it for redelivery.

use std::sync::Arc;

use omni_bus::topology::{
    CONTEXT_ASSIGNMENTS, CONTEXT_DELIVERY, CONTEXT_INBOUND, CONTEXT_REFUSALS,
};
use omni_bus::{BusError, Delivery, drain_keyed, drain_until, key_hash};
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, Identity, IdentityNormalizer, InboundMessage, QueueId};
use omni_proto::events as ev;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, warn};

use crate::{ContextError, ContextService};

/// Customer messages handled at once. Messages of one sender go to one
/// lane and keep their order; different senders proceed in parallel, so
/// store round trips overlap (Redis pipelines them and batches its fsyncs).
pub const INBOUND_LANES: usize = 16;

/// Consumes customer messages until `shutdown`.
pub async fn run_inbound(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = service.bus().consume(&CONTEXT_INBOUND).await?;
    let normalizer = service.settings().normalizer();
    drain_keyed(
        deliveries,
        shutdown.cancelled(),
        INBOUND_LANES,
        move |d: &Delivery| sender_key(&normalizer, &d.message.payload),
        move |d, decoded| {
            let service = service.clone();
            async move { handle_inbound(&service, d, decoded).await }
        },
    )
    .await;
    Ok(())
}

/// A customer message as decoded once, for its lane and its handling.
type Decoded = Result<ev::InboundMessage, prost::DecodeError>;

/// The lane key of a customer message, its sender identity, and the
/// message decoded (an email can carry up to a megabyte of attachments:
/// it is decoded once). The sender is normalized as the service stores it
/// (one normalization), so two spellings of one identity share a lane.
fn sender_key(normalizer: &IdentityNormalizer, payload: &[u8]) -> (u64, Decoded) {
    let decoded = ev::InboundMessage::decode(payload);
    let from = decoded
        .as_ref()
        .ok()
        .and_then(|m| m.from.clone())
        .and_then(|f| Identity::try_from(f).ok());
    let key = match from {
        Some(identity) => {
            let identity = normalizer.normalize(&identity).unwrap_or(identity);
            key_hash(identity.key().as_bytes())
        }
        None => key_hash(b""),
    };
    (key, decoded)
}

/// Consumes the router's assignments until `shutdown`.
pub async fn run_assignments(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = service.bus().consume(&CONTEXT_ASSIGNMENTS).await?;
    drain_until(deliveries, shutdown.cancelled(), |d| {
        handle_assignment(&service, d)
    })
    .await;
    Ok(())
}

/// Consumes the router's refusals (a full queue) until `shutdown`; each is
/// acked once the customer's answer is queued and the conversation
/// resolved.
pub async fn run_refusals(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = service.bus().consume(&CONTEXT_REFUSALS).await?;
    drain_until(deliveries, shutdown.cancelled(), |d| {
        handle_refusal(&service, d)
    })
    .await;
    Ok(())
}

async fn handle_refusal(service: &ContextService, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!("context.refusal");
    omni_telemetry::continue_trace(&span, &trace);
    async {
        let refused = match ev::RoutingRefused::decode(delivery.message.payload.as_ref()) {
            Ok(r) if !r.conversation_id.is_empty() => r,
            Ok(_) | Err(_) => {
                error!(trace_id = %trace.trace_id_hex(), "undecodable refusal dropped from the stream");
                delivery.settle(Ok::<(), ContextError>(())).await;
                return;
            }
        };
        let result = service
            .record_refusal(
                &ConversationId::from(refused.conversation_id.as_str()),
                &QueueId::from(refused.queue.as_str()),
                refused.at_ms,
                trace,
            )
            .await;
        let result = match result {
            Err(ContextError::NotFound(what)) => {
                error!(trace_id = %trace.trace_id_hex(), %what, "refusal of an unknown conversation dropped");
                Ok(())
            }
            other => other,
        };
        if let Err(e) = &result {
            warn!(trace_id = %trace.trace_id_hex(), error = %e, "refusal not recorded; will retry");
        }
        delivery.settle(result).await;
    }
    .instrument(span)
    .await
}

/// Consumes delivery reports until `shutdown`; each is acked after the
/// message's status is in the store.
pub async fn run_deliveries(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = service.bus().consume(&CONTEXT_DELIVERY).await?;
    drain_until(deliveries, shutdown.cancelled(), |d| {
        handle_delivery_report(&service, d)
    })
    .await;
    Ok(())
}

async fn handle_delivery_report(service: &ContextService, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!("context.delivery", subject = %delivery.message.subject, omni.message_id = tracing::field::Empty);
    omni_telemetry::continue_trace(&span, &trace);
    async {
        let report = match ev::DeliveryReport::decode(delivery.message.payload.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                error!(trace_id = %trace.trace_id_hex(), subject = %delivery.message.subject, error = %e, "undecodable delivery report dropped from the stream");
                delivery.settle(Ok::<(), ContextError>(())).await;
                return;
            }
        };
        tracing::Span::current().record("omni.message_id", report.message_id.as_str());
        let result = match service.record_delivery(&report).await {
            Ok(_) => Ok(()),
            // A report that can never apply (bad status, unknown message) is
            // logged and acked: redelivering it would not change that.
            Err(e @ (ContextError::InvalidArgument(_) | ContextError::NotFound(_))) => {
                error!(trace_id = %trace.trace_id_hex(), message_id = %report.message_id, error = %e, "delivery report dropped");
                Ok(())
            }
            Err(e) => {
                warn!(trace_id = %trace.trace_id_hex(), message_id = %report.message_id, error = %e, attempt = delivery.attempt, "delivery report not recorded; will retry");
                Err(e)
            }
        };
        delivery.settle(result).await;
    }
    .instrument(span)
    .await
}

async fn handle_inbound(service: &ContextService, delivery: Delivery, decoded: Decoded) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!(
        "context.ingest",
        subject = %delivery.message.subject,
        omni.conversation_id = tracing::field::Empty,
        omni.customer_id = tracing::field::Empty,
    );
    omni_telemetry::continue_trace(&span, &trace);
    handle_inbound_in(service, delivery, decoded, trace)
        .instrument(span)
        .await
}

async fn handle_inbound_in(
    service: &ContextService,
    delivery: Delivery,
    decoded: Decoded,
    trace: TraceContext,
) {
    let decoded = decoded
        .map_err(|e| e.to_string())
        .and_then(|m| InboundMessage::try_from(m).map_err(|e| e.to_string()));
    let message = match decoded {
        Ok(m) => m,
        Err(reason) => {
            error!(
                trace_id = %trace.trace_id_hex(),
                subject = %delivery.message.subject,
                %reason,
                "undecodable inbound message dropped from the stream"
            );
            delivery.settle(Ok::<(), ContextError>(())).await;
            return;
        }
    };
    let result = service.ingest(&message, trace).await.map(|_| ());
    if let Err(e) = &result {
        omni_telemetry::count!(
            "omni_inbound_messages_total",
            "customer messages handled by the context service, by result",
            &[("channel", message.channel.as_str()), ("result", "failed")],
        );
        warn!(trace_id = %trace.trace_id_hex(), key = %message.idempotency_key, error = %e, attempt = delivery.attempt, "inbound message not stored; will retry");
    }
    delivery.settle(result).await;
}

async fn handle_assignment(service: &ContextService, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!(
        "context.assignment",
        omni.conversation_id = tracing::field::Empty,
        omni.agent_id = tracing::field::Empty
    );
    omni_telemetry::continue_trace(&span, &trace);
    handle_assignment_in(service, delivery, trace)
        .instrument(span)
        .await
}

async fn handle_assignment_in(service: &ContextService, delivery: Delivery, trace: TraceContext) {
    let assignment = match ev::Assignment::decode(delivery.message.payload.as_ref()) {
        Ok(a) if !a.conversation_id.is_empty() && !a.agent_id.is_empty() => a,
        Ok(_) | Err(_) => {
            error!(trace_id = %trace.trace_id_hex(), "undecodable assignment dropped from the stream");
            delivery.settle(Ok::<(), ContextError>(())).await;
            return;
        }
    };
    let span = tracing::Span::current();
    span.record("omni.conversation_id", assignment.conversation_id.as_str());
    span.record("omni.agent_id", assignment.agent_id.as_str());
    let result = service
        .record_assignment(
            &ConversationId::from(assignment.conversation_id.as_str()),
            &AgentId::from(assignment.agent_id.as_str()),
            assignment.at_ms,
            trace,
        )
        .await;
    let result = match result {
        // An assignment for a conversation this store never saw cannot become valid later.
        Err(ContextError::NotFound(what)) => {
            error!(trace_id = %trace.trace_id_hex(), %what, "assignment for an unknown conversation dropped");
            Ok(())
        }
        other => other,
    };
    if let Err(e) = &result {
        warn!(trace_id = %trace.trace_id_hex(), error = %e, "assignment not recorded; will retry");
    }
    delivery.settle(result).await;
}

#[cfg(test)]
mod tests {
    use omni_core::{Channel, InboundMessage};

    use super::*;

    fn lane(from: Identity) -> u64 {
        let message = InboundMessage {
            idempotency_key: "k".into(),
            channel: Channel::EMAIL,
            from,
            text: "hi".into(),
            received_at_ms: 0,
            topic: None,
            display_name: None,
            email: None,
            sms: None,
        };
        let payload = ev::InboundMessage::from(&message).encode_to_vec();
        sender_key(&IdentityNormalizer::default(), &payload).0
    }

    #[test]
    fn lanes_follow_the_identity_normalizer() {
        let email = |v: &str| lane(Identity::Email(v.into()));
        // One identity, two spellings of its domain: one lane.
        assert_eq!(email("Ann@Example.COM"), email("Ann@example.com"));
        assert_eq!(
            email("Ann@BÜCHER.example"),
            email("Ann@xn--bcher-kva.example")
        );
        // The local part is kept as sent, so it is another identity, as in
        // the store (the lane key no longer lowercases it on its own).
        let n = IdentityNormalizer::default();
        assert_ne!(
            n.email("Ann@example.com").ok(),
            n.email("ann@example.com").ok()
        );
        assert_eq!(email("Ann@example.com"), key_hash(b"email:Ann@example.com"));
    }
}
