//! The desk's JSON HTTP API (`/api/...`). Every error is
//! `{"error":"<code>","message":"<text>"}` with a 4xx/5xx status.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use omni_proto::context::{
    GetConversationRequest, ListMessagesRequest, ResolveConversationRequest, SendMessageRequest,
};
use omni_proto::routing::{OfferRequest, Presence, SetPresenceRequest};
use omni_proto::view::{AgentView, ConversationView, CustomerView};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::Desk;
use crate::access::Caller;
use crate::desk::traced;
use crate::error::DeskError;
use crate::survey_view::survey_json;
use crate::trace::action_span;

/// Largest reply the desk accepts, in bytes (the context service's limit).
pub const MAX_REPLY_BYTES: usize = 16 * 1024;

type ApiResult = Result<Json<Value>, DeskError>;

/// The JSON body, or a 400 naming what is wrong.
pub fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, DeskError> {
    payload
        .map(|Json(v)| v)
        .map_err(|e| DeskError::BadRequest(format!("invalid JSON body: {}", e.body_text())))
}

/// A presence as the desk names it.
pub fn presence(name: &str) -> Result<Presence, DeskError> {
    match name {
        "available" => Ok(Presence::Available),
        "away" => Ok(Presence::Away),
        "offline" => Ok(Presence::Offline),
        other => Err(DeskError::BadRequest(format!(
            "presence {other:?} is not one of available, away, offline"
        ))),
    }
}

/// `PUT /api/presence` body.
#[derive(Debug, Deserialize)]
pub struct PresenceBody {
    presence: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `PUT /api/presence`: available, away (with a reason) or offline.
pub async fn set_presence(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    payload: Result<Json<PresenceBody>, JsonRejection>,
) -> ApiResult {
    let agent = caller.actor.user.clone();
    let actor = caller.actor.clone();
    let req = body(payload)?;
    let presence = presence(&req.presence)?;
    desk.settings()
        .check_away_reason(&req.presence, req.reason.as_deref())?;
    let state = desk
        .router()
        .set_presence(traced(
            &actor,
            SetPresenceRequest {
                agent_id: agent,
                presence: presence as i32,
                reason: req.reason.unwrap_or_default(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(json!(AgentView::from(&state))))
}

/// `POST /api/offers/{offer_id}/{action}`: `accept` or `decline`.
pub async fn settle_offer(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path((offer_id, action)): Path<(String, String)>,
) -> ApiResult {
    let agent = caller.actor.user.clone();
    let actor = caller.actor.clone();
    if !matches!(action.as_str(), "accept" | "decline") {
        return Err(DeskError::NoRoute);
    }
    let (conversation, trace) = desk.offer_trace(&actor, &offer_id).await;
    async {
        let request = traced(
            &actor,
            OfferRequest {
                agent_id: agent,
                offer_id,
            },
        );
        let mut router = desk.router();
        let state = match action.as_str() {
            "accept" => router.accept_offer(request).await?,
            _ => router.decline_offer(request).await?,
        }
        .into_inner();
        Ok(Json(json!(AgentView::from(&state))))
    }
    .instrument(action_span(&action, &conversation, trace))
    .await
}

/// How long reading a conversation the router gives the agent waits for
/// the context service to hear of the assignment.
const TRANSFER_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Calls the context service through `call`, again every 50 ms for up to
/// [`TRANSFER_WAIT`] while it answers `PERMISSION_DENIED`: the router says
/// the conversation is the agent's, and the assignment may still be on its
/// way over the bus to the context service.
pub(crate) async fn until_assignment_lands<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + TRANSFER_WAIT;
    loop {
        match call().await {
            Err(status)
                if status.code() == tonic::Code::PermissionDenied
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            answer => return answer,
        }
    }
}

/// `GET /api/conversations/{id}`: conversation, customer and timeline.
pub async fn conversation(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult {
    desk.check_access(&caller.actor, &id, false).await?;
    let actor = caller.actor.clone();
    let mut context = desk.context();
    // The router says the conversation is the agent's (or offered to them);
    // a transfer's new assignment may still be on its way over the bus to
    // the context service, which refuses until it lands: read again for a
    // moment rather than show the agent a refusal.
    let found = until_assignment_lands(|| {
        let request = GetConversationRequest {
            conversation_id: id.clone(),
        };
        let mut context = context.clone();
        let actor = actor.clone();
        async move { context.get_conversation(traced(&actor, request)).await }
    })
    .await?
    .into_inner();
    let mut messages = Vec::new();
    let mut after_seq = 0;
    // Pages of 500 until the end, capped so one request stays bounded.
    for _ in 0..20 {
        let page = context
            .list_messages(traced(
                &actor,
                ListMessagesRequest {
                    conversation_id: id.clone(),
                    after_seq,
                    limit: 500,
                    // Agents see the internal notes, marked.
                    include_notes: true,
                },
            ))
            .await?
            .into_inner();
        messages.extend(page.messages.iter().map(|m| desk.message_view(m)));
        if page.next_after_seq == 0 {
            break;
        }
        after_seq = page.next_after_seq;
    }
    Ok(Json(json!({
        "conversation": found.conversation.as_ref().map(ConversationView::from),
        "customer": found.customer.as_ref().map(CustomerView::from),
        "messages": messages,
        "followup": found.followup.as_ref().map(|f| followup_view(f, |a| desk.agent_name(a))),
        "survey": found.survey.as_ref().map(|s| survey_json(s, |a| desk.agent_name(a))),
    })))
}

/// `POST /api/conversations/{id}/messages` body.
#[derive(Debug, Deserialize)]
pub struct Reply {
    text: String,
    client_id: String,
    #[serde(default)]
    channel: Option<String>,
    /// Files for an email reply; the context service checks their number,
    /// size, type and channel.
    #[serde(default)]
    attachments: Vec<ReplyFile>,
}

/// A file attached to a reply, its content in standard base64.
#[derive(Debug, Deserialize)]
pub struct ReplyFile {
    name: String,
    content_type: String,
    data: String,
}

/// The attachments of a reply, decoded.
fn reply_files(files: Vec<ReplyFile>) -> Result<Vec<omni_proto::events::Attachment>, DeskError> {
    use base64::Engine as _;
    files
        .into_iter()
        .map(|f| {
            let content = base64::engine::general_purpose::STANDARD
                .decode(f.data.as_bytes())
                .map_err(|e| {
                    DeskError::BadRequest(format!(
                        "attachment {:?}: data is not base64: {e}",
                        f.name
                    ))
                })?;
            Ok(omni_proto::events::Attachment {
                size: content.len() as u64,
                name: f.name,
                content_type: f.content_type,
                content,
            })
        })
        .collect()
}

/// `POST /api/conversations/{id}/messages`: reply to the customer.
pub async fn reply(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    payload: Result<Json<Reply>, JsonRejection>,
) -> ApiResult {
    let agent = caller.actor.user.clone();
    let actor = caller.actor.clone();
    let req = body(payload)?;
    if req.text.trim().is_empty() {
        return Err(DeskError::BadRequest("text must not be empty".into()));
    }
    if req.text.len() > MAX_REPLY_BYTES {
        return Err(DeskError::BadRequest(format!(
            "text of {} bytes exceeds the limit of {MAX_REPLY_BYTES} bytes",
            req.text.len()
        )));
    }
    let chosen = match req.channel.as_deref() {
        None | Some("") => None,
        Some(name) => Some(
            omni_core::Channel::known(name).map_err(|e| DeskError::BadRequest(e.to_string()))?,
        ),
    };
    desk.check_access(&caller.actor, &id, true).await?;
    let trace = desk.conversation_trace(&actor, &id).await;
    let span = action_span("reply", &id, trace);
    send_reply(&desk, &actor, agent, id, req, chosen)
        .instrument(span)
        .await
}

/// The reply, checked against the channel it goes out on, sent.
async fn send_reply(
    desk: &Desk,
    actor: &omni_core::access::Actor,
    agent: String,
    id: String,
    req: Reply,
    chosen: Option<omni_core::Channel>,
) -> ApiResult {
    // The reply goes out on the channel chosen, else the customer's last:
    // it must be within that channel's limit.
    let goes_on = match chosen {
        Some(channel) => Some(channel),
        None => desk
            .context()
            .get_conversation(traced(
                actor,
                GetConversationRequest {
                    conversation_id: id.clone(),
                },
            ))
            .await?
            .into_inner()
            .conversation
            .and_then(|c| {
                omni_proto::convert::channel_from_pb(c.last_channel, &c.last_channel_name)
            }),
    };
    if let Some(channel) = goes_on {
        desk.channels().check(channel, &req.text)?;
    }
    let (channel, channel_name) = chosen.map_or((0, String::new()), |c| {
        omni_proto::convert::channel_to_pb(c)
    });
    let attachments = reply_files(req.attachments)?;
    let message = desk
        .context()
        .send_message(traced(
            actor,
            SendMessageRequest {
                conversation_id: id,
                agent_id: agent,
                text: req.text,
                idempotency_key: req.client_id,
                channel,
                channel_name,
                attachments,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(json!(desk.message_view(&message))))
}

/// `POST /api/conversations/{id}/resolve` body (optional): the queue's
/// wrap-up code and an internal note.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    #[serde(default)]
    wrapup_code: String,
    #[serde(default)]
    note: String,
    /// A check-in with the customer on this date (a follow-up,
    /// docs/surveys.md), epoch ms; 0 or absent: as the queue says.
    #[serde(default)]
    followup_at_ms: i64,
}

/// `POST /api/conversations/{id}/resolve`, with a wrap-up code (required
/// when the queue has some: the context service answers 400 naming them),
/// an optional note and check-in date; answers the conversation with the
/// follow-up the resolve scheduled (`followup`, when one was).
pub async fn resolve(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult {
    let wrapup: ResolveBody = if raw.iter().all(u8::is_ascii_whitespace) {
        ResolveBody::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| DeskError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    let agent = caller.actor.user.clone();
    desk.check_access(&caller.actor, &id, true).await?;
    let actor = caller.actor.clone();
    let span = action_span("resolve", &id, desk.conversation_trace(&actor, &id).await);
    async {
        let conversation = desk
            .context()
            .resolve_conversation(traced(
                &actor,
                ResolveConversationRequest {
                    conversation_id: id.clone(),
                    agent_id: agent,
                    wrapup_code: wrapup.wrapup_code,
                    note: wrapup.note,
                    followup_at_ms: wrapup.followup_at_ms,
                },
            ))
            .await?
            .into_inner();
        let mut view = json!(ConversationView::from(&conversation));
        // The follow-up the resolve scheduled, for the agent's view: the
        // conversation is no longer theirs to read through the desk, but
        // the context service lets its last agent read it.
        let found = desk
            .context()
            .get_conversation(traced(
                &actor,
                GetConversationRequest {
                    conversation_id: id,
                },
            ))
            .await
            .ok()
            .map(tonic::Response::into_inner);
        let (followup, survey) = found.map_or((None, None), |f| (f.followup, f.survey));
        if let Some(fields) = view.as_object_mut() {
            if let Some(f) = followup {
                fields.insert(
                    "followup".to_owned(),
                    followup_view(&f, |a| desk.agent_name(a)),
                );
            }
            // The survey the resolve scheduled (surveyview).
            if let Some(s) = survey {
                fields.insert("survey".to_owned(), survey_json(&s, |a| desk.agent_name(a)));
            }
        }
        Ok(Json(view))
    }
    .instrument(span)
    .await
}

/// A conversation's follow-up as the desk's view shows it: when, by whom
/// (`agent_name` resolves the agent's id), and whether it was sent.
pub(crate) fn followup_view(
    f: &omni_proto::context::FollowupView,
    agent_name: impl Fn(&str) -> Option<String>,
) -> serde_json::Value {
    json!({
        "due_at_ms": f.due_at_ms,
        "state": f.state,
        "outcome": f.outcome,
        "agent": f.agent,
        "agent_name": agent_name(&f.agent).unwrap_or_else(|| f.agent.clone()),
        "by_agent": f.by_agent,
        "sent_at_ms": (f.sent_at_ms > 0).then_some(f.sent_at_ms),
        "replied": f.replied,
    })
}
