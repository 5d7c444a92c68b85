//! The durable log: the tables, the layout version and the registered
//! consumers at open; a publish with its deduplication; loading bodies.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable};

use super::codec::decode;
use super::{
    CONSUMERS, Command, ConsumerConfig, ConsumerHandle, DEDUP, DEDUP_BY_TIME, DEDUP_WINDOW, DbCell,
    META, NEXT_SEQ_KEY, PENDING, PRUNE_EVERY_MS, PRUNE_LIMIT, SCHEMA_KEY, SCHEMA_VERSION, Shared,
    StoredConsumer, lock, read_lock,
};
use crate::topology::{self};
use crate::{BusError, Message};

/// Creates the tables, checks the layout version and registers the topology's
/// consumers. Returns every registered consumer with its pending sequence
/// numbers.
pub(super) fn init(db: &Database) -> Result<Vec<(ConsumerConfig, Vec<u64>)>, BusError> {
    let txn = db.begin_write().map_err(storage)?;
    let consumers = {
        let mut meta = txn.open_table(META).map_err(storage)?;
        let version = meta.get(SCHEMA_KEY).map_err(storage)?.map(|v| v.value());
        match version {
            None => {
                meta.insert(SCHEMA_KEY, SCHEMA_VERSION).map_err(storage)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(BusError::Unavailable(format!(
                    "bus layout version {other} is not supported (expected {SCHEMA_VERSION})"
                )));
            }
        }
        let mut table = txn.open_table(CONSUMERS).map_err(storage)?;
        for spec in topology::CONSUMERS {
            let stored =
                serde_json::to_vec(&ConsumerConfig::from(spec).to_stored()).map_err(storage)?;
            table
                .insert(spec.name, stored.as_slice())
                .map_err(storage)?;
        }
        let mut consumers = Vec::new();
        for entry in table.iter().map_err(storage)? {
            let (name, stored) = entry.map_err(storage)?;
            let stored: StoredConsumer = serde_json::from_slice(stored.value()).map_err(|e| {
                BusError::Unavailable(format!(
                    "consumer record {:?} is corrupt: {e}",
                    name.value()
                ))
            })?;
            consumers.push(ConsumerConfig::from_stored(name.value(), stored));
        }
        let pending = txn.open_table(PENDING).map_err(storage)?;
        let mut with_pending = Vec::with_capacity(consumers.len());
        for config in consumers {
            let seqs = pending_seqs(&pending, &config.name)?;
            with_pending.push((config, seqs));
        }
        txn.open_table(DEDUP).map_err(storage)?;
        txn.open_table(DEDUP_BY_TIME).map_err(storage)?;
        with_pending
    };
    txn.commit().map_err(storage)?;
    Ok(consumers)
}

/// The sequence numbers stored for `consumer`, in order.
pub(super) fn pending_seqs(
    table: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    consumer: &str,
) -> Result<Vec<u64>, BusError> {
    let mut seqs = Vec::new();
    for entry in table
        .range((consumer, 0u64)..=(consumer, u64::MAX))
        .map_err(storage)?
    {
        let (key, _) = entry.map_err(storage)?;
        seqs.push(key.value().1);
    }
    Ok(seqs)
}

/// What a publish did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stored {
    /// The message id was seen within the window; nothing stored.
    Duplicate,
    /// Stored as `seq` for this many consumers.
    New { seq: u64, consumers: usize },
}

/// One publish: dedup, sequence, a copy per matching consumer, one commit;
/// then the matching dispatchers are told.
pub(super) fn store(
    db: &Database,
    shared: &Shared,
    stream: &str,
    subject: &str,
    encoded: &[u8],
    msg_id: Option<&str>,
    now_ms: u64,
) -> Result<Stored, BusError> {
    let mut writer = lock(&shared.writer);
    let targets: Vec<Arc<ConsumerHandle>> = read_lock(&shared.consumers)
        .values()
        .filter(|c| c.config.captures(stream, subject))
        .cloned()
        .collect();
    let txn = db.begin_write().map_err(storage)?;
    let seq = {
        if let Some(id) = msg_id
            && seen_recently(&txn, id, now_ms)?
        {
            txn.abort().map_err(storage)?;
            return Ok(Stored::Duplicate);
        }
        if now_ms.saturating_sub(writer.last_prune_ms) >= PRUNE_EVERY_MS {
            let cutoff = now_ms.saturating_sub(window_ms());
            let pruned = prune_dedup(&txn, cutoff, PRUNE_LIMIT)?;
            if pruned > 0 {
                tracing::debug!(pruned, "old message ids pruned");
            }
            writer.last_prune_ms = now_ms;
        }
        let mut meta = txn.open_table(META).map_err(storage)?;
        let seq = meta
            .get(NEXT_SEQ_KEY)
            .map_err(storage)?
            .map_or(1, |v| v.value());
        meta.insert(NEXT_SEQ_KEY, seq.saturating_add(1))
            .map_err(storage)?;
        let mut pending = txn.open_table(PENDING).map_err(storage)?;
        for target in &targets {
            pending
                .insert((target.config.name.as_str(), seq), encoded)
                .map_err(storage)?;
        }
        seq
    };
    txn.commit().map_err(storage)?;
    for target in &targets {
        let _ = target.commands.send(Command::Published(seq));
    }
    Ok(Stored::New {
        seq,
        consumers: targets.len(),
    })
}

pub(super) fn window_ms() -> u64 {
    u64::try_from(DEDUP_WINDOW.as_millis()).unwrap_or(u64::MAX)
}

/// Whether `id` was published within the window before `now_ms`; if not,
/// records it as published at `now_ms`.
pub(super) fn seen_recently(
    txn: &redb::WriteTransaction,
    id: &str,
    now_ms: u64,
) -> Result<bool, BusError> {
    let mut dedup = txn.open_table(DEDUP).map_err(storage)?;
    let mut by_time = txn.open_table(DEDUP_BY_TIME).map_err(storage)?;
    let previous = dedup.get(id).map_err(storage)?.map(|v| v.value());
    if let Some(at) = previous {
        if now_ms.saturating_sub(at) < window_ms() {
            return Ok(true);
        }
        by_time.remove((at, id)).map_err(storage)?;
    }
    dedup.insert(id, now_ms).map_err(storage)?;
    by_time.insert((now_ms, id), ()).map_err(storage)?;
    Ok(false)
}

/// Forgets up to `limit` message ids published before `cutoff_ms`; returns how many.
pub(super) fn prune_dedup(
    txn: &redb::WriteTransaction,
    cutoff_ms: u64,
    limit: usize,
) -> Result<usize, BusError> {
    let mut dedup = txn.open_table(DEDUP).map_err(storage)?;
    let mut by_time = txn.open_table(DEDUP_BY_TIME).map_err(storage)?;
    let mut old = Vec::new();
    for entry in by_time
        .range(..(cutoff_ms, ""))
        .map_err(storage)?
        .take(limit)
    {
        let (key, _) = entry.map_err(storage)?;
        let (at, id) = key.value();
        old.push((at, id.to_owned()));
    }
    for (at, id) in &old {
        by_time.remove((*at, id.as_str())).map_err(storage)?;
        dedup.remove(id.as_str()).map_err(storage)?;
    }
    Ok(old.len())
}

/// The stored bodies of `seqs` for `consumer`: `None` when acked.
pub(super) fn load(
    db: &Database,
    consumer: &str,
    seqs: &[u64],
) -> Result<Vec<Option<Result<Message, String>>>, BusError> {
    let txn = db.begin_read().map_err(storage)?;
    let table = txn.open_table(PENDING).map_err(storage)?;
    let mut out = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let body = table.get((consumer, seq)).map_err(storage)?;
        out.push(body.map(|b| decode(b.value())));
    }
    Ok(out)
}

/// Runs `f` with the database on the blocking pool; [`BusError::Closed`]
/// once the bus is closed.
pub(super) async fn with_db<T, F>(cell: &DbCell, f: F) -> Result<T, BusError>
where
    T: Send + 'static,
    F: FnOnce(&Database) -> Result<T, BusError> + Send + 'static,
{
    let guard = Arc::clone(cell).read_owned().await;
    if guard.is_none() {
        return Err(BusError::Closed);
    }
    tokio::task::spawn_blocking(move || match guard.as_ref() {
        Some(db) => f(db),
        None => Err(BusError::Closed),
    })
    .await
    .map_err(|e| BusError::Unavailable(format!("embedded bus task failed: {e}")))?
}

pub(super) fn storage(e: impl fmt::Display) -> BusError {
    BusError::Unavailable(format!("bus storage: {e}"))
}

pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
