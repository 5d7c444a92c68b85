//! The retention task: deletes conversations resolved longer ago than
//! `[retention] conversation_days`, with their messages and attachments,
//! in batches.
//!
//! Every `interval_secs` the task sweeps: it asks the store for up to
//! `batch_size` conversations resolved before the cutoff
//! ([`omni_store::CustomerRecords::resolved_before`], a scan), deletes each
//! whole ([`omni_store::CustomerRecords::delete_conversation`]) after its
//! dead letters ([`omni_store::DeadLetterStore::delete_dead_letters`]), logs the
//! batch and counts it in the metrics (`omni_retention_*`), and goes on
//! until a batch comes back short. Deleting is idempotent, so replicas of
//! the context service may sweep at the same time, and a crash mid-sweep
//! only leaves the rest for the next one. A customer whose conversations
//! are all gone keeps their profile (erasure removes that). The clock is
//! injected, so tests sweep at any time without sleeping.

use std::sync::Arc;
use std::time::Duration;

use omni_core::config::RetentionConfig;
use omni_core::time::{Millis, now_ms};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{ContextError, ContextService};

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Conversations deleted.
    pub conversations: u64,
    /// Their messages.
    pub messages: u64,
    /// Their stored attachment contents.
    pub attachments: u64,
    /// Their dead letters (replies never delivered).
    pub dead_letters: u64,
}

/// The retention task of one context service.
pub struct Retention {
    service: Arc<ContextService>,
    config: RetentionConfig,
    clock: Arc<dyn Fn() -> Millis + Send + Sync>,
}

impl Retention {
    /// The task for `service` under `config`, on the system clock.
    pub fn new(service: Arc<ContextService>, config: RetentionConfig) -> Self {
        Self {
            service,
            config,
            clock: Arc::new(now_ms),
        }
    }

    /// The same task reading the time from `clock`.
    pub fn with_clock(mut self, clock: impl Fn() -> Millis + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Deletes every conversation resolved before the cutoff, batch by
    /// batch; nothing when conversations are kept forever.
    pub async fn sweep(&self) -> Result<Swept, ContextError> {
        let Some(keep_ms) = self.config.conversation_ms() else {
            return Ok(Swept::default());
        };
        let cutoff = (self.clock)().saturating_sub(keep_ms);
        let batch = usize::try_from(self.config.batch_size)
            .unwrap_or(usize::MAX)
            .max(1);
        let store = self.service.store();
        let mut swept = Swept::default();
        loop {
            let due = store.resolved_before(cutoff, batch).await?;
            let mut deleted_now = Swept::default();
            // Their dead letters first: a crash then leaves a conversation
            // the next sweep finds, never a dead letter of one that is gone.
            let ids: Vec<String> = due.iter().map(ToString::to_string).collect();
            deleted_now.dead_letters = store.delete_dead_letters(&ids).await?;
            for id in &due {
                store.delete_scheduled(id).await?;
                if let Some(deleted) = store.delete_conversation(id).await? {
                    deleted_now.conversations += 1;
                    deleted_now.messages += deleted.messages;
                    deleted_now.attachments += deleted.attachments;
                }
            }
            swept.conversations += deleted_now.conversations;
            swept.messages += deleted_now.messages;
            swept.attachments += deleted_now.attachments;
            swept.dead_letters += deleted_now.dead_letters;
            omni_telemetry::count_by!(
                "omni_retention_conversations_deleted_total",
                "conversations deleted by retention",
                &[],
                deleted_now.conversations,
            );
            omni_telemetry::count_by!(
                "omni_retention_messages_deleted_total",
                "messages deleted by retention",
                &[],
                deleted_now.messages,
            );
            if !due.is_empty() {
                info!(
                    conversations = deleted_now.conversations,
                    messages = deleted_now.messages,
                    total = swept.conversations,
                    cutoff_ms = cutoff,
                    "retention batch deleted"
                );
            }
            if due.len() < batch {
                return Ok(swept);
            }
        }
    }

    /// Sweeps now and every `interval_secs` until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        if self.config.conversation_ms().is_none() {
            info!("conversations are kept forever; retention task idle");
            return;
        }
        let every = Duration::from_secs(self.config.interval_secs.max(1));
        loop {
            match self.sweep().await {
                Ok(swept) => {
                    omni_telemetry::count!(
                        "omni_retention_sweeps_total",
                        "retention sweeps, by result",
                        &[("result", "ok")]
                    );
                    if swept.conversations > 0 {
                        info!(
                            conversations = swept.conversations,
                            messages = swept.messages,
                            "retention sweep done"
                        );
                    }
                }
                Err(e) => {
                    omni_telemetry::count!(
                        "omni_retention_sweeps_total",
                        "retention sweeps, by result",
                        &[("result", "failed")]
                    );
                    warn!(error = %e, "retention sweep failed; retrying at the next interval");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
