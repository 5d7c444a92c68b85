//! `GET /api/wall/events`: the supervisor's wall live, as server-sent
//! events. Every open wall listens to the desk's one poller
//! ([`crate::wall_feed`], reading the router every
//! [`POLL`](crate::wall_feed::POLL)) and sends its page what changed:
//!
//! | event | data |
//! |---|---|
//! | `wall` | [`crate::wall_api::WallView`]: queues and agents now |
//! | `day` | [`crate::wall_api::DayView`]: today's intervals |
//! | `down` | `{"message"}`: the router cannot be read; the page shows it is reconnecting, and the next `wall` after it is whole again |
//! | `signed_out` | the session ended; the stream closes |
//!
//! Reading the router (one `ListQueues`, one `ListAgents`, one `QueueDay`,
//! each an in-memory read there) keeps the delay under a second without a
//! queue event stream in the router, and a router restart needs nothing
//! but the next read. The browser's `EventSource` reconnects by itself
//! after a desk restart (`retry:` [`RETRY`]) and gets everything again.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use omni_core::access::Actor;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::Desk;
use crate::access::Caller;
use crate::wall_feed::Reading;

/// How long the browser waits before reconnecting a dropped stream.
pub const RETRY: Duration = Duration::from_secs(1);

/// How often a wall checks that its session still holds.
const SESSION_CHECK: Duration = Duration::from_secs(5);

/// Opens the stream of the signed-in supervisor.
pub async fn events(
    State((desk, shutdown)): State<(Arc<Desk>, CancellationToken)>,
    Extension(caller): Extension<Caller>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(4);
    let feed = desk.wall_feed().subscribe(&desk, &shutdown);
    tokio::spawn(run(
        desk,
        caller.actor,
        caller.session.token_hash,
        feed,
        tx,
        shutdown,
    ));
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// What this wall last sent, to send only changes.
#[derive(Default)]
struct Sent {
    wall: Option<String>,
    day: Option<String>,
    down: bool,
}

impl Sent {
    /// The events that bring the page from what was sent to `reading`.
    fn events(&mut self, reading: &Reading) -> Vec<Event> {
        match reading {
            Reading::Pending => Vec::new(),
            Reading::Read { wall, day } => {
                self.down = false;
                let mut out = Vec::new();
                if self.wall.as_ref() != Some(&wall.key) {
                    out.push(Event::default().event("wall").data(&wall.data));
                    self.wall = Some(wall.key.clone());
                }
                if self.day.as_ref() != Some(&day.key) {
                    out.push(Event::default().event("day").data(&day.data));
                    self.day = Some(day.key.clone());
                }
                out
            }
            Reading::Down(message) if !self.down => {
                // Everything is sent again once the router answers.
                *self = Self {
                    down: true,
                    ..Self::default()
                };
                vec![
                    Event::default()
                        .event("down")
                        .data(json!({ "message": message }).to_string()),
                ]
            }
            Reading::Down(_) => Vec::new(),
        }
    }
}

async fn run(
    desk: Arc<Desk>,
    actor: Actor,
    session: String,
    mut feed: watch::Receiver<Reading>,
    tx: mpsc::Sender<Event>,
    shutdown: CancellationToken,
) {
    let mut sent = Sent::default();
    // The session held when the stream opened (the access layer checked).
    let mut check =
        tokio::time::interval_at(tokio::time::Instant::now() + SESSION_CHECK, SESSION_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let _ = tx.send(Event::default().retry(RETRY).comment("wall")).await;
    // What the poller already read, then each new reading.
    let mut reading = feed.borrow_and_update().clone();
    loop {
        for event in sent.events(&reading) {
            if tx.send(event).await.is_err() {
                debug!(user = %actor.user, "wall stream closed by the page");
                return;
            }
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tx.closed() => return,
                changed = feed.changed() => {
                    if changed.is_err() {
                        // The poller stopped: the desk is stopping.
                        return;
                    }
                    break;
                }
                _ = check.tick() => {
                    if !session_holds(&desk, &session).await {
                        let _ = tx
                            .send(Event::default().event("signed_out").data("{}"))
                            .await;
                        return;
                    }
                }
            }
        }
        reading = feed.borrow_and_update().clone();
    }
}

/// Whether the session still holds (not expired, signed out or revoked);
/// a store that cannot answer keeps the stream.
async fn session_holds(desk: &Desk, session: &str) -> bool {
    let accounts = desk.accounts();
    let policy = accounts.policy();
    match accounts
        .store()
        .session(session, omni_core::time::now_ms(), &policy)
        .await
    {
        Ok(found) => found.is_some(),
        Err(e) => {
            warn!(error = %e, "cannot check the wall stream's session");
            true
        }
    }
}
