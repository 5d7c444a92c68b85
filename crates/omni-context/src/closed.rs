//! Closed queues: the durable consumer `context-closed` answers the
//! customer of every conversation the router reports waiting in a closed
//! queue (`omni.assignment.closed`, business hours) with the queue's
//! closed reply, then hands it to the queue's closed bot if it names one
//! ([`ContextService::record_closed`]). A delivery is acked
//! once the answer is queued for delivery; a store or bus failure naks it
//! for redelivery, and the answer's key keeps a redelivery from answering
//! twice.

use std::sync::Arc;

use omni_bus::topology::CONTEXT_CLOSED;
use omni_bus::{BusError, Delivery, drain_until};
use omni_proto::events as ev;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, warn};

use crate::{ContextError, ContextService};

/// Consumes closed-queue notices until `shutdown`.
pub async fn run(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = service.bus().consume(&CONTEXT_CLOSED).await?;
    drain_until(deliveries, shutdown.cancelled(), |d| handle(&service, d)).await;
    Ok(())
}

async fn handle(service: &ContextService, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!("context.closed");
    omni_telemetry::continue_trace(&span, &trace);
    async {
        let notice = match ev::QueueClosedNotice::decode(delivery.message.payload.as_ref()) {
            Ok(n) if !n.conversation_id.is_empty() => n,
            Ok(_) | Err(_) => {
                error!(trace_id = %trace.trace_id_hex(), "undecodable closed-queue notice dropped from the stream");
                delivery.settle(Ok::<(), ContextError>(())).await;
                return;
            }
        };
        let result = match service.record_closed(&notice, trace).await {
            Err(ContextError::NotFound(what)) => {
                error!(trace_id = %trace.trace_id_hex(), %what, "closed-queue notice of an unknown conversation dropped");
                Ok(())
            }
            other => other,
        };
        if let Err(e) = &result {
            warn!(trace_id = %trace.trace_id_hex(), error = %e, "closed-queue answer not sent; will retry");
        }
        delivery.settle(result).await;
    }
    .instrument(span)
    .await
}
