//! Request/reply over any [`Bus`], built on its fan-out: the requester
//! subscribes to a subject of its own (`omni.reply.<id>`, unique per
//! request), sends the request with [`REPLY_TO`] naming it, and waits for
//! the first answer up to a deadline. A responder answers with [`reply`].
//! Nothing is durable: a request nobody hears, or an answer after the
//! deadline, is lost, so callers use it only where going on without an
//! answer is fine (the external enricher).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use crate::topology::subjects;
use crate::{Bus, BusError, Message};

/// Header naming the subject the answer goes to.
pub const REPLY_TO: &str = "reply-to";

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No answer came within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The bus failed, or closed before an answer came.
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Sends `message` (a subject no stream captures) and returns the first
/// answer that comes within `deadline`.
pub async fn request(
    bus: &dyn Bus,
    message: Message,
    deadline: Duration,
) -> Result<Message, RequestError> {
    let inbox = subjects::reply(&unique_id());
    let mut answers = bus.subscribe(&inbox).await?;
    bus.notify(message.with_header(REPLY_TO, inbox.clone()))
        .await?;
    match tokio::time::timeout(deadline, answers.next()).await {
        Ok(Some(answer)) => Ok(answer),
        Ok(None) => Err(BusError::Closed.into()),
        Err(_) => Err(RequestError::Timeout(deadline)),
    }
}

/// Answers `request` (one that came with [`REPLY_TO`]) with `payload`;
/// a request without it is not answered (`Ok(false)`).
pub async fn reply(
    bus: &dyn Bus,
    request: &Message,
    payload: impl Into<Bytes>,
) -> Result<bool, BusError> {
    let Some(to) = request.headers.get(REPLY_TO) else {
        return Ok(false);
    };
    // Only reply subjects: a request cannot make the responder publish
    // on any other subject.
    if !to.starts_with("omni.reply.") || to.contains(['*', '>', ' ']) {
        return Ok(false);
    }
    bus.notify(Message::new(to.clone(), payload)).await?;
    Ok(true)
}

/// Unique across processes and time: the process id, the clock and a
/// counter.
fn unique_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}{:x}{n:x}", std::process::id(), nanos)
}
