//! Bots in front of queues (docs/bots.md, "How Omniroute runs a bot").
//!
//! A conversation of a queue with `bot` starts in `Bot` status. Each
//! customer message becomes a turn for the bot ([`turn`]): published on
//! `omni.bot.turn.<bot>` (or POSTed as [`json`] to a webhook bot,
//! [`webhook`], whose answer is published as its reply) and recorded as the conversation's open turn with its deadline. The bot's
//! reply ([`reply`], consumed from `omni.bot.reply` by [`replies`]) is
//! accepted only for the open turn and from the holding bot; its messages
//! go to the customer on their channel, its attributes onto the
//! conversation and customer, and its action continues, hands off or
//! resolves. The [`sweeper`] hands off every turn past its deadline,
//! reading them from the store so a restart loses none.
//!
//! A closed queue's bot ([`closed`], `[queues.hours] closed_bot`) takes a
//! conversation that waits in a closed queue, at most once per closure.
//!
//! Handoffs, whoever decides them, go through
//! [`ContextService::bot_handoff`]: the conversation enters its queue at
//! its original age and the router gets the attributes and the reason.

use std::collections::HashMap;

use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_core::{BotHandoff, Conversation, QueueId};
use omni_store::{BotChange, StoreError};
use tracing::info;

use crate::{ContextError, ContextService, ContextSettings};

pub(crate) mod closed;
pub mod json;
pub mod replies;
pub mod reply;
pub mod sweeper;
mod turn;
mod webhook;
pub mod words;

/// A handoff to apply: what the bot (or the service) said.
#[derive(Debug, Clone, Default)]
pub(crate) struct Handoff {
    bot: String,
    queue: Option<QueueId>,
    summary: String,
    intent: String,
    reason: String,
}

impl Handoff {
    /// A handoff the context service decides (`timeout`, `error`,
    /// `too_many_turns`, `asked_for_person` by keyword).
    pub(crate) fn by_service(bot: &str, reason: &str) -> Self {
        Self {
            bot: bot.to_owned(),
            reason: reason.to_owned(),
            ..Self::default()
        }
    }
}

impl ContextSettings {
    /// The bot a new conversation of `queue` starts with, when its queue
    /// names one that is configured.
    pub fn bot_of(&self, queue: &QueueId) -> Option<String> {
        self.queue_config(queue)
            .and_then(|q| q.bot.clone())
            .filter(|b| self.config().bots.contains_key(b))
    }
}

impl ContextService {
    /// Hands a bot-held conversation to a person: stores the handoff (the
    /// conversation is queued at its creation time), asks the router for
    /// an agent with the conversation's attributes and the bot's reason,
    /// and counts it. A conversation no longer held by a bot is left as it
    /// is (a late timeout after the bot's own handoff).
    pub(crate) async fn bot_handoff(
        &self,
        conversation: &Conversation,
        handoff: Handoff,
        trace: TraceContext,
    ) -> Result<(), ContextError> {
        let turns = conversation.bot.as_ref().map_or(0, |b| b.turns);
        let record = BotHandoff {
            bot: handoff.bot.clone(),
            summary: handoff.summary,
            intent: handoff.intent,
            reason: if handoff.reason.is_empty() {
                "handoff".to_owned()
            } else {
                handoff.reason
            },
            turns,
            at_ms: now_ms(),
        };
        let reason = record.reason.clone();
        let change = BotChange::Handoff(record, handoff.queue);
        let queued = match self
            .store
            .bot_change(&conversation.id, &change, now_ms())
            .await
        {
            Ok(c) => c,
            Err(StoreError::Conflict(why)) => {
                info!(conversation_id = %conversation.id, bot = %handoff.bot, %why, "handoff of a conversation no longer held by the bot ignored");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let decision = self.decide_at_handoff(&queued).await;
        self.request_routing(&queued, None, decision.as_ref(), trace)
            .await?;
        omni_telemetry::count!(
            "omni_bot_handoffs_total",
            "conversations bots handed to a person, by bot and reason",
            &[("bot", handoff.bot.as_str()), ("reason", reason.as_str())],
        );
        info!(trace_id = %trace.trace_id_hex(), conversation_id = %conversation.id, bot = %handoff.bot, %reason, queue = %queued.queue, "conversation handed off by its bot");
        self.emit_conversation(&queued).await;
        Ok(())
    }
}

impl ContextService {
    /// The routing rules over what the bot collected (and what enrichment
    /// kept on the conversation) with the customer's profile, so a rule
    /// may raise a handed-off contact's priority (`tier == "gold"`).
    async fn decide_at_handoff(
        &self,
        conversation: &Conversation,
    ) -> Option<crate::enrich::Decision> {
        if !self.enrichment.has_rules() {
            return None;
        }
        let customer = match self.store.customer(&conversation.customer_id).await {
            Ok(customer) => customer,
            Err(e) => {
                tracing::warn!(conversation_id = %conversation.id, error = %e, "customer unavailable to the routing rules");
                None
            }
        };
        let input = crate::enrich::Input {
            conversation_id: conversation.id.as_str(),
            message_key: "",
            text: "",
            channel: conversation.last_channel.as_str(),
            customer: customer.as_ref(),
        };
        let facts = routing_attributes(conversation).into_iter().collect();
        Some(self.enrichment.decide(&input, facts))
    }
}

/// The attributes a routing request carries: the conversation's, with the
/// bot's `intent` when it gave one.
pub fn routing_attributes(conversation: &Conversation) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = conversation
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(h) = &conversation.handoff
        && !h.intent.is_empty()
    {
        out.entry("intent".to_owned())
            .or_insert_with(|| h.intent.clone());
    }
    out
}

/// Why a routing request's contact is where it is, from the bot's handoff:
/// `bot <name>: <reason>`.
pub fn routing_reasons(conversation: &Conversation) -> Vec<String> {
    conversation
        .handoff
        .iter()
        .map(|h| format!("bot {}: {}", h.bot, h.reason))
        .collect()
}

/// Counts a turn of `bot` by `result` (`published`, `answered`,
/// `refused`, `error`, `timeout`).
pub(crate) fn count_turn(bot: &str, result: &str) {
    omni_telemetry::count!(
        "omni_bot_turns_total",
        "turns given to bots and what became of them, by bot and result",
        &[("bot", bot), ("result", result)],
    );
}
