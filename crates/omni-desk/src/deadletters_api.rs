//! `GET /api/admin/deadletters?channel=&limit=`: the replies adapters gave
//! up on after their last retry, newest first, for admins. The desk asks
//! the context service as the signed-in admin (`ListDeadLetters`, admin
//! only there too).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::{Extension, Json};
use omni_proto::context::ListDeadLettersRequest;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Desk;
use crate::access::Caller;
use crate::desk::traced;
use crate::error::DeskError;

/// `?channel=&limit=` of the dead letters.
#[derive(Deserialize)]
pub struct DeadLettersQuery {
    /// Only this channel's; every channel's when absent or empty.
    #[serde(default)]
    channel: Option<String>,
    /// At most this many (100 by default, at most 1000).
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /api/admin/deadletters`: `{"dead_letters":[{"channel",
/// "conversation_id","message_id","recipient","reason","attempts",
/// "at_ms","text","decode_error"}]}`, newest first; `recipient` is where
/// the adapter was sending the message (the app's webhook URL).
pub async fn list(
    State(desk): State<Arc<Desk>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<DeadLettersQuery>,
) -> Result<Json<Value>, DeskError> {
    let letters = desk
        .context()
        .list_dead_letters(traced(
            &caller.actor,
            ListDeadLettersRequest {
                channel: q.channel.unwrap_or_default(),
                limit: q.limit.unwrap_or(100).min(1000),
            },
        ))
        .await?
        .into_inner()
        .dead_letters;
    let letters: Vec<Value> = letters
        .into_iter()
        .map(|l| {
            json!({
                "channel": l.channel,
                "conversation_id": l.conversation_id,
                "message_id": l.message_id,
                "recipient": l.destination,
                "reason": l.reason,
                "attempts": l.attempts,
                "at_ms": l.at_ms,
                "text": l.text,
                "decode_error": Some(l.decode_error).filter(|e| !e.is_empty()),
            })
        })
        .collect();
    Ok(Json(json!({ "dead_letters": letters })))
}
