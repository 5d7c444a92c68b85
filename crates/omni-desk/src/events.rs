//! `GET /api/events`: the agent's live events over a WebSocket.
//!
//! Merges the router's `WatchAgent` stream (state, offers, assignments) with
//! the context service's conversation events, filtered to the
//! conversations assigned to the agent (a customer's typing included; the
//! agent's own typing and read receipts, which are for the customer, are
//! not echoed). If either backend stream ends, the socket closes with 1011
//! so the page reconnects and resyncs. What the page sends (its typing and
//! reading) goes to [`crate::signals`].

use std::collections::HashSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use omni_proto::context::WatchConversationsRequest;
use omni_proto::events::conversation_event;
use omni_proto::routing::{WatchAgentRequest, agent_event};
use omni_proto::view::{AgentView, ConversationView, OfferView};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::Desk;
use crate::access::Caller;
use crate::desk::{as_desk, traced};
use omni_core::Actor;

/// Largest frame and message the page may send, in bytes: it sends none
/// the desk acts on, so a larger one (axum's default is 64 MiB) closes the
/// socket with 1009 instead of being buffered.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Upgrades to the event WebSocket of the signed-in caller (the gate has
/// checked the session cookie and `Origin`; a token in the query string is
/// not a credential).
pub async fn upgrade(
    State((desk, shutdown)): State<(Arc<Desk>, CancellationToken)>,
    Extension(caller): Extension<Caller>,
    ws: WebSocketUpgrade,
) -> Response {
    let (actor, session) = (caller.actor, caller.session.token_hash);
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(desk, actor, session, socket, shutdown))
}

/// How often an open socket checks that its session still holds (not
/// expired, signed out, or revoked by a password change or a disable).
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

async fn run(
    desk: Arc<Desk>,
    actor: Actor,
    session: String,
    socket: WebSocket,
    shutdown: CancellationToken,
) {
    let (mut sink, mut incoming) = socket.split();
    let agent = actor.user.clone();
    let agent_stream = desk
        .router()
        .watch_agent(traced(
            &actor,
            WatchAgentRequest {
                agent_id: agent.clone(),
            },
        ))
        .await;
    let conversation_stream = desk
        .context()
        .watch_conversations(as_desk(WatchConversationsRequest::default()))
        .await;
    let (mut agent_events, mut conversation_events) = match (agent_stream, conversation_stream) {
        (Ok(a), Ok(c)) => (a.into_inner(), c.into_inner()),
        (Err(e), _) | (_, Err(e)) => {
            warn!(agent_id = %agent, error = %e, "desk events unavailable");
            let _ = sink.send(close(1011, "events unavailable; retry")).await;
            return;
        }
    };
    let mut assigned: HashSet<String> = HashSet::new();
    let mut signals = crate::signals::Signals::default();
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let reason = loop {
        let frame: Option<Value> = tokio::select! {
            _ = shutdown.cancelled() => break (1001, "server shutting down"),
            _ = check.tick() => {
                let accounts = desk.accounts();
                let policy = accounts.policy();
                let now = omni_core::time::now_ms();
                match accounts.store().session(&session, now, &policy).await {
                    Ok(Some(_)) => None,
                    Ok(None) => break (4001, "session ended; sign in again"),
                    // The store is away: keep the socket; the next check decides.
                    Err(e) => {
                        warn!(agent_id = %agent, error = %e, "cannot check the event socket's session");
                        None
                    }
                }
            }
            msg = incoming.next() => match msg {
                None | Some(Ok(WsMessage::Close(_))) => break (1000, "bye"),
                Some(Err(e)) => {
                    warn!(agent_id = %agent, error = %e, "desk event socket closed on a protocol error");
                    break (1009, "frame too large or malformed");
                }
                Some(Ok(WsMessage::Text(text))) => {
                    signals.on_frame(&desk, &actor, &assigned, text.as_str());
                    None
                }
                Some(Ok(_)) => None,
            },
            event = agent_events.next() => match event {
                Some(Ok(event)) => agent_frame(event.kind, &mut assigned),
                Some(Err(e)) => {
                    warn!(agent_id = %agent, error = %e, "agent event stream failed");
                    break (1011, "agent events interrupted; reconnect");
                }
                None => break (1011, "agent events ended; reconnect"),
            },
            event = conversation_events.next() => match event {
                Some(Ok(event)) if assigned.contains(&event.conversation_id) || followup_for(&event, &agent) => conversation_frame(&desk, &event.conversation_id, event.kind),
                Some(Ok(_)) => None,
                Some(Err(e)) => {
                    warn!(agent_id = %agent, error = %e, "conversation event stream failed");
                    break (1011, "conversation events interrupted; reconnect");
                }
                None => break (1011, "conversation events ended; reconnect"),
            },
        };
        if let Some(frame) = frame
            && sink
                .send(WsMessage::Text(frame.to_string().into()))
                .await
                .is_err()
        {
            break (1000, "bye");
        }
    };
    debug!(agent_id = %agent, code = reason.0, "desk event socket closing");
    let _ = sink.send(close(reason.0, reason.1)).await;
}

fn close(code: u16, reason: &'static str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

fn agent_frame(kind: Option<agent_event::Kind>, assigned: &mut HashSet<String>) -> Option<Value> {
    Some(match kind? {
        agent_event::Kind::State(state) => {
            *assigned = state.assigned.iter().cloned().collect();
            json!({ "type": "state", "agent": AgentView::from(&state) })
        }
        agent_event::Kind::Offered(offer) => {
            json!({ "type": "offer", "offer": OfferView::from(&offer) })
        }
        agent_event::Kind::Rescinded(r) => json!({
            "type": "offer_rescinded",
            "offer_id": r.offer_id,
            "conversation_id": r.conversation_id,
            "reason": r.reason,
        }),
        agent_event::Kind::Assigned(a) => {
            assigned.insert(a.conversation_id.clone());
            json!({ "type": "assigned", "conversation_id": a.conversation_id })
        }
        agent_event::Kind::Released(r) => {
            assigned.remove(&r.conversation_id);
            json!({ "type": "released", "conversation_id": r.conversation_id })
        }
    })
}

/// Whether `event` is a change of a follow-up set for `agent`, or of a
/// survey attributed to them.
fn followup_for(event: &omni_proto::events::ConversationEvent, agent: &str) -> bool {
    match &event.kind {
        Some(conversation_event::Kind::Followup(f)) => f.agent == agent,
        Some(conversation_event::Kind::Survey(s)) => s.agent == agent,
        _ => false,
    }
}

fn conversation_frame(
    desk: &Desk,
    conversation_id: &str,
    kind: Option<conversation_event::Kind>,
) -> Option<Value> {
    Some(match kind? {
        conversation_event::Kind::Message(m) => {
            json!({ "type": "message", "message": desk.message_view(&m) })
        }
        conversation_event::Kind::Updated(c) => {
            json!({ "type": "conversation", "conversation": ConversationView::from(&c) })
        }
        conversation_event::Kind::Typing(t) if t.by == "customer" => json!({
            "type": "typing",
            "conversation_id": conversation_id,
            "typing": t.typing,
        }),
        conversation_event::Kind::Followup(f) => {
            let view = omni_proto::context::FollowupView {
                due_at_ms: f.due_at_ms,
                state: f.state,
                outcome: f.outcome,
                agent: f.agent,
                by_agent: f.by_agent,
                sent_at_ms: f.sent_at_ms,
                replied: f.replied,
            };
            json!({
                "type": "followup",
                "conversation_id": conversation_id,
                "followup": crate::api::followup_view(&view, |a| desk.agent_name(a)),
            })
        }
        conversation_event::Kind::Survey(s) => json!({
            "type": "survey",
            "conversation_id": conversation_id,
            "survey": crate::survey_view::survey_json(&s, |a| desk.agent_name(a)),
        }),
        conversation_event::Kind::Typing(_) | conversation_event::Kind::Read(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use omni_proto::events::{ConversationEvent, FollowupChanged, Typing};

    use super::*;

    #[test]
    fn a_followup_change_goes_to_its_agent_only() {
        let change = ConversationEvent {
            conversation_id: "conv_1".into(),
            kind: Some(conversation_event::Kind::Followup(FollowupChanged {
                agent: "bob".into(),
                state: "cancelled".into(),
                ..FollowupChanged::default()
            })),
        };
        assert!(followup_for(&change, "bob"));
        assert!(!followup_for(&change, "alice"), "another agent's follow-up");
        let typing = ConversationEvent {
            conversation_id: "conv_1".into(),
            kind: Some(conversation_event::Kind::Typing(Typing {
                by: "customer".into(),
                ..Typing::default()
            })),
        };
        assert!(
            !followup_for(&typing, "bob"),
            "other events of a conversation no longer the agent's stay out"
        );
    }

    #[test]
    fn a_survey_change_goes_to_its_agent_only() {
        let change = ConversationEvent {
            conversation_id: "conv_1".into(),
            kind: Some(conversation_event::Kind::Survey(
                omni_proto::events::SurveyView {
                    agent: "bob".into(),
                    phase: "answered".into(),
                    ..Default::default()
                },
            )),
        };
        assert!(followup_for(&change, "bob"));
        assert!(!followup_for(&change, "alice"), "another agent's survey");
    }
}
