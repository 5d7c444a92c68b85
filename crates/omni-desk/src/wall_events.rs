//! `GET /api/wall/events`: the supervisor's wall live, as server-sent
//! events. The desk reads the router every [`POLL`] and sends what changed:
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
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::Desk;
use crate::access::Caller;
use crate::wall_api::{read_day, read_wall};

/// How often the router is read.
pub const POLL: Duration = Duration::from_millis(500);

/// How long the browser waits before reconnecting a dropped stream.
pub const RETRY: Duration = Duration::from_secs(1);

/// The session is checked every this many polls (every 5 s).
const SESSION_EVERY: u32 = 10;

/// Opens the stream of the signed-in supervisor.
pub async fn events(
    State((desk, shutdown)): State<(Arc<Desk>, CancellationToken)>,
    Extension(caller): Extension<Caller>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(run(
        desk,
        caller.actor,
        caller.session.token_hash,
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

/// What was last sent, to send only changes.
#[derive(Default)]
struct Sent {
    wall: Option<String>,
    day: Option<String>,
    down: bool,
}

/// `value` as JSON text, `now_ms` left out (it changes every read).
fn changes<T: Serialize>(value: &T) -> String {
    let mut v = serde_json::to_value(value).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("now_ms");
    }
    v.to_string()
}

async fn run(
    desk: Arc<Desk>,
    actor: Actor,
    session: String,
    tx: mpsc::Sender<Event>,
    shutdown: CancellationToken,
) {
    let mut sent = Sent::default();
    let mut every = tokio::time::interval(POLL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let _ = tx.send(Event::default().retry(RETRY).comment("wall")).await;
    for polls in 0u32.. {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tx.closed() => break,
            _ = every.tick() => {}
        }
        if polls % SESSION_EVERY == 0 && !session_holds(&desk, &session).await {
            let _ = tx
                .send(Event::default().event("signed_out").data("{}"))
                .await;
            break;
        }
        let read = async {
            Ok::<_, crate::error::DeskError>((
                read_wall(&desk, &actor).await?,
                read_day(&desk, &actor).await?,
            ))
        };
        let out = match read.await {
            Ok((wall, day)) => {
                sent.down = false;
                let mut out = Vec::new();
                let (w, d) = (changes(&wall), changes(&day));
                if sent.wall.as_ref() != Some(&w) {
                    out.push(json_event("wall", &wall));
                    sent.wall = Some(w);
                }
                if sent.day.as_ref() != Some(&d) {
                    out.push(json_event("day", &day));
                    sent.day = Some(d);
                }
                out
            }
            Err(e) if !sent.down => {
                warn!(user = %actor.user, error = %e, "wall cannot read the router; retrying");
                // Everything is sent again once the router answers.
                sent = Sent {
                    down: true,
                    ..Sent::default()
                };
                vec![json_event("down", &json!({ "message": e.to_string() }))]
            }
            Err(_) => Vec::new(),
        };
        for event in out {
            if tx.send(event).await.is_err() {
                debug!(user = %actor.user, "wall stream closed by the page");
                return;
            }
        }
    }
}

fn json_event<T: Serialize>(name: &str, value: &T) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(value).unwrap_or_default())
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
