//! [`BotStore`] for Redis: a change is planned by [`BotChange::apply`] and
//! written by one compare-and-set (`cas`); a bot's message goes through
//! `lua/append_outbound.lua` like an agent's.

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{Conversation, ConversationId, ConversationStatus, StoredMessage};
use omni_store::{BotChange, BotStore, NewBotMessage, StoreError};

use crate::cas::{self, Txn};
use crate::store::{RedisStore, decode, encode};

#[async_trait]
impl BotStore for RedisStore {
    async fn bot_change(
        &self,
        conversation_id: &ConversationId,
        change: &BotChange,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError> {
        let key = self.key("conversation", conversation_id.as_str());
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let raw = txn
                .get(key.clone())
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    kind: "conversation",
                    id: conversation_id.to_string(),
                })?;
            let before: Conversation = decode(&key, &raw)?;
            let mut after = before.clone();
            change.apply(&mut after, at_ms)?;
            if after == before {
                return Ok(after);
            }
            txn.set(key.clone(), encode(&key, &after)?);
            if after.status == ConversationStatus::Resolved {
                txn.srem(self.index("open"), conversation_id.to_string());
            }
            if txn.commit().await? {
                return Ok(after);
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("bot_change"))
    }

    async fn append_bot_message(
        &self,
        message: NewBotMessage,
    ) -> Result<StoredMessage, StoreError> {
        let options = if message.options.is_empty() {
            String::new()
        } else {
            encode("options", &message.options)?
        };
        self.append_outbound_by(&message.outbound, &message.bot, &options)
            .await
    }
}
