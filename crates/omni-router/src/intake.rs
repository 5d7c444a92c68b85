//! The durable consumer of routing requests and releases.
//!
//! A request is acked once the contact is recorded in the store and held by
//! the engine; a release once the contact is gone from both. Redeliveries
//! are harmless: the shell treats a contact it already holds as done. A
//! request for a held contact on another channel (the context service
//! sends one when the customer changes channel) moves the contact there;
//! one with a higher priority (a later message matched a routing rule)
//! raises it.
//! Messages of different conversations are handled in parallel lanes;
//! those of one conversation in order.

use std::sync::Arc;

use omni_bus::topology::{ROUTER_REQUESTS, subjects};
use omni_bus::{BusError, Delivery, drain_keyed, key_hash};
use omni_core::trace::TraceContext;
use omni_core::{AgentId, ConversationId, CustomerId, QueueId};
use omni_proto::convert::channel_from_pb;
use omni_proto::events as ev;
use omni_store::ContactRecord;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, warn};

use crate::RouterShell;

/// Consumes routing requests and releases until `shutdown`.
pub async fn run(
    shell: Arc<RouterShell>,
    bus: Arc<dyn omni_bus::Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = bus.consume(&ROUTER_REQUESTS).await?;
    drain_keyed(
        deliveries,
        shutdown.cancelled(),
        LANES,
        conversation_key,
        move |d, ()| {
            let shell = shell.clone();
            async move { handle(&shell, d).await }
        },
    )
    .await;
    Ok(())
}

/// Routing messages handled at once; those of one conversation stay in order.
const LANES: usize = 8;

/// Both payloads carry the conversation id as field 1: decoding as a
/// release reads just that (the handler decodes the whole message).
fn conversation_key(delivery: &Delivery) -> (u64, ()) {
    let id = ev::RoutingRelease::decode(delivery.message.payload.as_ref())
        .map(|r| r.conversation_id)
        .unwrap_or_default();
    (key_hash(id.as_bytes()), ())
}

async fn handle(shell: &RouterShell, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!(
        "router.intake",
        subject = %delivery.message.subject,
        omni.conversation_id = tracing::field::Empty,
        omni.customer_id = tracing::field::Empty,
    );
    omni_telemetry::continue_trace(&span, &trace);
    handle_in(shell, delivery, trace).instrument(span).await
}

async fn handle_in(shell: &RouterShell, delivery: Delivery, trace: TraceContext) {
    let subject = delivery.message.subject.clone();
    let result = match subject.as_str() {
        subjects::ROUTING_REQUEST => match decode_request(&delivery) {
            Ok(record) => {
                let span = tracing::Span::current();
                span.record("omni.conversation_id", record.conversation_id.as_str());
                span.record("omni.customer_id", record.customer_id.as_str());
                shell.arrive(record).await
            }
            Err(reason) => {
                error!(trace_id = %trace.trace_id_hex(), %subject, %reason, "undecodable routing request dropped from the stream");
                Ok(())
            }
        },
        subjects::ROUTING_RELEASE => {
            match ev::RoutingRelease::decode(delivery.message.payload.as_ref()) {
                Ok(r) if !r.conversation_id.is_empty() => {
                    tracing::Span::current()
                        .record("omni.conversation_id", r.conversation_id.as_str());
                    let id = ConversationId::from(r.conversation_id.as_str());
                    if r.reason == subjects::RELEASE_TO_BOT {
                        shell.release_to_bot(&id).await
                    } else {
                        shell.release(&id).await
                    }
                }
                _ => {
                    error!(trace_id = %trace.trace_id_hex(), %subject, "undecodable routing release dropped from the stream");
                    Ok(())
                }
            }
        }
        other => {
            error!(trace_id = %trace.trace_id_hex(), subject = %other, "unexpected subject on the routing stream dropped");
            Ok(())
        }
    };
    if let Err(e) = &result {
        warn!(trace_id = %trace.trace_id_hex(), %subject, error = %e, "routing message not processed; will retry");
    }
    delivery.settle(result).await;
}

fn decode_request(delivery: &Delivery) -> Result<ContactRecord, String> {
    let r =
        ev::RoutingRequest::decode(delivery.message.payload.as_ref()).map_err(|e| e.to_string())?;
    if r.conversation_id.is_empty() || r.queue.is_empty() {
        return Err("conversation_id and queue are required".into());
    }
    let channel = channel_from_pb(r.channel, &r.channel_name)
        .ok_or_else(|| format!("unknown channel {} {:?}", r.channel, r.channel_name))?;
    Ok(ContactRecord {
        conversation_id: ConversationId::from(r.conversation_id.as_str()),
        customer_id: CustomerId::from(r.customer_id.as_str()),
        queue: QueueId::from(r.queue.as_str()),
        channel,
        queued_at_ms: r.queued_at_ms,
        preferred_agent: if r.preferred_agent.is_empty() {
            None
        } else {
            Some(AgentId::from(r.preferred_agent.as_str()))
        },
        assigned_agent: None,
        priority: u8::try_from(r.priority)
            .unwrap_or(u8::MAX)
            .min(omni_router_core::MAX_CONTACT_PRIORITY),
        reasons: r.reasons,
        language: Some(r.language).filter(|l| !l.is_empty()),
    })
}
