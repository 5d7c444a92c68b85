//! [`RouterStore`] for the embedded store: four tables of JSON records keyed
//! by id, each written and scanned through [`EmbeddedStore::put_record`] and
//! [`EmbeddedStore::records`], and the daily counts keyed by (day, queue,
//! channel, number).

use async_trait::async_trait;
use omni_core::ConversationId;
use omni_core::config::{AgentConfig, QueueConfig};
use redb::{ReadableTable, TableHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::EmbeddedStore;
use super::records::{db_err, put_json, scan_json};
use super::schema::{CONTACTS, COUNTS, JsonTable, PRESENCE, ROUTER_AGENTS, ROUTER_QUEUES};
use crate::{ContactRecord, DayCount, PresenceRecord, RouterStore, StoreError};

impl EmbeddedStore {
    /// Inserts or replaces `record` under `key` in `table`.
    async fn put_record<T>(&self, table: JsonTable, key: &str, record: &T) -> Result<(), StoreError>
    where
        T: Serialize + Clone + Send + 'static,
    {
        let key = key.to_owned();
        let record = record.clone();
        self.write(move |txn| {
            let mut open = txn.open_table(table).map_err(db_err)?;
            put_json(&mut open, table.name(), &key, &record)
        })
        .await
    }

    /// Every record of `table`, in key order.
    async fn records<T>(&self, table: JsonTable) -> Result<Vec<T>, StoreError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.read(move |txn| {
            let open = txn.open_table(table).map_err(db_err)?;
            scan_json(&open, table.name())
        })
        .await
    }
}

#[async_trait]
impl RouterStore for EmbeddedStore {
    async fn put_contact(&self, contact: &ContactRecord) -> Result<(), StoreError> {
        self.put_record(CONTACTS, contact.conversation_id.as_str(), contact)
            .await
    }

    async fn remove_contact(&self, conversation_id: &ConversationId) -> Result<(), StoreError> {
        let id = conversation_id.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(CONTACTS).map_err(db_err)?;
            table.remove(id.as_str()).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError> {
        self.records(CONTACTS).await
    }

    async fn put_presence(&self, presence: &PresenceRecord) -> Result<(), StoreError> {
        self.put_record(PRESENCE, presence.agent_id.as_str(), presence)
            .await
    }

    async fn presences(&self) -> Result<Vec<PresenceRecord>, StoreError> {
        self.records(PRESENCE).await
    }

    async fn put_agent_config(&self, agent: &AgentConfig) -> Result<(), StoreError> {
        self.put_record(ROUTER_AGENTS, &agent.id, agent).await
    }

    async fn agent_configs(&self) -> Result<Vec<AgentConfig>, StoreError> {
        self.records(ROUTER_AGENTS).await
    }

    async fn put_queue_config(&self, queue: &QueueConfig) -> Result<(), StoreError> {
        self.put_record(ROUTER_QUEUES, &queue.id, queue).await
    }

    async fn queue_configs(&self) -> Result<Vec<QueueConfig>, StoreError> {
        self.records(ROUTER_QUEUES).await
    }

    async fn add_counts(&self, counts: &[DayCount]) -> Result<(), StoreError> {
        let counts = counts.to_vec();
        self.write(move |txn| {
            let mut table = txn.open_table(COUNTS).map_err(db_err)?;
            for c in &counts {
                let key = (
                    c.day.as_str(),
                    c.queue.as_str(),
                    c.channel.as_str(),
                    c.number.as_str(),
                );
                let was = table.get(key).map_err(db_err)?.map_or(0, |v| v.value());
                table
                    .insert(key, was.saturating_add(c.value))
                    .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn counts(&self, day: Option<&str>) -> Result<Vec<DayCount>, StoreError> {
        let day = day.map(str::to_owned);
        self.read(move |txn| {
            let table = txn.open_table(COUNTS).map_err(db_err)?;
            let from = day.as_deref().unwrap_or("");
            let mut out = Vec::new();
            for entry in table.range((from, "", "", "")..).map_err(db_err)? {
                let (key, value) = entry.map_err(db_err)?;
                let (d, queue, channel, number) = key.value();
                if day.as_deref().is_some_and(|want| want != d) {
                    break;
                }
                out.push(DayCount {
                    day: d.to_owned(),
                    queue: queue.to_owned(),
                    channel: channel.to_owned(),
                    number: number.to_owned(),
                    value: value.value(),
                });
            }
            Ok(out)
        })
        .await
    }
}
