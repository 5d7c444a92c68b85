//! A conversation waiting in a queue that is closed (business hours): the
//! customer's automatic answer on their channel, saying when the queue
//! opens, in their language. The conversation keeps waiting.

use super::*;

impl ContextService {
    /// Answers the customer of a conversation waiting in a closed queue
    /// with the queue's closed reply: `replies` in the customer's language,
    /// else `reply` (stored without an agent, with a
    /// [`Notice::QueueClosed`](omni_core::Notice::QueueClosed)). A
    /// conversation no longer queued is left alone. Safe to repeat: the
    /// answer is stored under a key derived from the notice.
    pub async fn record_closed(
        &self,
        notice: &ev::QueueClosedNotice,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let conversation_id = ConversationId::from(notice.conversation_id.as_str());
        let conversation = self
            .store
            .conversation(&conversation_id)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("conversation {conversation_id}")))?;
        if conversation.status != ConversationStatus::Queued {
            info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, status = ?conversation.status, "closed-queue notice of a conversation no longer queued ignored");
            return Ok(());
        }
        let customer = self.customer(&conversation.customer_id).await?;
        let text = customer
            .language
            .as_deref()
            .and_then(|l| notice.replies.get(l))
            .unwrap_or(&notice.reply)
            .clone();
        if let Some(to) = self.auto_answer_to(&conversation, &customer, trace) {
            let kind = omni_core::Notice::QueueClosed {
                queue: notice.queue.clone(),
                opens_at_ms: (notice.opens_at_ms > 0).then_some(notice.opens_at_ms),
            };
            let key = format!("auto:queue_closed:{}", notice.at_ms);
            self.send_auto_answer(&conversation, to, text, kind, key, trace)
                .await?;
        }
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, queue = %notice.queue, opens_at_ms = notice.opens_at_ms, "customer told the queue is closed");
        Ok(())
    }
}
