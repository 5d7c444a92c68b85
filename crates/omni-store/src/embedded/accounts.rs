//! [`AccountStore`] for the embedded store: accounts and sessions as JSON
//! records keyed by id and token hash, and the audit log keyed by a
//! sequence number so the newest are a reverse range scan.

use async_trait::async_trait;
use omni_core::time::Millis;
use redb::{ReadableTable, ReadableTableMetadata, TableHandle};

use super::EmbeddedStore;
use super::records::{db_err, decode, encode, get_json, put_json, scan_json};
use super::schema::{ACCOUNTS, AUDIT, SESSIONS};
use crate::StoreError;
use crate::accounts::{Account, AccountStore, AuditEvent, Session, SessionPolicy};

#[async_trait]
impl AccountStore for EmbeddedStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let account = account.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(ACCOUNTS).map_err(db_err)?;
            if table.get(account.id.as_str()).map_err(db_err)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "account {} already exists",
                    account.id
                )));
            }
            put_json(&mut table, ACCOUNTS.name(), &account.id, &account)
        })
        .await
    }

    async fn update_account(&self, account: &Account) -> Result<(), StoreError> {
        let account = account.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(ACCOUNTS).map_err(db_err)?;
            if table.get(account.id.as_str()).map_err(db_err)?.is_none() {
                return Err(StoreError::NotFound {
                    kind: "account",
                    id: account.id.clone(),
                });
            }
            put_json(&mut table, ACCOUNTS.name(), &account.id, &account)
        })
        .await
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let id = id.to_owned();
        self.read(move |txn| {
            let table = txn.open_table(ACCOUNTS).map_err(db_err)?;
            get_json(&table, ACCOUNTS.name(), &id)
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(ACCOUNTS).map_err(db_err)?;
            scan_json(&table, ACCOUNTS.name())
        })
        .await
    }

    async fn create_session(
        &self,
        session: &Session,
        _policy: &SessionPolicy,
    ) -> Result<(), StoreError> {
        // Expired sessions are deleted when next read; the embedded store
        // keeps no timer.
        let session = session.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(SESSIONS).map_err(db_err)?;
            put_json(&mut table, SESSIONS.name(), &session.token_hash, &session)
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Millis,
        policy: &SessionPolicy,
    ) -> Result<Option<(Session, Account)>, StoreError> {
        let key = token_hash.to_owned();
        let found = self
            .read({
                let key = key.clone();
                move |txn| {
                    let sessions = txn.open_table(SESSIONS).map_err(db_err)?;
                    let Some(session) = get_json::<Session, _>(&sessions, SESSIONS.name(), &key)?
                    else {
                        return Ok(None);
                    };
                    let accounts = txn.open_table(ACCOUNTS).map_err(db_err)?;
                    let account: Option<Account> =
                        get_json(&accounts, ACCOUNTS.name(), &session.account)?;
                    Ok(Some((session, account)))
                }
            })
            .await?;
        let Some((mut session, account)) = found else {
            return Ok(None);
        };
        match account {
            Some(account) if policy.holds(&session, Some(&account), now) => {
                if now - session.last_seen_ms >= policy.touch_every_ms() {
                    session.last_seen_ms = now;
                    let touched = session.clone();
                    self.write(move |txn| {
                        let mut table = txn.open_table(SESSIONS).map_err(db_err)?;
                        // Signed out meanwhile: stays signed out.
                        if table
                            .get(touched.token_hash.as_str())
                            .map_err(db_err)?
                            .is_none()
                        {
                            return Ok(());
                        }
                        put_json(&mut table, SESSIONS.name(), &touched.token_hash, &touched)
                    })
                    .await?;
                }
                Ok(Some((session, account)))
            }
            _ => {
                self.delete_session(&key).await?;
                Ok(None)
            }
        }
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let key = token_hash.to_owned();
        self.write(move |txn| {
            let mut table = txn.open_table(SESSIONS).map_err(db_err)?;
            table.remove(key.as_str()).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(AUDIT).map_err(db_err)?;
            let next = match table.last().map_err(db_err)? {
                Some((key, _)) => key.value() + 1,
                None => 1,
            };
            let bytes = encode(format_args!("audit/{next}"), &event)?;
            table.insert(next, bytes.as_slice()).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn trim_audit(&self, keep: u64) -> Result<u64, StoreError> {
        self.write(move |txn| {
            let mut table = txn.open_table(AUDIT).map_err(db_err)?;
            let over = table.len().map_err(db_err)?.saturating_sub(keep);
            for _ in 0..over {
                table.pop_first().map_err(db_err)?;
            }
            Ok(over)
        })
        .await
    }

    async fn audit(&self, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(AUDIT).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(db_err)?.rev().take(limit) {
                let (key, value) = entry.map_err(db_err)?;
                out.push(decode(
                    format_args!("audit/{}", key.value()),
                    value.value(),
                )?);
            }
            Ok(out)
        })
        .await
    }
}
