//! The embedded store: [`ContextStore`] and [`RouterStore`] in one redb file.
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

use std::fmt;
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use omni_core::config::{AgentConfig, QueueConfig};
use omni_core::time::Millis;
use omni_core::{
    AgentId, Conversation, ConversationId, ConversationStatus, Customer, CustomerId,
    CustomerUpdate, DeliveryStatus, Direction, Identity, InboundMessage, MergeRecord, MessageId,
    OptChange, OptOut, Provenance, StoredMessage,
};
use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, Table, TableDefinition, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::merge::{self, Plan, Side};
use crate::{
    ContactRecord, ContextStore, IngestOptions, Ingested, Linked, NewOutbound, PresenceRecord,
    RouterStore, StoreError, inbound_extras,
};

/// The layout version written into a new file; a file with another version is refused.
const SCHEMA_VERSION: u64 = 1;
const SCHEMA_KEY: &str = "schema_version";
/// Page cache ceiling; redb's default (1 GiB) is more than a router node needs.
const CACHE_BYTES: usize = 128 * 1024 * 1024;

type JsonTable = TableDefinition<'static, &'static str, &'static [u8]>;
type Pointer = (&'static str, u64);

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CUSTOMERS: JsonTable = TableDefinition::new("customers");
const IDENTITIES: TableDefinition<&str, &str> = TableDefinition::new("identities");
const CONVERSATIONS: JsonTable = TableDefinition::new("conversations");
const OPEN: TableDefinition<&str, ()> = TableDefinition::new("open_conversations");
const CUSTOMER_LATEST: TableDefinition<&str, &str> = TableDefinition::new("customer_latest");
const MESSAGES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("messages");
const MESSAGE_IDS: TableDefinition<&str, Pointer> = TableDefinition::new("message_ids");
const INBOUND_KEYS: TableDefinition<&str, Pointer> = TableDefinition::new("inbound_keys");
const OUTBOUND_KEYS: TableDefinition<(&str, &str), u64> = TableDefinition::new("outbound_keys");
const CUSTOMER_CONVERSATIONS: TableDefinition<(&str, i64, &str), ()> =
    TableDefinition::new("customer_conversations");
const EMAIL_THREADS: TableDefinition<&str, &str> = TableDefinition::new("email_threads");
const ATTACHMENTS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("attachments");
const MERGES: JsonTable = TableDefinition::new("merges");
const CONTACTS: JsonTable = TableDefinition::new("router_contacts");
const PRESENCE: JsonTable = TableDefinition::new("router_presence");
const ROUTER_AGENTS: JsonTable = TableDefinition::new("router_agents");
const ROUTER_QUEUES: JsonTable = TableDefinition::new("router_queues");

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

/// Creates every table so that reads never meet a missing one, and checks
/// the layout version.
fn init_schema(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(db_err)?;
    {
        let mut meta = txn.open_table(META).map_err(db_err)?;
        let version = meta.get(SCHEMA_KEY).map_err(db_err)?.map(|g| g.value());
        match version {
            None => {
                meta.insert(SCHEMA_KEY, SCHEMA_VERSION).map_err(db_err)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(StoreError::Unavailable(format!(
                    "store layout version {other} is not supported (expected {SCHEMA_VERSION})"
                )));
            }
        }
        for table in [
            CUSTOMERS,
            CONVERSATIONS,
            CONTACTS,
            PRESENCE,
            MERGES,
            ROUTER_AGENTS,
            ROUTER_QUEUES,
        ] {
            txn.open_table(table).map_err(db_err)?;
        }
        txn.open_table(IDENTITIES).map_err(db_err)?;
        txn.open_table(CUSTOMER_LATEST).map_err(db_err)?;
        txn.open_table(OPEN).map_err(db_err)?;
        txn.open_table(MESSAGES).map_err(db_err)?;
        txn.open_table(MESSAGE_IDS).map_err(db_err)?;
        txn.open_table(INBOUND_KEYS).map_err(db_err)?;
        txn.open_table(OUTBOUND_KEYS).map_err(db_err)?;
        txn.open_table(EMAIL_THREADS).map_err(db_err)?;
        txn.open_table(ATTACHMENTS).map_err(db_err)?;
        backfill_customer_conversations(&txn)?;
    }
    txn.commit().map_err(db_err)
}

/// A file written before customers listed their conversations gets the
/// list built from the conversations once.
fn backfill_customer_conversations(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut index = txn.open_table(CUSTOMER_CONVERSATIONS).map_err(db_err)?;
    if !index.is_empty().map_err(db_err)? {
        return Ok(());
    }
    let conversations = txn.open_table(CONVERSATIONS).map_err(db_err)?;
    let all: Vec<Conversation> = scan_json(&conversations, "conversations")?;
    for c in all {
        index
            .insert((c.customer_id.as_str(), c.created_at_ms, c.id.as_str()), ())
            .map_err(db_err)?;
    }
    Ok(())
}

fn db_err(e: impl fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

fn decode<T: DeserializeOwned>(key: impl fmt::Display, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(key: impl fmt::Display, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: format!("cannot encode: {e}"),
    })
}

/// A record another record points to is missing.
fn dangling(key: impl fmt::Display, from: &str) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: format!("missing, but referenced by {from}"),
    }
}

fn not_found(kind: &'static str, id: impl fmt::Display) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

fn get_json<T, R>(table: &R, table_name: &str, key: &str) -> Result<Option<T>, StoreError>
where
    T: DeserializeOwned,
    R: ReadableTable<&'static str, &'static [u8]>,
{
    match table.get(key).map_err(db_err)? {
        None => Ok(None),
        Some(guard) => decode(format_args!("{table_name}/{key}"), guard.value()).map(Some),
    }
}

fn put_json<T: Serialize>(
    table: &mut Table<'_, &'static str, &'static [u8]>,
    table_name: &str,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = encode(format_args!("{table_name}/{key}"), value)?;
    table.insert(key, bytes.as_slice()).map_err(db_err)?;
    Ok(())
}

fn get_str<R>(table: &R, key: &str) -> Result<Option<String>, StoreError>
where
    R: ReadableTable<&'static str, &'static str>,
{
    Ok(table
        .get(key)
        .map_err(db_err)?
        .map(|g| g.value().to_owned()))
}

fn get_pointer<R>(table: &R, key: &str) -> Result<Option<(String, u64)>, StoreError>
where
    R: ReadableTable<&'static str, Pointer>,
{
    Ok(table.get(key).map_err(db_err)?.map(|g| {
        let (conversation, seq) = g.value();
        (conversation.to_owned(), seq)
    }))
}

fn get_message<R>(
    table: &R,
    conversation: &str,
    seq: u64,
) -> Result<Option<StoredMessage>, StoreError>
where
    R: ReadableTable<(&'static str, u64), &'static [u8]>,
{
    match table.get((conversation, seq)).map_err(db_err)? {
        None => Ok(None),
        Some(guard) => {
            decode(format_args!("messages/{conversation}/{seq}"), guard.value()).map(Some)
        }
    }
}

fn put_message(
    table: &mut Table<'_, (&'static str, u64), &'static [u8]>,
    message: &StoredMessage,
) -> Result<(), StoreError> {
    let conversation = message.conversation_id.as_str();
    let bytes = encode(
        format_args!("messages/{conversation}/{}", message.seq),
        message,
    )?;
    table
        .insert((conversation, message.seq), bytes.as_slice())
        .map_err(db_err)?;
    Ok(())
}

fn scan_json<T, R>(table: &R, table_name: &str) -> Result<Vec<T>, StoreError>
where
    T: DeserializeOwned,
    R: ReadableTable<&'static str, &'static [u8]>,
{
    let mut out = Vec::new();
    for entry in table.iter().map_err(db_err)? {
        let (key, value) = entry.map_err(db_err)?;
        out.push(decode(
            format_args!("{table_name}/{}", key.value()),
            value.value(),
        )?);
    }
    Ok(out)
}

/// The tables `ingest` and `append_outbound` touch, open in one write transaction.
struct Timeline<'t> {
    customers: Table<'t, &'static str, &'static [u8]>,
    identities: Table<'t, &'static str, &'static str>,
    conversations: Table<'t, &'static str, &'static [u8]>,
    open: Table<'t, &'static str, ()>,
    customer_latest: Table<'t, &'static str, &'static str>,
    messages: Table<'t, (&'static str, u64), &'static [u8]>,
    message_ids: Table<'t, &'static str, Pointer>,
    inbound_keys: Table<'t, &'static str, Pointer>,
    outbound_keys: Table<'t, (&'static str, &'static str), u64>,
    customer_conversations: Table<'t, (&'static str, i64, &'static str), ()>,
    email_threads: Table<'t, &'static str, &'static str>,
    attachments: Table<'t, (&'static str, u32), &'static [u8]>,
    merges: Table<'t, &'static str, &'static [u8]>,
}

impl<'t> Timeline<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            customers: txn.open_table(CUSTOMERS).map_err(db_err)?,
            identities: txn.open_table(IDENTITIES).map_err(db_err)?,
            conversations: txn.open_table(CONVERSATIONS).map_err(db_err)?,
            open: txn.open_table(OPEN).map_err(db_err)?,
            customer_latest: txn.open_table(CUSTOMER_LATEST).map_err(db_err)?,
            messages: txn.open_table(MESSAGES).map_err(db_err)?,
            message_ids: txn.open_table(MESSAGE_IDS).map_err(db_err)?,
            inbound_keys: txn.open_table(INBOUND_KEYS).map_err(db_err)?,
            outbound_keys: txn.open_table(OUTBOUND_KEYS).map_err(db_err)?,
            customer_conversations: txn.open_table(CUSTOMER_CONVERSATIONS).map_err(db_err)?,
            email_threads: txn.open_table(EMAIL_THREADS).map_err(db_err)?,
            attachments: txn.open_table(ATTACHMENTS).map_err(db_err)?,
            merges: txn.open_table(MERGES).map_err(db_err)?,
        })
    }

    fn put_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        put_json(
            &mut self.customers,
            "customers",
            customer.id.as_str(),
            customer,
        )
    }

    fn must_customer(&self, id: &str, from: &str) -> Result<Customer, StoreError> {
        self.customer(id)?
            .ok_or_else(|| dangling(format_args!("customers/{id}"), from))
    }

    /// A customer that must exist, or `NotFound`.
    fn existing_customer(&self, id: &CustomerId) -> Result<Customer, StoreError> {
        self.customer(id.as_str())?
            .ok_or_else(|| not_found("customer", id))
    }

    /// Every conversation of a customer, oldest first.
    fn conversations_of(&self, id: &CustomerId) -> Result<Vec<Conversation>, StoreError> {
        let range = self
            .customer_conversations
            .range::<(&str, i64, &str)>((
                Bound::Included((id.as_str(), i64::MIN, "")),
                Bound::Included((id.as_str(), i64::MAX, "\u{10ffff}")),
            ))
            .map_err(db_err)?;
        let mut ids = Vec::new();
        for entry in range {
            let (key, _) = entry.map_err(db_err)?;
            ids.push(key.value().2.to_owned());
        }
        ids.iter()
            .map(|c| {
                self.conversation(c)?.ok_or_else(|| {
                    dangling(
                        format_args!("conversations/{c}"),
                        &format!("customer_conversations/{id}"),
                    )
                })
            })
            .collect()
    }

    fn side(&self, id: &CustomerId) -> Result<Side, StoreError> {
        Ok(Side {
            customer: self.existing_customer(id)?,
            conversations: self.conversations_of(id)?,
        })
    }

    /// Writes what a link, merge or unmerge planned.
    fn apply(&mut self, plan: &Plan) -> Result<(), StoreError> {
        for customer in &plan.customers {
            self.put_customer(customer)?;
        }
        for conversation in &plan.conversations {
            self.put_conversation(conversation)?;
        }
        for (key, owner) in &plan.identities {
            self.identities
                .insert(key.as_str(), owner.as_str())
                .map_err(db_err)?;
        }
        for (conversation, created, from, to) in &plan.moved {
            self.customer_conversations
                .remove((from.as_str(), *created, conversation.as_str()))
                .map_err(db_err)?;
            self.customer_conversations
                .insert((to.as_str(), *created, conversation.as_str()), ())
                .map_err(db_err)?;
        }
        for (customer, latest) in &plan.latest {
            match latest {
                Some(c) => self
                    .customer_latest
                    .insert(customer.as_str(), c.as_str())
                    .map(|_| ()),
                None => self.customer_latest.remove(customer.as_str()).map(|_| ()),
            }
            .map_err(db_err)?;
        }
        if let Some(record) = &plan.record {
            put_json(&mut self.merges, "merges", &record.id, record)?;
        }
        Ok(())
    }

    fn merge(
        &mut self,
        survivor: &CustomerId,
        absorbed: &CustomerId,
        provenance: &Provenance,
    ) -> Result<MergeRecord, StoreError> {
        let plan = merge::plan_merge(
            self.side(survivor)?,
            self.side(absorbed)?,
            merge::new_merge_id(),
            provenance,
        )?;
        self.apply(&plan)?;
        plan.record
            .ok_or_else(|| StoreError::Conflict("merge planned no record".into()))
    }

    fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        get_json(&self.conversations, "conversations", id)
    }

    fn put_conversation(&mut self, conversation: &Conversation) -> Result<(), StoreError> {
        put_json(
            &mut self.conversations,
            "conversations",
            conversation.id.as_str(),
            conversation,
        )
    }

    fn customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        get_json(&self.customers, "customers", id)
    }

    /// Stores `message` at its seq and indexes its id.
    fn append(&mut self, message: &StoredMessage) -> Result<(), StoreError> {
        put_message(&mut self.messages, message)?;
        self.message_ids
            .insert(
                message.id.as_str(),
                (message.conversation_id.as_str(), message.seq),
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// What a redelivered inbound message answers: the message stored the
    /// first time, with its conversation and customer as they are now.
    fn duplicate(
        &self,
        conversation_id: &str,
        seq: u64,
        key: &str,
    ) -> Result<Ingested, StoreError> {
        let from = format!("inbound_keys/{key}");
        let message = get_message(&self.messages, conversation_id, seq)?
            .ok_or_else(|| dangling(format_args!("messages/{conversation_id}/{seq}"), &from))?;
        let conversation = self
            .conversation(conversation_id)?
            .ok_or_else(|| dangling(format_args!("conversations/{conversation_id}"), &from))?;
        let customer_id = conversation.customer_id.as_str();
        let customer = self.customer(customer_id)?.ok_or_else(|| {
            dangling(
                format_args!("customers/{customer_id}"),
                &format!("conversations/{conversation_id}"),
            )
        })?;
        Ok(Ingested {
            needs_routing: conversation.status == ConversationStatus::Queued,
            customer,
            conversation,
            message,
            duplicate: true,
            opened: false,
            reopened: false,
            channel_changed: false,
        })
    }

    fn ingest(
        &mut self,
        message: &InboundMessage,
        options: &IngestOptions,
    ) -> Result<Ingested, StoreError> {
        let key = message.idempotency_key.as_str();
        if let Some((conversation_id, seq)) = get_pointer(&self.inbound_keys, key)? {
            return self.duplicate(&conversation_id, seq, key);
        }
        let at = message.received_at_ms;
        let policy = options.policy;
        let within_window = |resolved_at: Option<Millis>| {
            resolved_at.is_some_and(|r| at.saturating_sub(r) <= policy.reopen_window_ms)
        };

        let thread = match &options.thread {
            Some(id) => self.conversation(id.as_str())?,
            None => None,
        };
        let identity_key = message.from.key();
        let owner = get_str(&self.identities, &identity_key)?;
        let from_identities = format!("identities/{identity_key}");
        let (mut customer, mut customer_changed, sender_owned) = match (&owner, &thread) {
            (Some(id), Some(t)) if t.customer_id.as_str() != id => {
                // A known sender writing into another customer's thread: the
                // thread wins, and nobody is merged on that alone.
                let customer =
                    self.must_customer(t.customer_id.as_str(), &format!("conversations/{}", t.id))?;
                (customer, false, false)
            }
            (Some(id), _) => (self.must_customer(id, &from_identities)?, false, true),
            (None, Some(t)) => {
                let mut customer =
                    self.must_customer(t.customer_id.as_str(), &format!("conversations/{}", t.id))?;
                merge::add_identity(
                    &mut customer,
                    &message.from,
                    &Provenance {
                        at_ms: at,
                        by: "system".into(),
                        evidence: options.thread_evidence.clone(),
                    },
                );
                self.identities
                    .insert(identity_key.as_str(), customer.id.as_str())
                    .map_err(db_err)?;
                (customer, true, true)
            }
            (None, None) => {
                let mut customer = Customer::new(CustomerId::generate(), message.from.clone(), at);
                customer.display_name = message.display_name.clone();
                self.identities
                    .insert(identity_key.as_str(), customer.id.as_str())
                    .map_err(db_err)?;
                (customer, true, true)
            }
        };
        if sender_owned {
            if customer.display_name.is_none() && message.display_name.is_some() {
                customer.display_name = message.display_name.clone();
                customer_changed = true;
            }
            match message.sms.as_ref().and_then(|s| s.opt) {
                Some(OptChange::Out) => {
                    customer.opt_outs.insert(
                        identity_key.clone(),
                        OptOut {
                            at_ms: at,
                            keyword: message.text.trim().to_owned(),
                        },
                    );
                    customer_changed = true;
                }
                Some(OptChange::In) => {
                    customer_changed |= customer.opt_outs.remove(&identity_key).is_some();
                }
                None => {}
            }
        }
        if customer_changed {
            self.put_customer(&customer)?;
        }

        let threaded = thread.filter(|t| {
            t.customer_id == customer.id
                && (t.status != ConversationStatus::Resolved || within_window(t.resolved_at_ms))
        });
        let latest = match threaded {
            Some(t) => Some(t),
            None => match get_str(&self.customer_latest, customer.id.as_str())? {
                Some(id) => Some(self.conversation(&id)?.ok_or_else(|| {
                    dangling(
                        format_args!("conversations/{id}"),
                        &format!("customer_latest/{}", customer.id),
                    )
                })?),
                None => None,
            },
        };
        let (mut conversation, opened, reopened) = match latest {
            Some(c) if c.status != ConversationStatus::Resolved => (c, false, false),
            Some(mut c) if within_window(c.resolved_at_ms) => {
                c.status = ConversationStatus::Queued;
                c.queued_at_ms = Some(at);
                c.assigned_agent = None;
                c.resolved_at_ms = None;
                self.open.insert(c.id.as_str(), ()).map_err(db_err)?;
                (c, false, true)
            }
            _ => {
                let c = Conversation {
                    id: ConversationId::generate(),
                    customer_id: customer.id.clone(),
                    status: ConversationStatus::Queued,
                    queue: options.queue_for_new.clone(),
                    last_channel: message.channel,
                    last_identity: message.from.clone(),
                    created_at_ms: at,
                    updated_at_ms: at,
                    queued_at_ms: Some(at),
                    assigned_agent: None,
                    last_agent: None,
                    resolved_at_ms: None,
                    message_count: 0,
                };
                self.open.insert(c.id.as_str(), ()).map_err(db_err)?;
                self.customer_conversations
                    .insert((customer.id.as_str(), at, c.id.as_str()), ())
                    .map_err(db_err)?;
                (c, true, false)
            }
        };
        // The conversation the customer's next message continues.
        self.customer_latest
            .insert(customer.id.as_str(), conversation.id.as_str())
            .map_err(db_err)?;

        let (email, notice) = inbound_extras(message, options.max_attachment_bytes);
        let stored = StoredMessage {
            id: MessageId::generate(),
            conversation_id: conversation.id.clone(),
            seq: conversation.message_count + 1,
            direction: Direction::Inbound,
            channel: message.channel,
            agent_id: None,
            text: message.text.clone(),
            at_ms: at,
            delivery: DeliveryStatus::Received,
            idempotency_key: message.idempotency_key.clone(),
            email,
            error: None,
            notice,
        };
        if let (Some(details), Some(email)) = (&message.email, &stored.email) {
            for (info, attachment) in email.attachments.iter().zip(&details.attachments) {
                if info.stored {
                    self.attachments
                        .insert(
                            (stored.id.as_str(), info.index),
                            attachment.content.as_slice(),
                        )
                        .map_err(db_err)?;
                }
            }
            if !email.message_id.is_empty()
                && self
                    .email_threads
                    .get(email.message_id.as_str())
                    .map_err(db_err)?
                    .is_none()
            {
                self.email_threads
                    .insert(email.message_id.as_str(), conversation.id.as_str())
                    .map_err(db_err)?;
            }
        }
        self.append(&stored)?;
        self.inbound_keys
            .insert(key, (stored.conversation_id.as_str(), stored.seq))
            .map_err(db_err)?;
        let channel_changed = conversation.last_channel != message.channel;
        conversation.last_channel = message.channel;
        conversation.last_identity = message.from.clone();
        conversation.updated_at_ms = conversation.updated_at_ms.max(at);
        conversation.message_count = stored.seq;
        self.put_conversation(&conversation)?;

        Ok(Ingested {
            customer,
            conversation,
            message: stored,
            duplicate: false,
            needs_routing: opened || reopened,
            opened,
            reopened,
            channel_changed,
        })
    }

    fn append_outbound(&mut self, message: &NewOutbound) -> Result<StoredMessage, StoreError> {
        let conversation_id = message.conversation_id.as_str();
        let mut conversation = self
            .conversation(conversation_id)?
            .ok_or_else(|| not_found("conversation", conversation_id))?;
        let key = message.idempotency_key.as_str();
        let seen = self
            .outbound_keys
            .get((conversation_id, key))
            .map_err(db_err)?
            .map(|g| g.value());
        if let Some(seq) = seen {
            return get_message(&self.messages, conversation_id, seq)?.ok_or_else(|| {
                dangling(
                    format_args!("messages/{conversation_id}/{seq}"),
                    &format!("outbound_keys/{conversation_id}/{key}"),
                )
            });
        }
        let stored = StoredMessage {
            id: message.id.clone(),
            conversation_id: message.conversation_id.clone(),
            seq: conversation.message_count + 1,
            direction: Direction::Outbound,
            channel: message.channel,
            agent_id: Some(message.agent_id.clone()),
            text: message.text.clone(),
            at_ms: message.at_ms,
            delivery: DeliveryStatus::Queued,
            idempotency_key: message.idempotency_key.clone(),
            email: message.email.clone(),
            error: None,
            notice: None,
        };
        if let Some(email) = &stored.email
            && !email.message_id.is_empty()
        {
            self.email_threads
                .insert(email.message_id.as_str(), conversation_id)
                .map_err(db_err)?;
        }
        self.append(&stored)?;
        self.outbound_keys
            .insert((conversation_id, key), stored.seq)
            .map_err(db_err)?;
        conversation.updated_at_ms = conversation.updated_at_ms.max(message.at_ms);
        conversation.message_count = stored.seq;
        self.put_conversation(&conversation)?;
        Ok(stored)
    }
}

/// Loads a conversation for a status change, applies `change` and stores the
/// result if `change` altered it.
fn update_conversation(
    txn: &WriteTransaction,
    id: &ConversationId,
    change: impl FnOnce(&mut Conversation) -> Result<(), StoreError>,
) -> Result<Conversation, StoreError> {
    let mut conversations = txn.open_table(CONVERSATIONS).map_err(db_err)?;
    let before: Conversation = get_json(&conversations, "conversations", id.as_str())?
        .ok_or_else(|| not_found("conversation", id))?;
    let mut after = before.clone();
    change(&mut after)?;
    if after != before {
        put_json(&mut conversations, "conversations", id.as_str(), &after)?;
        let mut open = txn.open_table(OPEN).map_err(db_err)?;
        if after.status == ConversationStatus::Resolved {
            open.remove(id.as_str()).map_err(db_err)?;
        } else {
            open.insert(id.as_str(), ()).map_err(db_err)?;
        }
    }
    Ok(after)
}

#[async_trait]
impl ContextStore for EmbeddedStore {
    async fn ingest_with(
        &self,
        message: &InboundMessage,
        options: &IngestOptions,
    ) -> Result<Ingested, StoreError> {
        let message = message.clone();
        let options = options.clone();
        self.write(move |txn| Timeline::open(txn)?.ingest(&message, &options))
            .await
    }

    async fn record_delivery(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let conversation_id = conversation_id.clone();
        let message_id = message_id.clone();
        let error = error.filter(|e| !e.is_empty()).map(str::to_owned);
        self.write(move |txn| {
            let message_ids = txn.open_table(MESSAGE_IDS).map_err(db_err)?;
            let seq = match get_pointer(&message_ids, message_id.as_str())? {
                Some((owner, seq)) if owner == conversation_id.as_str() => seq,
                _ => return Err(not_found("message", &message_id)),
            };
            let mut messages = txn.open_table(MESSAGES).map_err(db_err)?;
            let mut message =
                get_message(&messages, conversation_id.as_str(), seq)?.ok_or_else(|| {
                    dangling(
                        format_args!("messages/{conversation_id}/{seq}"),
                        &format!("message_ids/{message_id}"),
                    )
                })?;
            if status.rank() <= message.delivery.rank() {
                return Ok(None);
            }
            message.delivery = status;
            message.error = if status == DeliveryStatus::Failed {
                error
            } else {
                None
            };
            put_message(&mut messages, &message)?;
            Ok(Some(message))
        })
        .await
    }

    async fn update_customer(
        &self,
        id: &CustomerId,
        update: &CustomerUpdate,
    ) -> Result<Customer, StoreError> {
        let id = id.clone();
        let update = update.clone();
        self.write(move |txn| {
            let mut t = Timeline::open(txn)?;
            let mut customer = t.existing_customer(&id)?;
            merge::check_linkable(&customer)?;
            update.apply(&mut customer);
            t.put_customer(&customer)?;
            Ok(customer)
        })
        .await
    }

    async fn customer_conversations(
        &self,
        id: &CustomerId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let id = id.clone();
        self.read(move |txn| {
            let index = txn.open_table(CUSTOMER_CONVERSATIONS).map_err(db_err)?;
            let conversations = txn.open_table(CONVERSATIONS).map_err(db_err)?;
            let range = index
                .range::<(&str, i64, &str)>((
                    Bound::Included((id.as_str(), i64::MIN, "")),
                    Bound::Included((id.as_str(), i64::MAX, "\u{10ffff}")),
                ))
                .map_err(db_err)?;
            let mut out = Vec::new();
            for entry in range.rev().skip(offset).take(limit) {
                let (key, _) = entry.map_err(db_err)?;
                let c = key.value().2;
                let conversation =
                    get_json(&conversations, "conversations", c)?.ok_or_else(|| {
                        dangling(
                            format_args!("conversations/{c}"),
                            &format!("customer_conversations/{id}"),
                        )
                    })?;
                out.push(conversation);
            }
            Ok(out)
        })
        .await
    }

    async fn claim_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
    ) -> Result<Customer, StoreError> {
        let id = id.clone();
        let identity = identity.clone();
        self.write(move |txn| {
            let mut t = Timeline::open(txn)?;
            let mut customer = t.existing_customer(&id)?;
            merge::check_linkable(&customer)?;
            if !customer.identities.contains(&identity) && !customer.unverified.contains(&identity)
            {
                customer.unverified.push(identity);
                t.put_customer(&customer)?;
            }
            Ok(customer)
        })
        .await
    }

    async fn link_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
        provenance: &Provenance,
    ) -> Result<Linked, StoreError> {
        let id = id.clone();
        let identity = identity.clone();
        let provenance = provenance.clone();
        self.write(move |txn| {
            let mut t = Timeline::open(txn)?;
            let key = identity.key();
            let mut customer = t.existing_customer(&id)?;
            merge::check_linkable(&customer)?;
            match get_str(&t.identities, &key)? {
                Some(owner) if owner == id.as_str() => {
                    if merge::add_identity(&mut customer, &identity, &provenance) {
                        t.put_customer(&customer)?;
                    }
                    Ok(Linked {
                        customer,
                        merge: None,
                    })
                }
                Some(owner) => {
                    let record = t.merge(&id, &CustomerId::from(owner), &provenance)?;
                    Ok(Linked {
                        customer: t.existing_customer(&id)?,
                        merge: Some(record),
                    })
                }
                None => {
                    merge::add_identity(&mut customer, &identity, &provenance);
                    t.identities
                        .insert(key.as_str(), id.as_str())
                        .map_err(db_err)?;
                    t.put_customer(&customer)?;
                    Ok(Linked {
                        customer,
                        merge: None,
                    })
                }
            }
        })
        .await
    }

    async fn merge_customers(
        &self,
        survivor: &CustomerId,
        absorbed: &CustomerId,
        provenance: &Provenance,
    ) -> Result<MergeRecord, StoreError> {
        let survivor = survivor.clone();
        let absorbed = absorbed.clone();
        let provenance = provenance.clone();
        self.write(move |txn| Timeline::open(txn)?.merge(&survivor, &absorbed, &provenance))
            .await
    }

    async fn unmerge(
        &self,
        merge_id: &str,
        provenance: &Provenance,
    ) -> Result<(Customer, Customer), StoreError> {
        let merge_id = merge_id.to_owned();
        let provenance = provenance.clone();
        self.write(move |txn| {
            let mut t = Timeline::open(txn)?;
            let record: MergeRecord = get_json(&t.merges, "merges", &merge_id)?
                .ok_or_else(|| not_found("merge", &merge_id))?;
            let survivor = t.side(&record.survivor)?;
            let tombstone = t.existing_customer(&record.absorbed.id)?;
            let plan = merge::plan_unmerge(record, survivor, &tombstone, &provenance)?;
            t.apply(&plan)?;
            match <[Customer; 2]>::try_from(plan.customers) {
                Ok([s, a]) => Ok((s, a)),
                Err(_) => Err(StoreError::Conflict("unmerge planned no customers".into())),
            }
        })
        .await
    }

    async fn merge_record(&self, merge_id: &str) -> Result<Option<MergeRecord>, StoreError> {
        let merge_id = merge_id.to_owned();
        self.read(move |txn| {
            let table = txn.open_table(MERGES).map_err(db_err)?;
            get_json(&table, "merges", &merge_id)
        })
        .await
    }

    async fn conversation_by_email_id(
        &self,
        message_id: &str,
    ) -> Result<Option<ConversationId>, StoreError> {
        let message_id = message_id.to_owned();
        self.read(move |txn| {
            let table = txn.open_table(EMAIL_THREADS).map_err(db_err)?;
            Ok(get_str(&table, &message_id)?.map(ConversationId::from))
        })
        .await
    }

    async fn attachment(
        &self,
        message_id: &MessageId,
        index: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let message_id = message_id.clone();
        self.read(move |txn| {
            let table = txn.open_table(ATTACHMENTS).map_err(db_err)?;
            Ok(table
                .get((message_id.as_str(), index))
                .map_err(db_err)?
                .map(|g| g.value().to_vec()))
        })
        .await
    }

    async fn append_outbound(&self, message: NewOutbound) -> Result<StoredMessage, StoreError> {
        self.write(move |txn| Timeline::open(txn)?.append_outbound(&message))
            .await
    }

    async fn assign(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError> {
        let id = conversation_id.clone();
        let agent = agent.clone();
        self.write(move |txn| {
            update_conversation(txn, &id, |c| match c.status {
                ConversationStatus::Resolved => Err(StoreError::Conflict(format!(
                    "conversation {} is resolved",
                    c.id
                ))),
                ConversationStatus::Assigned if c.assigned_agent.as_ref() == Some(&agent) => Ok(()),
                ConversationStatus::Queued | ConversationStatus::Assigned => {
                    c.status = ConversationStatus::Assigned;
                    c.assigned_agent = Some(agent.clone());
                    c.last_agent = Some(agent);
                    c.queued_at_ms = None;
                    c.updated_at_ms = c.updated_at_ms.max(at_ms);
                    Ok(())
                }
            })
        })
        .await
    }

    async fn resolve(
        &self,
        conversation_id: &ConversationId,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError> {
        let id = conversation_id.clone();
        self.write(move |txn| {
            update_conversation(txn, &id, |c| {
                if c.status != ConversationStatus::Resolved {
                    c.status = ConversationStatus::Resolved;
                    c.resolved_at_ms = Some(at_ms);
                    c.assigned_agent = None;
                    c.queued_at_ms = None;
                    c.updated_at_ms = c.updated_at_ms.max(at_ms);
                }
                Ok(())
            })
        })
        .await
    }

    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        let id = id.clone();
        self.read(move |txn| {
            let table = txn.open_table(CONVERSATIONS).map_err(db_err)?;
            get_json(&table, "conversations", id.as_str())
        })
        .await
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let id = id.clone();
        self.read(move |txn| {
            let table = txn.open_table(CUSTOMERS).map_err(db_err)?;
            get_json(&table, "customers", id.as_str())
        })
        .await
    }

    async fn customer_by_identity(
        &self,
        identity: &Identity,
    ) -> Result<Option<CustomerId>, StoreError> {
        let key = identity.key();
        self.read(move |txn| {
            let table = txn.open_table(IDENTITIES).map_err(db_err)?;
            Ok(get_str(&table, &key)?.map(CustomerId::from))
        })
        .await
    }

    async fn latest_conversation(
        &self,
        customer: &CustomerId,
    ) -> Result<Option<Conversation>, StoreError> {
        let customer = customer.clone();
        self.read(move |txn| {
            let latest = txn.open_table(CUSTOMER_LATEST).map_err(db_err)?;
            let Some(id) = get_str(&latest, customer.as_str())? else {
                return Ok(None);
            };
            let conversations = txn.open_table(CONVERSATIONS).map_err(db_err)?;
            get_json(&conversations, "conversations", &id)?
                .map(Some)
                .ok_or_else(|| {
                    dangling(
                        format_args!("conversations/{id}"),
                        &format!("customer_latest/{customer}"),
                    )
                })
        })
        .await
    }

    async fn messages(
        &self,
        conversation_id: &ConversationId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conversation_id = conversation_id.clone();
        self.read(move |txn| {
            let table = txn.open_table(MESSAGES).map_err(db_err)?;
            let id = conversation_id.as_str();
            let range = table
                .range::<(&str, u64)>((
                    Bound::Excluded((id, after_seq)),
                    Bound::Included((id, u64::MAX)),
                ))
                .map_err(db_err)?;
            let mut out = Vec::with_capacity(limit.min(1024));
            for entry in range.take(limit) {
                let (key, value) = entry.map_err(db_err)?;
                let (_, seq) = key.value();
                out.push(decode(format_args!("messages/{id}/{seq}"), value.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn open_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        self.read(|txn| {
            let open = txn.open_table(OPEN).map_err(db_err)?;
            let conversations = txn.open_table(CONVERSATIONS).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in open.iter().map_err(db_err)? {
                let (key, _) = entry.map_err(db_err)?;
                let id = key.value();
                let conversation =
                    get_json(&conversations, "conversations", id)?.ok_or_else(|| {
                        dangling(
                            format_args!("conversations/{id}"),
                            &format!("open_conversations/{id}"),
                        )
                    })?;
                out.push(conversation);
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl RouterStore for EmbeddedStore {
    async fn put_contact(&self, contact: &ContactRecord) -> Result<(), StoreError> {
        let contact = contact.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(CONTACTS).map_err(db_err)?;
            put_json(
                &mut table,
                "router_contacts",
                contact.conversation_id.as_str(),
                &contact,
            )
        })
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
        self.read(|txn| {
            let table = txn.open_table(CONTACTS).map_err(db_err)?;
            scan_json(&table, "router_contacts")
        })
        .await
    }

    async fn put_presence(&self, presence: &PresenceRecord) -> Result<(), StoreError> {
        let presence = presence.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(PRESENCE).map_err(db_err)?;
            put_json(
                &mut table,
                "router_presence",
                presence.agent_id.as_str(),
                &presence,
            )
        })
        .await
    }

    async fn presences(&self) -> Result<Vec<PresenceRecord>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(PRESENCE).map_err(db_err)?;
            scan_json(&table, "router_presence")
        })
        .await
    }

    async fn put_agent_config(&self, agent: &AgentConfig) -> Result<(), StoreError> {
        let agent = agent.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(ROUTER_AGENTS).map_err(db_err)?;
            put_json(&mut table, "router_agents", &agent.id, &agent)
        })
        .await
    }

    async fn agent_configs(&self) -> Result<Vec<AgentConfig>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(ROUTER_AGENTS).map_err(db_err)?;
            scan_json(&table, "router_agents")
        })
        .await
    }

    async fn put_queue_config(&self, queue: &QueueConfig) -> Result<(), StoreError> {
        let queue = queue.clone();
        self.write(move |txn| {
            let mut table = txn.open_table(ROUTER_QUEUES).map_err(db_err)?;
            put_json(&mut table, "router_queues", &queue.id, &queue)
        })
        .await
    }

    async fn queue_configs(&self) -> Result<Vec<QueueConfig>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(ROUTER_QUEUES).map_err(db_err)?;
            scan_json(&table, "router_queues")
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContinuityPolicy;
    use omni_core::QueueId;

    fn message(key: &str) -> InboundMessage {
        InboundMessage {
            idempotency_key: key.into(),
            channel: omni_core::Channel::Sms,
            from: Identity::Phone("+15550100".into()),
            text: "hi".into(),
            received_at_ms: 1,
            topic: None,
            display_name: None,
            email: None,
            sms: None,
        }
    }

    const POLICY: ContinuityPolicy = ContinuityPolicy {
        reopen_window_ms: 1_000,
    };

    /// Replaces one raw record, as a bug or a damaged disk might.
    fn overwrite(store: &EmbeddedStore, table: JsonTable, key: &str, bytes: &[u8]) {
        let txn = store.db.begin_write().expect("begin write");
        txn.open_table(table)
            .expect("open table")
            .insert(key, bytes)
            .expect("insert");
        txn.commit().expect("commit");
    }

    #[tokio::test]
    async fn an_undecodable_record_is_reported_corrupt_with_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("open");
        let first = store
            .ingest(&message("k1"), &QueueId::from("que_a"), POLICY)
            .await
            .expect("ingest");
        let id = first.conversation.id.clone();
        overwrite(&store, CONVERSATIONS, id.as_str(), b"{not json");

        let err = store.conversation(&id).await.expect_err("corrupt read");
        match &err {
            StoreError::Corrupt { key, .. } => assert_eq!(key, &format!("conversations/{id}")),
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let err = store
            .ingest(&message("k2"), &QueueId::from("que_a"), POLICY)
            .await
            .expect_err("ingest into a corrupt conversation");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let err = store.open_conversations().await.expect_err("scan");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_failed_ingest_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("open");
        let first = store
            .ingest(&message("k1"), &QueueId::from("que_a"), POLICY)
            .await
            .expect("ingest");
        let customer = first.customer.id.clone();
        let good = encode("customers", &first.customer).expect("encode");
        overwrite(&store, CUSTOMERS, customer.as_str(), b"[]");
        store
            .ingest(&message("k2"), &QueueId::from("que_a"), POLICY)
            .await
            .expect_err("customer record is corrupt");
        overwrite(&store, CUSTOMERS, customer.as_str(), &good);

        // The failed attempt stored neither the message nor its key.
        let retry = store
            .ingest(&message("k2"), &QueueId::from("que_a"), POLICY)
            .await
            .expect("retry");
        assert!(!retry.duplicate);
        assert_eq!(retry.message.seq, 2);
    }
}
