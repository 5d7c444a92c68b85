//! A closed queue's bot (`[queues.hours] closed_bot`; docs/routing.md,
//! business hours): a conversation the router reports waiting in a closed
//! queue, once told the opening time, is handed to the queue's closed bot.
//! It enters `Bot` status held by that bot (the store keeps the closure:
//! the queue and its opening), the router releases the contact, and the
//! bot gets a turn with the customer's latest message, the earlier ones in
//! the turn's history, as when a queue starts with a bot.
//!
//! No loop: the store refuses to give the conversation to the bot again
//! in the same closure ([`BotChange::Enter`]), so after the bot's handoff
//! it waits for the opening. Safe to repeat for the same notice: entering
//! again is a no-op, the release and the turn keep their message ids, and
//! the turn is given only while the bot has had none other.

use omni_bus::topology::subjects;
use omni_core::time::{Millis, now_ms};
use omni_core::trace::TraceContext;
use omni_core::{Closure, Conversation, Direction, QueueId, StoredMessage};
use omni_store::{BotChange, Ingested, StoreError};
use tracing::info;

use crate::{ContextError, ContextService, ContextSettings};

/// Messages read back to find the customer's latest.
const LOOK_BACK: usize = 20;

impl ContextSettings {
    /// The bot a conversation waiting in closed `queue` is handed to, when
    /// the queue's hours name one that is configured.
    pub fn closed_bot_of(&self, queue: &QueueId) -> Option<String> {
        self.queue_config(queue)
            .and_then(|q| q.hours.as_ref()?.closed_bot.clone())
            .filter(|b| self.config().bots.contains_key(b))
    }
}

/// Whether `conversation` was held by `bot` in `closure`, because its
/// queue was closed.
pub(crate) fn held_in(conversation: &Conversation, bot: &str, closure: &Closure) -> bool {
    conversation
        .bot
        .as_ref()
        .is_some_and(|b| b.bot == bot && b.closure.as_ref() == Some(closure))
}

/// What a routing request's message id adds for a conversation a closed
/// queue's bot held: the request after the bot's handoff has the age of
/// the one before it (the conversation's), and the bus would drop it as
/// that one's duplicate. Empty for any other conversation.
pub(crate) fn routing_id_suffix(conversation: &Conversation) -> String {
    conversation
        .bot
        .as_ref()
        .and_then(|b| b.closure.as_ref())
        .map(|c| format!(":closed_bot:{}", c.opens_at_ms))
        .unwrap_or_default()
}

impl ContextService {
    /// Hands a conversation waiting in a closed queue to the queue's
    /// closed `bot` (see the module doc); `at_ms` is the router's notice's,
    /// naming the release. A conversation that cannot enter (an agent took
    /// it meanwhile, or the bot handed it off in this closure) is left as
    /// it is.
    pub(crate) async fn hand_to_closed_bot(
        &self,
        conversation: &Conversation,
        bot: &str,
        closure: Closure,
        at_ms: Millis,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let change = BotChange::Enter {
            bot: bot.to_owned(),
            closure: closure.clone(),
        };
        let held = match self
            .store
            .bot_change(&conversation.id, &change, now_ms())
            .await
        {
            Ok(held) => held,
            Err(StoreError::Conflict(why)) => {
                info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation.id, %bot, %why, "conversation not handed to the closed queue's bot");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        // The router forgets the contact; the bot's handoff asks again.
        self.release(&held.id, subjects::RELEASE_TO_BOT, at_ms, trace)
            .await?;
        self.emit_conversation(&held).await;
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %held.id, %bot, queue = %closure.queue, opens_at_ms = closure.opens_at_ms, "conversation handed to the closed queue's bot");
        self.first_closed_turn(&held, &closure, trace).await
    }

    /// The bot's first turn: the customer's latest message. Given only
    /// while the bot has had no other turn (a customer message that came
    /// in after the conversation entered the bot took the first turn).
    async fn first_closed_turn(
        &self,
        conversation: &Conversation,
        closure: &Closure,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let Some(state) = &conversation.bot else {
            return Ok(());
        };
        let Some(message) = self.latest_customer_message(conversation).await? else {
            return Ok(());
        };
        let turn_id = format!("turn_{}_closed_{}", message.id, closure.opens_at_ms);
        let first = state.turns == 0
            || state
                .open_turn
                .as_ref()
                .is_some_and(|t| t.turn_id == turn_id);
        if !first {
            return Ok(());
        }
        let ingested = Ingested {
            customer: self.customer(&conversation.customer_id).await?,
            conversation: conversation.clone(),
            message,
            duplicate: false,
            needs_routing: false,
            needs_bot: true,
            opened: false,
            reopened: false,
            channel_changed: false,
        };
        self.turn_for_bot(&ingested, turn_id, trace).await
    }

    /// The customer's latest message in the conversation, if any.
    async fn latest_customer_message(
        &self,
        conversation: &Conversation,
    ) -> Result<Option<StoredMessage>, ContextError> {
        let last = conversation.message_count;
        let recent = self
            .store
            .messages(
                &conversation.id,
                last.saturating_sub(LOOK_BACK as u64),
                LOOK_BACK,
            )
            .await?;
        Ok(recent
            .into_iter()
            .rev()
            .find(|m| m.direction == Direction::Inbound && !m.is_internal()))
    }
}
