//! A conversation the router turned away (its queue was full): the
//! customer's automatic answer on their channel, and the conversation
//! resolved with the reason, so that their next message routes again.

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
        let channel = conversation.last_channel;
        let customer = self.customer(&conversation.customer_id).await?;
        let kinds = self.settings.reply_kinds(channel);
        let to = match super::reply::recipient(&conversation, &customer, channel, &kinds) {
            Ok(to) if channel != Channel::SMS || customer.opt_out(&to).is_none() => Some(to),
            Ok(_) => None,
            Err(e) => {
                warn!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, error = %e, "no identity to answer a refused conversation on");
                None
            }
        };
        if let Some(to) = to {
            self.send_queue_full_answer(&conversation, queue, to, at_ms, trace)
                .await?;
        }
        let resolved = self.store.resolve(conversation_id, now_ms()).await?;
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, %queue, reason = "queue_full", "conversation refused by a full queue; resolved");
        self.emit_conversation(&resolved).await;
        Ok(())
    }

    async fn send_queue_full_answer(
        &self,
        conversation: &Conversation,
        queue: &QueueId,
        to: Identity,
        at_ms: Millis,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let channel = conversation.last_channel;
        let id = MessageId::generate();
        let email = if channel == Channel::EMAIL {
            let history = self.history(&conversation.id).await?;
            let domain = self.settings.reply_domain();
            Some(outbound_email(
                id.as_str(),
                &history,
                reply_address(&conversation.id, domain),
                domain,
            ))
        } else {
            None
        };
        let message = self
            .store
            .append_outbound(NewOutbound {
                conversation_id: conversation.id.clone(),
                agent_id: None,
                text: self.settings.queue_full_answer().to_owned(),
                channel,
                idempotency_key: format!("auto:queue_full:{at_ms}"),
                at_ms: now_ms(),
                id,
                email,
                notice: Some(omni_core::Notice::QueueFull {
                    queue: queue.to_string(),
                }),
            })
            .await?;
        self.publish_outbound(conversation, &message, &to, &[], trace)
            .await?;
        omni_telemetry::count!(
            "omni_outbound_messages_total",
            "messages for customers stored and queued for delivery",
            &[("channel", channel.as_str())],
        );
        self.emit_message(&message).await;
        Ok(())
    }
}
