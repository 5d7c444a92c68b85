//! A later message raises a waiting contact's priority: when a customer
//! message of a conversation that already waits for an agent matches a
//! routing rule with a `priority`, the conversation's routing request is
//! sent again with that priority and the rule's reason. The router raises
//! the contact it holds (never lowers it; it keeps its age) and names the
//! rule in its explanation (docs/routing.md). The request's bus id names
//! the message, so a redelivered message asks once.

use super::*;

/// Why a routing request for a conversation the router may already hold
/// is sent again; the bus id names it ([`ContextService::request_routing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The customer changed channel with the message of this seq.
    Channel(u64),
    /// The message of this seq matched a rule with a priority.
    Priority(u64),
}

impl ContextService {
    /// Asks the router to raise `conversation`'s contact when it waits for
    /// an agent and `decision` (message `seq`'s rules) set a priority.
    pub(super) async fn raise_priority(
        &self,
        conversation: &Conversation,
        seq: u64,
        decision: Option<&Decision>,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        if conversation.status != ConversationStatus::Queued
            || decision.is_none_or(|d| d.priority == 0)
        {
            return Ok(());
        }
        self.request_routing(conversation, Some(Change::Priority(seq)), decision, trace)
            .await
    }
}
