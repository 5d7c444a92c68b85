//! After service, shared by surveys and follow-ups (docs/surveys.md):
//! scheduling both when a conversation is resolved, the look at the
//! customer's last conversation before a message is stored (an open
//! survey takes the message as its answer; a pending follow-up is
//! cancelled; a reply to a sent follow-up reopens its conversation), the
//! sending of a due item (`crate::schedule` consumes them), and the rules
//! both share: sending hours in the customer's zone and opt-outs.

use omni_core::config::QueueConfig;
use omni_core::sending::SendingHours;
use omni_store::{ScheduleKind, ScheduleState, ScheduledItem};

use super::*;

/// A customer attribute that, set to `true` or `yes`, keeps every survey
/// and follow-up from them.
pub const OPT_OUT_ATTRIBUTE: &str = "opt_out";
/// A customer attribute naming their IANA time zone, for sending hours.
pub const TIMEZONE_ATTRIBUTE: &str = "timezone";

/// What the look before storing a message decided.
pub(crate) enum BeforeIngest {
    /// Store the message as usual.
    Store,
    /// The message answered a survey and is not stored as a message.
    Answered(Box<Ingested>),
}

impl ContextService {
    /// The queue's configuration, if it is in the file.
    pub(super) fn queue_config(&self, queue: &QueueId) -> Option<&QueueConfig> {
        self.settings
            .config
            .queues
            .iter()
            .find(|q| q.id == queue.as_str())
    }

    /// The customer's sending-hours zone: their `timezone` attribute, else
    /// the queue's hours zone, else UTC.
    pub(super) fn customer_zone(&self, customer: &Customer, queue: &QueueId) -> String {
        customer
            .attributes
            .get(TIMEZONE_ATTRIBUTE)
            .cloned()
            .or_else(|| {
                self.queue_config(queue)
                    .and_then(|q| q.hours.as_ref())
                    .map(|h| h.zone.clone())
            })
            .unwrap_or_else(|| "UTC".to_owned())
    }

    /// The first instant at or after `at_ms` within sending hours for the
    /// customer.
    pub(super) fn sending_time(
        &self,
        customer: &Customer,
        queue: &QueueId,
        at_ms: Millis,
    ) -> Millis {
        let hours =
            SendingHours::parse(&self.settings.config.context.sending_hours).unwrap_or_default();
        hours.next_allowed(at_ms, &self.customer_zone(customer, queue))
    }

    /// Whether the customer opted out of messages they did not ask for.
    pub(super) fn opted_out(customer: &Customer) -> bool {
        customer
            .attributes
            .get(OPT_OUT_ATTRIBUTE)
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "yes"))
    }

    /// Schedules the conversation's survey and follow-up, as its queue says
    /// (and the agent's follow-up date, `followup_at_ms`). Failures are
    /// logged: a resolve never fails for them.
    pub(super) async fn after_resolve(
        &self,
        conversation: &Conversation,
        followup_at_ms: Option<Millis>,
    ) {
        let customer = match self.store.customer(&conversation.customer_id).await {
            Ok(Some(customer)) => customer,
            Ok(None) => return,
            Err(e) => {
                warn!(conversation_id = %conversation.id, error = %e, "survey and follow-up not scheduled");
                return;
            }
        };
        if let Err(e) = self.schedule_survey(conversation, &customer).await {
            warn!(conversation_id = %conversation.id, error = %e, "survey not scheduled");
        }
        if let Err(e) = self
            .schedule_followup(conversation, &customer, followup_at_ms)
            .await
        {
            warn!(conversation_id = %conversation.id, error = %e, "follow-up not scheduled");
        }
    }

    /// Before `message` is stored: an open survey of the customer's last
    /// conversation takes it as its answer; a pending follow-up is
    /// cancelled (the customer wrote first); a reply to a sent follow-up
    /// threads into its conversation, reopening it.
    pub(crate) async fn before_ingest(
        &self,
        message: &InboundMessage,
        options: &mut IngestOptions,
        trace: TraceContext,
    ) -> Result<BeforeIngest, ContextError> {
        let Some(customer_id) = self.store.customer_by_identity(&message.from).await? else {
            return Ok(BeforeIngest::Store);
        };
        let Some(last) = self.store.latest_conversation(&customer_id).await? else {
            return Ok(BeforeIngest::Store);
        };
        if last.status != ConversationStatus::Resolved {
            return Ok(BeforeIngest::Store);
        }
        let items = self.store.scheduled_for(&last.id).await?;
        if items.is_empty() {
            return Ok(BeforeIngest::Store);
        }
        if let Some(answered) = self.survey_answer(message, &last, &items, trace).await? {
            return Ok(BeforeIngest::Answered(Box::new(answered)));
        }
        self.followup_before_ingest(message, &last, &items, options)
            .await?;
        Ok(BeforeIngest::Store)
    }

    /// Sends the due item `id` of `conversation_id` (claimed by the router
    /// at `now_ms` by its clock) and settles it. Safe to repeat: the
    /// message is stored and published under keys derived from the item.
    pub async fn send_scheduled(
        &self,
        id: &str,
        conversation_id: &ConversationId,
        now_ms: Millis,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let item = self
            .store
            .scheduled_for(conversation_id)
            .await?
            .into_iter()
            .find(|i| i.id == id);
        let Some(item) = item.filter(|i| i.state == ScheduleState::Pending) else {
            info!(item = %id, "scheduled item no longer pending; nothing to send");
            return Ok(());
        };
        let Some(conversation) = self.store.conversation(conversation_id).await? else {
            self.store.finish_scheduled(id, "gone", None).await?;
            return Ok(());
        };
        let customer = self.customer(&conversation.customer_id).await?;
        // Sending hours again: a claim may come late (a router that was down).
        let allowed = self.sending_time(&customer, &conversation.queue, now_ms);
        if allowed > now_ms {
            self.store.finish_scheduled(id, "", Some(allowed)).await?;
            info!(item = %id, due_at_ms = allowed, "outside sending hours; moved to the next allowed time");
            return Ok(());
        }
        let outcome = match item.kind {
            ScheduleKind::Survey => {
                self.send_survey(&item, &conversation, &customer, now_ms, trace)
                    .await?
            }
            ScheduleKind::Followup => {
                self.send_followup(&item, &conversation, &customer, now_ms, trace)
                    .await?
            }
        };
        self.store.finish_scheduled(id, outcome, None).await?;
        info!(item = %id, kind = item.kind.as_str(), outcome, "scheduled item settled");
        match item.kind {
            ScheduleKind::Followup => self.emit_followup(conversation_id).await,
            // Sent, or settled without going out (opted out, reopened).
            ScheduleKind::Survey => self.emit_survey(conversation_id).await,
        }
        Ok(())
    }

    /// Stores `text` (with quick-reply `options`) as an automatic message
    /// (no agent) under `key` and queues it for `to` on the conversation's
    /// channel. Repeating it stores and publishes it once.
    pub(super) async fn send_automatic(
        &self,
        conversation: &Conversation,
        to: &Identity,
        text: String,
        options: Vec<String>,
        key: String,
        trace: TraceContext,
    ) -> Result<StoredMessage, ContextError> {
        self.send_without_agent(
            conversation,
            to,
            text,
            Automatic::Options(options),
            key,
            trace,
        )
        .await
    }

    /// Stores `text` as a message without an agent (a notice, or with
    /// quick-reply options: `what`) under `key`, and queues it for `to` on
    /// the conversation's channel: on email, threaded as a reply to the
    /// conversation. Repeating it stores and publishes it once.
    pub(super) async fn send_without_agent(
        &self,
        conversation: &Conversation,
        to: &Identity,
        text: String,
        what: Automatic,
        key: String,
        trace: TraceContext,
    ) -> Result<StoredMessage, ContextError> {
        let (notice, options) = match what {
            Automatic::Notice(notice) => (Some(notice), Vec::new()),
            Automatic::Options(options) => (None, options),
        };
        let channel = conversation.last_channel;
        let id = MessageId::generate();
        let email = if channel == Channel::EMAIL {
            let history = self.history(&conversation.id).await?;
            let domain = self.settings.reply_domain();
            Some(outbound_email(
                id.as_str(),
                &history,
                reply_address(&conversation.id, domain),
                domain,
            ))
        } else {
            None
        };
        let message = self
            .store
            .append_outbound(NewOutbound {
                conversation_id: conversation.id.clone(),
                agent_id: None,
                text,
                channel,
                idempotency_key: key,
                at_ms: now_ms(),
                id,
                email,
                notice,
                options,
            })
            .await?;
        self.publish_outbound(conversation, &message, to, &[], trace)
            .await?;
        omni_telemetry::count!(
            "omni_outbound_messages_total",
            "messages for customers stored and queued for delivery",
            &[("channel", channel.as_str())],
        );
        self.emit_message(&message).await;
        Ok(message)
    }

    /// Puts an item, logging what became of it.
    pub(super) async fn put_item(&self, item: ScheduledItem) -> Result<(), ContextError> {
        let new = self.store.put_scheduled(&item).await?;
        info!(item = %item.id, kind = item.kind.as_str(), due_at_ms = item.due_at_ms, new, "scheduled");
        Ok(())
    }
}

/// What a message that does not go through the store is answered with:
/// nothing stored, nothing routed.
pub(super) fn not_stored(
    customer: Customer,
    conversation: Conversation,
    message: &InboundMessage,
) -> Ingested {
    let stored = StoredMessage {
        id: MessageId::from(format!("msg_survey_{}", message.idempotency_key)),
        conversation_id: conversation.id.clone(),
        seq: 0,
        direction: omni_core::Direction::Inbound,
        channel: message.channel,
        agent_id: None,
        text: message.text.clone(),
        at_ms: message.received_at_ms,
        delivery: omni_core::DeliveryStatus::Received,
        idempotency_key: message.idempotency_key.clone(),
        email: None,
        error: None,
        notice: None,
        bot: None,
        options: Vec::new(),
    };
    Ingested {
        customer,
        conversation,
        message: stored,
        duplicate: false,
        needs_routing: false,
        needs_bot: false,
        opened: false,
        reopened: false,
        channel_changed: false,
    }
}

/// What a message without an agent is besides its text.
pub(super) enum Automatic {
    /// An automatic answer the desk marks (queue full, closed, ...).
    Notice(omni_core::Notice),
    /// A message offering quick replies (none: plain text).
    Options(Vec<String>),
}
