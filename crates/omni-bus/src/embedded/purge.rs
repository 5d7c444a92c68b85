//! Deleting stored messages by content ([`crate::Bus::purge`]) and by age
//! ([`super::EmbeddedBus::expire_before`]).
//!
//! The embedded bus keeps a message only until every consumer that wants it
//! has acked it (interest retention), so both scan the copies still pending
//! for the consumers: the backlog, not the history.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use redb::{Database, ReadableTable};

use super::codec::{decode, published_ms};
use super::log::{storage, unix_ms, with_db};
use super::{Command, ConsumerHandle, EmbeddedBus, PENDING, Shared, lock, read_lock};
use crate::{BusError, MessageFilter};

impl EmbeddedBus {
    /// Deletes every message not yet consumed that was published before
    /// `cutoff_ms` (Unix ms): the stream max age of the embedded bus, whose
    /// consumed messages are gone already. Returns how many went.
    pub async fn expire_before(&self, cutoff_ms: u64) -> Result<u64, BusError> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        let shared = Arc::clone(&self.shared);
        with_db(&self.db, move |db| expire(db, &shared, cutoff_ms)).await
    }

    /// Expires messages older than `max_age` now and every `every`, until
    /// the bus closes ([`EmbeddedBus::expire_before`]).
    pub fn expire_every(
        self: &Arc<Self>,
        max_age: Duration,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let bus = Arc::downgrade(self);
        let max_age_ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
        self.runtime.spawn(async move {
            loop {
                let Some(live) = bus.upgrade() else { return };
                match live
                    .expire_before(unix_ms().saturating_sub(max_age_ms))
                    .await
                {
                    Ok(0) => {}
                    Ok(expired) => tracing::info!(expired, "bus messages past the max age deleted"),
                    Err(BusError::Closed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "expiring bus messages failed; retrying later")
                    }
                }
                drop(live);
                tokio::time::sleep(every).await;
            }
        })
    }
}

/// Deletes every pending copy, for the consumers of `stream`, of a message
/// `matches` selects. Returns how many distinct messages went.
pub(super) fn purge(
    db: &Database,
    shared: &Shared,
    stream: &str,
    matches: &MessageFilter,
) -> Result<u64, BusError> {
    delete_pending(
        db,
        shared,
        |c| c.config.stream == stream,
        |name, seq, bytes| match decode(bytes) {
            Ok(message) => matches(&message),
            Err(e) => {
                tracing::warn!(consumer = name, seq, error = %e, "stored message is corrupt; purge skips it");
                false
            }
        },
    )
}

/// Deletes every pending copy of a message published before `cutoff_ms`
/// (Unix ms). Messages stored without their publish time (by a version
/// before it was recorded) are kept.
pub(super) fn expire(db: &Database, shared: &Shared, cutoff_ms: u64) -> Result<u64, BusError> {
    delete_pending(
        db,
        shared,
        |_| true,
        |_, _, bytes| published_ms(bytes).is_some_and(|at| at < cutoff_ms),
    )
}

/// Deletes the pending copies `select` picks among the consumers `which`
/// picks, in one transaction, then tells their dispatchers to forget them.
fn delete_pending(
    db: &Database,
    shared: &Shared,
    which: impl Fn(&ConsumerHandle) -> bool,
    select: impl Fn(&str, u64, &[u8]) -> bool,
) -> Result<u64, BusError> {
    // No publish assigns or stores a sequence while this runs.
    let _writer = lock(&shared.writer);
    let consumers: Vec<Arc<ConsumerHandle>> = read_lock(&shared.consumers)
        .values()
        .filter(|c| which(c))
        .cloned()
        .collect();
    let txn = db.begin_write().map_err(storage)?;
    let mut deleted: Vec<(Arc<ConsumerHandle>, Vec<u64>)> = Vec::new();
    let mut messages = BTreeSet::new();
    {
        let mut pending = txn.open_table(PENDING).map_err(storage)?;
        for consumer in consumers {
            let name = consumer.config.name.as_str();
            let mut seqs = Vec::new();
            for entry in pending
                .range((name, 0u64)..=(name, u64::MAX))
                .map_err(storage)?
            {
                let (key, value) = entry.map_err(storage)?;
                let seq = key.value().1;
                if select(name, seq, value.value()) {
                    seqs.push(seq);
                }
            }
            for &seq in &seqs {
                pending.remove((name, seq)).map_err(storage)?;
                messages.insert(seq);
            }
            deleted.push((consumer, seqs));
        }
    }
    txn.commit().map_err(storage)?;
    for (consumer, seqs) in deleted {
        // A copy loaded before may wait in the consumer's queue.
        lock(&consumer.purged).extend(seqs.iter().copied());
        for seq in seqs {
            let _ = consumer.commands.send(Command::Purged(seq));
        }
    }
    Ok(messages.len() as u64)
}
