//! A contact waiting in a closed queue (business hours,
//! [`Effect::QueueClosed`](omni_router_core::Effect::QueueClosed)): the
//! shell renders the queue's closed reply, per language, with the opening
//! in the queue's zone written in that language (`lunes, 7 de diciembre,
//! 9:00 CET`; [`omni_core::hours::written`]), and publishes a `QueueClosedNotice` on
//! `omni.assignment.closed`; the context service answers the customer on
//! their channel. One notice per routing request: the message id derives
//! from the contact's queued time, so a redelivered request reported again
//! is deduplicated by the bus.

use std::time::Duration;

use omni_bus::topology::subjects;
use omni_bus::{Message, TRACEPARENT};
use omni_core::time::Millis;
use omni_core::trace::TraceContext;
use omni_core::{ConversationId, QueueId};
use omni_proto::events as ev;
use prost::Message as _;
use tracing::{error, info, warn};

use super::RouterShell;
use crate::RouterError;

impl RouterShell {
    /// Tells the context service that `conversation_id` waits in closed
    /// `queue` until `opens_at_ms`. Retries a bounded number of times.
    pub(super) async fn record_closed(
        &self,
        conversation_id: &ConversationId,
        queue: &QueueId,
        opens_at_ms: Option<Millis>,
    ) {
        omni_telemetry::count!(
            "omni_routing_closed_total",
            "contacts that waited in a closed queue, by queue",
            &[("queue", queue.as_str())],
        );
        let at_ms = self.now();
        let Some(schedule) = self.lock_engine().queue_hours(queue) else {
            return;
        };
        let queued_at = self
            .lock_contacts()
            .get(conversation_id)
            .map_or(at_ms, |r| r.queued_at_ms);
        let notice = ev::QueueClosedNotice {
            conversation_id: conversation_id.to_string(),
            queue: queue.to_string(),
            opens_at_ms: opens_at_ms.unwrap_or(0),
            replies: schedule
                .config()
                .closed_reply
                .keys()
                .map(|lang| (lang.clone(), schedule.closed_reply(Some(lang), at_ms)))
                .collect(),
            reply: schedule.closed_reply(None, at_ms),
            at_ms,
        };
        let msg = Message::new(subjects::ASSIGNMENT_CLOSED, notice.encode_to_vec()).with_header(
            TRACEPARENT,
            omni_telemetry::outgoing(&tracing::Span::current(), &TraceContext::new_root())
                .to_string(),
        );
        let id = format!("closed:{conversation_id}:{queued_at}");
        info!(%conversation_id, %queue, opens_at_ms = ?opens_at_ms, "queue closed; the contact waits for the opening");
        for attempt in 1..=5u32 {
            match self
                .bus
                .publish(msg.clone(), Some(&id))
                .await
                .map_err(RouterError::from)
            {
                Ok(_) => return,
                Err(e) => {
                    warn!(%conversation_id, attempt, error = %e, "closed-queue notice not published yet; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        error!(%conversation_id, %queue, "closed-queue notice could not be published; the customer was not told");
    }
}
