//! [`ContextStore`] for the embedded store.

use std::ops::Bound;

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{
    AgentId, Conversation, ConversationId, ConversationStatus, Customer, CustomerId,
    CustomerUpdate, DeliveryStatus, Identity, InboundMessage, MergeRecord, MessageId, Provenance,
    StoredMessage,
};
use redb::{ReadableTable, WriteTransaction};

use super::EmbeddedStore;
use super::records::{
    dangling, db_err, decode, get_json, get_message, get_pointer, get_str, not_found, put_json,
    put_message,
};
use super::schema::{
    ATTACHMENTS, CONVERSATIONS, CUSTOMER_CONVERSATIONS, CUSTOMER_LATEST, CUSTOMERS, EMAIL_THREADS,
    IDENTITIES, MERGES, MESSAGE_IDS, MESSAGES, OPEN,
};
use super::timeline::Timeline;
use crate::merge::{self};
use crate::{ContextStore, IngestOptions, Ingested, Linked, NewOutbound, StoreError};

/// Loads a conversation for a status change, applies `change` and stores the
/// result if `change` altered it.
pub(super) fn update_conversation(
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
            merge::check_unverified_room(&customer, &identity)?;
            if merge::add_unverified(&mut customer, &identity) {
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

    async fn put_attachments(
        &self,
        message_id: &MessageId,
        contents: &[(u32, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let message_id = message_id.clone();
        let contents = contents.to_vec();
        self.write(move |txn| {
            let mut table = txn.open_table(ATTACHMENTS).map_err(db_err)?;
            for (index, content) in &contents {
                table
                    .insert((message_id.as_str(), *index), content.as_slice())
                    .map_err(db_err)?;
            }
            Ok(())
        })
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
                // An agent may take a conversation from a bot; its open turn
                // is dropped (a late reply is then refused).
                ConversationStatus::Queued
                | ConversationStatus::Assigned
                | ConversationStatus::Bot => {
                    if let Some(bot) = &mut c.bot {
                        bot.open_turn = None;
                    }
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

    async fn resolve_with(
        &self,
        conversation_id: &ConversationId,
        at_ms: Millis,
        wrapup_code: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let id = conversation_id.clone();
        let code = wrapup_code.map(str::to_owned);
        self.write(move |txn| {
            update_conversation(txn, &id, |c| {
                if c.status != ConversationStatus::Resolved {
                    c.status = ConversationStatus::Resolved;
                    c.wrapup_code = code;
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
