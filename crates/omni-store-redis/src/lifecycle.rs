//! [`CustomerRecords`] for Redis: each deletion is read, planned in Rust and
//! written by the compare-and-set script (`lua/cas.lua`), so it happens whole
//! or not at all, and starts over if a record it read changed meanwhile (a
//! message arriving in the conversation changes the conversation record).

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{
    Conversation, ConversationId, ConversationStatus, Customer, CustomerId, Direction, MergeRecord,
    StoredMessage,
};
use omni_store::{
    ContactRecord, CustomerRecords, DeletedConversation, DeletedCustomer, StoreError,
};

use crate::cas::{self, Txn};
use crate::store::{RedisStore, decode};

/// Keys looked at per `SCAN` call.
const SCAN_COUNT: usize = 500;

impl RedisStore {
    /// Every key matching `{P}:<kind>:*`, by `SCAN` (never `KEYS`).
    async fn scan_kind(&self, kind: &str) -> Result<Vec<String>, StoreError> {
        let pattern = self.key(kind, "*");
        let mut cursor: u64 = 0;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT),
                )
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    async fn plan_conversation_delete(
        &self,
        txn: &mut Txn<'_>,
        id: &str,
    ) -> Result<Option<DeletedConversation>, StoreError> {
        let key = self.key("conversation", id);
        let Some(raw) = txn.get(key.clone()).await? else {
            return Ok(None);
        };
        let conversation: Conversation = decode(&key, &raw)?;
        let timeline = self.key("messages", id);
        let raws: Vec<String> = self
            .query(redis::cmd("ZRANGE").arg(&timeline).arg(0).arg(-1))
            .await?;
        let mut deleted = DeletedConversation::default();
        for raw in &raws {
            let m: StoredMessage = decode(&timeline, raw)?;
            txn.del(self.key("message", m.id.as_str()));
            if m.direction == Direction::Inbound {
                txn.del(self.key("inbound", &m.idempotency_key));
            }
            if let Some(email) = &m.email {
                if !email.message_id.is_empty() {
                    let thread = self.key("email_thread", &email.message_id);
                    if txn.get(thread.clone()).await?.as_deref() == Some(id) {
                        txn.del(thread);
                    }
                }
                for a in &email.attachments {
                    txn.del(self.key("attachment", &format!("{}:{}", m.id, a.index)));
                    if a.stored {
                        deleted.attachments += 1;
                    }
                }
            }
            deleted.messages += 1;
        }
        let customer = conversation.customer_id.as_str();
        let latest = self.key("latest", customer);
        if txn.get(latest.clone()).await?.as_deref() == Some(id) {
            txn.del(latest);
        }
        txn.zrem(self.key("customer_conversations", customer), id.to_owned());
        txn.del(timeline);
        txn.del(self.key("outbound", id));
        txn.srem(self.index("open"), id.to_owned());
        txn.hdel(self.index("contacts"), id.to_owned());
        txn.del(key);
        Ok(Some(deleted))
    }

    async fn all_merges(&self) -> Result<Vec<MergeRecord>, StoreError> {
        let mut out = Vec::new();
        for key in self.scan_kind("merge").await? {
            let raw: Option<String> = self.query(redis::cmd("GET").arg(&key)).await?;
            if let Some(raw) = raw {
                out.push(decode(&key, &raw)?);
            }
        }
        Ok(out)
    }
}

fn names(record: &MergeRecord, id: &str) -> bool {
    record.survivor.as_str() == id || record.absorbed.id.as_str() == id
}

#[async_trait]
impl CustomerRecords for RedisStore {
    async fn delete_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<DeletedConversation>, StoreError> {
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let Some(deleted) = self.plan_conversation_delete(&mut txn, id.as_str()).await? else {
                return Ok(None);
            };
            if txn.commit().await? {
                return Ok(Some(deleted));
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("delete_conversation"))
    }

    async fn delete_customer(&self, id: &CustomerId) -> Result<DeletedCustomer, StoreError> {
        let merges: Vec<MergeRecord> = self
            .all_merges()
            .await?
            .into_iter()
            .filter(|r| names(r, id.as_str()))
            .collect();
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let key = self.key("customer", id.as_str());
            let customer: Option<Customer> = match txn.get(key.clone()).await? {
                Some(raw) => Some(decode(&key, &raw)?),
                None => None,
            };
            if let Some(customer) = &customer {
                for identity in &customer.identities {
                    let identity_key = self.key("identity", &identity.key());
                    if txn.get(identity_key.clone()).await?.as_deref() == Some(id.as_str()) {
                        txn.del(identity_key);
                    }
                }
                txn.del(key);
            }
            txn.del(self.key("latest", id.as_str()));
            for record in &merges {
                txn.del(self.key("merge", &record.id));
            }
            if txn.commit().await? {
                return Ok(DeletedCustomer {
                    customer,
                    merges: merges.len() as u64,
                });
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("delete_customer"))
    }

    async fn merges_naming(&self, id: &CustomerId) -> Result<Vec<MergeRecord>, StoreError> {
        Ok(self
            .all_merges()
            .await?
            .into_iter()
            .filter(|r| names(r, id.as_str()))
            .collect())
    }

    async fn contact(&self, id: &ConversationId) -> Result<Option<ContactRecord>, StoreError> {
        let key = self.index("contacts");
        let raw: Option<String> = self
            .query(redis::cmd("HGET").arg(&key).arg(id.as_str()))
            .await?;
        raw.map(|raw| decode(&format!("{key}/{id}"), &raw))
            .transpose()
    }

    async fn resolved_before(
        &self,
        cutoff_ms: Millis,
        limit: usize,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let mut out = Vec::new();
        for key in self.scan_kind("conversation").await? {
            if out.len() >= limit {
                break;
            }
            let raw: Option<String> = self.query(redis::cmd("GET").arg(&key)).await?;
            let Some(raw) = raw else { continue };
            let c: Conversation = decode(&key, &raw)?;
            if c.status == ConversationStatus::Resolved
                && c.resolved_at_ms.is_some_and(|at| at < cutoff_ms)
            {
                out.push(c.id);
            }
        }
        Ok(out)
    }
}
