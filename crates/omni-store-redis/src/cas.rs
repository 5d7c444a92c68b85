//! Optimistic transactions for the operations planned in Rust
//! ([`omni_store::merge`]): read the records, plan, then let `lua/cas.lua`
//! write the plan only if every record read is still what was read, in one
//! atomic script. A record changed in between (a concurrent message or
//! merge) makes the script answer `retry`, and the operation starts over
//! from fresh reads.

use std::collections::BTreeMap;
use std::time::Duration;

use omni_core::{Conversation, Customer, CustomerId};
use omni_store::StoreError;
use omni_store::merge::{Plan, Side};

use crate::store::{RedisStore, Status};

/// Attempts before a contended operation reports the store unavailable.
pub(crate) const ATTEMPTS: u32 = 64;

/// One write of a plan.
enum Write {
    Set(String, String),
    Del(String),
    ZAdd(String, i64, String),
    ZRem(String, String),
    SRem(String, String),
    HDel(String, String),
}

/// The reads and writes of one attempt.
pub(crate) struct Txn<'s> {
    store: &'s RedisStore,
    /// Every key read, with what it held (`None`: absent).
    checks: BTreeMap<String, Option<String>>,
    writes: Vec<Write>,
}

impl<'s> Txn<'s> {
    pub(crate) fn new(store: &'s RedisStore) -> Self {
        Self {
            store,
            checks: BTreeMap::new(),
            writes: Vec::new(),
        }
    }

    /// Reads a key and remembers what it held.
    pub(crate) async fn get(&mut self, key: String) -> Result<Option<String>, StoreError> {
        if let Some(seen) = self.checks.get(&key) {
            return Ok(seen.clone());
        }
        let value: Option<String> = self.store.query(redis::cmd("GET").arg(&key)).await?;
        self.checks.insert(key, value.clone());
        Ok(value)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &mut self,
        key: String,
    ) -> Result<Option<T>, StoreError> {
        let raw = self.get(key.clone()).await?;
        raw.map(|raw| crate::store::decode(&key, &raw)).transpose()
    }

    /// A customer that must exist.
    pub(crate) async fn customer(&mut self, id: &CustomerId) -> Result<Customer, StoreError> {
        self.get_json(self.store.key("customer", id.as_str()))
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "customer",
                id: id.to_string(),
            })
    }

    /// A customer with every conversation of theirs.
    pub(crate) async fn side(&mut self, id: &CustomerId) -> Result<Side, StoreError> {
        let customer = self.customer(id).await?;
        // Every change to the list also changes the customer record or the
        // latest pointer, so checking those two covers the list.
        self.get(self.store.key("latest", id.as_str())).await?;
        let list = self.store.key("customer_conversations", id.as_str());
        let ids: Vec<String> = self
            .store
            .query(redis::cmd("ZRANGE").arg(&list).arg(0).arg(-1))
            .await?;
        let mut conversations = Vec::with_capacity(ids.len());
        for c in ids {
            // Missing: deleted (erasure, retention) since the list was read,
            // by the script that also takes it off the list. Its absence is
            // checked at commit like any record read.
            let key = self.store.key("conversation", &c);
            if let Some(conversation) = self.get_json::<Conversation>(key).await? {
                conversations.push(conversation);
            }
        }
        Ok(Side {
            customer,
            conversations,
        })
    }

    /// Queues a record write.
    pub(crate) fn set(&mut self, key: String, value: String) {
        self.writes.push(Write::Set(key, value));
    }

    /// Queues a key deletion.
    pub(crate) fn del(&mut self, key: String) {
        self.writes.push(Write::Del(key));
    }

    /// Queues removing `member` from the sorted set `key`.
    pub(crate) fn zrem(&mut self, key: String, member: String) {
        self.writes.push(Write::ZRem(key, member));
    }

    /// Queues removing `member` from the set `key`.
    pub(crate) fn srem(&mut self, key: String, member: String) {
        self.writes.push(Write::SRem(key, member));
    }

    /// Queues removing `field` from the hash `key`.
    pub(crate) fn hdel(&mut self, key: String, field: String) {
        self.writes.push(Write::HDel(key, field));
    }

    /// Queues the writes of a plan.
    pub(crate) fn apply(&mut self, plan: &Plan) -> Result<(), StoreError> {
        let store = self.store;
        for customer in &plan.customers {
            let key = store.key("customer", customer.id.as_str());
            let json = crate::store::encode(&key, customer)?;
            self.set(key, json);
        }
        for conversation in &plan.conversations {
            let key = store.key("conversation", conversation.id.as_str());
            let json = crate::store::encode(&key, conversation)?;
            self.set(key, json);
        }
        for (identity, owner) in &plan.identities {
            self.set(store.key("identity", identity), owner.to_string());
        }
        for (conversation, created, from, to) in &plan.moved {
            self.writes.push(Write::ZRem(
                store.key("customer_conversations", from.as_str()),
                conversation.to_string(),
            ));
            self.writes.push(Write::ZAdd(
                store.key("customer_conversations", to.as_str()),
                *created,
                conversation.to_string(),
            ));
        }
        for (customer, latest) in &plan.latest {
            let key = store.key("latest", customer.as_str());
            match latest {
                Some(c) => self.set(key, c.to_string()),
                None => self.writes.push(Write::Del(key)),
            }
        }
        if let Some(record) = &plan.record {
            let key = store.key("merge", &record.id);
            let json = crate::store::encode(&key, record)?;
            self.set(key, json);
        }
        Ok(())
    }

    /// Writes everything if nothing read has changed; `false` means retry.
    pub(crate) async fn commit(self) -> Result<bool, StoreError> {
        let mut args: Vec<String> = vec![self.checks.len().to_string()];
        for (key, value) in self.checks {
            match value {
                Some(v) => args.extend([key, "1".into(), v]),
                None => args.extend([key, "0".into(), String::new()]),
            }
        }
        for write in self.writes {
            match write {
                Write::Set(k, v) => args.extend(["set".into(), k, v, String::new()]),
                Write::Del(k) => args.extend(["del".into(), k, String::new(), String::new()]),
                Write::ZAdd(k, score, member) => {
                    args.extend(["zadd".into(), k, score.to_string(), member])
                }
                Write::ZRem(k, member) => args.extend(["zrem".into(), k, member, String::new()]),
                Write::SRem(k, member) => args.extend(["srem".into(), k, member, String::new()]),
                Write::HDel(k, field) => args.extend(["hdel".into(), k, field, String::new()]),
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, _) = self.store.run(&self.store.scripts.cas, &refs).await?;
        Ok(status == Status::Ok)
    }
}

/// Waits a little before attempt `attempt + 1`, longer as contention persists.
pub(crate) async fn backoff(attempt: u32) {
    let jitter = u64::from(rand::random::<u8>() % 4);
    let ms = (1u64 << attempt.min(5)) + jitter;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The error of an operation that kept meeting concurrent changes.
pub(crate) fn contended(what: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "{what}: records kept changing concurrently; gave up after {ATTEMPTS} attempts"
    ))
}
