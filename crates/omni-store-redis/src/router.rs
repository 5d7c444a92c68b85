//! [`RouterStore`] for Redis: the router's durable records (contacts,
//! presence, agents' and queues' configuration), one hash each, and the
//! daily counts, one hash per day (field: the JSON `[queue, channel,
//! number]`) with the set of days beside them.

use async_trait::async_trait;
use omni_core::ConversationId;
use omni_core::config::{AgentConfig, QueueConfig};
use omni_store::{ContactRecord, DayCount, PresenceRecord, RouterStore, StoreError};

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

    async fn add_counts(&self, counts: &[DayCount]) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for c in counts {
            let field = count_field(c)?;
            let value = i64::try_from(c.value).unwrap_or(i64::MAX);
            pipe.cmd("HINCRBY")
                .arg(self.key("counts", &c.day))
                .arg(field)
                .arg(value)
                .ignore();
            pipe.cmd("SADD")
                .arg(self.index("count_days"))
                .arg(&c.day)
                .ignore();
        }
        self.query_pipe::<()>(&pipe).await
    }

    async fn counts(&self, day: Option<&str>) -> Result<Vec<DayCount>, StoreError> {
        let mut days: Vec<String> = match day {
            Some(d) => vec![d.to_owned()],
            None => {
                self.query(redis::cmd("SMEMBERS").arg(self.index("count_days")))
                    .await?
            }
        };
        days.sort();
        let mut out = Vec::new();
        for d in days {
            let key = self.key("counts", &d);
            let entries: Vec<(String, u64)> = self.query(redis::cmd("HGETALL").arg(&key)).await?;
            let mut day_counts = Vec::with_capacity(entries.len());
            for (field, value) in entries {
                let (queue, channel, number): (String, String, String) =
                    decode(&format!("{key}/{field}"), &field)?;
                day_counts.push(DayCount {
                    day: d.clone(),
                    queue,
                    channel,
                    number,
                    value,
                });
            }
            day_counts.sort_by(|a, b| {
                (&a.queue, &a.channel, &a.number).cmp(&(&b.queue, &b.channel, &b.number))
            });
            out.extend(day_counts);
        }
        Ok(out)
    }
}

/// The hash field of a count: `[queue, channel, number]` as JSON, so no
/// name can break it.
fn count_field(c: &DayCount) -> Result<String, StoreError> {
    encode("count", &(&c.queue, &c.channel, &c.number))
}
