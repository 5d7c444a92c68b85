//! The embedded store's tables and their creation, with the layout version.

use omni_core::Conversation;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};

use super::records::{db_err, scan_json};
use crate::StoreError;

/// The layout version written into a new file; a file with another version is refused.
pub(super) const SCHEMA_VERSION: u64 = 1;
pub(super) const SCHEMA_KEY: &str = "schema_version";
/// Page cache ceiling; redb's default (1 GiB) is more than a router node needs.
pub(super) const CACHE_BYTES: usize = 128 * 1024 * 1024;

pub(super) type JsonTable = TableDefinition<'static, &'static str, &'static [u8]>;
pub(super) type Pointer = (&'static str, u64);

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const CUSTOMERS: JsonTable = TableDefinition::new("customers");
pub(super) const IDENTITIES: TableDefinition<&str, &str> = TableDefinition::new("identities");
pub(super) const CONVERSATIONS: JsonTable = TableDefinition::new("conversations");
pub(super) const OPEN: TableDefinition<&str, ()> = TableDefinition::new("open_conversations");
pub(super) const CUSTOMER_LATEST: TableDefinition<&str, &str> =
    TableDefinition::new("customer_latest");
pub(super) const MESSAGES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("messages");
pub(super) const MESSAGE_IDS: TableDefinition<&str, Pointer> = TableDefinition::new("message_ids");
pub(super) const INBOUND_KEYS: TableDefinition<&str, Pointer> =
    TableDefinition::new("inbound_keys");
pub(super) const OUTBOUND_KEYS: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("outbound_keys");
pub(super) const CUSTOMER_CONVERSATIONS: TableDefinition<(&str, i64, &str), ()> =
    TableDefinition::new("customer_conversations");
pub(super) const EMAIL_THREADS: TableDefinition<&str, &str> = TableDefinition::new("email_threads");
pub(super) const ATTACHMENTS: TableDefinition<(&str, u32), &[u8]> =
    TableDefinition::new("attachments");
pub(super) const MERGES: JsonTable = TableDefinition::new("merges");
pub(super) const CONTACTS: JsonTable = TableDefinition::new("router_contacts");
pub(super) const PRESENCE: JsonTable = TableDefinition::new("router_presence");
pub(super) const ROUTER_AGENTS: JsonTable = TableDefinition::new("router_agents");
pub(super) const ROUTER_QUEUES: JsonTable = TableDefinition::new("router_queues");
/// (day, queue, channel, number) -> count.
pub(super) const COUNTS: TableDefinition<(&str, &str, &str, &str), u64> =
    TableDefinition::new("router_counts");
pub(super) const ACCOUNTS: JsonTable = TableDefinition::new("accounts");
pub(super) const SESSIONS: JsonTable = TableDefinition::new("sessions");
pub(super) const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
pub(super) const DEAD_LETTERS: TableDefinition<(i64, &str), &[u8]> =
    TableDefinition::new("dead_letters");
pub(super) const DEAD_LETTER_IDS: TableDefinition<&str, i64> =
    TableDefinition::new("dead_letter_ids");
pub(super) const CANNED: JsonTable = TableDefinition::new("canned_responses");
pub(super) const SCHEDULE: JsonTable = TableDefinition::new("schedule");
/// (due, item id) -> (), pending items only.
pub(super) const SCHEDULE_DUE: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("schedule_due");
pub(super) const SCHEDULE_BY_CONVERSATION: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("schedule_by_conversation");
/// (answered at, item id) -> (), answered items only (survey answers by time).
pub(super) const SCHEDULE_ANSWERED: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("schedule_answered");
/// (sent at, item id) -> (), sent items only (surveys sent by time).
pub(super) const SCHEDULE_SENT: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("schedule_sent");

/// Creates every table so that reads never meet a missing one, and checks
/// the layout version.
pub(super) fn init_schema(db: &Database) -> Result<(), StoreError> {
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
            ACCOUNTS,
            SESSIONS,
            CANNED,
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
        txn.open_table(AUDIT).map_err(db_err)?;
        txn.open_table(COUNTS).map_err(db_err)?;
        txn.open_table(DEAD_LETTERS).map_err(db_err)?;
        txn.open_table(DEAD_LETTER_IDS).map_err(db_err)?;
        txn.open_table(SCHEDULE).map_err(db_err)?;
        txn.open_table(SCHEDULE_DUE).map_err(db_err)?;
        txn.open_table(SCHEDULE_BY_CONVERSATION).map_err(db_err)?;
        txn.open_table(SCHEDULE_ANSWERED).map_err(db_err)?;
        txn.open_table(SCHEDULE_SENT).map_err(db_err)?;
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
