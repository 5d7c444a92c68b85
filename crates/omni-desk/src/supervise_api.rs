//! What a supervisor does to others' work from the desk: change another
//! agent's presence (with a reason) and move a waiting or assigned
//! conversation to a queue or an agent. The gate lets only supervisors and
//! admins in; the router checks again (the desk calls it as the signed-in
//! person), and every act is in the account audit log under their name.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use omni_proto::routing::SetPresenceRequest;
use omni_proto::view::AgentView;
use serde::Deserialize;
use serde_json::{Value, json};

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

/// `POST /api/conversations/{id}/transfer` body: exactly one target, and
/// an optional internal note (in the timeline before the transfer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// Waits in this queue from now.
    queue: Option<String>,
    /// Offered to this agent.
    agent: Option<String>,
    /// For the receiving agent (see [`crate::notes_api`]).
    #[serde(default)]
    note: Option<String>,
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
    let req = body(payload)?;
    let target = crate::notes_api::target(req.queue, req.agent)?;
    crate::notes_api::note_then_transfer(
        &desk,
        &caller.actor,
        from,
        &conversation,
        target,
        req.note.as_deref(),
    )
    .await
}
