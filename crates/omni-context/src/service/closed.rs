//! A conversation waiting in a queue that is closed (business hours): the
//! customer's automatic answer on their channel, saying when the queue
//! opens, in their language. The conversation keeps waiting, or, when the
//! queue names a `closed_bot`, is handed to that bot after the answer
//! ([`crate::bots`], `bots/closed`).

use omni_core::{Closure, QueueId};

use super::*;
use crate::bots::closed::held_in;

impl ContextService {
    /// Answers the customer of a conversation waiting in a closed queue
    /// with the queue's closed reply: `replies` in the customer's language,
    /// else `reply` (stored without an agent, with a
    /// [`Notice::QueueClosed`](omni_core::Notice::QueueClosed)); then hands
    /// it to the queue's closed bot, if it has one, unless that bot handed
    /// it off in this closure already (then it waits, and is not told
    /// again). A conversation no longer queued is left alone. Safe to
    /// repeat: the answer is stored under a key derived from the notice,
    /// and a repeated notice only finishes what the first began.
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
        let queue = QueueId::from(notice.queue.as_str());
        let bot = self.settings.closed_bot_of(&queue);
        let closure = Closure {
            queue,
            opens_at_ms: notice.opens_at_ms,
        };
        let bot_held_it = bot
            .as_deref()
            .is_some_and(|b| held_in(&conversation, b, &closure));
        match (conversation.status, &bot) {
            (ConversationStatus::Queued, Some(bot)) if bot_held_it => {
                info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, %bot, queue = %notice.queue, "handed off by the closed queue's bot in this closure; waits for the opening");
                return Ok(());
            }
            (ConversationStatus::Queued, _) => {}
            (ConversationStatus::Bot, Some(bot)) if bot_held_it => {
                // A repeated notice: the answer went out before the bot
                // took the conversation; finish the hand-over.
                return self
                    .hand_to_closed_bot(&conversation, bot, closure, notice.at_ms, trace)
                    .await;
            }
            (status, _) => {
                info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, ?status, "closed-queue notice of a conversation no longer queued ignored");
                return Ok(());
            }
        }
        let customer = self.customer(&conversation.customer_id).await?;
        let text = customer
            .language
            .as_deref()
            .and_then(|l| notice.replies.get(l))
            .unwrap_or(&notice.reply)
            .clone();
        // A customer who cannot be written to (an SMS number that opted
        // out) is neither answered nor given to a bot: they wait.
        let Some(to) = self.auto_answer_to(&conversation, &customer, trace) else {
            info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, queue = %notice.queue, "customer of a closed queue cannot be answered; waits for the opening");
            return Ok(());
        };
        let kind = omni_core::Notice::QueueClosed {
            queue: notice.queue.clone(),
            opens_at_ms: (notice.opens_at_ms > 0).then_some(notice.opens_at_ms),
        };
        let key = format!("auto:queue_closed:{}", notice.at_ms);
        self.send_auto_answer(&conversation, to, text, kind, key, trace)
            .await?;
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation_id, queue = %notice.queue, opens_at_ms = notice.opens_at_ms, "customer told the queue is closed");
        if let Some(bot) = &bot {
            self.hand_to_closed_bot(&conversation, bot, closure, notice.at_ms, trace)
                .await?;
        }
        Ok(())
    }
}
