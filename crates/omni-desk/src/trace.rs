//! Agents' actions in the customer's trace: an action on a conversation
//! (accept, decline, reply, resolve, transfer) runs in a `desk.<action>`
//! span whose parent is the conversation's latest customer message (the
//! context service keeps its `traceparent` on the conversation), not in a
//! trace of its own. The gRPC calls it makes carry the span's context on.
//!
//! Finding the conversation's trace costs a read of the conversation, so
//! it is done only while spans are exported.

use omni_core::access::Actor;
use omni_core::trace::TraceContext;
use omni_proto::context::GetConversationRequest;
use tracing::Span;

use crate::Desk;
use crate::desk::traced;

/// The span of `action` on `conversation_id` (empty when not known yet),
/// continuing `trace` when given.
pub fn action_span(action: &str, conversation_id: &str, trace: Option<TraceContext>) -> Span {
    let span = tracing::info_span!(
        "desk.action",
        otel.name = %format_args!("desk.{action}"),
        omni.action = %action,
        omni.conversation_id = %conversation_id,
    );
    if let Some(trace) = trace {
        omni_telemetry::continue_trace(&span, &trace);
    }
    span
}

impl Desk {
    /// The trace of `conversation_id`'s latest customer message, while
    /// spans are exported.
    pub async fn conversation_trace(
        &self,
        actor: &Actor,
        conversation_id: &str,
    ) -> Option<TraceContext> {
        if !omni_telemetry::exporting() {
            return None;
        }
        let found = self
            .context()
            .get_conversation(traced(
                actor,
                GetConversationRequest {
                    conversation_id: conversation_id.to_owned(),
                },
            ))
            .await
            .ok()?
            .into_inner();
        TraceContext::parse(&found.conversation?.traceparent)
    }

    /// The conversation `offer_id` offers `actor` and its trace (the trace
    /// only while spans are exported).
    pub async fn offer_trace(
        &self,
        actor: &Actor,
        offer_id: &str,
    ) -> (String, Option<TraceContext>) {
        if !omni_telemetry::exporting() {
            return (String::new(), None);
        }
        let conversation = match self.agent_state_of(actor).await {
            Ok(Some(state)) => state
                .offers
                .iter()
                .find(|o| o.offer_id == offer_id)
                .map(|o| o.conversation_id.clone()),
            _ => None,
        };
        match conversation {
            Some(id) => {
                let trace = self.conversation_trace(actor, &id).await;
                (id, trace)
            }
            None => (String::new(), None),
        }
    }
}
