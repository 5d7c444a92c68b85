//! The durable scheduler's clock: every [`SCHEDULE_EVERY`] the router asks
//! the store for the scheduled items (surveys, follow-ups) due by its clock,
//! claims each for [`CLAIM_LEASE_MS`] and publishes a `ScheduleDue` on
//! `omni.schedule.due` (durable; the context service sends the item and
//! marks it done, docs/surveys.md).
//!
//! Nothing here lives only in memory: the items are in the store, a claim
//! is the store's (two router replicas never both win one), and an item
//! whose claim ran out without being done (a router that crashed between
//! claiming and publishing, a context service that never finished it) is
//! claimed and published again. The sender makes sending idempotent by the
//! item's id.

use std::sync::Arc;
use std::time::Duration;

use omni_bus::Message;
use omni_bus::topology::subjects;
use omni_core::time::Millis;
use omni_proto::events as ev;
use prost::Message as _;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::RouterShell;

/// How often due items are looked for.
pub const SCHEDULE_EVERY: Duration = Duration::from_secs(1);
/// How long a claim holds before an unfinished item is handed out again.
pub const CLAIM_LEASE_MS: Millis = 60_000;
/// Items taken per round.
const BATCH: usize = 100;

impl RouterShell {
    /// Publishes due scheduled items every [`SCHEDULE_EVERY`] until `shutdown`.
    pub(super) async fn run_schedule(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(SCHEDULE_EVERY);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(e) = self.publish_due().await {
                warn!(error = %e, "scheduled items not published; trying again");
            }
        }
    }

    /// One round: claims and publishes what is due by the router's clock.
    pub async fn publish_due(&self) -> Result<usize, crate::RouterError> {
        let now = self.now();
        let due = self.store.due_scheduled(now, BATCH).await?;
        let mut published = 0;
        for item in due {
            let Some(item) = self
                .store
                .claim_scheduled(&item.id, now, CLAIM_LEASE_MS)
                .await?
            else {
                continue;
            };
            let payload = ev::ScheduleDue {
                id: item.id.clone(),
                kind: item.kind.as_str().to_owned(),
                conversation_id: item.conversation_id.to_string(),
                at_ms: now,
            };
            let message = Message::new(subjects::SCHEDULE_DUE, payload.encode_to_vec());
            // One publish per claim: a claim taken again after its lease
            // publishes again.
            let msg_id = format!("{}@{}", item.id, item.claimed_until_ms);
            self.bus.publish(message, Some(&msg_id)).await?;
            debug!(item = %item.id, kind = item.kind.as_str(), "scheduled item due");
            published += 1;
        }
        Ok(published)
    }
}
