//! Due scheduled items: the durable consumer `context-schedule` takes what
//! the router found due and claimed (`omni.schedule.due`) and sends it
//! ([`ContextService::send_scheduled`]: a survey or a follow-up), then the
//! item is marked done in the store. A delivery is acked once the item is
//! settled; a store or bus outage naks it for redelivery, and sending again
//! stores and publishes the message once (keys derived from the item).

use std::sync::Arc;

use omni_bus::topology::CONTEXT_SCHEDULE;
use omni_bus::{BusError, Delivery, drain_until};
use omni_core::ConversationId;
use omni_proto::events as ev;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error};

use crate::{ContextError, ContextService};

/// Consumes due scheduled items until `shutdown`.
pub async fn run(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    service.log_survey_links();
    let deliveries = service.bus().consume(&CONTEXT_SCHEDULE).await?;
    drain_until(deliveries, shutdown.cancelled(), |d| handle(&service, d)).await;
    Ok(())
}

async fn handle(service: &ContextService, delivery: Delivery) {
    let trace = delivery.trace_context();
    let due = match ev::ScheduleDue::decode(delivery.message.payload.as_ref()) {
        Ok(due) if !due.id.is_empty() => due,
        other => {
            error!(subject = %delivery.message.subject, decoded = other.is_ok(), "undecodable scheduled item dropped from the stream");
            delivery.settle(Ok::<(), ContextError>(())).await;
            return;
        }
    };
    let span = tracing::info_span!("context.schedule", omni.conversation_id = %due.conversation_id, item = %due.id);
    let conversation = ConversationId::from(due.conversation_id.as_str());
    let result = service
        .send_scheduled(&due.id, &conversation, due.at_ms, trace)
        .instrument(span)
        .await;
    if let Err(e) = &result {
        error!(item = %due.id, error = %e, attempt = delivery.attempt, "scheduled item not sent; will retry");
    }
    delivery.settle(result).await;
}
