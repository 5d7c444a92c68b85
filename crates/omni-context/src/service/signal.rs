//! An agent's typing and reading, told to the customer: checked like a
//! reply (only the conversation's holder, as themselves, or a supervisor;
//! never on a resolved conversation) and published as a
//! `ConversationEvent` on the conversation's fan-out subject, which the
//! chat adapter forwards to the customer's page. Nothing is stored.

use super::*;
use omni_core::Direction;

/// How many of the customer's latest messages up to the read seq are
/// looked at for chat client ids.
const READ_WINDOW: u64 = 50;

/// What the agent signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Typing (true) or stopped (false).
    Typing(bool),
    /// Was shown the customer's messages up to this seq.
    ReadUpTo(u64),
}

impl ContextService {
    /// Publishes `signal` of `agent` on conversation `conversation_id`.
    pub async fn signal(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        signal: Signal,
        caller: &Caller,
    ) -> Result<(), ContextError> {
        let conversation = self.conversation(conversation_id).await?;
        crate::authority::check_reply(caller, agent, &conversation)?;
        let kind = match signal {
            Signal::Typing(typing) => ev::conversation_event::Kind::Typing(ev::Typing {
                by: "agent".into(),
                agent_id: agent.to_string(),
                typing,
                at_ms: now_ms(),
            }),
            Signal::ReadUpTo(up_to_seq) => {
                let after = up_to_seq.saturating_sub(READ_WINDOW);
                let limit = usize::try_from(up_to_seq - after).unwrap_or(0);
                let messages = self.store.messages(conversation_id, after, limit).await?;
                let client_ids = messages
                    .iter()
                    .filter(|m| m.direction == Direction::Inbound && m.seq <= up_to_seq)
                    .filter_map(|m| chat_client_id(&m.idempotency_key))
                    .map(str::to_owned)
                    .collect();
                ev::conversation_event::Kind::Read(ev::ReadReceipt {
                    agent_id: agent.to_string(),
                    up_to_seq,
                    client_ids,
                    at_ms: now_ms(),
                })
            }
        };
        let event = ev::ConversationEvent {
            conversation_id: conversation_id.to_string(),
            kind: Some(kind),
        };
        self.emit(conversation_id, event).await;
        Ok(())
    }
}

/// The chat page's own id of a chat message, from its idempotency key
/// `chat:<visitor>:<client id>`.
fn chat_client_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("chat:")?;
    let (_visitor, client_id) = rest.split_once(':')?;
    (!client_id.is_empty()).then_some(client_id)
}

#[cfg(test)]
mod tests {
    use super::chat_client_id;

    #[test]
    fn client_ids_come_from_chat_keys_only() {
        assert_eq!(chat_client_id("chat:v_1:c-9"), Some("c-9"));
        assert_eq!(chat_client_id("twilio:SM1"), None);
        assert_eq!(chat_client_id("chat:v_1:"), None);
        assert_eq!(chat_client_id("<m@example.com>"), None);
    }
}
