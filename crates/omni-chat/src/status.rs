//! Where a customer's conversation stands, told to their chat page: waiting
//! for an agent (with the place in line when the router can tell), an agent
//! joined, resolved.
//!
//! The context service announces every change of a conversation on
//! `omni.conversation.event.<id>` (fan-out, best effort), and the router
//! each waiting conversation's changed place in its queue on
//! `omni.queue.position.<id>`. [`run`] follows both and pushes `status` and
//! `position` frames to the connected pages of the chat visitor the
//! customer last wrote as; [`current`] gives the frames a page gets right
//! after its `welcome` (the status, and the last place in line while
//! waiting, kept in [`Places`]), so a reload shows the same thing.
//!
//! Which visitor a conversation is: learned from its `updated` events while
//! it waits, else asked of the context service once (the answer, a chat
//! visitor or none, is kept until the conversation is assigned or
//! resolved, or at most [`MAX_KNOWN`] conversations).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::StreamExt;
use omni_bus::topology::subjects;
use omni_bus::{Bus, BusError, Message};
use omni_proto::common as pb;
use omni_proto::common::identity::Kind;
use omni_proto::context::GetConversationRequest;
use omni_proto::events as ev;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::ChatAdapter;
use crate::protocol::ServerFrame;

/// Most conversations whose visitor [`run`] keeps at hand; beyond, it
/// forgets them all and asks again as needed.
pub const MAX_KNOWN: usize = 100_000;

/// Runs until `shutdown` or the end of either bus stream.
pub async fn run(
    adapter: Arc<ChatAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let mut events = bus.subscribe(subjects::CONVERSATION_EVENTS).await?;
    let mut positions = bus.subscribe(subjects::QUEUE_POSITIONS).await?;
    let mut visitors = Visitors::default();
    let mut holders = crate::typing::Holders::default();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            next = events.next() => match next {
                Some(m) => on_event(&adapter, &mut visitors, &mut holders, &m).await,
                None => break,
            },
            next = positions.next() => match next {
                Some(m) => on_position(&adapter, &mut visitors, &m).await,
                None => break,
            },
        }
    }
    Ok(())
}

async fn on_event(
    adapter: &ChatAdapter,
    visitors: &mut Visitors,
    holders: &mut crate::typing::Holders,
    message: &Message,
) {
    let event = match ev::ConversationEvent::decode(message.payload.as_ref()) {
        Ok(e) => e,
        Err(e) => {
            warn!(subject = %message.subject, error = %e, "undecodable conversation event skipped");
            return;
        }
    };
    let conversation = match event.kind {
        Some(ev::conversation_event::Kind::Updated(conversation)) => conversation,
        Some(ev::conversation_event::Kind::Typing(_) | ev::conversation_event::Kind::Read(_)) => {
            crate::typing::forward(adapter, holders, event).await;
            return;
        }
        _ => return,
    };
    let visitor = chat_visitor(&conversation);
    visitors.learn(&conversation, visitor.clone());
    holders.learn(&conversation, visitor.clone());
    if conversation.status() != pb::ConversationStatus::Queued {
        adapter.places().forget(&conversation.id);
    }
    let Some(visitor) = visitor else {
        return;
    };
    let Some(frame) = frame(&conversation, |id| adapter.agent_name(id)) else {
        return;
    };
    let pages = adapter.push(&visitor, &frame);
    debug!(visitor = %visitor, conversation_id = %conversation.id, pages, "conversation status pushed");
}

async fn on_position(adapter: &ChatAdapter, visitors: &mut Visitors, message: &Message) {
    let position = match ev::QueuePosition::decode(message.payload.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            warn!(subject = %message.subject, error = %e, "undecodable queue position skipped");
            return;
        }
    };
    let id = position.conversation_id.clone();
    let visitor = match visitors.get(&id) {
        Some(known) => known,
        None => {
            let found = adapter
                .context()
                .get_conversation(GetConversationRequest {
                    conversation_id: id.clone(),
                })
                .await;
            match found {
                Ok(r) => {
                    let Some(conversation) = r.into_inner().conversation else {
                        return;
                    };
                    let visitor = chat_visitor(&conversation);
                    visitors.learn(&conversation, visitor.clone());
                    if conversation.status() != pb::ConversationStatus::Queued {
                        // An agent joined since: no place in line to tell.
                        return;
                    }
                    visitor
                }
                Err(status) => {
                    // The next change of place tries again.
                    warn!(conversation_id = %id, error = %status, "queue position not forwarded: conversation unavailable");
                    return;
                }
            }
        }
    };
    let Some(visitor) = visitor else {
        return;
    };
    let frame = position_frame(&position);
    adapter.places().put(&id, frame.clone());
    let pages = adapter.push(&visitor, &frame);
    debug!(visitor = %visitor, conversation_id = %id, position = position.position, pages, "queue position pushed");
}

/// The page's `position` frame for a router's `QueuePosition`.
pub fn position_frame(position: &ev::QueuePosition) -> ServerFrame {
    ServerFrame::Position {
        conversation_id: position.conversation_id.clone(),
        position: position.position,
        expected_wait_secs: u64::try_from(position.expected_wait_ms)
            .ok()
            .filter(|ms| *ms > 0)
            .map(|ms| ms.div_ceil(1000)),
    }
}

/// The chat visitor of each waiting conversation seen (or `None` for one
/// not by chat).
#[derive(Debug, Default)]
struct Visitors(HashMap<String, Option<String>>);

impl Visitors {
    /// `Some(known)` when the conversation's visitor (or its absence) is
    /// known.
    fn get(&self, conversation_id: &str) -> Option<Option<String>> {
        self.0.get(conversation_id).cloned()
    }

    /// Keeps the visitor of a waiting conversation; forgets one that is
    /// assigned or resolved (it has no place in line any more).
    fn learn(&mut self, conversation: &pb::Conversation, visitor: Option<String>) {
        if conversation.status() == pb::ConversationStatus::Queued {
            if self.0.len() >= MAX_KNOWN && !self.0.contains_key(&conversation.id) {
                self.0.clear();
            }
            self.0.insert(conversation.id.clone(), visitor);
        } else {
            self.0.remove(&conversation.id);
        }
    }
}

/// The frames for conversation `conversation_id` as it is now: its status,
/// and its last place in line while it waits; none if it cannot be read
/// (the page then simply shows no status).
pub async fn current(adapter: &ChatAdapter, conversation_id: &str) -> Vec<ServerFrame> {
    let found = adapter
        .context()
        .get_conversation(GetConversationRequest {
            conversation_id: conversation_id.to_owned(),
        })
        .await;
    let conversation = match found {
        Ok(r) => match r.into_inner().conversation {
            Some(c) => c,
            None => return Vec::new(),
        },
        Err(status) => {
            warn!(conversation_id = %conversation_id, error = %status, "conversation status unavailable");
            return Vec::new();
        }
    };
    let mut frames: Vec<ServerFrame> = frame(&conversation, |id| adapter.agent_name(id))
        .into_iter()
        .collect();
    if conversation.status() == pb::ConversationStatus::Queued
        && let Some(place) = adapter.places().get(conversation_id)
    {
        frames.push(place);
    }
    frames
}

/// The last `position` frame of each waiting conversation, kept for pages
/// that connect after it was sent (a reload, a chat restart is not
/// covered: the router's next change brings it). Forgotten when the
/// conversation is assigned or resolved; at most [`MAX_KNOWN`].
#[derive(Debug, Default)]
pub struct Places(Mutex<HashMap<String, ServerFrame>>);

impl Places {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, ServerFrame>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, conversation_id: &str) -> Option<ServerFrame> {
        self.lock().get(conversation_id).cloned()
    }

    fn put(&self, conversation_id: &str, frame: ServerFrame) {
        let mut places = self.lock();
        if places.len() >= MAX_KNOWN && !places.contains_key(conversation_id) {
            places.clear();
        }
        places.insert(conversation_id.to_owned(), frame);
    }

    fn forget(&self, conversation_id: &str) {
        self.lock().remove(conversation_id);
    }
}

/// The chat visitor the customer last wrote as, if it was by chat.
pub(crate) fn chat_visitor(conversation: &pb::Conversation) -> Option<String> {
    match conversation.last_identity.as_ref()?.kind.as_ref()? {
        Kind::ChatVisitor(visitor) => Some(visitor.clone()),
        _ => None,
    }
}

/// The page's view of `conversation`, with agent ids shown by
/// `agent_name` (else as the id); `None` for an unknown status.
pub fn frame(
    conversation: &pb::Conversation,
    agent_name: impl Fn(&str) -> Option<String>,
) -> Option<ServerFrame> {
    let agent =
        |id: &str| (!id.is_empty()).then(|| agent_name(id).unwrap_or_else(|| id.to_owned()));
    let (status, agent_name, waiting_since_ms) = match conversation.status() {
        pb::ConversationStatus::Queued => (
            "waiting",
            None,
            Some(conversation.queued_at_ms).filter(|ms| *ms > 0),
        ),
        pb::ConversationStatus::Assigned => ("assigned", agent(&conversation.assigned_agent), None),
        pb::ConversationStatus::Resolved => ("resolved", agent(&conversation.last_agent), None),
        pb::ConversationStatus::Bot => ("bot", None, None),
        pb::ConversationStatus::Unspecified => return None,
    };
    Some(ServerFrame::Status {
        conversation_id: conversation.id.clone(),
        status,
        agent_name,
        waiting_since_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(status: pb::ConversationStatus) -> pb::Conversation {
        pb::Conversation {
            id: "k_1".into(),
            status: status as i32,
            assigned_agent: if status == pb::ConversationStatus::Assigned {
                "alice".into()
            } else {
                String::new()
            },
            last_agent: "alice".into(),
            queued_at_ms: 1_000,
            ..Default::default()
        }
    }

    fn names(id: &str) -> Option<String> {
        (id == "alice").then(|| "Alice Martin".to_owned())
    }

    #[test]
    fn waiting_assigned_resolved() {
        assert_eq!(
            frame(&conversation(pb::ConversationStatus::Queued), names),
            Some(ServerFrame::Status {
                conversation_id: "k_1".into(),
                status: "waiting",
                agent_name: None,
                waiting_since_ms: Some(1_000),
            })
        );
        assert_eq!(
            frame(&conversation(pb::ConversationStatus::Assigned), names),
            Some(ServerFrame::Status {
                conversation_id: "k_1".into(),
                status: "assigned",
                agent_name: Some("Alice Martin".into()),
                waiting_since_ms: None,
            })
        );
        assert_eq!(
            frame(&conversation(pb::ConversationStatus::Resolved), |_| None),
            Some(ServerFrame::Status {
                conversation_id: "k_1".into(),
                status: "resolved",
                agent_name: Some("alice".into()),
                waiting_since_ms: None,
            })
        );
        assert_eq!(
            frame(&conversation(pb::ConversationStatus::Unspecified), names),
            None
        );
    }

    #[test]
    fn position_frames_round_the_wait_up_to_seconds_and_omit_none() {
        let p = |expected_wait_ms| ev::QueuePosition {
            conversation_id: "k_1".into(),
            position: 3,
            expected_wait_ms,
            ..Default::default()
        };
        assert_eq!(
            position_frame(&p(120_001)),
            ServerFrame::Position {
                conversation_id: "k_1".into(),
                position: 3,
                expected_wait_secs: Some(121),
            }
        );
        assert_eq!(
            serde_json::to_string(&position_frame(&p(0))).unwrap(),
            r#"{"type":"position","conversation_id":"k_1","position":3}"#
        );
    }

    #[test]
    fn visitors_are_kept_while_waiting_only() {
        let mut visitors = Visitors::default();
        let queued = conversation(pb::ConversationStatus::Queued);
        visitors.learn(&queued, Some("v_1".into()));
        assert_eq!(visitors.get("k_1"), Some(Some("v_1".into())));
        visitors.learn(&conversation(pb::ConversationStatus::Assigned), None);
        assert_eq!(visitors.get("k_1"), None);
        visitors.learn(&queued, None);
        assert_eq!(visitors.get("k_1"), Some(None), "not by chat: known too");
    }

    #[test]
    fn follows_the_chat_visitor_only() {
        let mut c = conversation(pb::ConversationStatus::Queued);
        c.last_identity = Some(pb::Identity {
            kind: Some(Kind::ChatVisitor("v_1".into())),
        });
        assert_eq!(chat_visitor(&c).as_deref(), Some("v_1"));
        c.last_identity = Some(pb::Identity {
            kind: Some(Kind::Phone("+14155550123".into())),
        });
        assert_eq!(chat_visitor(&c), None);
    }
}
