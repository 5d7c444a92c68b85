//! [`ContextStore`] for Redis: ingest, replies, identities and merges run
//! the scripts of `scripts` or the compare-and-set transactions of `cas`;
//! reads are plain commands.

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{
    AgentId, Conversation, ConversationId, ConversationStatus, Customer, CustomerId,
    CustomerUpdate, DeliveryStatus, Identity, InboundMessage, MergeRecord, MessageId, OptChange,
    Provenance, StoredMessage,
};
use omni_store::merge;
use omni_store::{
    ContextStore, IngestOptions, Ingested, Linked, NewOutbound, StoreError, inbound_extras,
};

use crate::cas::{self, Txn};
use crate::store::*;

#[async_trait]
impl ContextStore for RedisStore {
    async fn ingest_with(
        &self,
        message: &InboundMessage,
        options: &IngestOptions,
    ) -> Result<Ingested, StoreError> {
        let identity = encode("identity", &message.from)?;
        let channel = serde_name(&message.channel)?;
        let customer = CustomerId::generate();
        let conversation = ConversationId::generate();
        let message_id = MessageId::generate();
        let at = message.received_at_ms.to_string();
        let window = options.policy.reopen_window_ms.to_string();
        let (email, notice) = inbound_extras(message, options.max_attachment_bytes);
        let email_json = email
            .as_ref()
            .map(|e| encode("email", e))
            .transpose()?
            .unwrap_or_default();
        let notice_json = notice
            .as_ref()
            .map(|n| encode("notice", n))
            .transpose()?
            .unwrap_or_default();
        let (opt, keyword) = match message.sms.as_ref().and_then(|s| s.opt) {
            Some(OptChange::Out) => ("out", message.text.trim()),
            Some(OptChange::In) => ("in", message.text.trim()),
            None => ("", ""),
        };
        let thread_message_id = email
            .as_ref()
            .map(|e| e.message_id.as_str())
            .unwrap_or_default();
        let mut indexes = Vec::new();
        if let (Some(details), Some(email)) = (&message.email, &email) {
            for (info, attachment) in email.attachments.iter().zip(&details.attachments) {
                if info.stored {
                    indexes.push((info.index.to_string(), attachment.content.as_slice()));
                }
            }
        }
        let thread = options
            .thread
            .as_ref()
            .map(ConversationId::as_str)
            .unwrap_or_default();
        let count = indexes.len().to_string();
        let identity_key = message.from.key();
        let mut args: Vec<&[u8]> = Vec::with_capacity(23 + 2 * indexes.len());
        let fixed: [&str; 23] = [
            &message.idempotency_key,
            &identity_key,
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
            options.queue_for_new.as_str(),
            &window,
            customer.as_str(),
            conversation.as_str(),
            message_id.as_str(),
            thread,
            &options.thread_evidence,
            opt,
            keyword,
            &email_json,
            &notice_json,
            thread_message_id,
            options.trace.as_deref().unwrap_or_default(),
            &count,
            options.bot.as_deref().unwrap_or_default(),
        ];
        args.extend(fixed.iter().map(|a| a.as_bytes()));
        for (index, content) in &indexes {
            args.push(index.as_bytes());
            args.push(content);
        }
        let (status, reply) = self.run_bytes(&self.scripts.ingest, &args).await?;
        let customer: Customer = reply_json(&reply, 0, "customer")?;
        let conversation: Conversation = reply_json(&reply, 1, "conversation")?;
        let message: StoredMessage = reply_json(&reply, 2, "message")?;
        if status == Status::Duplicate {
            return Ok(Ingested::duplicate(customer, conversation, message));
        }
        let opened = reply.get(3).is_some_and(|f| f == "1");
        let reopened = reply.get(4).is_some_and(|f| f == "1");
        let queued = conversation.status == ConversationStatus::Queued;
        let needs_bot = conversation.status == ConversationStatus::Bot;
        Ok(Ingested {
            customer,
            conversation,
            message,
            duplicate: false,
            needs_routing: (opened || reopened) && queued,
            needs_bot,
            opened,
            reopened,
            channel_changed: reply.get(5).is_some_and(|f| f == "1"),
        })
    }

    async fn record_delivery(
        &self,
        conversation_id: &ConversationId,
        message_id: &MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let status = serde_name(&status)?;
        let (_, reply) = self
            .run(
                &self.scripts.record_delivery,
                &[
                    conversation_id.as_str(),
                    message_id.as_str(),
                    &status,
                    error.unwrap_or(""),
                ],
            )
            .await?;
        if reply.is_empty() {
            return Ok(None);
        }
        reply_json(&reply, 0, "message").map(Some)
    }

    async fn update_customer(
        &self,
        id: &CustomerId,
        update: &CustomerUpdate,
    ) -> Result<Customer, StoreError> {
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let mut customer = txn.customer(id).await?;
            merge::check_linkable(&customer)?;
            update.apply(&mut customer);
            let key = self.key("customer", id.as_str());
            txn.set(key.clone(), encode(&key, &customer)?);
            if txn.commit().await? {
                return Ok(customer);
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("update_customer"))
    }

    async fn customer_conversations(
        &self,
        id: &CustomerId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let list = self.key("customer_conversations", id.as_str());
        let start = i64::try_from(offset).unwrap_or(i64::MAX);
        let stop = start.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX) - 1);
        let ids: Vec<String> = self
            .query(redis::cmd("ZREVRANGE").arg(&list).arg(start).arg(stop))
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for c in ids {
            let key = self.key("conversation", &c);
            // Missing: deleted (erasure, retention) since the list was read,
            // by the one script that also takes it off the list.
            if let Some(conversation) = self.get_json(&key).await? {
                out.push(conversation);
            }
        }
        Ok(out)
    }

    async fn claim_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
    ) -> Result<Customer, StoreError> {
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let mut customer = txn.customer(id).await?;
            merge::check_linkable(&customer)?;
            merge::check_unverified_room(&customer, identity)?;
            if !merge::add_unverified(&mut customer, identity) {
                return Ok(customer);
            }
            let key = self.key("customer", id.as_str());
            txn.set(key.clone(), encode(&key, &customer)?);
            if txn.commit().await? {
                return Ok(customer);
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("claim_identity"))
    }

    async fn link_identity(
        &self,
        id: &CustomerId,
        identity: &Identity,
        provenance: &Provenance,
    ) -> Result<Linked, StoreError> {
        let identity_key = self.key("identity", &identity.key());
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let mut customer = txn.customer(id).await?;
            merge::check_linkable(&customer)?;
            let owner = txn.get(identity_key.clone()).await?;
            let linked = match owner {
                Some(owner) if owner != id.as_str() => {
                    let plan = merge::plan_merge(
                        txn.side(id).await?,
                        txn.side(&CustomerId::from(owner)).await?,
                        merge::new_merge_id(),
                        provenance,
                    )?;
                    txn.apply(&plan)?;
                    Linked {
                        customer: plan.customers[0].clone(),
                        merge: plan.record,
                    }
                }
                owner => {
                    let changed = merge::add_identity(&mut customer, identity, provenance);
                    if owner.is_none() {
                        txn.set(identity_key.clone(), id.to_string());
                    } else if !changed {
                        return Ok(Linked {
                            customer,
                            merge: None,
                        });
                    }
                    let key = self.key("customer", id.as_str());
                    txn.set(key.clone(), encode(&key, &customer)?);
                    Linked {
                        customer,
                        merge: None,
                    }
                }
            };
            if txn.commit().await? {
                return Ok(linked);
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("link_identity"))
    }

    async fn merge_customers(
        &self,
        survivor: &CustomerId,
        absorbed: &CustomerId,
        provenance: &Provenance,
    ) -> Result<MergeRecord, StoreError> {
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let survivor_side = txn.side(survivor).await?;
            let absorbed_side = txn.side(absorbed).await?;
            // The identities that move must still belong to the absorbed customer.
            for identity in &absorbed_side.customer.identities {
                txn.get(self.key("identity", &identity.key())).await?;
            }
            let plan = merge::plan_merge(
                survivor_side,
                absorbed_side,
                merge::new_merge_id(),
                provenance,
            )?;
            txn.apply(&plan)?;
            if txn.commit().await? {
                return plan
                    .record
                    .ok_or_else(|| StoreError::Conflict("merge planned no record".into()));
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("merge_customers"))
    }

    async fn unmerge(
        &self,
        merge_id: &str,
        provenance: &Provenance,
    ) -> Result<(Customer, Customer), StoreError> {
        let record_key = self.key("merge", merge_id);
        for attempt in 0..cas::ATTEMPTS {
            let mut txn = Txn::new(self);
            let raw = txn
                .get(record_key.clone())
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    kind: "merge",
                    id: merge_id.to_owned(),
                })?;
            let record: MergeRecord = decode(&record_key, &raw)?;
            let survivor = txn.side(&record.survivor).await?;
            let tombstone = txn.customer(&record.absorbed.id).await?;
            txn.get(self.key("latest", record.absorbed.id.as_str()))
                .await?;
            let plan = merge::plan_unmerge(record, survivor, &tombstone, provenance)?;
            txn.apply(&plan)?;
            let customers = plan.customers.clone();
            if txn.commit().await? {
                return match <[Customer; 2]>::try_from(customers) {
                    Ok([s, a]) => Ok((s, a)),
                    Err(_) => Err(StoreError::Conflict("unmerge planned no customers".into())),
                };
            }
            cas::backoff(attempt).await;
        }
        Err(cas::contended("unmerge"))
    }

    async fn merge_record(&self, merge_id: &str) -> Result<Option<MergeRecord>, StoreError> {
        self.get_json(&self.key("merge", merge_id)).await
    }

    async fn conversation_by_email_id(
        &self,
        message_id: &str,
    ) -> Result<Option<ConversationId>, StoreError> {
        let id: Option<String> = self
            .query(redis::cmd("GET").arg(self.key("email_thread", message_id)))
            .await?;
        Ok(id.map(ConversationId::from))
    }

    async fn attachment(
        &self,
        message_id: &MessageId,
        index: u32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.key("attachment", &format!("{message_id}:{index}"));
        self.query(redis::cmd("GET").arg(key)).await
    }

    async fn put_attachments(
        &self,
        message_id: &MessageId,
        contents: &[(u32, Vec<u8>)],
    ) -> Result<(), StoreError> {
        if contents.is_empty() {
            return Ok(());
        }
        // The keys inbound attachments use; one MSET, so all or none.
        let mut cmd = redis::cmd("MSET");
        for (index, content) in contents {
            cmd.arg(self.key("attachment", &format!("{message_id}:{index}")))
                .arg(content.as_slice());
        }
        self.query::<()>(&cmd).await
    }

    async fn append_outbound(&self, message: NewOutbound) -> Result<StoredMessage, StoreError> {
        let options_json = if message.options.is_empty() {
            String::new()
        } else {
            encode("options", &message.options)?
        };
        self.append_outbound_by(&message, "", &options_json).await
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

    async fn resolve_with(
        &self,
        conversation_id: &ConversationId,
        at_ms: Millis,
        wrapup_code: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let at = at_ms.to_string();
        let (_, reply) = self
            .run(
                &self.scripts.resolve,
                &[conversation_id.as_str(), &at, wrapup_code.unwrap_or("")],
            )
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
        // The pointer and the conversation are written, and deleted
        // (erasure, retention), by one script: a missing conversation was
        // deleted since the pointer was read.
        let key = self.key("conversation", &id);
        self.get_json(&key).await
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
                // Deleted (erasure, retention) between SMEMBERS and MGET:
                // the one script that deletes it also leaves `open`.
                let Some(raw) = raw else {
                    continue;
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

impl RedisStore {
    /// Runs `lua/append_outbound.lua`: a bot's message when `bot` is not
    /// empty, with `options_json` (or empty).
    pub(crate) async fn append_outbound_by(
        &self,
        message: &NewOutbound,
        bot: &str,
        options_json: &str,
    ) -> Result<StoredMessage, StoreError> {
        let channel = serde_name(&message.channel)?;
        let at = message.at_ms.to_string();
        let email_json = message
            .email
            .as_ref()
            .map(|e| encode("email", e))
            .transpose()?
            .unwrap_or_default();
        let thread_message_id = message
            .email
            .as_ref()
            .map(|e| e.message_id.as_str())
            .unwrap_or_default();
        let notice_json = message
            .notice
            .as_ref()
            .map(|n| encode("notice", n))
            .transpose()?
            .unwrap_or_default();
        let (_, reply) = self
            .run(
                &self.scripts.append_outbound,
                &[
                    message.conversation_id.as_str(),
                    &message.idempotency_key,
                    message.agent_id.as_ref().map_or("", |a| a.as_str()),
                    &message.text,
                    &channel,
                    &at,
                    message.id.as_str(),
                    &email_json,
                    thread_message_id,
                    &notice_json,
                    bot,
                    options_json,
                ],
            )
            .await?;
        reply_json(&reply, 0, "message")
    }
}
