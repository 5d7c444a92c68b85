//! `GET /api/events?token=…`: the agent's live events over a WebSocket.
//!
//! Merges the router's `WatchAgent` stream (state, offers, assignments) with
//! the context service's conversation events, filtered to the
//! conversations assigned to the agent. If either backend stream ends, the
//! socket closes with 1011 so the page reconnects and resyncs.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use omni_proto::context::WatchConversationsRequest;
use omni_proto::events::conversation_event;
use omni_proto::routing::{WatchAgentRequest, agent_event};
use omni_proto::view::{AgentView, ConversationView, MessageView, OfferView};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::Desk;
use crate::desk::{as_desk, traced};
use crate::error::DeskError;
use omni_core::access::{Actor, Role};

/// Query of the upgrade request.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    token: Option<String>,
}

/// Upgrades to the event WebSocket after checking the session token.
pub async fn upgrade(
    State((desk, shutdown)): State<(Arc<Desk>, CancellationToken)>,
    Query(query): Query<EventsQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let agent = match query.token.as_deref().map(|t| desk.agent_of(t)) {
        Some(Ok(agent)) => agent,
        _ => return DeskError::Unauthorized.into_response(),
    };
    ws.on_upgrade(move |socket| run(desk, agent, socket, shutdown))
}

async fn run(desk: Arc<Desk>, agent: String, socket: WebSocket, shutdown: CancellationToken) {
    let (mut sink, mut incoming) = socket.split();
    let actor = Actor::new(agent.clone(), Role::Agent);
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
    let reason = loop {
        let frame: Option<Value> = tokio::select! {
            _ = shutdown.cancelled() => break (1001, "server shutting down"),
            msg = incoming.next() => match msg {
                None | Some(Ok(WsMessage::Close(_))) | Some(Err(_)) => break (1000, "bye"),
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
                Some(Ok(event)) if assigned.contains(&event.conversation_id) => conversation_frame(&desk, event.kind),
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

fn conversation_frame(desk: &Desk, kind: Option<conversation_event::Kind>) -> Option<Value> {
    Some(match kind? {
        conversation_event::Kind::Message(m) => {
            json!({ "type": "message", "message": MessageView::new(&m, |a| desk.agent_name(a)) })
        }
        conversation_event::Kind::Updated(c) => {
            json!({ "type": "conversation", "conversation": ConversationView::from(&c) })
        }
    })
}
