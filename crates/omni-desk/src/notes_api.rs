//! Internal notes and transfers with a note: an agent writes a note on a
//! conversation they hold (agents only ever see it; it is never sent to
//! the customer), and hands a conversation to another agent or a queue
//! with a note that lands in the timeline before the transfer, so the
//! receiving agent reads it with the whole history.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use omni_core::access::Actor;
use omni_proto::context::AddNoteRequest;
use omni_proto::routing::{TransferRequest, transfer_request};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::Desk;
use crate::access::{Caller, ClientAddr};
use crate::api::{MAX_REPLY_BYTES, body};
use crate::desk::traced;
use crate::error::DeskError;

type ApiResult = Result<Json<Value>, DeskError>;

/// `POST /api/conversations/{id}/notes` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    text: String,
    client_id: String,
}

fn check_note(text: &str) -> Result<(), DeskError> {
    if text.trim().is_empty() {
        return Err(DeskError::BadRequest("note must not be empty".into()));
    }
    if text.len() > MAX_REPLY_BYTES {
        return Err(DeskError::BadRequest(format!(
            "note of {} bytes exceeds the limit of {MAX_REPLY_BYTES} bytes",
            text.len()
        )));
    }
    Ok(())
}

/// `POST /api/conversations/{id}/notes`: an internal note, agents only.
pub async fn add(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<NoteBody>, JsonRejection>,
) -> ApiResult {
    let req = body(payload)?;
    check_note(&req.text)?;
    if !caller
        .actor
        .role
        .at_least(omni_core::access::Role::Supervisor)
    {
        desk.check_access(&caller.actor, &id, true).await?;
    }
    let message = add_note(&desk, &caller.actor, &id, &req.text, &req.client_id, None).await?;
    Ok(Json(json!(message)))
}

/// Stores a note through the context service, as `actor`.
pub async fn add_note(
    desk: &Desk,
    actor: &Actor,
    conversation: &str,
    text: &str,
    key: &str,
    transfer_to: Option<&str>,
) -> Result<omni_proto::view::MessageView, DeskError> {
    // The same wait as reading the conversation: a note right after an
    // accept may reach the context service before the assignment does.
    let message = crate::api::until_assignment_lands(|| {
        let request = AddNoteRequest {
            conversation_id: conversation.to_owned(),
            agent_id: actor.user.clone(),
            text: text.to_owned(),
            idempotency_key: key.to_owned(),
            transfer_to: transfer_to.unwrap_or_default().to_owned(),
        };
        let mut context = desk.context();
        async move { context.add_note(traced(actor, request)).await }
    })
    .await?
    .into_inner();
    Ok(desk.message_view(&message))
}

/// Where a transfer goes: exactly one of a queue or an agent.
pub fn target(
    queue: Option<String>,
    agent: Option<String>,
) -> Result<(transfer_request::Target, String), DeskError> {
    match (queue, agent) {
        (Some(q), None) if !q.is_empty() => {
            let to = format!("queue {q}");
            Ok((transfer_request::Target::Queue(q), to))
        }
        (None, Some(a)) if !a.is_empty() => {
            let to = format!("agent {a}");
            Ok((transfer_request::Target::AgentId(a), to))
        }
        _ => Err(DeskError::BadRequest(
            "give exactly one of \"queue\" or \"agent\"".into(),
        )),
    }
}

/// The note (if any) in the timeline, then the transfer, as `actor`, in
/// the conversation's trace, audited.
pub async fn note_then_transfer(
    desk: &Desk,
    actor: &Actor,
    from: Option<std::net::IpAddr>,
    conversation: &str,
    (target, to): (transfer_request::Target, String),
    note: Option<&str>,
) -> ApiResult {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(note) = note {
        check_note(note)?;
    }
    let trace = desk.conversation_trace(actor, conversation).await;
    async {
        if let Some(note) = note {
            // One note per transfer target: a retried transfer stores it once.
            let key = format!("transfer:{to}:{}", omni_core::time::now_ms() / 60_000);
            add_note(desk, actor, conversation, note, &key, Some(&to)).await?;
        }
        desk.router()
            .transfer_conversation(traced(
                actor,
                TransferRequest {
                    conversation_id: conversation.to_owned(),
                    target: Some(target),
                },
            ))
            .await?;
        Ok::<_, DeskError>(())
    }
    .instrument(crate::trace::action_span("transfer", conversation, trace))
    .await?;
    let detail = match note {
        Some(_) => format!("{to}, with a note"),
        None => to.clone(),
    };
    desk.accounts()
        .audit(&actor.user, "transfer", conversation, from, &detail)
        .await;
    Ok(Json(
        json!({ "conversation_id": conversation, "to": to, "noted": note.is_some() }),
    ))
}

/// `POST /api/conversations/{id}/handover` body: exactly one target, and
/// an optional note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    queue: Option<String>,
    agent: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/conversations/{id}/handover`: an agent transfers a
/// conversation assigned to them to another agent or a queue, with a note.
pub async fn handover(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Extension(ClientAddr(from)): Extension<ClientAddr>,
    Path(id): Path<String>,
    payload: Result<Json<HandoverBody>, JsonRejection>,
) -> ApiResult {
    let req = body(payload)?;
    let target = target(req.queue, req.agent)?;
    desk.check_access(&caller.actor, &id, true).await?;
    note_then_transfer(&desk, &caller.actor, from, &id, target, req.note.as_deref()).await
}
