//! Deleting stored messages by content ([`crate::Bus::purge`]).
//!
//! The embedded bus keeps a message only until every consumer that wants it
//! has acked it (interest retention), so a purge scans the copies still
//! pending for the consumers of the stream: the backlog, not the history.

use std::collections::BTreeSet;
use std::sync::Arc;

use redb::{Database, ReadableTable};

use super::codec::decode;
use super::log::storage;
use super::{Command, ConsumerHandle, PENDING, Shared, lock, read_lock};
use crate::{BusError, MessageFilter};

/// Deletes every pending copy, for the consumers of `stream`, of a message
/// `matches` selects, then tells their dispatchers to forget it. Returns how
/// many distinct messages went.
pub(super) fn purge(
    db: &Database,
    shared: &Shared,
    stream: &str,
    matches: &MessageFilter,
) -> Result<u64, BusError> {
    // No publish assigns or stores a sequence while the purge runs.
    let _writer = lock(&shared.writer);
    let consumers: Vec<Arc<ConsumerHandle>> = read_lock(&shared.consumers)
        .values()
        .filter(|c| c.config.stream == stream)
        .cloned()
        .collect();
    let txn = db.begin_write().map_err(storage)?;
    let mut purged: Vec<(Arc<ConsumerHandle>, Vec<u64>)> = Vec::new();
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
                match decode(value.value()) {
                    Ok(message) if matches(&message) => seqs.push(seq),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(consumer = name, seq, error = %e, "stored message is corrupt; purge skips it")
                    }
                }
            }
            for &seq in &seqs {
                pending.remove((name, seq)).map_err(storage)?;
                messages.insert(seq);
            }
            purged.push((consumer, seqs));
        }
    }
    txn.commit().map_err(storage)?;
    for (consumer, seqs) in purged {
        // A copy loaded before the purge may wait in the consumer's queue.
        lock(&consumer.purged).extend(seqs.iter().copied());
        for seq in seqs {
            let _ = consumer.commands.send(Command::Acked(seq));
        }
    }
    Ok(messages.len() as u64)
}
