//! A customer message to a bot-held conversation: asking for a person or
//! too many turns hands off at once; otherwise the message becomes a
//! [`BotTurn`](omni_proto::bot::BotTurn) for the bot, recorded as the
//! conversation's open turn before it is published on the bus or POSTed
//! to a webhook bot ([`super::webhook`]).

use omni_core::config::{BotConfig, BotTransport};
use omni_core::{Direction, OpenTurn};
use omni_proto::adapter as ap;
use omni_proto::bot as bp;
use omni_store::{BotChange, Ingested};

use omni_bus::topology::subjects;
use omni_bus::{Message, TRACEPARENT};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{Conversation, StoredMessage};
use omni_proto::common as pb;
use prost::Message as _;
use tracing::{info, warn};

use super::words::{asks_for_person, picked_option};
use super::{Handoff, count_turn};
use crate::{ContextError, ContextService, ContextSettings};

/// Messages of the conversation a turn carries, the newest.
const HISTORY: usize = 20;
/// The customer's earlier conversations a turn carries, the newest.
const PAST: usize = 5;

impl ContextService {
    /// Gives a customer message of a bot-held conversation to its bot (see
    /// the module doc). Safe to repeat for the same message: the turn id
    /// is derived from the message, and the bus deduplicates it.
    pub(crate) async fn offer_to_bot(
        &self,
        ingested: &Ingested,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let turn_id = format!("turn_{}", ingested.message.id);
        self.turn_for_bot(ingested, turn_id, trace).await
    }

    /// [`Self::offer_to_bot`] with the turn's id given: the same id for the
    /// same message and occasion, so a repeat publishes the same turn.
    pub(crate) async fn turn_for_bot(
        &self,
        ingested: &Ingested,
        turn_id: String,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let conversation = &ingested.conversation;
        let Some(state) = conversation.bot.clone() else {
            return Ok(());
        };
        let Some(bot) = self.settings.bot(&state.bot) else {
            warn!(conversation_id = %conversation.id, bot = %state.bot, "conversation held by a bot that is not configured; handing off");
            return self
                .bot_handoff(
                    conversation,
                    Handoff::by_service(&state.bot, "error"),
                    trace,
                )
                .await;
        };
        let customer = &ingested.customer;
        let text = &ingested.message.text;
        // A customer who picks one of the bot's options ("Talk to a
        // person") is answered by the bot, which may collect the queue's
        // fields first; words typed freely hand off at once.
        if asks_for_person(text, customer.language.as_deref(), &bot.person_keywords)
            && picked_option(text, &self.last_bot_options(ingested).await?).is_none()
        {
            return self
                .bot_handoff(
                    conversation,
                    Handoff::by_service(&state.bot, "asked_for_person"),
                    trace,
                )
                .await;
        }
        let reopened_turn = state.open_turn.clone().filter(|t| t.turn_id == turn_id);
        if reopened_turn.is_none() && state.turns >= bot.max_turns {
            return self
                .bot_handoff(
                    conversation,
                    Handoff::by_service(&state.bot, "too_many_turns"),
                    trace,
                )
                .await;
        }
        let open = reopened_turn.unwrap_or(OpenTurn {
            turn_id,
            turn: state.turns + 1,
            deadline_ms: now_ms()
                .saturating_add(i64::try_from(bot.deadline_secs).unwrap_or(300) * 1000),
        });
        let conversation = self
            .store
            .bot_change(
                &conversation.id,
                &BotChange::OpenTurn(open.clone()),
                now_ms(),
            )
            .await?;
        let turn = self.build_turn(&conversation, ingested, &open).await?;
        match bot.transport {
            BotTransport::Bus => {
                let msg = Message::new(subjects::bot_turn(&state.bot), turn.encode_to_vec())
                    .with_header(
                        TRACEPARENT,
                        omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string(),
                    );
                self.bus.publish(msg, Some(&open.turn_id)).await?;
            }
            BotTransport::Webhook => {
                let traceparent =
                    omni_telemetry::outgoing(&tracing::Span::current(), &trace).to_string();
                super::webhook::post_turn(
                    super::webhook::client(&self.bot_http),
                    self.bus.clone(),
                    bot,
                    turn,
                    traceparent,
                );
            }
        }
        count_turn(&state.bot, "published");
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation.id, bot = %state.bot, turn = open.turn, turn_id = %open.turn_id, "turn given to the bot");
        Ok(())
    }

    /// The options of the bot's latest message before `ingested`.
    async fn last_bot_options(&self, ingested: &Ingested) -> Result<Vec<String>, ContextError> {
        let seq = ingested.message.seq;
        let history = self
            .store
            .messages(
                &ingested.conversation.id,
                seq.saturating_sub(HISTORY as u64 + 1),
                HISTORY + 1,
            )
            .await?;
        Ok(history
            .into_iter()
            .rev()
            .find(|m| m.seq < seq && m.direction == Direction::Outbound && m.bot.is_some())
            .map(|m| m.options)
            .unwrap_or_default())
    }

    async fn build_turn(
        &self,
        conversation: &Conversation,
        ingested: &Ingested,
        open: &OpenTurn,
    ) -> Result<bp::BotTurn, ContextError> {
        let seq = ingested.message.seq;
        let history = self
            .store
            .messages(
                &conversation.id,
                seq.saturating_sub(HISTORY as u64 + 1),
                HISTORY + 1,
            )
            .await?;
        let history: Vec<StoredMessage> = history
            .into_iter()
            .filter(|m| m.seq < seq && !m.is_internal())
            .collect();
        let last_options = history
            .iter()
            .rev()
            .find(|m| m.direction == Direction::Outbound && m.bot.is_some())
            .map(|m| m.options.clone())
            .unwrap_or_default();
        let option = picked_option(&ingested.message.text, &last_options).unwrap_or_default();
        let past = self
            .store
            .customer_conversations(&conversation.customer_id, 0, PAST + 1)
            .await?
            .into_iter()
            .filter(|c| c.id != conversation.id)
            .take(PAST)
            .map(|c| self.conversation_pb(&c))
            .collect();
        let channel = conversation.last_channel;
        let capabilities = self
            .settings
            .channel_spec(channel)
            .map(|spec| ap::Capabilities {
                channel: channel.as_str().to_owned(),
                max_text_chars: u32::try_from(spec.max_text_chars).unwrap_or(u32::MAX),
                attachments: spec.attachments,
                max_attachment_bytes: spec.max_attachment_bytes as u64,
                rich_text: spec.rich_text,
                read_receipts: spec.read_receipts,
                threading: spec.threading,
                outbound_first: spec.can_start,
                identity_kind: spec.identity.clone(),
                quick_replies: spec.quick_replies,
            });
        let fields = self
            .settings
            .queue_config(&conversation.queue)
            .map(|q| {
                q.bot_fields
                    .iter()
                    .map(|f| bp::Field {
                        name: f.name.clone(),
                        prompts: f.prompts.clone().into_iter().collect(),
                        pattern: f.pattern.clone().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(bp::BotTurn {
            turn_id: open.turn_id.clone(),
            bot: conversation
                .bot
                .as_ref()
                .map(|b| b.bot.clone())
                .unwrap_or_default(),
            conversation_id: conversation.id.to_string(),
            queue: conversation.queue.to_string(),
            turn: open.turn,
            message: Some(pb::Message::from(&ingested.message)),
            option,
            history: history.iter().map(pb::Message::from).collect(),
            customer: Some(pb::Customer::from(&ingested.customer)),
            past_conversations: past,
            channel: capabilities,
            attributes: conversation
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            fields,
            deadline_ms: open.deadline_ms,
            language: ingested.customer.language.clone().unwrap_or_default(),
        })
    }
}

impl ContextSettings {
    /// The bot `name`'s configuration.
    pub fn bot(&self, name: &str) -> Option<&BotConfig> {
        self.config().bots.get(name)
    }
}
