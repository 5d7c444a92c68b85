//! A conversation the router turned away (its queue was full): the
//! customer's automatic answer on their channel, and the conversation
//! resolved with the reason, so that their next message routes again. And
//! the automatic answer itself ([`ContextService::send_auto_answer`]),
//! which the closed-queue reply uses too.

use super::*;

impl ContextService {
    /// Answers the customer of a refused conversation with
    /// `limits.queue_full_answer` (stored without an agent, with a
    /// [`Notice::QueueFull`](omni_core::Notice::QueueFull)), then resolves
    /// it. The customer's messages stay in the timeline. A conversation no
    /// longer queued (resolved or assigned meanwhile) is left alone. Safe to
    /// repeat: the answer is stored and published under keys derived from
    /// the refusal.
    pub async fn record_refusal(
        &self,
        conversation_id: &ConversationId,
        queue: &QueueId,
        at_ms: Millis,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let conversation = self
            .store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("conversation {conversation_id}")))?;
        if conversation.status != ConversationStatus::Queued {
            info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, status = ?conversation.status, "refusal of a conversation no longer queued ignored");
            return Ok(());
        }
        let customer = self.customer(&conversation.customer_id).await?;
        if let Some(to) = self.auto_answer_to(&conversation, &customer, trace) {
            let notice = omni_core::Notice::QueueFull {
                queue: queue.to_string(),
            };
            let text = self.settings.queue_full_answer().to_owned();
            let key = format!("auto:queue_full:{at_ms}");
            self.send_auto_answer(&conversation, to, text, notice, key, trace)
                .await?;
        }
        let resolved = self.store.resolve(conversation_id, now_ms()).await?;
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, %queue, reason = "queue_full", "conversation refused by a full queue; resolved");
        self.emit_conversation(&resolved).await;
        Ok(())
    }

    /// Who an automatic answer on the conversation's channel goes to: none
    /// when the customer has no identity there, or opted out of SMS.
    pub(crate) fn auto_answer_to(
        &self,
        conversation: &Conversation,
        customer: &Customer,
        trace: TraceContext,
    ) -> Option<Identity> {
        let channel = conversation.last_channel;
        let kinds = self.settings.reply_kinds(channel);
        match super::reply::recipient(conversation, customer, channel, &kinds) {
            Ok(to) if channel != Channel::SMS || customer.opt_out(&to).is_none() => Some(to),
            Ok(_) => None,
            Err(e) => {
                warn!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation.id, error = %e, "no identity to send an automatic answer on");
                None
            }
        }
    }

    /// Stores `text` as an automatic answer (no agent) carrying `notice`,
    /// under `idempotency_key`, and queues it for delivery to `to` on the
    /// conversation's channel.
    pub(super) async fn send_auto_answer(
        &self,
        conversation: &Conversation,
        to: Identity,
        text: String,
        notice: omni_core::Notice,
        idempotency_key: String,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        self.send_without_agent(
            conversation,
            &to,
            text,
            super::aftercare::Automatic::Notice(notice),
            idempotency_key,
            trace,
        )
        .await?;
        Ok(())
    }
}
