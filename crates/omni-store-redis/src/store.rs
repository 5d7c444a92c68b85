//! [`RedisStore`]: the connection, the key names, and the helpers the trait
//! implementations share (`context`, `router`, `accounts`, `lifecycle`):
//! running a script, reading JSON records, encoding and decoding.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use omni_core::config::{LinkTls, redact_url};
use omni_store::StoreError;
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
pub(crate) const MGET_CHUNK: usize = 256;

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

    pub(crate) fn unavailable(&self, e: RedisError) -> StoreError {
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

    /// Runs `pipe` (atomic when built with `atomic()`).
    pub(crate) async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        pipe.query_async(&mut conn)
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
    pub(crate) async fn run_bytes(
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

    pub(crate) fn bad_reply(&self, reply: &[String]) -> StoreError {
        StoreError::Unavailable(format!(
            "redis at {}: unexpected script reply {reply:?}",
            self.url
        ))
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
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
pub(crate) fn serde_name<T: Serialize + fmt::Debug>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        other => Err(StoreError::Corrupt {
            key: format!("{value:?}"),
            reason: format!("does not encode as a name: {other:?}"),
        }),
    }
}

/// The reply field `i` of a script, decoded.
pub(crate) fn reply_json<T: DeserializeOwned>(
    reply: &[String],
    i: usize,
    what: &str,
) -> Result<T, StoreError> {
    let raw = reply.get(i).ok_or_else(|| {
        StoreError::Unavailable(format!("redis script reply lacks the {what}: {reply:?}"))
    })?;
    decode(&format!("script reply ({what})"), raw)
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
