//! What a supervisor does to others' work from the desk: change another
//! agent's presence (with a reason) and move a waiting or assigned
//! conversation to a queue or an agent. The gate lets only supervisors and
//! admins in; the router checks again (the desk calls it as the signed-in
//! person), and every act is in the account audit log under their name.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use omni_proto::routing::{SetPresenceRequest, TransferRequest, transfer_request};
use omni_proto::view::AgentView;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::Desk;
use crate::access::{Caller, ClientAddr};
use crate::api::{body, presence};
use crate::desk::traced;
use crate::error::DeskError;

/// Longest reason for changing someone's presence, in bytes.
const MAX_REASON_BYTES: usize = 512;

type ApiResult = Result<Json<Value>, DeskError>;

/// `PUT /api/agents/{id}/presence` body.
#[derive(Debug, Deserialize)]
pub struct AgentPresenceBody {
    presence: String,
    reason: String,
}

/// `PUT /api/agents/{id}/presence`: set another agent's presence, saying why.
pub async fn set_agent_presence(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Path(agent): Path<String>,
    payload: Result<Json<AgentPresenceBody>, JsonRejection>,
) -> ApiResult {
    let req = body(payload)?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.len() > MAX_REASON_BYTES {
        return Err(DeskError::BadRequest(format!(
            "a reason is required, at most {MAX_REASON_BYTES} bytes"
        )));
    }
    let state = desk
        .router()
        .set_presence(traced(
            &caller.actor,
            SetPresenceRequest {
                agent_id: agent.clone(),
                presence: presence(&req.presence)? as i32,
                reason: reason.to_owned(),
            },
        ))
        .await?
        .into_inner();
    desk.accounts()
        .audit(
            &caller.actor.user,
            "set_presence",
            &agent,
            from,
            &format!("{}: {reason}", req.presence),
        )
        .await;
    Ok(Json(json!(AgentView::from(&state))))
}

/// `POST /api/conversations/{id}/transfer` body: exactly one target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// Waits in this queue from now.
    queue: Option<String>,
    /// Offered to this agent.
    agent: Option<String>,
}

/// `POST /api/conversations/{id}/transfer`: move a waiting or assigned
/// conversation to a queue or an agent.
pub async fn transfer(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Path(conversation): Path<String>,
    payload: Result<Json<TransferBody>, JsonRejection>,
) -> ApiResult {
    let (target, detail) = match body(payload)? {
        TransferBody {
            queue: Some(q),
            agent: None,
        } if !q.is_empty() => (
            transfer_request::Target::Queue(q.clone()),
            format!("queue {q}"),
        ),
        TransferBody {
            queue: None,
            agent: Some(a),
        } if !a.is_empty() => (
            transfer_request::Target::AgentId(a.clone()),
            format!("agent {a}"),
        ),
        _ => {
            return Err(DeskError::BadRequest(
                "give exactly one of \"queue\" or \"agent\"".into(),
            ));
        }
    };
    let trace = desk.conversation_trace(&caller.actor, &conversation).await;
    // The request is made inside the span, so it carries the span's context.
    async {
        desk.router()
            .transfer_conversation(traced(
                &caller.actor,
                TransferRequest {
                    conversation_id: conversation.clone(),
                    target: Some(target),
                },
            ))
            .await
    }
    .instrument(crate::trace::action_span("transfer", &conversation, trace))
    .await?;
    desk.accounts()
        .audit(&caller.actor.user, "transfer", &conversation, from, &detail)
        .await;
    Ok(Json(
        json!({ "conversation_id": conversation, "to": detail }),
    ))
}
