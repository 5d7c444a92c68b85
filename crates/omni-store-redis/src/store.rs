//! [`RedisStore`]: the connection, the key names and the trait
//! implementations. The atomic operations run the scripts of `scripts`; the
//! reads are plain commands.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_core::config::{AgentConfig, QueueConfig};
use omni_core::time::Millis;
use omni_core::{
    AgentId, Conversation, ConversationId, ConversationStatus, Customer, CustomerId,
    DeliveryStatus, Identity, InboundMessage, MessageId, QueueId, StoredMessage,
};
use omni_store::{
    ContactRecord, ContextStore, ContinuityPolicy, Ingested, NewOutbound, PresenceRecord,
    RouterStore, StoreError,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
    scripts: Scripts,
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
        if prefix.is_empty() || prefix.contains(['{', '}']) {
            return Err(StoreError::Unavailable(format!(
                "invalid Redis key prefix {prefix:?}: it must be non-empty, without braces"
            )));
        }
        let shown = redact(url);
        let unreachable = |e: &dyn fmt::Display| {
            StoreError::Unavailable(format!("cannot reach Redis at {shown}: {e}"))
        };
        let client = redis::Client::open(url).map_err(|e| unreachable(&e))?;
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

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.tag)
    }

    fn index(&self, kind: &str) -> String {
        format!("{}:{kind}", self.tag)
    }

    fn unavailable(&self, e: RedisError) -> StoreError {
        StoreError::Unavailable(format!("redis at {}: {e}", self.url))
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Runs `script` with `args` after the tag and turns its reply (see
    /// `lua/common.lua`) into the fields after the status or an error.
    async fn run(
        &self,
        script: &Script,
        args: &[&str],
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
            "not_found" => Err(StoreError::NotFound {
                kind: match field(0).as_str() {
                    "conversation" => "conversation",
                    "message" => "message",
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

    async fn hash_values<T: DeserializeOwned>(&self, key: &str) -> Result<Vec<T>, StoreError> {
        let entries: Vec<(String, String)> = self.query(redis::cmd("HGETALL").arg(key)).await?;
        entries
            .iter()
            .map(|(field, raw)| decode(&format!("{key}/{field}"), raw))
            .collect()
    }
}

/// How a script went, when it did not refuse.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    Ok,
    Duplicate,
}

/// `url` without its password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn decode<T: DeserializeOwned>(key: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<String, StoreError> {
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
    async fn ingest(
        &self,
        message: &InboundMessage,
        queue_for_new: &QueueId,
        policy: ContinuityPolicy,
    ) -> Result<Ingested, StoreError> {
        let identity = encode("identity", &message.from)?;
        let channel = serde_name(&message.channel)?;
        let customer = CustomerId::generate();
        let conversation = ConversationId::generate();
        let message_id = MessageId::generate();
        let at = message.received_at_ms.to_string();
        let window = policy.reopen_window_ms.to_string();
        let (status, reply) = self
            .run(
                &self.scripts.ingest,
                &[
                    &message.idempotency_key,
                    &message.from.key(),
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
                    queue_for_new.as_str(),
                    &window,
                    customer.as_str(),
                    conversation.as_str(),
                    message_id.as_str(),
                ],
            )
            .await?;
        let customer: Customer = reply_json(&reply, 0, "customer")?;
        let conversation: Conversation = reply_json(&reply, 1, "conversation")?;
        let message: StoredMessage = reply_json(&reply, 2, "message")?;
        if status == Status::Duplicate {
            return Ok(Ingested {
                needs_routing: conversation.status == ConversationStatus::Queued,
                customer,
                conversation,
                message,
                duplicate: true,
                opened: false,
                reopened: false,
            });
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
        })
    }

    async fn append_outbound(&self, message: NewOutbound) -> Result<StoredMessage, StoreError> {
        let channel = serde_name(&message.channel)?;
        let at = message.at_ms.to_string();
        let id = MessageId::generate();
        let (_, reply) = self
            .run(
                &self.scripts.append_outbound,
                &[
                    message.conversation_id.as_str(),
                    &message.idempotency_key,
                    message.agent_id.as_str(),
                    &message.text,
                    &channel,
                    &at,
                    id.as_str(),
                ],
            )
            .await?;
        reply_json(&reply, 0, "message")
    }

    async fn set_delivery(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        status: DeliveryStatus,
    ) -> Result<(), StoreError> {
        let status = serde_name(&status)?;
        self.run(
            &self.scripts.set_delivery,
            &[conversation_id.as_str(), message_id.as_str(), &status],
        )
        .await?;
        Ok(())
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
        // The pointer and the conversation are written by one script, so a
        // missing conversation is damage, not a race.
        let key = self.key("conversation", &id);
        match self.get_json(&key).await? {
            Some(conversation) => Ok(Some(conversation)),
            None => Err(StoreError::Corrupt {
                key,
                reason: format!("missing, but referenced by {latest}"),
            }),
        }
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
                let Some(raw) = raw else {
                    return Err(StoreError::Corrupt {
                        key: key.clone(),
                        reason: format!("missing, but referenced by {open}"),
                    });
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
    use super::redact;

    #[test]
    fn credentials_never_reach_messages() {
        assert_eq!(
            redact("redis://user:secret@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }
}
