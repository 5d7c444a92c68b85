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
//!
//! # Layout
//! - this module: [`EmbeddedBus`] and its [`Bus`] implementation.
//! - `log`: the tables, the layout version, publishing with deduplication.
//! - `dispatcher`: one consumer's delivery state, and its acker.
//! - `codec`: the binary framing of a stored message.
//! - `purge`: deleting pending messages by content ([`Bus::purge`]) and by
//!   age ([`EmbeddedBus::expire_before`], the stream max age).

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, DatabaseError, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

use crate::topology::{self, ConsumerSpec};
mod codec;
mod dispatcher;
mod log;
mod purge;
#[cfg(test)]
mod tests;

use crate::{Bus, BusError, BusStream, Delivery, Message, MessageFilter, PublishAck, subject};
use codec::encode_at;
use dispatcher::{closed, start_dispatcher};
use log::{Stored, init, pending_seqs, storage, store, unix_ms, with_db};

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
/// First byte of every stored message: the framing version (2: with the
/// publish time; 1, without it, is still read).
const FRAME_VERSION: u8 = 2;
const FRAME_V1: u8 = 1;

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
    /// Sequences purged ([`Bus::purge`]) that may already wait in `queue`:
    /// a receiver drops them instead of delivering them.
    purged: Purged,
}

/// See [`ConsumerHandle::purged`].
type Purged = Arc<Mutex<std::collections::BTreeSet<u64>>>;

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
    /// The message was purged: as `Acked`, and the consumer's purged set
    /// keeps it only while a copy waits in the queue.
    Purged(u64),
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
                        purged: Arc::clone(&old.purged),
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
        let stream = subject::publishable(&message.subject)
            .then(|| topology::stream_for(&message.subject))
            .flatten()
            .ok_or_else(|| BusError::NoStream(message.subject.clone()))?;
        let size = message.size();
        if size > MAX_MESSAGE_BYTES {
            return Err(BusError::TooLarge {
                size,
                limit: MAX_MESSAGE_BYTES,
            });
        }
        let encoded = encode_at(&message, unix_ms());
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
        let purged = Arc::clone(&handle.purged);
        let shutdown = self.shutdown.subscribe();
        Ok(Box::pin(futures_util::stream::unfold(
            (queue, commands, purged, shutdown),
            |(queue, commands, purged, mut shutdown)| async move {
                let prepared = loop {
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
                    if lock(&purged).remove(&prepared.seq) {
                        let _ = commands.send(Command::Acked(prepared.seq));
                        continue;
                    }
                    break prepared;
                };
                Some((prepared.delivery, (queue, commands, purged, shutdown)))
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

    async fn purge(&self, stream: &str, matches: MessageFilter) -> Result<u64, BusError> {
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        if !topology::STREAMS.iter().any(|s| s.name == stream) {
            return Err(BusError::NoStream(stream.to_owned()));
        }
        let shared = Arc::clone(&self.shared);
        let stream = stream.to_owned();
        with_db(&self.db, move |db| {
            purge::purge(db, &shared, &stream, &matches)
        })
        .await
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}
