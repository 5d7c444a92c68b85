//! A bot's reply to a turn: accepted only for the conversation's open turn
//! and from the bot holding it; its messages go to the customer, its
//! attributes onto the conversation and customer, then its action.
//!
//! The order makes a redelivered reply harmless: messages are stored under
//! keys naming the turn (stored and sent once), attributes are idempotent,
//! and the action that closes the turn comes last.

use std::collections::BTreeMap;

use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{Channel, ConversationId, ConversationStatus, CustomerUpdate, MessageId, QueueId};
use omni_proto::bot as bp;
use omni_store::{BotChange, NewBotMessage, NewOutbound};
use tracing::{info, warn};

use super::words::with_numbered_options;
use super::{Handoff, count_turn};
use crate::threading::{outbound_email, reply_address};
use crate::{ContextError, ContextService};

/// What became of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// Applied.
    Applied,
    /// Refused, with why: not the open turn, another bot, an unknown or
    /// no longer bot-held conversation.
    Refused(String),
}

impl ContextService {
    /// Applies a bot's reply (see the module doc).
    pub async fn apply_bot_reply(
        &self,
        reply: &bp::BotReply,
        trace: TraceContext,
    ) -> Result<ReplyOutcome, ContextError> {
        let refuse = |why: String| {
            warn!(trace_id = %trace.trace_id_hex(), conversation_id = %reply.conversation_id, bot = %reply.bot, turn_id = %reply.turn_id, reason = %why, "bot reply refused");
            count_turn(&reply.bot, "refused");
            Ok(ReplyOutcome::Refused(why))
        };
        let id = ConversationId::from(reply.conversation_id.as_str());
        let Some(conversation) = self.store.conversation(&id).await? else {
            return refuse("unknown conversation".into());
        };
        let Some(state) = conversation.bot.clone() else {
            return refuse("conversation not held by a bot".into());
        };
        if conversation.status != ConversationStatus::Bot {
            return refuse(format!(
                "conversation is {:?}, not held by a bot",
                conversation.status
            ));
        }
        if state.bot != reply.bot {
            return refuse(format!("conversation is held by bot {}", state.bot));
        }
        if state.open_turn.as_ref().map(|t| t.turn_id.as_str()) != Some(reply.turn_id.as_str()) {
            return refuse("not the conversation's open turn".into());
        }
        let handoff_queue = match &reply.action {
            Some(bp::bot_reply::Action::Handoff(h)) if !h.queue.is_empty() => {
                if self
                    .settings
                    .queue_config(&QueueId::from(h.queue.as_str()))
                    .is_none()
                {
                    warn!(conversation_id = %id, bot = %reply.bot, queue = %h.queue, "bot handed off to an unknown queue");
                    count_turn(&reply.bot, "error");
                    return self
                        .bot_handoff(
                            &conversation,
                            Handoff::by_service(&reply.bot, "error"),
                            trace,
                        )
                        .await
                        .map(|()| ReplyOutcome::Applied);
                }
                Some(QueueId::from(h.queue.as_str()))
            }
            _ => None,
        };
        self.deliver_bot_messages(&conversation, reply, trace)
            .await?;
        if !reply.attributes.is_empty() {
            let attributes: BTreeMap<String, String> =
                reply.attributes.clone().into_iter().collect();
            self.store
                .bot_change(&id, &BotChange::Attributes(attributes), now_ms())
                .await?;
        }
        if !reply.customer_attributes.is_empty() {
            let update = CustomerUpdate {
                attributes: reply.customer_attributes.clone().into_iter().collect(),
                ..CustomerUpdate::default()
            };
            self.store
                .update_customer(&conversation.customer_id, &update)
                .await?;
        }
        count_turn(&reply.bot, "answered");
        let conversation = self.conversation(&id).await?;
        match &reply.action {
            Some(bp::bot_reply::Action::Handoff(h)) => {
                let handoff = Handoff {
                    bot: reply.bot.clone(),
                    queue: handoff_queue,
                    summary: h.summary.clone(),
                    intent: h.intent.clone(),
                    reason: h.reason.clone(),
                };
                self.bot_handoff(&conversation, handoff, trace).await?;
            }
            Some(bp::bot_reply::Action::Resolve(r)) => {
                let resolved = self
                    .store
                    .bot_change(&id, &BotChange::Resolve, now_ms())
                    .await?;
                info!(trace_id = %trace.trace_id_hex(), conversation_id = %id, bot = %reply.bot, reason = %r.reason, "conversation resolved by its bot");
                self.emit_conversation(&resolved).await;
            }
            Some(bp::bot_reply::Action::Continue(_)) | None => {
                self.store
                    .bot_change(&id, &BotChange::CloseTurn(reply.turn_id.clone()), now_ms())
                    .await?;
            }
        }
        Ok(ReplyOutcome::Applied)
    }

    /// Sends the reply's messages on the customer's channel, marked as the
    /// bot's: options as buttons where the channel has quick replies, as a
    /// numbered list otherwise; on email, all of them in one mail.
    async fn deliver_bot_messages(
        &self,
        conversation: &omni_core::Conversation,
        reply: &bp::BotReply,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        if reply.messages.is_empty() {
            return Ok(());
        }
        let customer = self.customer(&conversation.customer_id).await?;
        let Some(to) = self.auto_answer_to(conversation, &customer, trace) else {
            return Ok(());
        };
        let channel = conversation.last_channel;
        let buttons = self
            .settings
            .channel_spec(channel)
            .is_some_and(|s| s.quick_replies);
        let mut parts: Vec<(String, Vec<String>)> = reply
            .messages
            .iter()
            .map(|m| {
                if buttons {
                    (m.text.clone(), m.options.clone())
                } else {
                    (
                        with_numbered_options(&m.text, &m.options),
                        m.options.clone(),
                    )
                }
            })
            .collect();
        if channel == Channel::EMAIL {
            // One reply per mail: every message of the turn in one.
            let text = parts
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join("\n\n");
            let options = parts.iter().flat_map(|(_, o)| o.clone()).collect();
            parts = vec![(text, options)];
        }
        for (i, (text, options)) in parts.into_iter().enumerate() {
            let message_id = MessageId::generate();
            let email = if channel == Channel::EMAIL {
                let history = self.history(&conversation.id).await?;
                let domain = self.settings.reply_domain();
                Some(outbound_email(
                    message_id.as_str(),
                    &history,
                    reply_address(&conversation.id, domain),
                    domain,
                ))
            } else {
                None
            };
            let stored = self
                .store
                .append_bot_message(NewBotMessage {
                    outbound: NewOutbound {
                        conversation_id: conversation.id.clone(),
                        agent_id: None,
                        text,
                        channel,
                        idempotency_key: format!("{}/{i}", reply.turn_id),
                        at_ms: now_ms(),
                        id: message_id,
                        email,
                        notice: None,
                        options: Vec::new(),
                    },
                    bot: reply.bot.clone(),
                    options,
                })
                .await?;
            self.publish_outbound(conversation, &stored, &to, &[], trace)
                .await?;
            self.emit_message(&stored).await;
        }
        Ok(())
    }
}
