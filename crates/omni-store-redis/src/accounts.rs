//! [`AccountStore`] on Redis: accounts in one hash, each session in its own
//! key that Redis expires at the session's absolute expiry at the latest,
//! and the audit log in one list, newest at the head.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{P}:accounts` | hash | account id → [`omni_store::Account`] JSON |
//! | `{P}:session:<token hash>` | string | the [`omni_store::Session`] JSON, with a TTL |
//! | `{P}:audit` | list | [`omni_store::AuditEvent`] JSONs, newest first |

use std::sync::LazyLock;

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_store::{Account, AccountStore, AuditEvent, Session, SessionPolicy, StoreError};
use redis::Script;

use crate::RedisStore;
use crate::store::{decode, encode};

/// Replaces a field of a hash only if it is there: `1` if replaced.
static UPDATE_FIELD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end \
         redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1",
    )
});

impl RedisStore {
    fn accounts_key(&self) -> String {
        self.index("accounts")
    }

    fn session_key(&self, token_hash: &str) -> String {
        self.key("session", token_hash)
    }
}

#[async_trait]
impl AccountStore for RedisStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let key = self.accounts_key();
        let json = encode(&format!("{key}/{}", account.id), account)?;
        let created: i64 = self
            .query(redis::cmd("HSETNX").arg(&key).arg(&account.id).arg(json))
            .await?;
        match created {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "account {} already exists",
                account.id
            ))),
        }
    }

    async fn update_account(&self, account: &Account) -> Result<(), StoreError> {
        let key = self.accounts_key();
        let json = encode(&format!("{key}/{}", account.id), account)?;
        let mut invocation = UPDATE_FIELD.key(&key);
        invocation.arg(&account.id).arg(json);
        let replaced: i64 = self.invoke(&invocation).await?;
        match replaced {
            1 => Ok(()),
            _ => Err(StoreError::NotFound {
                kind: "account",
                id: account.id.clone(),
            }),
        }
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let key = self.accounts_key();
        let raw: Option<String> = self.query(redis::cmd("HGET").arg(&key).arg(id)).await?;
        raw.map(|raw| decode(&format!("{key}/{id}"), &raw))
            .transpose()
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut all: Vec<Account> = self.hash_values(&self.accounts_key()).await?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn create_session(
        &self,
        session: &Session,
        policy: &SessionPolicy,
    ) -> Result<(), StoreError> {
        let key = self.session_key(&session.token_hash);
        let json = encode(&key, session)?;
        // The full lifetime from now: never shorter than the session's own
        // absolute expiry, which every read checks.
        let ttl = policy.absolute_ms.max(1);
        self.query::<()>(redis::cmd("SET").arg(&key).arg(json).arg("PX").arg(ttl))
            .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Millis,
        policy: &SessionPolicy,
    ) -> Result<Option<(Session, Account)>, StoreError> {
        let key = self.session_key(token_hash);
        let raw: Option<String> = self.query(redis::cmd("GET").arg(&key)).await?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let mut session: Session = decode(&key, &raw)?;
        let account = self.account(&session.account).await?;
        match account {
            Some(account) if policy.holds(&session, Some(&account), now) => {
                if now - session.last_seen_ms >= policy.touch_every_ms() {
                    session.last_seen_ms = now;
                    let json = encode(&key, &session)?;
                    // XX: a session deleted meanwhile stays deleted.
                    self.query::<()>(
                        redis::cmd("SET")
                            .arg(&key)
                            .arg(json)
                            .arg("XX")
                            .arg("KEEPTTL"),
                    )
                    .await?;
                }
                Ok(Some((session, account)))
            }
            _ => {
                self.delete_session(token_hash).await?;
                Ok(None)
            }
        }
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.query::<()>(redis::cmd("DEL").arg(self.session_key(token_hash)))
            .await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let key = self.index("audit");
        let json = encode(&key, event)?;
        self.query::<()>(redis::cmd("LPUSH").arg(&key).arg(json))
            .await
    }

    async fn trim_audit(&self, keep: u64) -> Result<u64, StoreError> {
        let key = self.index("audit");
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        // Newest first (LPUSH): everything past index keep-1 is older.
        let before: u64 = self.query(redis::cmd("LLEN").arg(&key)).await?;
        if keep == 0 {
            self.query::<()>(redis::cmd("DEL").arg(&key)).await?;
            return Ok(before);
        }
        self.query::<()>(redis::cmd("LTRIM").arg(&key).arg(0).arg(keep - 1))
            .await?;
        Ok(before.saturating_sub(u64::try_from(keep).unwrap_or(u64::MAX)))
    }

    async fn audit(&self, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let key = self.index("audit");
        // A limit past what Redis counts in means all of them (-1: the end).
        let stop = i64::try_from(limit - 1).unwrap_or(-1);
        let raw: Vec<String> = self
            .query(redis::cmd("LRANGE").arg(&key).arg(0).arg(stop))
            .await?;
        raw.iter()
            .enumerate()
            .map(|(i, r)| decode(&format!("{key}/{i}"), r))
            .collect()
    }
}
