//! [`RouterStore`] for Redis: the router's durable records (contacts,
//! presence, agents' and queues' configuration), one hash each.

use async_trait::async_trait;
use omni_core::ConversationId;
use omni_core::config::{AgentConfig, QueueConfig};
use omni_store::{ContactRecord, PresenceRecord, RouterStore, StoreError};

use crate::store::*;

#[async_trait]
impl RouterStore for RedisStore {
    async fn put_contact(&self, contact: &ContactRecord) -> Result<(), StoreError> {
        let key = self.index("contacts");
        let id = contact.conversation_id.as_str();
        let json = encode(&format!("{key}/{id}"), contact)?;
        self.query::<()>(redis::cmd("HSET").arg(&key).arg(id).arg(json))
            .await
    }

    async fn remove_contact(&self, conversation_id: &ConversationId) -> Result<(), StoreError> {
        self.query::<()>(
            redis::cmd("HDEL")
                .arg(self.index("contacts"))
                .arg(conversation_id.as_str()),
        )
        .await
    }

    async fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError> {
        self.hash_values(&self.index("contacts")).await
    }

    async fn put_presence(&self, presence: &PresenceRecord) -> Result<(), StoreError> {
        let key = self.index("presence");
        let id = presence.agent_id.as_str();
        let json = encode(&format!("{key}/{id}"), presence)?;
        self.query::<()>(redis::cmd("HSET").arg(&key).arg(id).arg(json))
            .await
    }

    async fn presences(&self) -> Result<Vec<PresenceRecord>, StoreError> {
        self.hash_values(&self.index("presence")).await
    }

    async fn put_agent_config(&self, agent: &AgentConfig) -> Result<(), StoreError> {
        let key = self.index("agents");
        let json = encode(&format!("{key}/{}", agent.id), agent)?;
        self.query::<()>(redis::cmd("HSET").arg(&key).arg(&agent.id).arg(json))
            .await
    }

    async fn agent_configs(&self) -> Result<Vec<AgentConfig>, StoreError> {
        self.hash_values(&self.index("agents")).await
    }

    async fn put_queue_config(&self, queue: &QueueConfig) -> Result<(), StoreError> {
        let key = self.index("queues");
        let json = encode(&format!("{key}/{}", queue.id), queue)?;
        self.query::<()>(redis::cmd("HSET").arg(&key).arg(&queue.id).arg(json))
            .await
    }

    async fn queue_configs(&self) -> Result<Vec<QueueConfig>, StoreError> {
        self.hash_values(&self.index("queues")).await
    }
}
