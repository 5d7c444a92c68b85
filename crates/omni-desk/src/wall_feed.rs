//! The wall's shared poller: one per desk, whatever the number of walls
//! open. The first wall to open starts it; it reads the router every
//! [`POLL`] (`ListQueues`, `ListAgents`, `QueueDay`, as the desk itself)
//! and hands each reading to every open wall through a `tokio::sync::watch`
//! channel; at the first tick after the last wall left it stops. Each wall
//! ([`crate::wall_events`]) sends its page what changed since what it
//! sent.
//!
//! The desk reads as itself (its service token, which the router lets read
//! every queue): every wall that listens was opened by a supervisor or an
//! admin (the access table), and each checks its own session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::Desk;
use crate::wall_api::{read_day, read_wall};

/// How often the router is read while a wall is open.
pub const POLL: Duration = Duration::from_millis(500);

/// The latest reading of the router, as every open wall sees it.
#[derive(Debug, Clone, Default)]
pub enum Reading {
    /// Not read yet.
    #[default]
    Pending,
    /// What the router answered.
    Read {
        /// The `wall` event.
        wall: Arc<Shown>,
        /// The `day` event.
        day: Arc<Shown>,
    },
    /// The router cannot be read: why.
    Down(String),
}

/// One event's data, and what tells a change.
#[derive(Debug, PartialEq, Eq)]
pub struct Shown {
    /// The data without `now_ms` (which changes every reading): a wall
    /// sends the event when this differs from what it sent.
    pub key: String,
    /// The event's data, JSON.
    pub data: String,
}

impl Shown {
    fn of<T: Serialize>(value: &T) -> Arc<Self> {
        let mut v = serde_json::to_value(value).unwrap_or_default();
        let data = v.to_string();
        if let Some(o) = v.as_object_mut() {
            o.remove("now_ms");
        }
        Arc::new(Self {
            key: v.to_string(),
            data,
        })
    }
}

/// The desk's one poller, while any wall is open.
#[derive(Debug, Default)]
pub struct WallFeed {
    /// The running poller's channel; `None` when no wall is open.
    slot: Mutex<Option<Arc<watch::Sender<Reading>>>>,
    started: AtomicU64,
    polls: AtomicU64,
}

impl WallFeed {
    /// The readings for one more wall: the running poller's, or a new
    /// poller's when none runs.
    pub fn subscribe(
        &self,
        desk: &Arc<Desk>,
        shutdown: &CancellationToken,
    ) -> watch::Receiver<Reading> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = slot.as_ref() {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(Reading::Pending);
        let tx = Arc::new(tx);
        *slot = Some(tx.clone());
        self.started.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(poll(desk.clone(), tx, shutdown.clone()));
        rx
    }

    /// How many pollers were started since the desk began (one per stretch
    /// of time with a wall open): for tests and diagnostics.
    pub fn pollers_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// How many times the router was read for the walls.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Whether a poller runs now.
    pub fn polling(&self) -> bool {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Whether the poller of `tx` should stop (no wall listens); if so it
    /// leaves the slot, under the lock [`WallFeed::subscribe`] takes, so a
    /// wall that opens meanwhile starts a new poller.
    fn leave_if_alone(&self, tx: &Arc<watch::Sender<Reading>>, stopping: bool) -> bool {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if !stopping && tx.receiver_count() > 0 {
            return false;
        }
        if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, tx)) {
            *slot = None;
        }
        true
    }
}

/// Reads the router every [`POLL`] until no wall listens or the desk stops.
async fn poll(desk: Arc<Desk>, tx: Arc<watch::Sender<Reading>>, shutdown: CancellationToken) {
    let feed = desk.wall_feed();
    let mut every = tokio::time::interval(POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut down = false;
    debug!("wall poller started");
    loop {
        let stopping = tokio::select! {
            () = shutdown.cancelled() => true,
            _ = every.tick() => false,
        };
        if feed.leave_if_alone(&tx, stopping) {
            break;
        }
        feed.polls.fetch_add(1, Ordering::Relaxed);
        let read = async {
            Ok::<_, crate::error::DeskError>((
                read_wall(&desk, None).await?,
                read_day(&desk, None).await?,
            ))
        };
        let reading = match read.await {
            Ok((wall, day)) => {
                down = false;
                Reading::Read {
                    wall: Shown::of(&wall),
                    day: Shown::of(&day),
                }
            }
            Err(e) => {
                if !down {
                    warn!(error = %e, "wall cannot read the router; retrying");
                }
                down = true;
                Reading::Down(e.to_string())
            }
        };
        tx.send_replace(reading);
    }
    debug!("wall poller stopped");
}
