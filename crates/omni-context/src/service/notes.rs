//! Agents' internal notes and wrap-up codes: a note joins the timeline
//! marked as internal ([`omni_core::Notice::InternalNote`]) and is never
//! handed to an adapter; a resolve carries the queue's wrap-up code (and
//! optionally a note) and counts it per queue and code.

use super::*;
use omni_core::Notice;

/// What a resolve records besides the resolve itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WrapUp {
    /// One of the queue's `wrapup_codes`; required from a person when the
    /// queue has any.
    pub code: Option<String>,
    /// An internal note stored with the resolve.
    pub note: Option<String>,
    /// When to check in with the customer (a follow-up the agent set),
    /// epoch ms.
    pub followup_at_ms: Option<Millis>,
}

/// What a note is written with besides its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteOptions {
    /// `queue <id>` or `agent <id>` when the note comes with a transfer.
    pub transfer_to: Option<String>,
    /// The resolve's wrap-up code, when it comes with one.
    pub wrapup_code: Option<String>,
}

fn check_text(text: &str, what: &str) -> Result<(), ContextError> {
    if text.trim().is_empty() {
        return Err(ContextError::InvalidArgument(format!(
            "{what} must not be empty"
        )));
    }
    if text.len() > MAX_REPLY_BYTES {
        return Err(ContextError::InvalidArgument(format!(
            "{what} of {} bytes exceeds the limit of {MAX_REPLY_BYTES} bytes",
            text.len()
        )));
    }
    Ok(())
}

impl ContextService {
    /// Stores an agent's internal note in the conversation's timeline:
    /// marked, shown to agents only, never published to an adapter.
    /// Idempotent by key. Only the conversation's holder (as themselves)
    /// or a supervisor may write one.
    pub async fn add_note(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        text: &str,
        idempotency_key: &str,
        options: NoteOptions,
        caller: &Caller,
    ) -> Result<StoredMessage, ContextError> {
        check_text(text, "note")?;
        if idempotency_key.is_empty() || idempotency_key.len() > 128 {
            return Err(ContextError::InvalidArgument(
                "idempotency_key must be 1-128 bytes".into(),
            ));
        }
        let conversation = self.conversation(conversation_id).await?;
        // Right after an accept the assignment may still be on its way here.
        let conversation = self.awaiting_assignment(conversation, caller).await?;
        crate::authority::check_reply(caller, agent, &conversation)?;
        let message = self
            .store
            .append_outbound(NewOutbound {
                conversation_id: conversation_id.clone(),
                agent_id: Some(agent.clone()),
                text: text.to_owned(),
                channel: conversation.last_channel,
                idempotency_key: format!("note:{conversation_id}:{idempotency_key}"),
                at_ms: now_ms(),
                id: MessageId::generate(),
                email: None,
                notice: Some(Notice::InternalNote {
                    transfer_to: options.transfer_to,
                    wrapup_code: options.wrapup_code,
                }),
                options: Vec::new(),
            })
            .await?;
        info!(conversation_id = %conversation_id, agent_id = %agent, seq = message.seq, "internal note stored");
        self.emit_message(&message).await;
        Ok(message)
    }

    /// Checks `code` against the queue's wrap-up codes: a person must give
    /// one when the queue has any; nobody may give one it does not list.
    pub(super) fn check_wrapup(
        &self,
        conversation: &Conversation,
        code: Option<&str>,
        caller: &Caller,
    ) -> Result<(), ContextError> {
        let codes = self.settings.wrapup_codes(&conversation.queue);
        match code {
            None if caller.actor().is_some() && !codes.is_empty() => {
                Err(ContextError::InvalidArgument(format!(
                    "queue {} needs a wrap-up code to resolve: one of {}",
                    conversation.queue,
                    codes.join(", ")
                )))
            }
            Some(code) if !codes.iter().any(|c| c == code) => {
                Err(ContextError::InvalidArgument(if codes.is_empty() {
                    format!(
                        "queue {} has no wrap-up codes; {code:?} is not one",
                        conversation.queue
                    )
                } else {
                    format!(
                        "wrap-up code {code:?} is not one of queue {}'s: {}",
                        conversation.queue,
                        codes.join(", ")
                    )
                }))
            }
            _ => Ok(()),
        }
    }

    /// The wrap-up's note, stored before the resolve.
    pub(super) async fn wrapup_note(
        &self,
        conversation: &Conversation,
        wrapup: &WrapUp,
        caller: &Caller,
    ) -> Result<(), ContextError> {
        let Some(note) = wrapup.note.as_deref().filter(|n| !n.trim().is_empty()) else {
            return Ok(());
        };
        check_text(note, "note")?;
        let agent = match (caller.actor(), &conversation.assigned_agent) {
            (Some(actor), _) => AgentId::from(actor.user.as_str()),
            (None, Some(agent)) => agent.clone(),
            (None, None) => AgentId::from("system"),
        };
        self.add_note(
            &conversation.id,
            &agent,
            note,
            // One wrap-up note per resolve: a retried resolve stores it once.
            &format!("wrapup:{}", conversation.message_count),
            NoteOptions {
                transfer_to: None,
                wrapup_code: wrapup.code.clone(),
            },
            caller,
        )
        .await
        .map(|_| ())
    }
}

/// Counts a resolve's wrap-up code (`omni_wrapups_total`).
pub(super) fn count_wrapup(queue: &QueueId, code: &str) {
    omni_telemetry::count!(
        "omni_wrapups_total",
        "conversations resolved, by queue and wrap-up code",
        &[("queue", queue.as_str()), ("code", code)],
    );
}
