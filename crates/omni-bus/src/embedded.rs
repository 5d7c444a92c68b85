//! The embedded bus: in-process, durable on local disk (redb).
//!
//! A durable publish writes the message once per matching durable consumer
//! into a pending table in one fsynced transaction, then returns; an ack
//! deletes that consumer's copy. On open, every pending copy is delivered
//! again (attempt counts restart at 1). Each consumer has a dispatcher task
//! that hands ready messages to its receivers round robin, keeps at most
//! `max_ack_pending` in flight, and redelivers a delivery whose `ack_wait`
//! passes. Fan-out subscribers get every matching message through a bounded
//! channel; a full one loses the message (logged), as a slow NATS core
//! subscriber would.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use omni_core::time::{Millis, now_ms};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, warn};

use crate::subject::matches;
use crate::topology::{self, ConsumerSpec};
use crate::{Acker, Bus, BusError, BusStream, Delivery, Message, PublishAck};

/// Largest payload accepted, in bytes.
pub const MAX_PAYLOAD: usize = 1024 * 1024;
/// How long a message id is remembered for deduplication.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(120);
/// Buffer of each fan-out subscriber.
const SUBSCRIBER_BUFFER: usize = 1024;
/// Buffer of each durable receiver.
const RECEIVER_BUFFER: usize = 64;

const PENDING: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("pending");
const DEDUP: TableDefinition<&str, i64> = TableDefinition::new("dedup");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_SEQ: &str = "next_seq";

/// The in-process bus.
pub struct EmbeddedBus {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: Mutex<Option<Arc<Database>>>,
    state: Mutex<State>,
    closed: AtomicBool,
    next_id: AtomicU64,
}

#[derive(Default)]
struct State {
    next_seq: u64,
    dedup: HashMap<String, Millis>,
    consumers: HashMap<String, ConsumerState>,
    subscribers: Vec<Subscriber>,
}

struct Subscriber {
    filter: String,
    tx: mpsc::Sender<Message>,
}

struct Entry {
    message: Arc<Message>,
    attempt: u32,
}

struct ConsumerState {
    spec: Option<ConsumerSpec>,
    filter: String,
    /// Waiting to be delivered, by sequence; with the earliest time they may go.
    ready: BTreeMap<u64, (Entry, Instant)>,
    /// Delivered and not yet settled, with their ack deadline.
    in_flight: HashMap<u64, (Entry, Instant)>,
    receivers: Vec<(u64, mpsc::Sender<Delivery>)>,
    next_receiver: usize,
    wake: Arc<Notify>,
    dispatching: bool,
}

impl ConsumerState {
    fn new(filter: &str, spec: Option<ConsumerSpec>) -> Self {
        Self {
            spec,
            filter: filter.to_owned(),
            ready: BTreeMap::new(),
            in_flight: HashMap::new(),
            receivers: Vec::new(),
            next_receiver: 0,
            wake: Arc::new(Notify::new()),
            dispatching: false,
        }
    }
}

fn unavailable(path: &Path, e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(format!("embedded bus {}: {e}", path.display()))
}

impl EmbeddedBus {
    /// Opens (or creates) the bus file at `path` and loads every unacked
    /// message for redelivery.
    pub fn open(path: &Path) -> Result<Arc<EmbeddedBus>, BusError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| unavailable(path, e))?;
        }
        let db = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Database::create(path)
        })) {
            Ok(Ok(db)) => db,
            Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(unavailable(
                    path,
                    "the file is already open, by another process or another handle in this one",
                ));
            }
            Ok(Err(e)) => return Err(unavailable(path, e)),
            Err(_) => return Err(unavailable(path, "the file is corrupt")),
        };
        let mut state = State::default();
        for spec in topology::CONSUMERS {
            state.consumers.insert(
                spec.name.to_owned(),
                ConsumerState::new(spec.filter, Some(*spec)),
            );
        }
        load(&db, &mut state).map_err(|e| unavailable(path, e))?;
        let pending: usize = state.consumers.values().map(|c| c.ready.len()).sum();
        debug!(path = %path.display(), pending, "embedded bus opened");
        Ok(Arc::new(EmbeddedBus {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                db: Mutex::new(Some(Arc::new(db))),
                state: Mutex::new(state),
                closed: AtomicBool::new(false),
                next_id: AtomicU64::new(1),
            }),
        }))
    }
}

/// Creates the tables and loads the sequence, the dedup window and every pending copy.
fn load(db: &Database, state: &mut State) -> Result<(), String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    {
        txn.open_table(PENDING).map_err(|e| e.to_string())?;
        txn.open_table(DEDUP).map_err(|e| e.to_string())?;
        txn.open_table(META).map_err(|e| e.to_string())?;
    }
    txn.commit().map_err(|e| e.to_string())?;
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let meta = txn.open_table(META).map_err(|e| e.to_string())?;
    state.next_seq = meta
        .get(NEXT_SEQ)
        .map_err(|e| e.to_string())?
        .map(|v| v.value())
        .unwrap_or(1);
    let horizon = now_ms() - DEDUP_WINDOW.as_millis() as Millis;
    let dedup = txn.open_table(DEDUP).map_err(|e| e.to_string())?;
    for row in dedup.iter().map_err(|e| e.to_string())? {
        let (k, v) = row.map_err(|e| e.to_string())?;
        if v.value() >= horizon {
            state.dedup.insert(k.value().to_owned(), v.value());
        }
    }
    let pending = txn.open_table(PENDING).map_err(|e| e.to_string())?;
    let now = Instant::now();
    for row in pending.iter().map_err(|e| e.to_string())? {
        let (k, v) = row.map_err(|e| e.to_string())?;
        let (consumer, seq) = k.value();
        let message = match decode(v.value()) {
            Some(m) => m,
            None => {
                warn!(consumer, seq, "corrupt pending bus message skipped");
                continue;
            }
        };
        let entry = state
            .consumers
            .entry(consumer.to_owned())
            .or_insert_with(|| ConsumerState::new(">", None));
        entry.ready.insert(
            seq,
            (
                Entry {
                    message: Arc::new(message),
                    attempt: 1,
                },
                now,
            ),
        );
    }
    Ok(())
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn db(&self) -> Result<Arc<Database>, BusError> {
        self.db
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(BusError::Closed)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, String> + Send + 'static,
    ) -> Result<T, BusError> {
        let db = self.db()?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| unavailable(&path, e))?
            .map_err(|e| unavailable(&path, e))
    }

    fn fan_out(&self, state: &mut State, message: &Message) {
        state.subscribers.retain(|s| !s.tx.is_closed());
        for s in &state.subscribers {
            if matches(&s.filter, &message.subject)
                && let Err(mpsc::error::TrySendError::Full(_)) = s.tx.try_send(message.clone())
            {
                warn!(subject = %message.subject, filter = %s.filter, "slow bus subscriber lost a message");
            }
        }
    }

    /// Removes a settled copy from disk. Best effort on failure: the copy is
    /// delivered again after a restart, which consumers tolerate.
    async fn forget(&self, consumer: &str, seq: u64) -> Result<(), BusError> {
        let consumer = consumer.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            {
                let mut pending = txn.open_table(PENDING).map_err(|e| e.to_string())?;
                pending
                    .remove((consumer.as_str(), seq))
                    .map_err(|e| e.to_string())?;
            }
            txn.commit().map_err(|e| e.to_string())
        })
        .await
    }
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn publish(
        &self,
        message: Message,
        msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        if message.payload.len() > MAX_PAYLOAD {
            return Err(BusError::TooLarge {
                size: message.payload.len(),
                limit: MAX_PAYLOAD,
            });
        }
        if topology::stream_for(&message.subject).is_none() {
            return Err(BusError::NoStream(message.subject.clone()));
        }
        let now = now_ms();
        // Reserve a sequence and the message id under the lock; write outside it.
        let (seq, targets) = {
            let mut state = inner.lock();
            if let Some(id) = msg_id {
                let horizon = now - DEDUP_WINDOW.as_millis() as Millis;
                if state.dedup.get(id).is_some_and(|at| *at >= horizon) {
                    return Ok(PublishAck { duplicate: true });
                }
                state.dedup.insert(id.to_owned(), now);
                if state.dedup.len() > 100_000 {
                    state.dedup.retain(|_, at| *at >= horizon);
                }
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            let targets: Vec<String> = state
                .consumers
                .iter()
                .filter(|(_, c)| c.spec.is_some() && matches(&c.filter, &message.subject))
                .map(|(name, _)| name.clone())
                .collect();
            (seq, targets)
        };
        let encoded = encode(&message);
        let id = msg_id.map(str::to_owned);
        let names = targets.clone();
        let written = inner
            .blocking(move |db| {
                let txn = db.begin_write().map_err(|e| e.to_string())?;
                {
                    let mut pending = txn.open_table(PENDING).map_err(|e| e.to_string())?;
                    for name in &names {
                        pending
                            .insert((name.as_str(), seq), encoded.as_slice())
                            .map_err(|e| e.to_string())?;
                    }
                    let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
                    let next = meta
                        .get(NEXT_SEQ)
                        .map_err(|e| e.to_string())?
                        .map(|v| v.value())
                        .unwrap_or(1);
                    meta.insert(NEXT_SEQ, next.max(seq + 1))
                        .map_err(|e| e.to_string())?;
                    if let Some(id) = &id {
                        let mut dedup = txn.open_table(DEDUP).map_err(|e| e.to_string())?;
                        dedup.insert(id.as_str(), now).map_err(|e| e.to_string())?;
                        if seq % 1024 == 0 {
                            let horizon = now - DEDUP_WINDOW.as_millis() as Millis;
                            dedup
                                .retain(|_, at| at >= horizon)
                                .map_err(|e| e.to_string())?;
                        }
                    }
                }
                txn.commit().map_err(|e| e.to_string())
            })
            .await;
        if let Err(e) = written {
            if let Some(id) = msg_id {
                inner.lock().dedup.remove(id);
            }
            return Err(e);
        }
        let message = Arc::new(message);
        let mut state = inner.lock();
        let now = Instant::now();
        for name in &targets {
            if let Some(c) = state.consumers.get_mut(name) {
                c.ready.insert(
                    seq,
                    (
                        Entry {
                            message: message.clone(),
                            attempt: 1,
                        },
                        now,
                    ),
                );
                c.wake.notify_one();
            }
        }
        inner.fan_out(&mut state, &message);
        Ok(PublishAck { duplicate: false })
    }

    async fn notify(&self, message: Message) -> Result<(), BusError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        let mut state = self.inner.lock();
        self.inner.fan_out(&mut state, &message);
        Ok(())
    }

    async fn consume(&self, spec: &ConsumerSpec) -> Result<BusStream<Delivery>, BusError> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        if !topology::STREAMS.iter().any(|s| s.name == spec.stream) {
            return Err(BusError::UnknownConsumer(format!(
                "{} (stream {} is not declared)",
                spec.name, spec.stream
            )));
        }
        let (tx, rx) = mpsc::channel(RECEIVER_BUFFER);
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let start = {
            let mut state = inner.lock();
            let c = state
                .consumers
                .entry(spec.name.to_owned())
                .or_insert_with(|| ConsumerState::new(spec.filter, Some(*spec)));
            c.spec = Some(*spec);
            c.filter = spec.filter.to_owned();
            c.receivers.push((id, tx));
            c.wake.notify_one();
            let start = !c.dispatching;
            c.dispatching = true;
            start
        };
        if start {
            tokio::spawn(dispatch(Arc::downgrade(inner), spec.name.to_owned()));
        }
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn subscribe(&self, filter: &str) -> Result<BusStream<Message>, BusError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(BusError::Closed);
        }
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        self.inner.lock().subscribers.push(Subscriber {
            filter: filter.to_owned(),
            tx,
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    async fn close(&self) {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        {
            let mut state = inner.lock();
            state.subscribers.clear();
            for c in state.consumers.values_mut() {
                c.receivers.clear();
                c.wake.notify_one();
            }
        }
        let db = inner.db.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Wait for writes in flight to finish so the file is released on return.
        if let Some(db) = db {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Arc::strong_count(&db) > 1 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            drop(db);
        }
        debug!(path = %inner.path.display(), "embedded bus closed");
    }
}

/// Hands ready messages of one consumer to its receivers, until the bus
/// closes or is dropped.
async fn dispatch(inner: Weak<Inner>, consumer: String) {
    loop {
        let (wake, sleep_until) = {
            let Some(inner) = inner.upgrade() else { return };
            if inner.closed.load(Ordering::Acquire) {
                return;
            }
            let mut state = inner.lock();
            let Some(c) = state.consumers.get_mut(&consumer) else {
                return;
            };
            let now = Instant::now();
            let Some(spec) = c.spec else { return };
            // Deliveries whose ack deadline passed go back to ready.
            let expired: Vec<u64> = c
                .in_flight
                .iter()
                .filter(|(_, (_, d))| *d <= now)
                .map(|(s, _)| *s)
                .collect();
            for seq in expired {
                if let Some((mut entry, _)) = c.in_flight.remove(&seq) {
                    entry.attempt += 1;
                    c.ready.insert(seq, (entry, now));
                }
            }
            c.receivers.retain(|(_, tx)| !tx.is_closed());
            let mut blocked: BTreeSet<u64> = BTreeSet::new();
            while c.in_flight.len() < spec.max_ack_pending && !c.receivers.is_empty() {
                let next = c
                    .ready
                    .iter()
                    .find(|(seq, (_, at))| *at <= now && !blocked.contains(seq))
                    .map(|(seq, _)| *seq);
                let Some(seq) = next else { break };
                let Some((entry, at)) = c.ready.remove(&seq) else {
                    break;
                };
                let mut delivered = false;
                let mut entry = Some(entry);
                for _ in 0..c.receivers.len() {
                    let i = c.next_receiver % c.receivers.len();
                    c.next_receiver = c.next_receiver.wrapping_add(1);
                    let Some(e) = entry.take() else { break };
                    let delivery = Delivery::new(
                        (*e.message).clone(),
                        e.attempt,
                        Box::new(EmbeddedAcker {
                            inner: Arc::downgrade(&inner),
                            consumer: consumer.clone(),
                            seq,
                            attempt: e.attempt,
                        }),
                    );
                    match c.receivers[i].1.try_send(delivery) {
                        Ok(()) => {
                            c.in_flight.insert(seq, (e, now + spec.ack_wait));
                            delivered = true;
                            break;
                        }
                        Err(_) => entry = Some(e),
                    }
                }
                if !delivered {
                    if let Some(e) = entry {
                        c.ready.insert(seq, (e, at));
                    }
                    blocked.insert(seq);
                    // Every receiver is full (or gone): wait for a wake-up.
                    break;
                }
            }
            let next_ready = c
                .ready
                .values()
                .map(|(_, at)| *at)
                .filter(|at| *at > now)
                .min();
            let next_deadline = c.in_flight.values().map(|(_, d)| *d).min();
            let mut sleep_until = [next_ready, next_deadline].into_iter().flatten().min();
            if !blocked.is_empty() {
                // Receivers were full: poll again shortly.
                sleep_until = Some(sleep_until.map_or(now + Duration::from_millis(20), |t| {
                    t.min(now + Duration::from_millis(20))
                }));
            }
            (c.wake.clone(), sleep_until)
        };
        match sleep_until {
            Some(at) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep_until(at) => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

struct EmbeddedAcker {
    inner: Weak<Inner>,
    consumer: String,
    seq: u64,
    attempt: u32,
}

impl EmbeddedAcker {
    fn inner(&self) -> Result<Arc<Inner>, BusError> {
        self.inner.upgrade().ok_or(BusError::Closed)
    }
}

#[async_trait]
impl Acker for EmbeddedAcker {
    async fn ack(&self) -> Result<(), BusError> {
        let inner = self.inner()?;
        {
            let mut state = inner.lock();
            let Some(c) = state.consumers.get_mut(&self.consumer) else {
                return Ok(());
            };
            c.in_flight.remove(&self.seq);
            c.ready.remove(&self.seq);
            c.wake.notify_one();
        }
        inner.forget(&self.consumer, self.seq).await
    }

    async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        let inner = self.inner()?;
        let mut state = inner.lock();
        if let Some(c) = state.consumers.get_mut(&self.consumer)
            && c.in_flight
                .get(&self.seq)
                .is_some_and(|(e, _)| e.attempt == self.attempt)
            && let Some((mut entry, _)) = c.in_flight.remove(&self.seq)
        {
            entry.attempt += 1;
            c.ready.insert(self.seq, (entry, Instant::now() + delay));
            c.wake.notify_one();
        }
        Ok(())
    }

    async fn in_progress(&self) -> Result<(), BusError> {
        let inner = self.inner()?;
        let mut state = inner.lock();
        if let Some(c) = state.consumers.get_mut(&self.consumer) {
            let ack_wait = c
                .spec
                .map(|s| s.ack_wait)
                .unwrap_or(Duration::from_secs(30));
            if let Some((e, deadline)) = c.in_flight.get_mut(&self.seq)
                && e.attempt == self.attempt
            {
                *deadline = Instant::now() + ack_wait;
                c.wake.notify_one();
            }
        }
        Ok(())
    }
}

/// Length-prefixed framing: subject, header count, headers, payload.
fn encode(m: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.subject.len() + m.payload.len() + 64);
    let mut put = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    put(m.subject.as_bytes());
    put(&(m.headers.len() as u32).to_le_bytes());
    for (k, v) in &m.headers {
        put(k.as_bytes());
        put(v.as_bytes());
    }
    put(&m.payload);
    out
}

fn decode(mut bytes: &[u8]) -> Option<Message> {
    fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let value = bytes.get(4..4 + len)?;
        *bytes = &bytes[4 + len..];
        Some(value)
    }
    let subject = String::from_utf8(take(&mut bytes)?.to_vec()).ok()?;
    let count = u32::from_le_bytes(take(&mut bytes)?.try_into().ok()?);
    let mut headers = BTreeMap::new();
    for _ in 0..count {
        let k = String::from_utf8(take(&mut bytes)?.to_vec()).ok()?;
        let v = String::from_utf8(take(&mut bytes)?.to_vec()).ok()?;
        headers.insert(k, v);
    }
    let payload = Bytes::copy_from_slice(take(&mut bytes)?);
    bytes.is_empty().then_some(Message {
        subject,
        headers,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_round_trips_and_rejects_truncation() {
        let m = Message::new("omni.inbound.chat", vec![1u8, 2, 3]).with_header("traceparent", "x");
        let bytes = encode(&m);
        assert_eq!(decode(&bytes), Some(m));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(&[]), None);
    }
}
