//! [`RedisStore`]: the connection, the key names and the trait
//! implementations. The atomic operations run the scripts of `scripts`; the
//! reads are plain commands.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_core::config::{AgentConfig, LinkTls, QueueConfig, redact_url};
use omni_core::time::Millis;
use omni_core::{
    AgentId, Conversation, ConversationId, ConversationStatus, Customer, CustomerId,
    CustomerUpdate, DeliveryStatus, Identity, InboundMessage, MergeRecord, MessageId, OptChange,
    Provenance, StoredMessage,
};
use omni_store::merge;
use omni_store::{
    ContactRecord, ContextStore, IngestOptions, Ingested, Linked, NewOutbound, PresenceRecord,
    RouterStore, StoreError, inbound_extras,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cas::{self, Txn};
use crate::scripts::Scripts;

/// How long `connect` may take before it reports Redis unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One TCP connection attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// One command or script; a server that stops answering is an error, not a hang.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Reconnection attempts per lost connection, with exponential backoff.
const RECONNECT_RETRIES: usize = 3;
/// Conversations fetched per `MGET` in `open_conversations`.
const MGET_CHUNK: usize = 256;

/// The store on one Redis server (or one Cluster slot), under one key prefix.
///
/// Cheap to share: every call clones the multiplexed connection, which
/// reconnects by itself after the server restarts or the network drops (the
/// call that meets the broken connection fails with
/// [`StoreError::Unavailable`]; later calls use the new one).
pub struct RedisStore {
    conn: ConnectionManager,
    /// The URL without credentials, for messages.
    url: String,
    /// `{prefix}`: the hash tag every key starts with.
    tag: String,
    pub(crate) scripts: Scripts,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.url)
            .field("tag", &self.tag)
            .finish()
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://host:port[/db]`) and
    /// keeps every key under the hash tag `{prefix}` (e.g. `omni`), so that
    /// several stores can share one server.
    ///
    /// Fails within a few seconds with [`StoreError::Unavailable`] ("cannot
    /// reach Redis at `<url>`: …") when the server does not answer `PING`, and
    /// when `prefix` is empty or contains `{` or `}`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Arc<RedisStore>, StoreError> {
        Self::connect_with(url, prefix, &LinkTls::default()).await
    }

    /// Like [`RedisStore::connect`], for a `rediss://[user:password@]host`
    /// URL with a private CA (`tls.ca_file`, else the system roots) and a
    /// client certificate for mutual TLS (`tls.client`). TLS files with a
    /// plain `redis://` URL, and a file that cannot be read, are errors.
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        tls: &LinkTls,
    ) -> Result<Arc<RedisStore>, StoreError> {
        if prefix.is_empty() || prefix.contains(['{', '}']) {
            return Err(StoreError::Unavailable(format!(
                "invalid Redis key prefix {prefix:?}: it must be non-empty, without braces"
            )));
        }
        let shown = redact_url(url);
        let unreachable = |e: &dyn fmt::Display| {
            StoreError::Unavailable(format!("cannot reach Redis at {shown}: {e}"))
        };
        let client = match (tls == &LinkTls::default(), url.starts_with("rediss://")) {
            (true, _) => redis::Client::open(url),
            (false, true) => {
                redis::Client::build_with_tls(url, crate::tls::certificates(tls).await?)
            }
            (false, false) => {
                return Err(StoreError::Unavailable(format!(
                    "redis TLS files are set but {shown} is not a rediss:// URL"
                )));
            }
        }
        .map_err(|e| unreachable(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(ATTEMPT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES);
        let connecting = async {
            let mut conn = ConnectionManager::new_with_config(client, config).await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            Ok::<_, RedisError>(conn)
        };
        let conn = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(unreachable(&e)),
            Err(_) => {
                return Err(unreachable(&format_args!(
                    "no answer within {CONNECT_TIMEOUT:?}"
                )));
            }
        };
        tracing::debug!(url = %shown, prefix, "redis store connected");
        Ok(Arc::new(RedisStore {
            conn,
            url: shown,
            tag: format!("{{{prefix}}}"),
            scripts: Scripts::new(),
        }))
    }

    pub(crate) fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.tag)
    }

    pub(crate) fn index(&self, kind: &str) -> String {
        format!("{}:{kind}", self.tag)
    }

    fn unavailable(&self, e: RedisError) -> StoreError {
        StoreError::Unavailable(format!("redis at {}: {e}", self.url))
    }

    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Runs a prepared script invocation.
    pub(crate) async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Runs `script` with `args` after the tag and turns its reply (see
    /// `lua/common.lua`) into the fields after the status or an error.
    pub(crate) async fn run(
        &self,
        script: &Script,
        args: &[&str],
    ) -> Result<(Status, Vec<String>), StoreError> {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.run_bytes(script, &bytes).await
    }

    /// [`RedisStore::run`] with binary arguments (attachment contents).
    async fn run_bytes(
        &self,
        script: &Script,
        args: &[&[u8]],
    ) -> Result<(Status, Vec<String>), StoreError> {
        let mut invocation = script.prepare_invoke();
        invocation.key(self.index("open")).arg(&self.tag);
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn.clone();
        let mut reply: Vec<String> = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        if reply.is_empty() {
            return Err(self.bad_reply(&reply));
        }
        let status = reply.remove(0);
        let field = |i: usize| reply.get(i).cloned().unwrap_or_default();
        match status.as_str() {
            "ok" => Ok((Status::Ok, reply)),
            "duplicate" => Ok((Status::Duplicate, reply)),
            "retry" => Ok((Status::Retry, reply)),
            "not_found" => Err(StoreError::NotFound {
                kind: match field(0).as_str() {
                    "conversation" => "conversation",
                    "message" => "message",
                    "customer" => "customer",
                    _ => "record",
                },
                id: field(1),
            }),
            "conflict" => Err(StoreError::Conflict(field(0))),
            "corrupt" => Err(StoreError::Corrupt {
                key: field(0),
                reason: field(1),
            }),
            _ => {
                reply.insert(0, status);
                Err(self.bad_reply(&reply))
            }
        }
    }

    fn bad_reply(&self, reply: &[String]) -> StoreError {
        StoreError::Unavailable(format!(
            "redis at {}: unexpected script reply {reply:?}",
            self.url
        ))
    }

    async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let raw: Option<String> = self.query(redis::cmd("GET").arg(key)).await?;
        raw.map(|raw| decode(key, &raw)).transpose()
    }

    pub(crate) async fn hash_values<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Vec<T>, StoreError> {
        let entries: Vec<(String, String)> = self.query(redis::cmd("HGETALL").arg(key)).await?;
        entries
            .iter()
            .map(|(field, raw)| decode(&format!("{key}/{field}"), raw))
            .collect()
    }
}

/// How a script went, when it did not refuse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    Duplicate,
    /// A compare-and-set found a record changed since it was read.
    Retry,
}

/// `url` without its password, for messages and logs.
pub(crate) fn decode<T: DeserializeOwned>(key: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

pub(crate) fn encode<T: Serialize>(key: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        reason: format!("cannot encode: {e}"),
    })
}

/// A unit enum's serde name (`chat`, `delivered`), as the scripts store it.
fn serde_name<T: Serialize + fmt::Debug>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        other => Err(StoreError::Corrupt {
            key: format!("{value:?}"),
            reason: format!("does not encode as a name: {other:?}"),
        }),
    }
}

/// The reply field `i` of a script, decoded.
fn reply_json<T: DeserializeOwned>(
    reply: &[String],
    i: usize,
    what: &str,
) -> Result<T, StoreError> {
    let raw = reply.get(i).ok_or_else(|| {
        StoreError::Unavailable(format!("redis script reply lacks the {what}: {reply:?}"))
    })?;
    decode(&format!("script reply ({what})"), raw)
}

#[async_trait]
impl ContextStore for RedisStore {
    async fn ingest_with(
        &self,
        message: &InboundMessage,
        options: &IngestOptions,
    ) -> Result<Ingested, StoreError> {
        let identity = encode("identity", &message.from)?;
        let channel = serde_name(&message.channel)?;
        let customer = CustomerId::generate();
        let conversation = ConversationId::generate();
        let message_id = MessageId::generate();
        let at = message.received_at_ms.to_string();
        let window = options.policy.reopen_window_ms.to_string();
        let (email, notice) = inbound_extras(message, options.max_attachment_bytes);
        let email_json = email
            .as_ref()
            .map(|e| encode("email", e))
            .transpose()?
            .unwrap_or_default();
        let notice_json = notice
            .as_ref()
            .map(|n| encode("notice", n))
            .transpose()?
            .unwrap_or_default();
        let (opt, keyword) = match message.sms.as_ref().and_then(|s| s.opt) {
            Some(OptChange::Out) => ("out", message.text.trim()),
            Some(OptChange::In) => ("in", message.text.trim()),
            None => ("", ""),
        };
        let thread_message_id = email
            .as_ref()
            .map(|e| e.message_id.as_str())
            .unwrap_or_default();
        let mut indexes = Vec::new();
        if let (Some(details), Some(email)) = (&message.email, &email) {
            for (info, attachment) in email.attachments.iter().zip(&details.attachments) {
                if info.stored {
                    indexes.push((info.index.to_string(), attachment.content.as_slice()));
                }
            }
        }
        let thread = options
            .thread
            .as_ref()
            .map(ConversationId::as_str)
            .unwrap_or_default();
        let count = indexes.len().to_string();
        let identity_key = message.from.key();
        let mut args: Vec<&[u8]> = Vec::with_capacity(21 + 2 * indexes.len());
        let fixed: [&str; 21] = [
            &message.idempotency_key,
            &identity_key,
            &identity,
            &channel,
            &message.text,
            &at,
            message.display_name.as_deref().unwrap_or(""),
            if message.display_name.is_some() {
                "1"
            } else {
                "0"
            },
            options.queue_for_new.as_str(),
            &window,
            customer.as_str(),
            conversation.as_str(),
            message_id.as_str(),
            thread,
            &options.thread_evidence,
            opt,
            keyword,
            &email_json,
            &notice_json,
            thread_message_id,
            &count,
        ];
        args.extend(fixed.iter().map(|a| a.as_bytes()));
        for (index, content) in &indexes {
            args.push(index.as_bytes());
            args.push(content);
        }
        let (status, reply) = self.run_bytes(&self.scripts.ingest, &args).await?;
        let customer: Customer = reply_json(&reply, 0, "customer")?;
        let conversation: Conversation = reply_json(&reply, 1, "conversation")?;
        let message: StoredMessage = reply_json(&reply, 2, "message")?;
        if status == Status::Duplicate {
            return Ok(Ingested::duplicate(customer, conversation, message));
        }
        let opened = reply.get(3).is_some_and(|f| f == "1");
        let reopened = reply.get(4).is_some_and(|f| f == "1");
        Ok(Ingested {
            customer,
            conversation,
            message,
            duplicate: false,
            needs_routing: opened || reopened,
            opened,
            reopened,
            channel_changed: reply.get(5).is_some_and(|f| f == "1"),
        })
    }

    async fn record_delivery(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let status = serde_name(&status)?;
        let (_, reply) = self
            .run(
                &self.scripts.record_delivery,
                &[
                    conversation_id.as_str(),
                    message_id.as_str(),
                    &status,
                    error.unwrap_or(""),
                ],
            )
            .await?;
        if reply.is_empty() {
            return Ok(None);
        }
        reply_json(&reply, 0, "message").map(Some)
    }

    async fn update_customer(
        &self,
        id: &CustomerId,
        update: &CustomerUpdate,
    ) -> Result<Customer, StoreError> {
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let mut customer = txn.customer(id).await?;
            merge::check_linkable(&customer)?;
            update.apply(&mut customer);
            let key = self.key("customer", id.as_str());
            txn.set(key.clone(), encode(&key, &customer)?);
            if txn.commit().await? {
                return Ok(customer);
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("update_customer"))
    }

    async fn customer_conversations(
        &self,
        id: &CustomerId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let list = self.key("customer_conversations", id.as_str());
        let start = i64::try_from(offset).unwrap_or(i64::MAX);
        let stop = start.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX) - 1);
        let ids: Vec<String> = self
            .query(redis::cmd("ZREVRANGE").arg(&list).arg(start).arg(stop))
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for c in ids {
            let key = self.key("conversation", &c);
            // Missing: deleted (erasure, retention) since the list was read,
            // by the one script that also takes it off the list.
            if let Some(conversation) = self.get_json(&key).await? {
                out.push(conversation);
            }
        }
        Ok(out)
    }

    async fn claim_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
    ) -> Result<Customer, StoreError> {
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let mut customer = txn.customer(id).await?;
            merge::check_linkable(&customer)?;
            merge::check_unverified_room(&customer, identity)?;
            if !merge::add_unverified(&mut customer, identity) {
                return Ok(customer);
            }
            let key = self.key("customer", id.as_str());
            txn.set(key.clone(), encode(&key, &customer)?);
            if txn.commit().await? {
                return Ok(customer);
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("claim_identity"))
    }

    async fn link_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
        provenance: &Provenance,
    ) -> Result<Linked, StoreError> {
        let identity_key = self.key("identity", &identity.key());
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let mut customer = txn.customer(id).await?;
            merge::check_linkable(&customer)?;
            let owner = txn.get(identity_key.clone()).await?;
            let linked = match owner {
                Some(owner) if owner != id.as_str() => {
                    let plan = merge::plan_merge(
                        txn.side(id).await?,
                        txn.side(&CustomerId::from(owner)).await?,
                        merge::new_merge_id(),
                        provenance,
                    )?;
                    txn.apply(&plan)?;
                    Linked {
                        customer: plan.customers[0].clone(),
                        merge: plan.record,
                    }
                }
                owner => {
                    let changed = merge::add_identity(&mut customer, identity, provenance);
                    if owner.is_none() {
                        txn.set(identity_key.clone(), id.to_string());
                    } else if !changed {
                        return Ok(Linked {
                            customer,
                            merge: None,
                        });
                    }
                    let key = self.key("customer", id.as_str());
                    txn.set(key.clone(), encode(&key, &customer)?);
                    Linked {
                        customer,
                        merge: None,
                    }
                }
            };
            if txn.commit().await? {
                return Ok(linked);
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("link_identity"))
    }

    async fn merge_customers(
        &self,
        survivor: &CustomerId,
        absorbed: &CustomerId,
        provenance: &Provenance,
    ) -> Result<MergeRecord, StoreError> {
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let survivor_side = txn.side(survivor).await?;
            let absorbed_side = txn.side(absorbed).await?;
            // The identities that move must still belong to the absorbed customer.
            for identity in &absorbed_side.customer.identities {
                txn.get(self.key("identity", &identity.key())).await?;
            }
            let plan = merge::plan_merge(
                survivor_side,
                absorbed_side,
                merge::new_merge_id(),
                provenance,
            )?;
            txn.apply(&plan)?;
            if txn.commit().await? {
                return plan
                    .record
                    .ok_or_else(|| StoreError::Conflict("merge planned no record".into()));
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("merge_customers"))
    }

    async fn unmerge(
        &self,
        merge_id: &str,
        provenance: &Provenance,
    ) -> Result<(Customer, Customer), StoreError> {
        let record_key = self.key("merge", merge_id);
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let raw = txn
                .get(record_key.clone())
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    kind: "merge",
                    id: merge_id.to_owned(),
                })?;
            let record: MergeRecord = decode(&record_key, &raw)?;
            let survivor = txn.side(&record.survivor).await?;
            let tombstone = txn.customer(&record.absorbed.id).await?;
            txn.get(self.key("latest", record.absorbed.id.as_str()))
                .await?;
            let plan = merge::plan_unmerge(record, survivor, &tombstone, provenance)?;
            txn.apply(&plan)?;
            let customers = plan.customers.clone();
            if txn.commit().await? {
                return match <[Customer; 2]>::try_from(customers) {
                    Ok([s, a]) => Ok((s, a)),
                    Err(_) => Err(StoreError::Conflict("unmerge planned no customers".into())),
                };
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("unmerge"))
    }

    async fn merge_record(&self, merge_id: &str) -> Result<Option<MergeRecord>, StoreError> {
        self.get_json(&self.key("merge", merge_id)).await
    }

    async fn conversation_by_email_id(
        &self,
        message_id: &str,
    ) -> Result<Option<ConversationId>, StoreError> {
        let id: Option<String> = self
            .query(redis::cmd("GET").arg(self.key("email_thread", message_id)))
            .await?;
        Ok(id.map(ConversationId::from))
    }

    async fn attachment(
        &self,
        message_id: &MessageId,
        index: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.key("attachment", &format!("{message_id}:{index}"));
        self.query(redis::cmd("GET").arg(key)).await
    }

    async fn append_outbound(&self, message: NewOutbound) -> Result<StoredMessage, StoreError> {
        let channel = serde_name(&message.channel)?;
        let at = message.at_ms.to_string();
        let email_json = message
            .email
            .as_ref()
            .map(|e| encode("email", e))
            .transpose()?
            .unwrap_or_default();
        let thread_message_id = message
            .email
            .as_ref()
            .map(|e| e.message_id.as_str())
            .unwrap_or_default();
        let notice_json = message
            .notice
            .as_ref()
            .map(|n| encode("notice", n))
            .transpose()?
            .unwrap_or_default();
        let (_, reply) = self
            .run(
                &self.scripts.append_outbound,
                &[
                    message.conversation_id.as_str(),
                    &message.idempotency_key,
                    message.agent_id.as_ref().map_or("", |a| a.as_str()),
                    &message.text,
                    &channel,
                    &at,
                    message.id.as_str(),
                    &email_json,
                    thread_message_id,
                    &notice_json,
                ],
            )
            .await?;
        reply_json(&reply, 0, "message")
    }

    async fn assign(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError> {
        let at = at_ms.to_string();
        let (_, reply) = self
            .run(
                &self.scripts.assign,
                &[conversation_id.as_str(), agent.as_str(), &at],
            )
            .await?;
        reply_json(&reply, 0, "conversation")
    }

    async fn resolve(
        &self,
        conversation_id: &ConversationId,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError> {
        let at = at_ms.to_string();
        let (_, reply) = self
            .run(&self.scripts.resolve, &[conversation_id.as_str(), &at])
            .await?;
        reply_json(&reply, 0, "conversation")
    }

    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.get_json(&self.key("conversation", id.as_str())).await
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        self.get_json(&self.key("customer", id.as_str())).await
    }

    async fn customer_by_identity(
        &self,
        identity: &Identity,
    ) -> Result<Option<CustomerId>, StoreError> {
        let key = self.key("identity", &identity.key());
        let id: Option<String> = self.query(redis::cmd("GET").arg(key)).await?;
        Ok(id.map(CustomerId::from))
    }

    async fn latest_conversation(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<Conversation>, StoreError> {
        let latest = self.key("latest", customer.as_str());
        let id: Option<String> = self.query(redis::cmd("GET").arg(&latest)).await?;
        let Some(id) = id else { return Ok(None) };
        // The pointer and the conversation are written, and deleted
        // (erasure, retention), by one script: a missing conversation was
        // deleted since the pointer was read.
        let key = self.key("conversation", &id);
        self.get_json(&key).await
    }

    async fn messages(
        &self,
        conversation_id: &ConversationId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let key = self.key("messages", conversation_id.as_str());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let page: Vec<String> = self
            .query(
                redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(format!("({after_seq}"))
                    .arg("+inf")
                    .arg("BYSCORE")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit),
            )
            .await?;
        page.iter().map(|raw| decode(&key, raw)).collect()
    }

    async fn open_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let open = self.index("open");
        let ids: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(&open)).await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MGET_CHUNK) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|id| self.key("conversation", id))
                .collect();
            let raws: Vec<Option<String>> = self.query(redis::cmd("MGET").arg(&keys)).await?;
            for (key, raw) in keys.iter().zip(raws) {
                // Deleted (erasure, retention) between SMEMBERS and MGET:
                // the one script that deletes it also leaves `open`.
                let Some(raw) = raw else {
                    continue;
                };
                let conversation: Conversation = decode(key, &raw)?;
                // Resolved between SMEMBERS and MGET: no longer open.
                if conversation.status != ConversationStatus::Resolved {
                    out.push(conversation);
                }
            }
        }
        Ok(out)
    }
}

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

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn credentials_never_reach_messages() {
        assert_eq!(
            redact_url("redis://user:secret@cache:6379/0"),
            "redis://user:***@cache:6379/0"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
