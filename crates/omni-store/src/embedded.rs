//! The embedded store: [`ContextStore`], [`RouterStore`] and [`AccountStore`]
//! in one redb file.
//!
//! Every operation runs on tokio's blocking pool. Every mutation is one redb
//! write transaction committed with immediate durability before the call
//! returns, so a crash after a call returned loses nothing. redb runs one
//! write transaction at a time, which is what makes `ingest` and the other
//! read-modify-write operations race-free. Records are JSON, so a decode
//! failure names the record instead of panicking.
//!
//! # Tables
//! - `customers`: customer id → customer
//! - `identities`: identity key → customer id
//! - `conversations`: conversation id → conversation
//! - `open_conversations`: conversation id → `()`, every conversation not resolved
//! - `customer_latest`: customer id → their most recent conversation id
//! - `messages`: (conversation id, seq) → stored message, so history pages are range scans
//! - `message_ids`: message id → (conversation id, seq)
//! - `inbound_keys`: inbound idempotency key → (conversation id, seq)
//! - `outbound_keys`: (conversation id, idempotency key) → seq
//! - `customer_conversations`: (customer id, created at, conversation id) → `()`
//! - `email_threads`: email Message-ID → conversation id
//! - `attachments`: (message id, index) → content
//! - `merges`: merge id → merge record
//! - `router_contacts`: conversation id → contact record
//! - `router_presence`: agent id → presence record
//! - `router_agents`: agent id → agent configuration set by the admin API
//! - `router_queues`: queue id → queue configuration set by the admin API
//! - `accounts`: account id → account
//! - `sessions`: session token hash → session
//! - `audit`: sequence number → audit event
//! - `dead_letters`: (gave up at, message id) → dead letter
//! - `dead_letter_ids`: message id → gave up at
//! - `canned_responses`: canned response id → canned response
//! - `schedule`: scheduled item id → scheduled item
//! - `schedule_due`: (due, item id) → `()`, pending items only
//! - `schedule_by_conversation`: (conversation id, item id) → `()`
//!
//! # Layout
//! - `schema`: the tables and the layout version.
//! - `records`: encoding, decoding and reading records.
//! - `timeline`: the tables of one write transaction and the steps merges share.
//! - `ingest`: customer and agent messages joining a timeline.
//! - `context`: the [`ContextStore`](crate::ContextStore) implementation.
//! - `router`: the [`RouterStore`](crate::RouterStore) implementation.
//! - `accounts`: the [`AccountStore`](crate::AccountStore) implementation.
//! - `canned`: the [`CannedStore`](crate::CannedStore) implementation.
//! - `deadletters`: the [`DeadLetterStore`](crate::DeadLetterStore) implementation.
//! - `schedule`: the [`ScheduleStore`](crate::ScheduleStore) implementation.
//! - `lifecycle`: the [`CustomerRecords`](crate::CustomerRecords) implementation
//!   (erasure and retention).

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, DatabaseError, ReadTransaction, ReadableDatabase, WriteTransaction};

use crate::StoreError;

mod accounts;
mod bots;
mod canned;
mod context;
mod deadletters;
mod ingest;
mod lifecycle;
mod records;
mod router;
mod schedule;
mod schema;
#[cfg(test)]
mod tests;
mod timeline;

use records::db_err;
use schema::{CACHE_BYTES, init_schema};

/// The durable on-disk store: one redb file holding the context store and
/// the router's state.
pub struct EmbeddedStore {
    db: Arc<Database>,
    path: PathBuf,
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

impl EmbeddedStore {
    /// Opens the store file at `path` (e.g. `<data_dir>/store.redb`),
    /// creating it and its directory if missing. Blocks while the file is
    /// opened (and checked, after a crash), so call it at startup.
    ///
    /// Fails with [`StoreError::Unavailable`], naming the path, when the file
    /// is open in another process, cannot be read or written, is not a store
    /// file, or was written with another layout version.
    pub fn open(path: &Path) -> Result<Arc<EmbeddedStore>, StoreError> {
        let unavailable = |what: String| {
            StoreError::Unavailable(format!("cannot open store {}: {what}", path.display()))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| unavailable(format!("cannot create directory: {e}")))?;
        }
        let mut builder = Database::builder();
        builder.set_cache_size(CACHE_BYTES);
        // redb trusts a cleanly closed file and may panic on one damaged behind its back.
        let db = match catch_unwind(AssertUnwindSafe(|| builder.create(path))) {
            Ok(Ok(db)) => db,
            Ok(Err(DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(unavailable(
                    "the file is already open, by another process or another handle in this one"
                        .into(),
                ));
            }
            Ok(Err(e)) => return Err(unavailable(e.to_string())),
            Err(_) => return Err(unavailable("the file is corrupt".into())),
        };
        init_schema(&db).map_err(|e| unavailable(e.to_string()))?;
        tracing::debug!(path = %path.display(), "embedded store opened");
        Ok(Arc::new(EmbeddedStore {
            db: Arc::new(db),
            path: path.to_owned(),
        }))
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Unavailable(format!("embedded store task failed: {e}")))?
    }

    /// Runs `f` in one write transaction and commits it durably if `f` succeeds;
    /// an error aborts the transaction, leaving nothing half done.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(db_err)?;
            let out = f(&txn)?;
            txn.commit().map_err(db_err)?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` on one consistent snapshot.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            f(&txn)
        })
        .await
    }
}
