//! One consumer's dispatcher, which owns its delivery state in memory, and
//! the acker that settles a delivery it handed out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::log::{load, storage, with_db};
use super::{
    Command, ConsumerConfig, ConsumerHandle, DbCell, LOAD_BATCH, PENDING, Prepared, Purged,
    QUEUE_DEPTH, RETRY_AFTER,
};
use crate::{Acker, BusError, Delivery};

/// Starts the dispatcher of one consumer with `pending` ready.
pub(super) fn start_dispatcher(
    runtime: &Handle,
    db: &DbCell,
    shutdown: &watch::Sender<bool>,
    config: ConsumerConfig,
    pending: Vec<u64>,
) -> Arc<ConsumerHandle> {
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let (queue_tx, queue) = mpsc::channel(QUEUE_DEPTH);
    let purged: Purged = Arc::default();
    let dispatcher = Dispatcher {
        purged: Arc::clone(&purged),
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
        pending: crate::pending(&config.name),
    };
    runtime.spawn(dispatcher.run());
    Arc::new(ConsumerHandle {
        config,
        commands: commands_tx,
        queue: Arc::new(tokio::sync::Mutex::new(queue)),
        purged,
    })
}

/// A delivery handed out and not yet settled.
#[derive(Debug, Clone, Copy)]
pub(super) struct InFlight {
    attempt: u32,
    /// Tells this delivery from earlier ones of the same message.
    token: u64,
    /// `None` while it waits in the queue.
    deadline: Option<Instant>,
}

/// Owns one consumer's delivery state; see the module docs.
pub(super) struct Dispatcher {
    /// The consumer's purged sequences that may wait in its queue (see
    /// [`ConsumerHandle`]): kept only while one does.
    purged: Purged,
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
    /// What [`crate::pending`] reports for this consumer.
    pending: Arc<std::sync::atomic::AtomicU64>,
}

impl Dispatcher {
    async fn run(mut self) {
        tracing::debug!(consumer = %self.consumer, pending = self.ready.len(), "dispatcher started");
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            let pending = self.ready.len() + self.delayed.len() + self.in_flight.len();
            self.pending
                .store(pending as u64, std::sync::atomic::Ordering::Relaxed);
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
            if attempt > 1 {
                crate::redelivered().inc(&[("consumer", &self.consumer)]);
            }
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
                delivery: Delivery::new(message, attempt, Box::new(acker))
                    .with_ack_wait(self.ack_wait),
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
            Command::Purged(seq) => {
                let queued = self
                    .in_flight
                    .get(&seq)
                    .is_some_and(|flight| flight.deadline.is_none());
                if !queued {
                    super::lock(&self.purged).remove(&seq);
                }
                self.handle(Command::Acked(seq));
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

/// Settles one delivery of the embedded bus.
pub(super) struct EmbeddedAcker {
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

/// Resolves once the bus is closed (or gone).
pub(super) async fn closed(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|closed| *closed).await;
}

pub(super) async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
