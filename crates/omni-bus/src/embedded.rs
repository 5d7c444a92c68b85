//! The embedded bus: [`Bus`] in-process, durable in one redb file.
//!
//! A publish is one redb write transaction, committed with immediate
//! durability before the call returns: it records the message id for
//! deduplication, takes the next global sequence number and stores a copy of
//! the message for every registered durable consumer whose filter matches.
//! Messages no consumer wants are not kept (interest retention). An ack
//! deletes the consumer's copy, durably. Every redb call runs on tokio's
//! blocking pool.
//!
//! Each durable consumer has one dispatcher task that owns its delivery
//! state in memory: which sequence numbers are ready, which are waiting out a
//! nak delay, and which are in flight with their ack deadline. It loads
//! message bodies from redb just before handing them out, so a backlog costs
//! memory only for its sequence numbers. Its receivers share one queue a few
//! deliveries deep: whichever receiver asks first gets the next delivery, in
//! sequence order. A delivery's ack deadline starts when a receiver takes it
//! off the queue.
//!
//! # Restart
//! Delivery state is not stored: after a reopen every message not acked is
//! ready again, in sequence order, with its attempt count back at 1. Nak
//! delays and ack deadlines of the previous run are forgotten. Consumers
//! registered by [`Bus::consume`] with a spec that is not in
//! [`topology::CONSUMERS`] are stored, so they keep collecting messages
//! after a restart before anyone consumes them again.
//!
//! # Tables
//! - `meta`: `schema_version`, `next_seq`
//! - `consumers`: consumer name → its spec (JSON)
//! - `pending`: (consumer name, seq) → message (binary framing, see `encode`)
//! - `dedup`: message id → publish time (Unix ms)
//! - `dedup_by_time`: (publish time, message id) → `()`, to prune old ids

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::topology::{self, ConsumerSpec};
use crate::{Acker, Bus, BusError, BusStream, Delivery, Message, PublishAck, subject};

/// The largest message accepted: payload plus headers, as NATS counts it.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// How long a message id is remembered for deduplication.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(120);
/// Messages buffered per fan-out subscriber before it loses messages.
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// Deliveries prepared ahead of the receivers of one consumer.
const QUEUE_DEPTH: usize = 8;
/// Bodies loaded from disk in one read transaction.
const LOAD_BATCH: usize = 64;
/// How often old message ids are pruned (by the publish that notices).
const PRUNE_EVERY_MS: u64 = 30_000;
/// Message ids pruned per publish at most, to keep one publish short.
const PRUNE_LIMIT: usize = 10_000;
/// Wait before a dispatcher retries after a failed read.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Page cache ceiling; redb's default (1 GiB) is more than a bus needs.
const CACHE_BYTES: usize = 64 * 1024 * 1024;
/// The layout version written into a new file; a file with another version is refused.
const SCHEMA_VERSION: u64 = 1;
const SCHEMA_KEY: &str = "schema_version";
const NEXT_SEQ_KEY: &str = "next_seq";
/// First byte of every stored message: the framing version.
const FRAME_VERSION: u8 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CONSUMERS: TableDefinition<&str, &[u8]> = TableDefinition::new("consumers");
const PENDING: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("pending");
const DEDUP: TableDefinition<&str, u64> = TableDefinition::new("dedup");
const DEDUP_BY_TIME: TableDefinition<(u64, &str), ()> = TableDefinition::new("dedup_by_time");

/// The redb handle, taken out (and so closed) by [`Bus::close`]. Every redb
/// call holds a read guard for its whole duration, so `close` waits for
/// calls in progress and nothing touches the file afterwards.
type DbCell = Arc<tokio::sync::RwLock<Option<Database>>>;

/// The in-process bus, durable on local disk.
///
/// Open it with [`EmbeddedBus::open`]; call [`Bus::close`] before dropping
/// it so the file is released at a known point (dropping it without `close`
/// releases the file too, but possibly a little later).
pub struct EmbeddedBus {
    path: PathBuf,
    db: DbCell,
    runtime: Handle,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

impl fmt::Debug for EmbeddedBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedBus")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// State shared with the blocking publish and register calls.
struct Shared {
    consumers: RwLock<HashMap<String, Arc<ConsumerHandle>>>,
    subscribers: Mutex<Vec<Subscriber>>,
    /// Held around every transaction that assigns sequence numbers or
    /// registers a consumer, and until dispatchers are told, so dispatchers
    /// hear of new messages in sequence order and a consumer registered by
    /// one call sees every message published after it.
    writer: Mutex<WriterState>,
    next_subscriber: AtomicU64,
}

struct WriterState {
    last_prune_ms: u64,
}

/// One registered durable consumer.
struct ConsumerHandle {
    config: ConsumerConfig,
    commands: mpsc::UnboundedSender<Command>,
    /// Shared by all receivers: each delivery goes to the one that takes it.
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Prepared>>>,
}

/// A consumer's settings, owned (a [`ConsumerSpec`] borrows `'static` strings).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConsumerConfig {
    name: String,
    stream: String,
    filter: String,
    ack_wait: Duration,
    max_ack_pending: usize,
}

impl From<&ConsumerSpec> for ConsumerConfig {
    fn from(spec: &ConsumerSpec) -> Self {
        Self {
            name: spec.name.to_owned(),
            stream: spec.stream.to_owned(),
            filter: spec.filter.to_owned(),
            ack_wait: spec.ack_wait,
            max_ack_pending: spec.max_ack_pending.max(1),
        }
    }
}

/// A consumer as stored in the `consumers` table.
#[derive(Debug, Serialize, Deserialize)]
struct StoredConsumer {
    stream: String,
    filter: String,
    ack_wait_ms: u64,
    max_ack_pending: u64,
}

impl ConsumerConfig {
    fn to_stored(&self) -> StoredConsumer {
        StoredConsumer {
            stream: self.stream.clone(),
            filter: self.filter.clone(),
            ack_wait_ms: u64::try_from(self.ack_wait.as_millis()).unwrap_or(u64::MAX),
            max_ack_pending: u64::try_from(self.max_ack_pending).unwrap_or(u64::MAX),
        }
    }

    fn from_stored(name: &str, stored: StoredConsumer) -> Self {
        Self {
            name: name.to_owned(),
            stream: stored.stream,
            filter: stored.filter,
            ack_wait: Duration::from_millis(stored.ack_wait_ms),
            max_ack_pending: usize::try_from(stored.max_ack_pending)
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }

    fn captures(&self, stream: &str, subject: &str) -> bool {
        self.stream == stream && subject::matches(&self.filter, subject)
    }
}

struct Subscriber {
    id: u64,
    filter: String,
    tx: mpsc::Sender<Message>,
}

/// What a dispatcher is told.
#[derive(Debug)]
enum Command {
    /// A message was stored for this consumer.
    Published(u64),
    /// A receiver took a delivery off the queue: its ack deadline starts.
    Taken { seq: u64, token: u64 },
    /// The message was deleted: never deliver it again.
    Acked(u64),
    /// Deliver again after `delay`.
    Nak {
        seq: u64,
        token: u64,
        delay: Duration,
    },
    /// Restart the ack deadline.
    Progress { seq: u64, token: u64 },
    /// The consumer was registered again with other settings.
    Configure {
        ack_wait: Duration,
        max_ack_pending: usize,
    },
}

/// A delivery waiting in a consumer's queue.
struct Prepared {
    seq: u64,
    token: u64,
    delivery: Delivery,
}

impl EmbeddedBus {
    /// Opens the bus file at `path` (e.g. `<data_dir>/bus.redb`), creating it
    /// and its directory if missing, and starts a dispatcher for every
    /// consumer in [`topology::CONSUMERS`] and every consumer registered
    /// before. Must be called within a tokio runtime. Blocks while the file
    /// is opened (and checked, after a crash), so call it at startup.
    ///
    /// Fails with [`BusError::Unavailable`], naming the path, when there is
    /// no tokio runtime, or the file is open elsewhere (in another process or
    /// in this one), cannot be read or written, is not a bus file, or was
    /// written with another layout version.
    pub fn open(path: &Path) -> Result<Arc<EmbeddedBus>, BusError> {
        let unavailable = |what: String| {
            BusError::Unavailable(format!("cannot open bus {}: {what}", path.display()))
        };
        let runtime = Handle::try_current()
            .map_err(|_| unavailable("not called within a tokio runtime".into()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| unavailable(format!("cannot create directory: {e}")))?;
        }
        let mut builder = Database::builder();
        builder.set_cache_size(CACHE_BYTES);
        // redb trusts a cleanly closed file and may panic on one damaged behind its back.
        let db = match catch_unwind(AssertUnwindSafe(|| builder.create(path))) {
            Ok(Ok(db)) => db,
            Ok(Err(DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(unavailable(
                    "the file is already open, by another process or another bus in this one"
                        .into(),
                ));
            }
            Ok(Err(e)) => return Err(unavailable(e.to_string())),
            Err(_) => return Err(unavailable("the file is corrupt".into())),
        };
        let consumers = match catch_unwind(AssertUnwindSafe(|| init(&db))) {
            Ok(Ok(consumers)) => consumers,
            Ok(Err(e)) => return Err(unavailable(e.to_string())),
            Err(_) => return Err(unavailable("the file is corrupt".into())),
        };

        let (shutdown, _) = watch::channel(false);
        let db: DbCell = Arc::new(tokio::sync::RwLock::new(Some(db)));
        let shared = Arc::new(Shared {
            consumers: RwLock::new(HashMap::new()),
            subscribers: Mutex::new(Vec::new()),
            writer: Mutex::new(WriterState { last_prune_ms: 0 }),
            next_subscriber: AtomicU64::new(0),
        });
        let mut pending_total = 0usize;
        {
            let mut registry = write_lock(&shared.consumers);
            for (config, pending) in consumers {
                pending_total += pending.len();
                let handle = start_dispatcher(&runtime, &db, &shutdown, config, pending);
                registry.insert(handle.config.name.clone(), handle);
            }
        }
        tracing::info!(
            path = %path.display(),
            pending = pending_total,
            "embedded bus opened"
        );
        Ok(Arc::new(EmbeddedBus {
            path: path.to_owned(),
            db,
            runtime,
            shared,
            shutdown,
        }))
    }

    /// The file this bus lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn is_closed(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Hands `message` to every live subscriber whose filter matches,
    /// dropping it for subscribers that are full.
    fn fan_out(&self, message: &Message) {
        let mut subscribers = lock(&self.shared.subscribers);
        subscribers.retain(|s| !s.tx.is_closed());
        for s in subscribers.iter() {
            if !subject::matches(&s.filter, &message.subject) {
                continue;
            }
            if let Err(mpsc::error::TrySendError::Full(_)) = s.tx.try_send(message.clone()) {
                tracing::warn!(
                    subscriber = s.id,
                    filter = %s.filter,
                    subject = %message.subject,
                    "slow subscriber, message dropped"
                );
            }
        }
    }

    /// The registered consumer for `spec`, registering it (durably) first if
    /// it is new or its settings changed.
    async fn consumer(&self, spec: &ConsumerSpec) -> Result<Arc<ConsumerHandle>, BusError> {
        let config = ConsumerConfig::from(spec);
        if let Some(handle) = read_lock(&self.shared.consumers).get(&config.name)
            && handle.config == config
        {
            return Ok(Arc::clone(handle));
        }
        let shared = Arc::clone(&self.shared);
        let runtime = self.runtime.clone();
        let cell = Arc::clone(&self.db);
        let shutdown = self.shutdown.clone();
        with_db(&self.db, move |db| {
            let _writer = lock(&shared.writer);
            let existing = read_lock(&shared.consumers).get(&config.name).cloned();
            if let Some(handle) = &existing
                && handle.config == config
            {
                return Ok(Arc::clone(handle));
            }
            let txn = db.begin_write().map_err(storage)?;
            let pending = {
                let mut consumers = txn.open_table(CONSUMERS).map_err(storage)?;
                let stored = serde_json::to_vec(&config.to_stored()).map_err(storage)?;
                consumers
                    .insert(config.name.as_str(), stored.as_slice())
                    .map_err(storage)?;
                let pending = txn.open_table(PENDING).map_err(storage)?;
                pending_seqs(&pending, &config.name)?
            };
            txn.commit().map_err(storage)?;
            let handle = match existing {
                Some(old) => {
                    let _ = old.commands.send(Command::Configure {
                        ack_wait: config.ack_wait,
                        max_ack_pending: config.max_ack_pending,
                    });
                    tracing::info!(consumer = %config.name, filter = %config.filter, "consumer reconfigured");
                    Arc::new(ConsumerHandle {
                        config,
                        commands: old.commands.clone(),
                        queue: Arc::clone(&old.queue),
                    })
                }
                None => {
                    tracing::info!(consumer = %config.name, filter = %config.filter, "consumer registered");
                    start_dispatcher(&runtime, &cell, &shutdown, config, pending)
                }
            };
            write_lock(&shared.consumers).insert(handle.config.name.clone(), Arc::clone(&handle));
            Ok(handle)
        })
        .await
    }
}

impl Drop for EmbeddedBus {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        // Without a close, release the file now if no redb call is running;
        // otherwise it goes when the last call ends.
        if let Ok(mut db) = self.db.try_write() {
            db.take();
        }
    }
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn publish(
        &self,
        message: Message,
        msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        let stream = valid_subject(&message.subject)
            .then(|| topology::stream_for(&message.subject))
            .flatten()
            .ok_or_else(|| BusError::NoStream(message.subject.clone()))?;
        let size = message_size(&message);
        if size > MAX_MESSAGE_BYTES {
            return Err(BusError::TooLarge {
                size,
                limit: MAX_MESSAGE_BYTES,
            });
        }
        let encoded = encode(&message);
        let shared = Arc::clone(&self.shared);
        let subject = message.subject.clone();
        let msg_id = msg_id.map(str::to_owned);
        let stored = with_db(&self.db, move |db| {
            store(
                db,
                &shared,
                stream.name,
                &subject,
                &encoded,
                msg_id.as_deref(),
                unix_ms(),
            )
        })
        .await?;
        match stored {
            Stored::Duplicate => {
                tracing::debug!(subject = %message.subject, "duplicate publish ignored");
                Ok(PublishAck { duplicate: true })
            }
            Stored::New { seq, consumers } => {
                tracing::trace!(subject = %message.subject, seq, consumers, "message stored");
                self.fan_out(&message);
                Ok(PublishAck { duplicate: false })
            }
        }
    }

    async fn notify(&self, message: Message) -> Result<(), BusError> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        self.fan_out(&message);
        Ok(())
    }

    async fn consume(&self, spec: &ConsumerSpec) -> Result<BusStream<Delivery>, BusError> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        if spec.name.is_empty() || !topology::STREAMS.iter().any(|s| s.name == spec.stream) {
            return Err(BusError::UnknownConsumer(spec.name.to_owned()));
        }
        let handle = self.consumer(spec).await?;
        let queue = Arc::clone(&handle.queue);
        let commands = handle.commands.clone();
        let shutdown = self.shutdown.subscribe();
        Ok(Box::pin(futures_util::stream::unfold(
            (queue, commands, shutdown),
            |(queue, commands, mut shutdown)| async move {
                let next = tokio::select! {
                    biased;
                    _ = closed(&mut shutdown) => None,
                    prepared = async { queue.lock().await.recv().await } => prepared,
                };
                let prepared = next?;
                let _ = commands.send(Command::Taken {
                    seq: prepared.seq,
                    token: prepared.token,
                });
                Some((prepared.delivery, (queue, commands, shutdown)))
            },
        )))
    }

    async fn subscribe(&self, filter: &str) -> Result<BusStream<Message>, BusError> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        let id = self.shared.next_subscriber.fetch_add(1, Ordering::Relaxed);
        lock(&self.shared.subscribers).push(Subscriber {
            id,
            filter: filter.to_owned(),
            tx,
        });
        tracing::debug!(subscriber = id, filter, "subscribed");
        let shutdown = self.shutdown.subscribe();
        Ok(Box::pin(futures_util::stream::unfold(
            (rx, shutdown),
            |(mut rx, mut shutdown)| async move {
                let next = tokio::select! {
                    biased;
                    _ = closed(&mut shutdown) => None,
                    message = rx.recv() => message,
                };
                next.map(|message| (message, (rx, shutdown)))
            },
        )))
    }

    async fn close(&self) {
        if self.shutdown.send_replace(true) {
            // Closed before; wait for a concurrent close to release the file.
            let _ = self.db.write().await;
            return;
        }
        lock(&self.shared.subscribers).clear();
        write_lock(&self.shared.consumers).clear();
        let db = self.db.write().await.take();
        if let Some(db) = db {
            let closed = tokio::task::spawn_blocking(move || db.close()).await;
            match closed {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "closing the bus file failed")
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "closing the bus file failed")
                }
            }
        }
        tracing::info!(path = %self.path.display(), "embedded bus closed");
    }
}

/// Creates the tables, checks the layout version and registers the topology's
/// consumers. Returns every registered consumer with its pending sequence
/// numbers.
fn init(db: &Database) -> Result<Vec<(ConsumerConfig, Vec<u64>)>, BusError> {
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
fn pending_seqs(
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
enum Stored {
    /// The message id was seen within the window; nothing stored.
    Duplicate,
    /// Stored as `seq` for this many consumers.
    New { seq: u64, consumers: usize },
}

/// One publish: dedup, sequence, a copy per matching consumer, one commit;
/// then the matching dispatchers are told.
fn store(
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

fn window_ms() -> u64 {
    u64::try_from(DEDUP_WINDOW.as_millis()).unwrap_or(u64::MAX)
}

/// Whether `id` was published within the window before `now_ms`; if not,
/// records it as published at `now_ms`.
fn seen_recently(txn: &redb::WriteTransaction, id: &str, now_ms: u64) -> Result<bool, BusError> {
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
fn prune_dedup(
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

/// Starts the dispatcher of one consumer with `pending` ready.
fn start_dispatcher(
    runtime: &Handle,
    db: &DbCell,
    shutdown: &watch::Sender<bool>,
    config: ConsumerConfig,
    pending: Vec<u64>,
) -> Arc<ConsumerHandle> {
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let (queue_tx, queue) = mpsc::channel(QUEUE_DEPTH);
    let dispatcher = Dispatcher {
        consumer: Arc::from(config.name.as_str()),
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
        db: Arc::clone(db),
        commands,
        commands_tx: commands_tx.clone(),
        queue: queue_tx,
        shutdown: shutdown.subscribe(),
        ready: pending.into_iter().map(|seq| (seq, 1)).collect(),
        delayed: BTreeMap::new(),
        in_flight: HashMap::new(),
        deadlines: BTreeSet::new(),
        queued: 0,
        next_token: 0,
    };
    runtime.spawn(dispatcher.run());
    Arc::new(ConsumerHandle {
        config,
        commands: commands_tx,
        queue: Arc::new(tokio::sync::Mutex::new(queue)),
    })
}

/// A delivery handed out and not yet settled.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    attempt: u32,
    /// Tells this delivery from earlier ones of the same message.
    token: u64,
    /// `None` while it waits in the queue.
    deadline: Option<Instant>,
}

/// Owns one consumer's delivery state; see the module docs.
struct Dispatcher {
    consumer: Arc<str>,
    ack_wait: Duration,
    max_ack_pending: usize,
    db: DbCell,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_tx: mpsc::UnboundedSender<Command>,
    queue: mpsc::Sender<Prepared>,
    shutdown: watch::Receiver<bool>,
    /// seq → attempt of the next delivery.
    ready: BTreeMap<u64, u32>,
    /// (due, seq) → attempt, for nak delays.
    delayed: BTreeMap<(Instant, u64), u32>,
    in_flight: HashMap<u64, InFlight>,
    /// (deadline, seq) of every taken delivery.
    deadlines: BTreeSet<(Instant, u64)>,
    /// Deliveries in the queue, not taken yet (an upper bound).
    queued: usize,
    next_token: u64,
}

impl Dispatcher {
    async fn run(mut self) {
        tracing::debug!(consumer = %self.consumer, pending = self.ready.len(), "dispatcher started");
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            self.promote(Instant::now());
            if self.has_room() && !self.ready.is_empty() {
                match self.dispatch().await {
                    Ok(()) => continue,
                    Err(BusError::Closed) => break,
                    Err(e) => {
                        tracing::warn!(consumer = %self.consumer, error = %e, "cannot load messages, retrying");
                        tokio::select! {
                            _ = closed(&mut self.shutdown) => break,
                            () = tokio::time::sleep(RETRY_AFTER) => continue,
                        }
                    }
                }
            }
            let wake = self.next_wake();
            tokio::select! {
                biased;
                _ = closed(&mut self.shutdown) => break,
                command = self.commands.recv() => {
                    let Some(command) = command else { break };
                    self.handle(command);
                    while let Ok(command) = self.commands.try_recv() {
                        self.handle(command);
                    }
                }
                () = sleep_until(wake) => {}
            }
        }
        tracing::debug!(consumer = %self.consumer, "dispatcher stopped");
    }

    fn has_room(&self) -> bool {
        self.queued < QUEUE_DEPTH && self.in_flight.len() < self.max_ack_pending
    }

    /// Moves due nak'd messages and expired deliveries back to ready.
    fn promote(&mut self, now: Instant) {
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, seq), attempt) = entry.remove_entry();
            self.ready.insert(seq, attempt);
        }
        while let Some(&(deadline, seq)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(flight) = self.in_flight.remove(&seq) {
                tracing::debug!(consumer = %self.consumer, seq, attempt = flight.attempt, "ack wait passed, delivering again");
                self.ready.insert(seq, flight.attempt.saturating_add(1));
            }
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let delayed = self.delayed.keys().next().map(|(due, _)| *due);
        let deadline = self.deadlines.first().map(|(due, _)| *due);
        match (delayed, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Loads the next ready messages and puts them in the queue.
    async fn dispatch(&mut self) -> Result<(), BusError> {
        let room = QUEUE_DEPTH
            .saturating_sub(self.queued)
            .min(self.max_ack_pending.saturating_sub(self.in_flight.len()))
            .min(LOAD_BATCH);
        let mut batch = Vec::with_capacity(room);
        while batch.len() < room {
            let Some(next) = self.ready.pop_first() else {
                break;
            };
            batch.push(next);
        }
        let consumer = Arc::clone(&self.consumer);
        let seqs: Vec<u64> = batch.iter().map(|(seq, _)| *seq).collect();
        let loaded = with_db(&self.db, move |db| load(db, &consumer, &seqs)).await;
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                self.ready.extend(batch);
                return Err(e);
            }
        };
        for ((seq, attempt), body) in batch.into_iter().zip(loaded) {
            let message = match body {
                None => continue, // acked meanwhile
                Some(Ok(message)) => message,
                Some(Err(e)) => {
                    tracing::error!(consumer = %self.consumer, seq, error = %e, "stored message is corrupt, skipping it");
                    continue;
                }
            };
            self.next_token += 1;
            let token = self.next_token;
            let acker = EmbeddedAcker {
                db: Arc::clone(&self.db),
                consumer: Arc::clone(&self.consumer),
                seq,
                token,
                commands: self.commands_tx.clone(),
            };
            let prepared = Prepared {
                seq,
                token,
                delivery: Delivery::new(message, attempt, Box::new(acker)),
            };
            match self.queue.try_send(prepared) {
                Ok(()) => {
                    self.queued += 1;
                    self.in_flight.insert(
                        seq,
                        InFlight {
                            attempt,
                            token,
                            deadline: None,
                        },
                    );
                }
                Err(_) => {
                    // Only when the queue is gone (closing) or fuller than counted.
                    self.ready.insert(seq, attempt);
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Published(seq) => {
                self.ready.insert(seq, 1);
            }
            Command::Taken { seq, token } => {
                self.queued = self.queued.saturating_sub(1);
                if let Some(flight) = self.in_flight.get_mut(&seq)
                    && flight.token == token
                    && flight.deadline.is_none()
                {
                    let deadline = now + self.ack_wait;
                    flight.deadline = Some(deadline);
                    self.deadlines.insert((deadline, seq));
                }
            }
            Command::Acked(seq) => {
                if let Some(flight) = self.in_flight.remove(&seq)
                    && let Some(deadline) = flight.deadline
                {
                    self.deadlines.remove(&(deadline, seq));
                }
                self.ready.remove(&seq);
                self.delayed.retain(|(_, s), _| *s != seq);
            }
            Command::Nak { seq, token, delay } => {
                if let Some(flight) = self.take_current(seq, token) {
                    let attempt = flight.attempt.saturating_add(1);
                    if delay.is_zero() {
                        self.ready.insert(seq, attempt);
                    } else {
                        self.delayed.insert((now + delay, seq), attempt);
                    }
                }
            }
            Command::Progress { seq, token } => {
                if let Some(flight) = self.in_flight.get_mut(&seq)
                    && flight.token == token
                    && let Some(old) = flight.deadline
                {
                    let deadline = now + self.ack_wait;
                    flight.deadline = Some(deadline);
                    self.deadlines.remove(&(old, seq));
                    self.deadlines.insert((deadline, seq));
                }
            }
            Command::Configure {
                ack_wait,
                max_ack_pending,
            } => {
                self.ack_wait = ack_wait;
                self.max_ack_pending = max_ack_pending.max(1);
            }
        }
    }

    /// Removes the in-flight delivery `token` of `seq`, if it is the current one.
    fn take_current(&mut self, seq: u64, token: u64) -> Option<InFlight> {
        let flight = *self.in_flight.get(&seq)?;
        if flight.token != token {
            return None;
        }
        self.in_flight.remove(&seq);
        if let Some(deadline) = flight.deadline {
            self.deadlines.remove(&(deadline, seq));
        }
        Some(flight)
    }
}

/// The stored bodies of `seqs` for `consumer`: `None` when acked.
fn load(
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

/// Settles one delivery of the embedded bus.
struct EmbeddedAcker {
    db: DbCell,
    consumer: Arc<str>,
    seq: u64,
    token: u64,
    commands: mpsc::UnboundedSender<Command>,
}

#[async_trait]
impl Acker for EmbeddedAcker {
    async fn ack(&self) -> Result<(), BusError> {
        let consumer = Arc::clone(&self.consumer);
        let seq = self.seq;
        with_db(&self.db, move |db| {
            let txn = db.begin_write().map_err(storage)?;
            txn.open_table(PENDING)
                .map_err(storage)?
                .remove((&*consumer, seq))
                .map_err(storage)?;
            txn.commit().map_err(storage)
        })
        .await?;
        let _ = self.commands.send(Command::Acked(self.seq));
        Ok(())
    }

    async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        self.commands
            .send(Command::Nak {
                seq: self.seq,
                token: self.token,
                delay,
            })
            .map_err(|_| BusError::Closed)
    }

    async fn in_progress(&self) -> Result<(), BusError> {
        self.commands
            .send(Command::Progress {
                seq: self.seq,
                token: self.token,
            })
            .map_err(|_| BusError::Closed)
    }
}

/// Runs `f` with the database on the blocking pool; [`BusError::Closed`]
/// once the bus is closed.
async fn with_db<T, F>(cell: &DbCell, f: F) -> Result<T, BusError>
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

/// Resolves once the bus is closed (or gone).
async fn closed(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|closed| *closed).await;
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn storage(e: impl fmt::Display) -> BusError {
    BusError::Unavailable(format!("bus storage: {e}"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A subject one can publish to: non-empty tokens, no wildcards, no spaces.
fn valid_subject(subject: &str) -> bool {
    subject.split('.').all(|token| {
        !token.is_empty() && token != "*" && token != ">" && !token.contains(char::is_whitespace)
    })
}

/// Payload plus headers, as NATS counts a message against its limit.
fn message_size(message: &Message) -> usize {
    message.payload.len()
        + message
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum::<usize>()
}

/// Binary framing of a stored message: version byte, then length-prefixed
/// (u32 big-endian) subject, header count and header names and values, then
/// the payload to the end.
fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 + message.subject.len() + 4 + message_size(message));
    out.push(FRAME_VERSION);
    put_bytes(&mut out, message.subject.as_bytes());
    put_len(&mut out, message.headers.len());
    for (name, value) in &message.headers {
        put_bytes(&mut out, name.as_bytes());
        put_bytes(&mut out, value.as_bytes());
    }
    out.extend_from_slice(&message.payload);
    out
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Messages are limited to 1 MiB, so every length fits.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reverses [`encode`]; an error says what is wrong.
fn decode(bytes: &[u8]) -> Result<Message, String> {
    let mut reader = Reader(bytes);
    match reader.take(1)? {
        [FRAME_VERSION] => {}
        [other] => return Err(format!("unknown framing version {other}")),
        _ => return Err("empty record".into()),
    }
    let subject = reader.string("subject")?;
    let count = reader.len()?;
    let mut headers = BTreeMap::new();
    for _ in 0..count {
        let name = reader.string("header name")?;
        let value = reader.string("header value")?;
        headers.insert(name, value);
    }
    Ok(Message {
        subject,
        headers,
        payload: Bytes::copy_from_slice(reader.0),
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!(
                "record truncated: {n} bytes expected, {} left",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn len(&mut self) -> Result<usize, String> {
        let raw: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| "record truncated".to_owned())?;
        usize::try_from(u32::from_be_bytes(raw)).map_err(|e| e.to_string())
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not utf-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::ReadableTableMetadata;

    fn sample() -> Message {
        Message::new(
            "omni.inbound.chat",
            Bytes::from_static(b"\x00\x01payload\xff"),
        )
        .with_header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .with_header("x-empty", "")
    }

    #[test]
    fn framing_round_trips() {
        let message = sample();
        assert_eq!(decode(&encode(&message)), Ok(message));
        let bare = Message::new("a.b", Bytes::new());
        assert_eq!(decode(&encode(&bare)), Ok(bare));
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let encoded = encode(&sample());
        assert!(decode(&[]).is_err());
        assert!(decode(&[9]).is_err());
        // Every cut inside the subject or headers is caught.
        let payload_at = encoded.len() - sample().payload.len();
        for cut in 1..payload_at {
            assert!(decode(&encoded[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = encoded.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn publishable_subjects() {
        assert!(valid_subject("omni.inbound.chat"));
        assert!(!valid_subject("omni.inbound.*"));
        assert!(!valid_subject("omni.>"));
        assert!(!valid_subject("omni..chat"));
        assert!(!valid_subject(""));
        assert!(!valid_subject("omni.in bound"));
    }

    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = Database::create(dir.path().join("bus.redb")).expect("database");
        init(&db).expect("init");
        (dir, db)
    }

    fn seen(db: &Database, id: &str, now_ms: u64) -> bool {
        let txn = db.begin_write().expect("write");
        let seen = seen_recently(&txn, id, now_ms).expect("dedup");
        txn.commit().expect("commit");
        seen
    }

    fn dedup_len(db: &Database) -> (u64, u64) {
        let txn = db.begin_read().expect("read");
        let a = txn.open_table(DEDUP).expect("dedup").len().expect("len");
        let b = txn
            .open_table(DEDUP_BY_TIME)
            .expect("index")
            .len()
            .expect("len");
        (a, b)
    }

    #[test]
    fn message_ids_expire_after_the_window() {
        let (_dir, db) = database();
        let t0 = 1_700_000_000_000;
        let window = window_ms();
        assert!(!seen(&db, "m1", t0));
        assert!(seen(&db, "m1", t0 + window - 1));
        assert!(!seen(&db, "m1", t0 + window), "the window has passed");
        assert!(
            seen(&db, "m1", t0 + window + 1),
            "re-recorded at the later time"
        );
        assert_eq!(dedup_len(&db), (1, 1), "one id, one index entry");
    }

    #[test]
    fn pruning_forgets_only_old_ids() {
        let (_dir, db) = database();
        let t0 = 1_700_000_000_000;
        for i in 0..10 {
            assert!(!seen(&db, &format!("old-{i}"), t0 + i));
        }
        assert!(!seen(&db, "new", t0 + 1_000));
        let txn = db.begin_write().expect("write");
        assert_eq!(prune_dedup(&txn, t0 + 4, 100).expect("prune"), 4);
        assert_eq!(
            prune_dedup(&txn, t0 + 1_000, 3).expect("prune"),
            3,
            "limit holds"
        );
        assert_eq!(prune_dedup(&txn, t0 + 1_000, 100).expect("prune"), 3);
        txn.commit().expect("commit");
        assert_eq!(dedup_len(&db), (1, 1));
        assert!(seen(&db, "new", t0 + 1_001), "the recent id is kept");
    }
}
