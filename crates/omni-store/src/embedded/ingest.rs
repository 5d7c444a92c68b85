//! Ingesting a customer message and appending an agent's message, each in
//! the one write transaction of a [`Timeline`].

use omni_core::time::Millis;
use omni_core::{
    BotState, Conversation, ConversationId, ConversationStatus, Customer, CustomerId,
    DeliveryStatus, Direction, InboundMessage, MessageId, OptChange, OptOut, StoredMessage,
};
use redb::ReadableTable;

use super::records::{dangling, db_err, get_message, get_pointer, get_str, not_found};
use super::timeline::Timeline;
use crate::merge::{self};
use crate::{IngestOptions, Ingested, NewOutbound, StoreError, inbound_extras};

impl Timeline<'_> {
    pub(super) fn ingest(
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
                // thread wins, nobody is merged on that alone, and the sender
                // is only an unverified participant there.
                let mut customer =
                    self.must_customer(t.customer_id.as_str(), &format!("conversations/{}", t.id))?;
                let added = merge::add_unverified(&mut customer, &message.from);
                (customer, added, false)
            }
            (Some(id), _) => (self.must_customer(id, &from_identities)?, false, true),
            (None, Some(t)) => {
                // A new sender writing to the thread's reply address or
                // quoting its Message-ID: anyone can, so the sender is kept
                // as an unverified participant an agent may confirm, never
                // linked (nor made the reply target) on that alone.
                let mut customer =
                    self.must_customer(t.customer_id.as_str(), &format!("conversations/{}", t.id))?;
                let added = merge::add_unverified(&mut customer, &message.from);
                (customer, added, false)
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
                    trace: None,
                    wrapup_code: None,
                    attributes: Default::default(),
                    handoff: None,
                    bot: None,
                };
                self.open.insert(c.id.as_str(), ()).map_err(db_err)?;
                self.customer_conversations
                    .insert((customer.id.as_str(), at, c.id.as_str()), ())
                    .map_err(db_err)?;
                (c, true, false)
            }
        };
        if (opened || reopened)
            && let Some(bot) = &options.bot
        {
            // The queue starts with a bot: it holds the conversation, which
            // is in no queue until the bot hands it off.
            conversation.status = ConversationStatus::Bot;
            conversation.queued_at_ms = None;
            conversation.handoff = None;
            conversation.bot = Some(BotState {
                bot: bot.clone(),
                turns: 0,
                open_turn: None,
                closure: None,
            });
        }
        // The conversation the customer's next message continues.
        self.customer_latest
            .insert(customer.id.as_str(), conversation.id.as_str())
            .map_err(db_err)?;

        let (email, notice) = inbound_extras(message, options.max_attachment_bytes);
        let seq = self.make_room(conversation.id.as_str(), conversation.message_count, at)?;
        let stored = StoredMessage {
            id: MessageId::generate(),
            conversation_id: conversation.id.clone(),
            seq,
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
            bot: None,
            options: Vec::new(),
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
        if sender_owned {
            // Only the customer's own identities become the reply target.
            conversation.last_identity = message.from.clone();
        }
        conversation.updated_at_ms = conversation.updated_at_ms.max(at);
        conversation.message_count += 1;
        if let Some(trace) = &options.trace {
            conversation.trace = Some(trace.clone());
        }
        self.put_conversation(&conversation)?;

        let queued = conversation.status == ConversationStatus::Queued;
        let needs_bot = conversation.status == ConversationStatus::Bot;
        Ok(Ingested {
            customer,
            conversation,
            message: stored,
            duplicate: false,
            needs_routing: (opened || reopened) && queued,
            needs_bot,
            opened,
            reopened,
            channel_changed,
        })
    }

    pub(super) fn append_outbound(
        &mut self,
        message: &NewOutbound,
    ) -> Result<StoredMessage, StoreError> {
        self.append_outbound_by(message, None, Vec::new())
    }

    /// Appends an outbound message, a bot's when `bot` is given.
    pub(super) fn append_outbound_by(
        &mut self,
        message: &NewOutbound,
        bot: Option<String>,
        options: Vec<String>,
    ) -> Result<StoredMessage, StoreError> {
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
            agent_id: message.agent_id.clone(),
            text: message.text.clone(),
            at_ms: message.at_ms,
            delivery: DeliveryStatus::Queued,
            idempotency_key: message.idempotency_key.clone(),
            email: message.email.clone(),
            error: None,
            notice: message.notice.clone(),
            bot,
            // A bot's options come with its message; an agent's or the
            // service's (a survey's scores) on the message itself.
            options: if options.is_empty() {
                message.options.clone()
            } else {
                options
            },
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
