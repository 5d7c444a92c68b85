//! The durable consumer `context-bot-replies` on `omni.bot.reply`: each
//! reply is applied ([`ContextService::apply_bot_reply`]) or refused with a
//! log line and `omni_bot_turns_total{result="refused"}`. Refusing is the
//! authorization of this subject: anyone with the bus credentials of a
//! part can publish, but only the holding bot's answer to the open turn
//! changes anything. A store or bus failure naks for redelivery.

use std::sync::Arc;

use omni_bus::topology::CONTEXT_BOT_REPLIES;
use omni_bus::{BusError, Delivery, drain_until};
use omni_proto::bot as bp;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, warn};

use crate::{ContextError, ContextService};

/// Declares every configured bot's turn consumer, so turns wait for a bot
/// that starts later: call it before the service takes customer messages.
pub async fn declare_bot_consumers(service: &ContextService) -> Result<(), BusError> {
    for bot in service.settings().config().bots.keys() {
        drop(
            service
                .bus()
                .consume(&omni_bus::topology::bot_turns(bot))
                .await?,
        );
    }
    Ok(())
}

/// Consumes bots' replies until `shutdown`.
pub async fn run(
    service: Arc<ContextService>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let deliveries = service.bus().consume(&CONTEXT_BOT_REPLIES).await?;
    drain_until(deliveries, shutdown.cancelled(), |d| handle(&service, d)).await;
    Ok(())
}

async fn handle(service: &ContextService, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!("context.bot_reply");
    omni_telemetry::continue_trace(&span, &trace);
    async {
        let reply = match bp::BotReply::decode(delivery.message.payload.as_ref()) {
            Ok(r) if !r.conversation_id.is_empty() && !r.turn_id.is_empty() => r,
            Ok(_) | Err(_) => {
                error!(trace_id = %trace.trace_id_hex(), "undecodable bot reply dropped from the stream");
                super::count_turn("unknown", "refused");
                delivery.settle(Ok::<(), ContextError>(())).await;
                return;
            }
        };
        let result = match service.apply_bot_reply(&reply, trace).await {
            Ok(_) => Ok(()),
            Err(ContextError::NotFound(what)) => {
                error!(trace_id = %trace.trace_id_hex(), %what, "bot reply of an unknown record dropped");
                Ok(())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            warn!(trace_id = %trace.trace_id_hex(), error = %e, "bot reply not applied; will retry");
        }
        delivery.settle(result).await;
    }
    .instrument(span)
    .await
}
