//! The tables of customers, conversations and their timelines, open in one
//! write transaction, and the steps linking, merging and ingesting share.

use std::ops::Bound;

use omni_core::time::Millis;
use omni_core::{
    Conversation, Customer, CustomerId, Direction, MergeRecord, Provenance, StoredMessage,
};
use redb::{ReadableTable, Table, WriteTransaction};

use super::records::{dangling, db_err, get_json, get_message, not_found, put_json, put_message};
use super::schema::{
    ATTACHMENTS, CONVERSATIONS, CUSTOMER_CONVERSATIONS, CUSTOMER_LATEST, CUSTOMERS, EMAIL_THREADS,
    IDENTITIES, INBOUND_KEYS, MERGES, MESSAGE_IDS, MESSAGES, OPEN, OUTBOUND_KEYS, Pointer,
};
use crate::merge::{self, Plan, Side};
use crate::{Ingested, StoreError};

/// The tables `ingest` and `append_outbound` touch, open in one write transaction.
pub(super) struct Timeline<'t> {
    pub(super) customers: Table<'t, &'static str, &'static [u8]>,
    pub(super) identities: Table<'t, &'static str, &'static str>,
    pub(super) conversations: Table<'t, &'static str, &'static [u8]>,
    pub(super) open: Table<'t, &'static str, ()>,
    pub(super) customer_latest: Table<'t, &'static str, &'static str>,
    pub(super) messages: Table<'t, (&'static str, u64), &'static [u8]>,
    pub(super) message_ids: Table<'t, &'static str, Pointer>,
    pub(super) inbound_keys: Table<'t, &'static str, Pointer>,
    pub(super) outbound_keys: Table<'t, (&'static str, &'static str), u64>,
    pub(super) customer_conversations: Table<'t, (&'static str, i64, &'static str), ()>,
    pub(super) email_threads: Table<'t, &'static str, &'static str>,
    pub(super) attachments: Table<'t, (&'static str, u32), &'static [u8]>,
    pub(super) merges: Table<'t, &'static str, &'static [u8]>,
}

impl<'t> Timeline<'t> {
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
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

    pub(super) fn put_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        put_json(
            &mut self.customers,
            "customers",
            customer.id.as_str(),
            customer,
        )
    }

    pub(super) fn must_customer(&self, id: &str, from: &str) -> Result<Customer, StoreError> {
        self.customer(id)?
            .ok_or_else(|| dangling(format_args!("customers/{id}"), from))
    }

    /// A customer that must exist, or `NotFound`.
    pub(super) fn existing_customer(&self, id: &CustomerId) -> Result<Customer, StoreError> {
        self.customer(id.as_str())?
            .ok_or_else(|| not_found("customer", id))
    }

    /// Every conversation of a customer, oldest first.
    pub(super) fn conversations_of(
        &self,
        id: &CustomerId,
    ) -> Result<Vec<Conversation>, StoreError> {
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

    pub(super) fn side(&self, id: &CustomerId) -> Result<Side, StoreError> {
        Ok(Side {
            customer: self.existing_customer(id)?,
            conversations: self.conversations_of(id)?,
        })
    }

    /// Writes what a link, merge or unmerge planned.
    pub(super) fn apply(&mut self, plan: &Plan) -> Result<(), StoreError> {
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

    pub(super) fn merge(
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

    pub(super) fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        get_json(&self.conversations, "conversations", id)
    }

    pub(super) fn put_conversation(
        &mut self,
        conversation: &Conversation,
    ) -> Result<(), StoreError> {
        put_json(
            &mut self.conversations,
            "conversations",
            conversation.id.as_str(),
            conversation,
        )
    }

    pub(super) fn customer(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        get_json(&self.customers, "customers", id)
    }

    /// The seq of a customer message the adapter accepted at `at`, in a
    /// timeline of `count` messages: after every message stamped at or
    /// before `at`, so a message whose ingest was retried (or redelivered
    /// after a crash) takes its place among the ones accepted after it, and
    /// equal stamps keep their arrival order. The messages stamped later move
    /// one seq up, with every pointer to them.
    pub(super) fn make_room(
        &mut self,
        conversation: &str,
        count: u64,
        at: Millis,
    ) -> Result<u64, StoreError> {
        let mut seq = count + 1;
        while seq > 1 {
            let before = seq - 1;
            let mut moved =
                get_message(&self.messages, conversation, before)?.ok_or_else(|| {
                    dangling(
                        format_args!("messages/{conversation}/{before}"),
                        &format!("conversations/{conversation}"),
                    )
                })?;
            if moved.at_ms <= at {
                break;
            }
            moved.seq = seq;
            self.append(&moved)?;
            let key = moved.idempotency_key.as_str();
            match moved.direction {
                Direction::Inbound => self
                    .inbound_keys
                    .insert(key, (conversation, seq))
                    .map(|_| ()),
                Direction::Outbound => self
                    .outbound_keys
                    .insert((conversation, key), seq)
                    .map(|_| ()),
            }
            .map_err(db_err)?;
            seq = before;
        }
        Ok(seq)
    }

    /// Stores `message` at its seq and indexes its id.
    pub(super) fn append(&mut self, message: &StoredMessage) -> Result<(), StoreError> {
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
    pub(super) fn duplicate(
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
        Ok(Ingested::duplicate(customer, conversation, message))
    }
}
