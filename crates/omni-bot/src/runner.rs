//! Serving a bot over the bus: take the bot's turns from its durable
//! consumer `bot-<bot>` on `omni.bot.turn.<bot>`, ask the [`Bot`], publish
//! its [`BotReply`] on `omni.bot.reply`, then acknowledge the turn.
//!
//! - The reply is published with the message id `reply:<turn_id>`, so a
//!   turn delivered twice (a crash between the publish and the ack, a
//!   lapsed ack wait) is answered once: the bus drops the second reply as
//!   a duplicate.
//! - A bot that fails ([`BotError`]) answers nothing: the failure is
//!   logged, the turn acknowledged, and the context service hands the
//!   conversation to a person when the turn's deadline passes.
//! - A turn already past its deadline is not answered (the context service
//!   has handed off), nor is an undecodable one or one for another bot.
//! - A reply that cannot be published is left unacknowledged, for the bus
//!   to deliver the turn again.
//! - Each turn is handled in a span continuing the trace of the turn's
//!   `traceparent`; the reply carries the trace on.
//! - Shutdown stops taking turns and finishes the one in hand.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use omni_bus::topology::{self, subjects};
use omni_bus::{Bus, BusError, BusStream, Delivery, Message, TRACEPARENT, drain_until};
use omni_proto::bot::{BotReply, BotTurn};
use prost::Message as _;
use tracing::{Instrument as _, debug, error, info, warn};

/// Why a bot could not answer a turn.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The bot failed; the conversation goes to a person at the deadline.
    #[error("bot failed: {0}")]
    Failed(String),
}

/// A bot: answers one turn at a time.
#[async_trait]
pub trait Bot: Send + Sync + 'static {
    /// The answer to `turn`. The runner fills the reply's `turn_id`, `bot`
    /// and `conversation_id` from the turn.
    async fn turn(&self, turn: BotTurn) -> Result<BotReply, BotError>;
}

/// Why the runner could not serve.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The bot's consumer could not be declared or read.
    #[error("cannot take the turns of bot {bot:?}: {source}")]
    Consume {
        /// The bot.
        bot: String,
        /// What the bus said.
        source: BusError,
    },
}

/// A bot's consumer, declared and ready: turns published from now on wait
/// for it (see [`Runner::bind`]).
pub struct Runner {
    name: String,
    bus: Arc<dyn Bus>,
    deliveries: BusStream<Delivery>,
}

impl Runner {
    /// Declares and opens the consumer of the bot `name`
    /// ([`topology::bot_turns`]). Turns published after this returns are
    /// kept for the bot even before [`Runner::run`] takes them.
    pub async fn bind(bus: Arc<dyn Bus>, name: &str) -> Result<Runner, RunnerError> {
        let deliveries = bus
            .consume(&topology::bot_turns(name))
            .await
            .map_err(|source| RunnerError::Consume {
                bot: name.to_owned(),
                source,
            })?;
        Ok(Runner {
            name: name.to_owned(),
            bus,
            deliveries,
        })
    }

    /// Answers turns with `bot` until `shutdown` resolves (the turn in hand
    /// is finished first) or the bus closes.
    pub async fn run(self, bot: Arc<dyn Bot>, shutdown: impl Future<Output = ()>) {
        let Runner {
            name,
            bus,
            deliveries,
        } = self;
        info!(bot = %name, "bot serving");
        drain_until(deliveries, shutdown, |delivery| {
            handle(&name, bus.as_ref(), bot.as_ref(), delivery)
        })
        .await;
        info!(bot = %name, "bot stopped");
    }
}

/// [`Runner::bind`] then [`Runner::run`].
pub async fn serve(
    bus: Arc<dyn Bus>,
    name: &str,
    bot: Arc<dyn Bot>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunnerError> {
    Runner::bind(bus, name).await?.run(bot, shutdown).await;
    Ok(())
}

/// The message id of the reply to `turn_id`: the bus keeps one per turn.
pub fn reply_msg_id(turn_id: &str) -> String {
    format!("reply:{turn_id}")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn handle(name: &str, bus: &dyn Bus, bot: &dyn Bot, delivery: Delivery) {
    let trace = delivery.trace_context();
    let span = tracing::info_span!("bot.turn", bot = %name);
    omni_telemetry::continue_trace(&span, &trace);
    async {
        let turn = match BotTurn::decode(delivery.message.payload.as_ref()) {
            Ok(turn) if !turn.turn_id.is_empty() => turn,
            Ok(_) | Err(_) => {
                error!(trace_id = %trace.trace_id_hex(), subject = %delivery.message.subject, "undecodable turn dropped");
                delivery.settle(Ok::<(), BusError>(())).await;
                return;
            }
        };
        if turn.bot != name {
            warn!(turn_id = %turn.turn_id, for_bot = %turn.bot, "turn for another bot dropped");
            delivery.settle(Ok::<(), BusError>(())).await;
            return;
        }
        if turn.deadline_ms > 0 && turn.deadline_ms < now_ms() {
            warn!(turn_id = %turn.turn_id, conversation_id = %turn.conversation_id, "turn past its deadline not answered");
            delivery.settle(Ok::<(), BusError>(())).await;
            return;
        }
        let (turn_id, conversation_id) = (turn.turn_id.clone(), turn.conversation_id.clone());
        let mut reply = match bot.turn(turn).await {
            Ok(reply) => reply,
            Err(e) => {
                warn!(%turn_id, %conversation_id, error = %e, "bot did not answer; the deadline hands off");
                delivery.settle(Ok::<(), BusError>(())).await;
                return;
            }
        };
        reply.turn_id = turn_id.clone();
        reply.bot = name.to_owned();
        reply.conversation_id = conversation_id.clone();
        let outgoing = omni_telemetry::outgoing(&tracing::Span::current(), &trace);
        let message = Message::new(subjects::BOT_REPLY, reply.encode_to_vec())
            .with_header(TRACEPARENT, outgoing.to_string());
        let published = bus.publish(message, Some(&reply_msg_id(&turn_id))).await;
        match &published {
            Ok(ack) => debug!(%turn_id, %conversation_id, duplicate = ack.duplicate, "reply published"),
            Err(e) => warn!(%turn_id, error = %e, "reply not published; the turn comes again"),
        }
        delivery.settle(published.map(|_| ())).await;
    }
    .instrument(span)
    .await
}
