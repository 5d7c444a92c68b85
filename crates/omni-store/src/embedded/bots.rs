//! [`BotStore`] for the embedded store: each change in one write
//! transaction, planned by [`BotChange::apply`].

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{Conversation, ConversationId, StoredMessage};

use super::EmbeddedStore;
use super::context::update_conversation;
use super::timeline::Timeline;
use crate::StoreError;
use crate::bots::{BotChange, BotStore, NewBotMessage};

#[async_trait]
impl BotStore for EmbeddedStore {
    async fn bot_change(
        &self,
        conversation_id: &ConversationId,
        change: &BotChange,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError> {
        let id = conversation_id.clone();
        let change = change.clone();
        self.write(move |txn| update_conversation(txn, &id, |c| change.apply(c, at_ms)))
            .await
    }

    async fn append_bot_message(
        &self,
        message: NewBotMessage,
    ) -> Result<StoredMessage, StoreError> {
        self.write(move |txn| {
            Timeline::open(txn)?.append_outbound_by(
                &message.outbound,
                Some(message.bot.clone()),
                message.options.clone(),
            )
        })
        .await
    }
}
