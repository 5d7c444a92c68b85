//! A scripted bot on the bus, for the app's tests: it takes each turn of
//! its bot name from `omni.bot.turn.<bot>`, hands it to the test, and
//! publishes the reply the test's script makes on `omni.bot.reply` (or
//! none, to let the turn time out). The real FAQ bot can stand in for it:
//! both speak only the bot protocol (`proto/omni/bot/v1/bot.proto`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use omni_bus::topology::{bot_turns, subjects};
use omni_bus::{Bus, Message};
use omni_proto::bot as bp;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt as _;

/// What the test's script answers to a turn: `None` answers nothing.
pub type Script = Box<dyn Fn(&bp::BotTurn) -> Option<bp::BotReply> + Send + Sync>;

/// How long [`TestBot::next_turn`] waits.
const WAIT: Duration = Duration::from_secs(30);

/// A bot answering by script; stops on drop.
pub struct TestBot {
    turns: mpsc::UnboundedReceiver<bp::BotTurn>,
    task: JoinHandle<()>,
}

impl TestBot {
    /// Starts taking the turns of `bot` on `bus`, answering with `script`.
    pub async fn start(bus: Arc<dyn Bus>, bot: &str, script: Script) -> anyhow::Result<Self> {
        let mut deliveries = bus
            .consume(&bot_turns(bot))
            .await
            .context("consuming the bot's turns")?;
        let (tx, turns) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(delivery) = deliveries.next().await {
                let Ok(turn) = bp::BotTurn::decode(delivery.message.payload.as_ref()) else {
                    let _ = delivery.ack().await;
                    continue;
                };
                if let Some(reply) = script(&turn) {
                    let msg = Message::new(subjects::BOT_REPLY, reply.encode_to_vec());
                    let id = format!("reply:{}", turn.turn_id);
                    if bus.publish(msg, Some(&id)).await.is_err() {
                        let _ = delivery.nak(Duration::from_millis(100)).await;
                        continue;
                    }
                }
                let _ = delivery.ack().await;
                let _ = tx.send(turn);
            }
        });
        Ok(Self { turns, task })
    }

    /// The next turn the bot took.
    pub async fn next_turn(&mut self) -> anyhow::Result<bp::BotTurn> {
        tokio::time::timeout(WAIT, self.turns.recv())
            .await
            .context("no turn for the bot within 30 s")?
            .context("the bot stopped")
    }
}

impl Drop for TestBot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A reply to `turn` with one message (`options` as quick replies) and
/// `action`.
pub fn reply(
    turn: &bp::BotTurn,
    text: &str,
    options: &[&str],
    action: bp::bot_reply::Action,
) -> bp::BotReply {
    bp::BotReply {
        turn_id: turn.turn_id.clone(),
        bot: turn.bot.clone(),
        conversation_id: turn.conversation_id.clone(),
        messages: vec![bp::BotMessage {
            text: text.to_owned(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        }],
        attributes: Default::default(),
        customer_attributes: Default::default(),
        action: Some(action),
    }
}

/// The `continue` action.
pub fn keep_going() -> bp::bot_reply::Action {
    bp::bot_reply::Action::Continue(bp::Continue {})
}
