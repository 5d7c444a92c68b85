//! Bots' records on a conversation ([`BotStore`], a part of every
//! [`ContextStore`](crate::ContextStore)): a closed queue's bot taking a
//! waiting conversation, the open turn a bot must answer, the bot's
//! messages, collected attributes, handoff and resolve (docs/bots.md).
//!
//! Each change is planned here once, as a pure function of the
//! conversation ([`BotChange::apply`]), and written by each store in its
//! one atomic step (a write transaction; a compare-and-set in Redis), so
//! both stores behave the same. Every change is idempotent: a reply
//! delivered twice changes nothing the second time.

use std::collections::BTreeMap;

use async_trait::async_trait;
use omni_core::time::Millis;
use omni_core::{
    BotHandoff, BotState, Closure, Conversation, ConversationId, ConversationStatus, OpenTurn,
    QueueId, StoredMessage,
};

use crate::{ContextStore, NewOutbound, StoreError};

/// One change a bot's turn makes to its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotChange {
    /// A queue is closed and hands its waiting conversation to its closed
    /// bot (`[queues.hours] closed_bot`): `Bot` status held by `bot` with
    /// no turns yet, in no queue, its queue the closed one, the closure
    /// kept on the bot's record. Entering again in the same closure is a
    /// no-op while the bot holds it; `Conflict` once the bot handed it off
    /// in that closure (no loop: it waits for the opening), and in any
    /// other status than `Queued`.
    Enter {
        /// The closed queue's bot.
        bot: String,
        /// The closure it takes the conversation in.
        closure: Closure,
    },
    /// A turn was published to the bot: it is the open turn, and the
    /// conversation's turn count is its number. `Conflict` unless the
    /// conversation is in `Bot` status.
    OpenTurn(OpenTurn),
    /// The bot answered the turn and keeps the conversation: no turn is
    /// open (a no-op when `turn_id` is not the open turn).
    CloseTurn(String),
    /// Attributes to keep on the conversation; an empty value removes one.
    Attributes(BTreeMap<String, String>),
    /// Hand the conversation to a person: `Queued` at its original age
    /// (`queued_at_ms` = its creation), in the given queue (else its own),
    /// the handoff kept, no turn open. Handing off a conversation already
    /// handed off (a redelivered reply) changes nothing; `Conflict` in any
    /// other status than `Bot`.
    Handoff(BotHandoff, Option<QueueId>),
    /// The bot answered; the conversation is resolved and no turn is open.
    /// `Conflict` for a conversation an agent holds.
    Resolve,
}

impl BotChange {
    /// Applies the change to `c` at `at_ms`.
    pub fn apply(&self, c: &mut Conversation, at_ms: Millis) -> Result<(), StoreError> {
        let not_bot = |c: &Conversation| {
            StoreError::Conflict(format!(
                "conversation {} is not held by a bot ({:?})",
                c.id, c.status
            ))
        };
        match self {
            BotChange::Enter { bot, closure } => {
                let held_in_closure = c
                    .bot
                    .as_ref()
                    .is_some_and(|b| &b.bot == bot && b.closure.as_ref() == Some(closure));
                match c.status {
                    ConversationStatus::Bot if held_in_closure => return Ok(()),
                    ConversationStatus::Queued if held_in_closure => {
                        return Err(StoreError::Conflict(format!(
                            "conversation {} was handed off by bot {bot} in this closure of queue {}",
                            c.id, closure.queue
                        )));
                    }
                    ConversationStatus::Queued => {
                        c.status = ConversationStatus::Bot;
                        c.queue = closure.queue.clone();
                        c.queued_at_ms = None;
                        c.bot = Some(BotState {
                            bot: bot.clone(),
                            turns: 0,
                            open_turn: None,
                            closure: Some(closure.clone()),
                        });
                    }
                    _ => {
                        return Err(StoreError::Conflict(format!(
                            "conversation {} is not waiting in a queue ({:?})",
                            c.id, c.status
                        )));
                    }
                }
            }
            BotChange::OpenTurn(turn) => {
                if c.status != ConversationStatus::Bot {
                    return Err(not_bot(c));
                }
                let Some(state) = &mut c.bot else {
                    return Err(not_bot(c));
                };
                if state.open_turn.as_ref() == Some(turn) {
                    return Ok(());
                }
                state.turns = state.turns.max(turn.turn);
                state.open_turn = Some(turn.clone());
            }
            BotChange::CloseTurn(turn_id) => {
                if let Some(state) = &mut c.bot
                    && state
                        .open_turn
                        .as_ref()
                        .is_some_and(|t| &t.turn_id == turn_id)
                {
                    state.open_turn = None;
                }
                return Ok(());
            }
            BotChange::Attributes(attributes) => {
                for (k, v) in attributes {
                    if v.is_empty() {
                        c.attributes.remove(k);
                    } else {
                        c.attributes.insert(k.clone(), v.clone());
                    }
                }
            }
            BotChange::Handoff(handoff, queue) => match c.status {
                ConversationStatus::Bot => {
                    if let Some(queue) = queue {
                        c.queue = queue.clone();
                    }
                    c.status = ConversationStatus::Queued;
                    c.queued_at_ms = Some(c.created_at_ms);
                    c.handoff = Some(handoff.clone());
                    if let Some(state) = &mut c.bot {
                        state.open_turn = None;
                    }
                }
                _ if c.handoff.is_some() && c.status != ConversationStatus::Resolved => {
                    return Ok(());
                }
                _ => return Err(not_bot(c)),
            },
            BotChange::Resolve => match c.status {
                ConversationStatus::Bot => {
                    c.status = ConversationStatus::Resolved;
                    c.resolved_at_ms = Some(at_ms);
                    c.queued_at_ms = None;
                    c.assigned_agent = None;
                    if let Some(state) = &mut c.bot {
                        state.open_turn = None;
                    }
                }
                ConversationStatus::Resolved => return Ok(()),
                _ => return Err(not_bot(c)),
            },
        }
        c.updated_at_ms = c.updated_at_ms.max(at_ms);
        Ok(())
    }
}

/// A bot's message, to add to a conversation's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBotMessage {
    /// The message as an automatic outbound one (no agent); its
    /// idempotency key names the turn, so a redelivered reply is stored once.
    pub outbound: NewOutbound,
    /// The bot writing.
    pub bot: String,
    /// The quick-reply options offered with it.
    pub options: Vec<String>,
}

/// Bots' records on conversations.
#[async_trait]
pub trait BotStore: Send + Sync + 'static {
    /// Atomically applies `change` to the conversation (see [`BotChange`])
    /// and returns it. `NotFound` for an unknown conversation.
    async fn bot_change(
        &self,
        conversation_id: &ConversationId,
        change: &BotChange,
        at_ms: Millis,
    ) -> Result<Conversation, StoreError>;

    /// Atomically appends a bot's message like
    /// [`ContextStore::append_outbound`](crate::ContextStore::append_outbound)
    /// (deduplicated by its key), marked with the bot and its options.
    async fn append_bot_message(&self, message: NewBotMessage)
    -> Result<StoredMessage, StoreError>;
}

/// The conversations held by a bot whose open turn is past its deadline at
/// `now_ms`, oldest deadline first: read from the store, so a restart
/// finds the turns a process held in memory.
pub async fn overdue_turns(
    store: &dyn ContextStore,
    now_ms: Millis,
) -> Result<Vec<Conversation>, StoreError> {
    let mut out: Vec<(Millis, Conversation)> = store
        .open_conversations()
        .await?
        .into_iter()
        .filter(|c| c.status == ConversationStatus::Bot)
        .filter_map(|c| {
            let deadline = c.bot.as_ref()?.open_turn.as_ref()?.deadline_ms;
            (deadline <= now_ms).then_some((deadline, c))
        })
        .collect();
    out.sort_by_key(|(deadline, _)| *deadline);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}
