//! An agent's reply: who may send it, to which of the customer's
//! identities, and how it is stored and handed to the channel's adapter.

use super::*;
use omni_core::Direction;

/// How far into a timeline the first agent reply is looked for.
const FIRST_RESPONSE_WITHIN: usize = 32;

impl ContextService {
    /// Stores an agent's reply and hands it to the adapter of `channel`
    /// (default: the channel the customer used last). Idempotent by key.
    /// Only the conversation's holder (as themselves) or a supervisor may
    /// reply ([`crate::authority::check_reply`]).
    // The reply's fields, who sends it, and the trace: one call from one
    // handler; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_reply(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        text: &str,
        idempotency_key: &str,
        channel: Option<Channel>,
        caller: &Caller,
        trace: TraceContext,
    ) -> Result<StoredMessage, ContextError> {
        self.send_reply_with_files(
            conversation_id,
            agent,
            text,
            idempotency_key,
            channel,
            Vec::new(),
            caller,
            trace,
        )
        .await
    }

    /// [`ContextService::send_reply`] with files attached (email only,
    /// checked by [`super::files::check`]): their contents are kept where
    /// inbound attachments are, and go to the adapter with the reply.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_reply_with_files(
        &self,
        conversation_id: &ConversationId,
        agent: &AgentId,
        text: &str,
        idempotency_key: &str,
        channel: Option<Channel>,
        files: Vec<omni_core::Attachment>,
        caller: &Caller,
        trace: TraceContext,
    ) -> Result<StoredMessage, ContextError> {
        if text.trim().is_empty() {
            return Err(ContextError::InvalidArgument(
                "text must not be empty".into(),
            ));
        }
        if text.len() > MAX_REPLY_BYTES {
            return Err(ContextError::InvalidArgument(format!(
                "text of {} bytes exceeds the limit of {MAX_REPLY_BYTES} bytes",
                text.len()
            )));
        }
        if idempotency_key.is_empty() || idempotency_key.len() > 128 {
            return Err(ContextError::InvalidArgument(
                "idempotency_key must be 1-128 bytes".into(),
            ));
        }
        let conversation = self
            .store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| ContextError::NotFound(format!("conversation {conversation_id}")))?;
        let conversation = self.awaiting_assignment(conversation, caller).await?;
        crate::authority::check_reply(caller, agent, &conversation)?;
        if self.replies.check_key(&agent.to_string()).is_err() {
            return Err(ContextError::RateLimited(format!(
                "{agent} sent more than {} replies in a minute",
                self.settings.agent_replies_per_minute()
            )));
        }
        let channel = channel.unwrap_or(conversation.last_channel);
        let (files, infos) = super::files::check(channel, files)?;
        let customer = self.customer(&conversation.customer_id).await?;
        let kinds = self.settings.reply_kinds(channel);
        let to = recipient(&conversation, &customer, channel, &kinds)?;
        if channel == Channel::SMS
            && let Some(opt_out) = customer.opt_out(&to)
        {
            return Err(ContextError::FailedPrecondition(format!(
                "customer opted out of SMS on {} ({})",
                date(opt_out.at_ms),
                opt_out.keyword
            )));
        }
        let id = MessageId::generate();
        let email = if channel == Channel::EMAIL {
            let history = self.history(conversation_id).await?;
            let domain = self.settings.reply_domain();
            let mut email = outbound_email(
                id.as_str(),
                &history,
                reply_address(conversation_id, domain),
                domain,
            );
            email.attachments = infos;
            Some(email)
        } else {
            None
        };
        let message = self
            .store
            .append_outbound(NewOutbound {
                conversation_id: conversation_id.clone(),
                agent_id: Some(agent.clone()),
                text: text.to_owned(),
                channel,
                idempotency_key: format!("reply:{conversation_id}:{idempotency_key}"),
                at_ms: now_ms(),
                id,
                email,
                notice: None,
                options: Vec::new(),
            })
            .await?;
        if !files.is_empty() {
            // A retry stored the message the first time: its files are the same.
            let contents: Vec<(u32, Vec<u8>)> =
                (1..).zip(files.iter().map(|f| f.content.clone())).collect();
            self.store.put_attachments(&message.id, &contents).await?;
        }
        self.publish_outbound(&conversation, &message, &to, &files, trace)
            .await?;
        omni_telemetry::count!(
            "omni_outbound_messages_total",
            "messages for customers stored and queued for delivery",
            &[("channel", channel.as_str())],
        );
        info!(
            trace_id = %trace.trace_id_hex(),
            conversation_id = %conversation_id,
            agent_id = %agent,
            %channel,
            seq = message.seq,
            "reply stored and queued for delivery"
        );
        self.first_response(&conversation, &message).await;
        self.emit_message(&message).await;
        Ok(message)
    }

    /// Records `omni_first_response_seconds` when `reply` is the
    /// conversation's first agent reply: from the customer's first message
    /// to it. Read from the first [`FIRST_RESPONSE_WITHIN`] messages only,
    /// so a reply later in the timeline costs no read (and a first reply
    /// after that many messages is not measured).
    async fn first_response(&self, conversation: &Conversation, reply: &StoredMessage) {
        if reply.seq > FIRST_RESPONSE_WITHIN as u64 {
            return;
        }
        let page = match self
            .store
            .messages(&conversation.id, 0, FIRST_RESPONSE_WITHIN)
            .await
        {
            Ok(page) => page,
            Err(e) => {
                warn!(conversation_id = %conversation.id, error = %e, "first response not measured");
                return;
            }
        };
        let earlier = page.iter().take_while(|m| m.seq < reply.seq);
        let mut first_inbound = None;
        for m in earlier {
            if m.direction == Direction::Outbound && m.agent_id.is_some() {
                return;
            }
            if m.direction == Direction::Inbound && first_inbound.is_none() {
                first_inbound = Some(m.at_ms);
            }
        }
        if let Some(at) = first_inbound {
            let took = reply.at_ms.saturating_sub(at).max(0);
            omni_telemetry::metrics::contact::contact_center().observe_first_response(
                conversation.queue.as_str(),
                reply.channel.as_str(),
                took as f64 / 1000.0,
            );
            self.count_first_response(conversation, reply, took).await;
        }
    }

    /// Adds a first response of `took_ms` to the day's counts, for the
    /// supervisor's wall (rows `first_responses` and `first_response_ms`
    /// of the reply's day, queue and channel; see `omni_router::tally::day`).
    async fn count_first_response(
        &self,
        conversation: &Conversation,
        reply: &StoredMessage,
        took_ms: i64,
    ) {
        let Some(store) = &self.counts else {
            return;
        };
        let row = |number: &str, value: u64| omni_store::DayCount {
            day: omni_core::time::day_of(reply.at_ms, self.settings.utc_offset_ms()),
            queue: conversation.queue.to_string(),
            channel: reply.channel.as_str().to_owned(),
            number: number.to_owned(),
            value,
        };
        let rows = [
            row("first_responses", 1),
            row("first_response_ms", took_ms as u64),
        ];
        if let Err(e) = store.add_counts(&rows).await {
            warn!(conversation_id = %conversation.id, error = %e, "first response not counted for the day");
        }
    }

    /// Hands a stored outbound message to its channel's adapter, under an
    /// id derived from the message (a retry is deduplicated).
    pub(crate) async fn publish_outbound(
        &self,
        conversation: &Conversation,
        message: &StoredMessage,
        to: &Identity,
        files: &[omni_core::Attachment],
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let outbound = ev::OutboundMessage {
            attachments: files
                .iter()
                .map(|f| ev::Attachment {
                    name: f.name.clone(),
                    content_type: f.content_type.clone(),
                    size: f.content.len() as u64,
                    content: f.content.clone(),
                })
                .collect(),
            message: Some(pb::Message::from(message)),
            to: Some(pb::Identity::from(to)),
            email: message.email.as_ref().map(|e| ev::EmailOutbound {
                message_id: e.message_id.clone(),
                in_reply_to: e.in_reply_to.clone().unwrap_or_default(),
                references: e.references.clone(),
                subject: e.subject.clone(),
                reply_to: e.reply_to.clone(),
                queue: conversation.queue.to_string(),
            }),
        };
        let msg = Message::new(
            subjects::outbound(message.channel),
            outbound.encode_to_vec(),
        )
        .with_header(
            TRACEPARENT,
            omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string(),
        );
        self.bus
            .publish(msg, Some(&format!("out:{}", message.id)))
            .await?;
        Ok(())
    }

    /// Every message of a conversation, oldest first.
    pub(crate) async fn history(
        &self,
        id: &ConversationId,
    ) -> Result<Vec<StoredMessage>, ContextError> {
        let mut out = Vec::new();
        loop {
            let after = out.last().map(|m: &StoredMessage| m.seq).unwrap_or(0);
            let page = self.store.messages(id, after, HISTORY_PAGE).await?;
            let done = page.len() < HISTORY_PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }
}

/// The customer's identity on `channel`: the one used last in the
/// conversation if it is on that channel and still the customer's, else the
/// customer's newest identity on that channel. Only `identities` count (the
/// customer wrote from them, or a supervisor verified them): never one an
/// agent or the customer merely typed (`unverified`).
pub(super) fn recipient(
    conversation: &Conversation,
    customer: &Customer,
    channel: Channel,
    kinds: &[String],
) -> Result<Identity, ContextError> {
    let on_channel = |i: &Identity| kinds.iter().any(|k| k == i.kind());
    let last = &conversation.last_identity;
    if on_channel(last) && customer.identities.contains(last) {
        return Ok(last.clone());
    }
    customer
        .identities
        .iter()
        .rev()
        .find(|i| on_channel(i))
        .cloned()
        .ok_or_else(|| match customer.unverified.iter().find(|i| on_channel(i)) {
            Some(unverified) => ContextError::FailedPrecondition(format!(
                "customer {}'s {channel} identity {unverified} is not verified: replies go only to identities the customer wrote from or a supervisor verified",
                customer.id
            )),
            None => ContextError::FailedPrecondition(format!(
                "customer {} has no {channel} identity to send to",
                customer.id
            )),
        })
}
