//! Delivery and read receipts for agents' chat replies, as delivery reports
//! on `omni.delivery.chat`.
//!
//! | when | report |
//! |---|---|
//! | a reply is written to a connected page's socket (live, or in the history of a `welcome`) | `DELIVERED` |
//! | the page sends `{"type":"read","message_ids":[…]}` for replies it was shown | `READ` |
//!
//! A reply for a visitor with no open page stays `QUEUED`: nobody has it
//! yet. It becomes `DELIVERED` when the page next connects and receives it
//! in its `welcome` history (also after a restart of either side). A page
//! can mark read only replies this connection was shown, so a visitor can
//! never change the status of another conversation's messages.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omni_adapter::Report;
use omni_bus::BusError;
use omni_core::DeliveryStatus;
use omni_core::trace::TraceContext;
use omni_proto::view::MessageView;
use tracing::warn;

use crate::ChatAdapter;
use crate::protocol::ServerFrame;

/// Replies one connection remembers having shown, for `read` frames.
const MAX_SHOWN: usize = 1000;
/// Attempts at publishing one report.
const REPORT_ATTEMPTS: u32 = 3;

/// The receipts of one connected page.
pub struct Receipts {
    adapter: Arc<ChatAdapter>,
    /// Message id to conversation id of the chat replies this page was sent,
    /// oldest first in `order`.
    shown: Mutex<(HashMap<String, String>, VecDeque<String>)>,
}

impl Receipts {
    /// Receipts for a page served by `adapter`.
    pub fn new(adapter: Arc<ChatAdapter>) -> Self {
        Self {
            adapter,
            shown: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    /// The chat replies in `frame` that the page has not yet confirmed:
    /// remembered as shown, returned to report `DELIVERED` once the frame is
    /// written.
    pub fn before_write(&self, frame: &ServerFrame) -> Vec<(String, String)> {
        let views: Vec<&MessageView> = match frame {
            ServerFrame::Message { message } => vec![message.as_ref()],
            ServerFrame::Welcome { history, .. } => history.iter().collect(),
            _ => return Vec::new(),
        };
        let mut pending = Vec::new();
        let mut shown = self.lock();
        for view in views {
            if view.direction != "outbound" || view.channel != "chat" {
                continue;
            }
            let (ids, order) = &mut *shown;
            if ids
                .insert(view.id.clone(), view.conversation_id.clone())
                .is_none()
            {
                order.push_back(view.id.clone());
                if order.len() > MAX_SHOWN
                    && let Some(oldest) = order.pop_front()
                {
                    ids.remove(&oldest);
                }
            }
            if matches!(view.delivery, "queued" | "sent") {
                pending.push((view.id.clone(), view.conversation_id.clone()));
            }
        }
        pending
    }

    /// Reports `DELIVERED` for replies written to the socket.
    pub fn delivered(&self, written: Vec<(String, String)>) {
        for (message_id, conversation_id) in written {
            self.spawn_report(message_id, conversation_id, DeliveryStatus::Delivered);
        }
    }

    /// Reports `READ` for the replies among `message_ids` this page was
    /// shown; returns how many of them were.
    pub fn read(&self, message_ids: &[String]) -> usize {
        let known: Vec<(String, String)> = {
            let shown = self.lock();
            message_ids
                .iter()
                .filter_map(|id| shown.0.get(id).map(|c| (id.clone(), c.clone())))
                .collect()
        };
        let count = known.len();
        for (message_id, conversation_id) in known {
            self.spawn_report(message_id, conversation_id, DeliveryStatus::Read);
        }
        count
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, String>, VecDeque<String>)> {
        self.shown.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn_report(&self, message_id: String, conversation_id: String, status: DeliveryStatus) {
        let adapter = self.adapter.clone();
        tokio::spawn(async move {
            if let Err(e) = publish(&adapter, &message_id, &conversation_id, status).await {
                warn!(%message_id, status = ?status, error = %e, "chat delivery report not published");
            }
        });
    }
}

/// Publishes one report, retrying briefly; its bus message id makes a
/// repeat harmless.
async fn publish(
    adapter: &ChatAdapter,
    message_id: &str,
    conversation_id: &str,
    status: DeliveryStatus,
) -> Result<(), BusError> {
    let report = Report {
        message_id: message_id.to_owned(),
        conversation_id: conversation_id.to_owned(),
        status,
        provider_message_id: String::new(),
        error: String::new(),
    };
    // A reply pushed live continues its trace; one shown from history
    // after a restart starts a new one.
    let trace = adapter
        .reply_trace(message_id)
        .unwrap_or_else(TraceContext::new_root);
    let mut last = None;
    for attempt in 0..REPORT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        match adapter.reporter().publish(&report, &trace).await {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(BusError::Closed))
}
