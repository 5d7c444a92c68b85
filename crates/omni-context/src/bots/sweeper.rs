//! The sweeper of missed deadlines: on each tick (and at once at start) it
//! reads from the store every bot-held conversation whose open turn is
//! past its deadline and hands it off with the reason `timeout`. The
//! deadlines are in the store, so a restart misses none; two replicas
//! sweeping the same turn hand it off once (the second finds it queued).

use std::sync::Arc;
use std::time::Duration;

use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_store::bots::overdue_turns;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::{Handoff, count_turn};
use crate::ContextService;

/// How often the sweeper looks.
pub const TICK: Duration = Duration::from_secs(1);

/// Sweeps every `tick` until `shutdown`.
pub async fn run(service: Arc<ContextService>, tick: Duration, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = interval.tick() => {
                sweep(&service).await;
            }
        }
    }
}

/// Hands off every turn past its deadline now; returns how many.
pub async fn sweep(service: &ContextService) -> usize {
    let overdue = match overdue_turns(service.store().as_ref(), now_ms()).await {
        Ok(overdue) => overdue,
        Err(e) => {
            warn!(error = %e, "bot deadlines not checked; store unavailable");
            return 0;
        }
    };
    let mut handed = 0;
    for conversation in overdue {
        let bot = conversation
            .bot
            .as_ref()
            .map(|b| b.bot.clone())
            .unwrap_or_default();
        count_turn(&bot, "timeout");
        match service
            .bot_handoff(
                &conversation,
                Handoff::by_service(&bot, "timeout"),
                TraceContext::new_root(),
            )
            .await
        {
            Ok(()) => handed += 1,
            Err(e) => {
                warn!(conversation_id = %conversation.id, %bot, error = %e, "timed-out bot turn not handed off; will retry")
            }
        }
    }
    handed
}
