//! Where a customer's conversation stands, told to their chat page: waiting
//! for an agent, an agent joined, resolved.
//!
//! The context service announces every change of a conversation on
//! `omni.conversation.event.<id>` (fan-out, best effort). [`run`] follows
//! them and pushes a `status` frame to the connected pages of the chat
//! visitor the customer last wrote as; [`current`] gives the frame a page
//! gets right after its `welcome`, so a reload shows the same thing.

use std::sync::Arc;

use futures_util::StreamExt;
use omni_bus::topology::subjects;
use omni_bus::{Bus, BusError};
use omni_proto::common as pb;
use omni_proto::common::identity::Kind;
use omni_proto::context::GetConversationRequest;
use omni_proto::events as ev;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::ChatAdapter;
use crate::protocol::ServerFrame;

/// Runs until `shutdown` or the end of the bus's event stream.
pub async fn run(
    adapter: Arc<ChatAdapter>,
    bus: Arc<dyn Bus>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    let mut events = bus.subscribe(subjects::CONVERSATION_EVENTS).await?;
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            next = events.next() => match next {
                Some(m) => m,
                None => break,
            },
        };
        let event = match ev::ConversationEvent::decode(message.payload.as_ref()) {
            Ok(e) => e,
            Err(e) => {
                warn!(subject = %message.subject, error = %e, "undecodable conversation event skipped");
                continue;
            }
        };
        if let Some(ev::conversation_event::Kind::Updated(conversation)) = event.kind {
            let Some(visitor) = chat_visitor(&conversation) else {
                continue;
            };
            let Some(frame) = frame(&conversation, |id| adapter.agent_name(id)) else {
                continue;
            };
            let pages = adapter.push(&visitor, &frame);
            debug!(visitor = %visitor, conversation_id = %conversation.id, pages, "conversation status pushed");
        }
    }
    Ok(())
}

/// The status frame for conversation `conversation_id` as it is now; `None`
/// if it cannot be read (the page then simply shows no status).
pub async fn current(adapter: &ChatAdapter, conversation_id: &str) -> Option<ServerFrame> {
    let found = adapter
        .context()
        .get_conversation(GetConversationRequest {
            conversation_id: conversation_id.to_owned(),
        })
        .await;
    match found {
        Ok(r) => frame(&r.into_inner().conversation?, |id| adapter.agent_name(id)),
        Err(status) => {
            warn!(conversation_id = %conversation_id, error = %status, "conversation status unavailable");
            None
        }
    }
}

/// The chat visitor the customer last wrote as, if it was by chat.
fn chat_visitor(conversation: &pb::Conversation) -> Option<String> {
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
