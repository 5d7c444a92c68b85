//! [`CustomerRecords`] for the embedded store: each deletion is one write
//! transaction.

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{
    Conversation, ConversationId, ConversationStatus, Customer, CustomerId, Direction, MergeRecord,
    StoredMessage,
};
use redb::{ReadableTable, WriteTransaction};

use super::EmbeddedStore;
use super::records::{db_err, decode, get_json, get_str, scan_json};
use super::schema::{CONTACTS, CONVERSATIONS, MERGES};
use super::timeline::Timeline;
use crate::lifecycle::{CustomerRecords, DeletedConversation, DeletedCustomer};
use crate::{ContactRecord, StoreError};

fn delete_conversation(
    txn: &WriteTransaction,
    id: &str,
) -> Result<Option<DeletedConversation>, StoreError> {
    let mut t = Timeline::open(txn)?;
    let Some(conversation) = get_json::<Conversation, _>(&t.conversations, "conversations", id)?
    else {
        return Ok(None);
    };
    let mut messages: Vec<StoredMessage> = Vec::new();
    for entry in t
        .messages
        .range::<(&str, u64)>((id, 0)..=(id, u64::MAX))
        .map_err(db_err)?
    {
        let (key, value) = entry.map_err(db_err)?;
        messages.push(decode(
            format_args!("messages/{id}/{}", key.value().1),
            value.value(),
        )?);
    }
    let mut deleted = DeletedConversation::default();
    for m in &messages {
        t.messages.remove((id, m.seq)).map_err(db_err)?;
        t.message_ids.remove(m.id.as_str()).map_err(db_err)?;
        match m.direction {
            Direction::Inbound => {
                t.inbound_keys
                    .remove(m.idempotency_key.as_str())
                    .map_err(db_err)?;
            }
            Direction::Outbound => {
                t.outbound_keys
                    .remove((id, m.idempotency_key.as_str()))
                    .map_err(db_err)?;
            }
        }
        if let Some(email) = &m.email {
            if !email.message_id.is_empty()
                && get_str(&t.email_threads, &email.message_id)?.as_deref() == Some(id)
            {
                t.email_threads
                    .remove(email.message_id.as_str())
                    .map_err(db_err)?;
            }
            for a in &email.attachments {
                if t.attachments
                    .remove((m.id.as_str(), a.index))
                    .map_err(db_err)?
                    .is_some()
                {
                    deleted.attachments += 1;
                }
            }
        }
        deleted.messages += 1;
    }
    let customer = conversation.customer_id.as_str();
    t.customer_conversations
        .remove((customer, conversation.created_at_ms, id))
        .map_err(db_err)?;
    if get_str(&t.customer_latest, customer)?.as_deref() == Some(id) {
        t.customer_latest.remove(customer).map_err(db_err)?;
    }
    t.open.remove(id).map_err(db_err)?;
    t.conversations.remove(id).map_err(db_err)?;
    drop(t);
    txn.open_table(CONTACTS)
        .map_err(db_err)?
        .remove(id)
        .map_err(db_err)?;
    Ok(Some(deleted))
}

fn names(record: &MergeRecord, id: &str) -> bool {
    record.survivor.as_str() == id || record.absorbed.id.as_str() == id
}

fn delete_customer(txn: &WriteTransaction, id: &str) -> Result<DeletedCustomer, StoreError> {
    let mut t = Timeline::open(txn)?;
    let customer: Option<Customer> = get_json(&t.customers, "customers", id)?;
    if let Some(customer) = &customer {
        for identity in &customer.identities {
            let key = identity.key();
            if get_str(&t.identities, &key)?.as_deref() == Some(id) {
                t.identities.remove(key.as_str()).map_err(db_err)?;
            }
        }
        t.customers.remove(id).map_err(db_err)?;
    }
    t.customer_latest.remove(id).map_err(db_err)?;
    let merges: Vec<MergeRecord> = scan_json(&t.merges, "merges")?;
    let mut deleted = DeletedCustomer {
        customer,
        merges: 0,
    };
    for record in merges.iter().filter(|r| names(r, id)) {
        t.merges.remove(record.id.as_str()).map_err(db_err)?;
        deleted.merges += 1;
    }
    Ok(deleted)
}

#[async_trait]
impl CustomerRecords for EmbeddedStore {
    async fn delete_conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<DeletedConversation>, StoreError> {
        let id = id.clone();
        self.write(move |txn| delete_conversation(txn, id.as_str()))
            .await
    }

    async fn delete_customer(&self, id: &CustomerId) -> Result<DeletedCustomer, StoreError> {
        let id = id.clone();
        self.write(move |txn| delete_customer(txn, id.as_str()))
            .await
    }

    async fn merges_naming(&self, id: &CustomerId) -> Result<Vec<MergeRecord>, StoreError> {
        let id = id.clone();
        self.read(move |txn| {
            let merges = txn.open_table(MERGES).map_err(db_err)?;
            let all: Vec<MergeRecord> = scan_json(&merges, "merges")?;
            Ok(all.into_iter().filter(|r| names(r, id.as_str())).collect())
        })
        .await
    }

    async fn contact(&self, id: &ConversationId) -> Result<Option<ContactRecord>, StoreError> {
        let id = id.clone();
        self.read(move |txn| {
            let contacts = txn.open_table(CONTACTS).map_err(db_err)?;
            get_json(&contacts, "router_contacts", id.as_str())
        })
        .await
    }

    async fn resolved_before(
        &self,
        cutoff_ms: Millis,
        limit: usize,
    ) -> Result<Vec<ConversationId>, StoreError> {
        self.read(move |txn| {
            let conversations = txn.open_table(CONVERSATIONS).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in conversations.iter().map_err(db_err)? {
                if out.len() >= limit {
                    break;
                }
                let (key, value) = entry.map_err(db_err)?;
                let c: Conversation =
                    decode(format_args!("conversations/{}", key.value()), value.value())?;
                if c.status == ConversationStatus::Resolved
                    && c.resolved_at_ms.is_some_and(|at| at < cutoff_ms)
                {
                    out.push(c.id);
                }
            }
            Ok(out)
        })
        .await
    }
}
