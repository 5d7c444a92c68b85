//! The bot conformance kit: drives any bot over a real bus the way the
//! context service does (turns on `omni.bot.turn.<bot>`, replies read
//! from `omni.bot.reply`) and names each protocol rule the bot breaks.
//!
//! | rule | what is checked |
//! |---|---|
//! | `names_the_turn` | the reply to a turn names that turn, the bot and the conversation, and says what happens next (continue, handoff or resolve) |
//! | `answers_before_the_deadline` | every turn is answered, before its `deadline_ms` |
//! | `redelivery_answered_once` | a turn delivered twice is answered once: one reply is stored for it (publish with the message id `reply:<turn_id>`) |
//! | `understands_an_option` | a turn carrying an `option` the bot offered is answered |
//! | `handoff_has_a_reason` | a customer the bot cannot help is handed off within four turns, and every handoff carries a reason |
//!
//! Start the bot before [`Kit::check`]: its consumer `bot-<bot>` keeps the
//! turns published after it was first declared (as the context service
//! declares it at start). The kit assumes, as the context service does,
//! that a bot answers one conversation's turns in order. It reads replies
//! through a durable consumer of its own (`conformance-replies-<n>`), so
//! it sees what the bus stored, not what was merely sent.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use omni_bus::topology::{self, ConsumerSpec, subjects};
use omni_bus::{Bus, BusError, BusStream, Delivery, Message, TRACEPARENT};
use omni_core::trace::TraceContext;
use omni_proto::adapter::Capabilities;
use omni_proto::bot::bot_reply::Action;
use omni_proto::bot::{BotReply, BotTurn};
use omni_proto::common::{Direction, Message as PbMessage};
use prost::Message as _;

/// One rule of the protocol (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The reply names the turn, the bot and the conversation, with an action.
    NamesTheTurn,
    /// Every reply arrives before its turn's deadline.
    AnswersBeforeTheDeadline,
    /// A turn delivered twice is answered once.
    RedeliveryAnsweredOnce,
    /// A turn carrying an option is answered.
    UnderstandsAnOption,
    /// A customer the bot cannot help is handed off, with a reason.
    HandoffHasAReason,
}

impl Rule {
    /// Every rule, in the order checked.
    pub const ALL: [Rule; 5] = [
        Rule::NamesTheTurn,
        Rule::AnswersBeforeTheDeadline,
        Rule::RedeliveryAnsweredOnce,
        Rule::UnderstandsAnOption,
        Rule::HandoffHasAReason,
    ];

    /// Its name, as in the table.
    pub fn name(self) -> &'static str {
        match self {
            Rule::NamesTheTurn => "names_the_turn",
            Rule::AnswersBeforeTheDeadline => "answers_before_the_deadline",
            Rule::RedeliveryAnsweredOnce => "redelivery_answered_once",
            Rule::UnderstandsAnOption => "understands_an_option",
            Rule::HandoffHasAReason => "handoff_has_a_reason",
        }
    }
}

/// What the kit found: each rule, kept or broken with what came instead.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The bot checked.
    pub bot: String,
    /// Each rule and its outcome.
    pub results: Vec<(Rule, Result<(), String>)>,
}

impl Verdict {
    /// Whether every rule holds.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|(_, r)| r.is_ok())
    }

    /// The broken rules and why.
    pub fn failures(&self) -> Vec<(Rule, &str)> {
        self.results
            .iter()
            .filter_map(|(rule, r)| r.as_ref().err().map(|e| (*rule, e.as_str())))
            .collect()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (rule, result) in &self.results {
            match result {
                Ok(()) => writeln!(f, "ok   {}", rule.name())?,
                Err(why) => writeln!(f, "FAIL {}: {why}", rule.name())?,
            }
        }
        let failed = self.failures().len();
        write!(
            f,
            "bot conformance ({}): {} passed, {failed} failed",
            self.bot,
            self.results.len() - failed
        )
    }
}

/// Why the kit could not run (the bot's own faults are in the [`Verdict`]).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// The bus refused.
    #[error("bus: {0}")]
    Bus(#[from] BusError),
}

/// The kit, for one bot on one bus.
pub struct Kit {
    bus: Arc<dyn Bus>,
    bot: String,
    wait: Duration,
}

/// How many turns the kit gives a bot to hand off a customer it cannot help.
const HANDOFF_WITHIN: u32 = 4;

/// What the customer says that no bot can know.
const UNKNOWABLE: &str = "xqj vrzk plomb wubbeth";

impl Kit {
    /// The kit for the bot `bot` on `bus`; each turn's deadline is 10 s.
    pub fn new(bus: Arc<dyn Bus>, bot: &str) -> Self {
        Self {
            bus,
            bot: bot.to_owned(),
            wait: Duration::from_secs(10),
        }
    }

    /// Sets how long the bot has for each turn.
    pub fn with_deadline(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Runs every rule.
    pub async fn check(&self) -> Result<Verdict, KitError> {
        let nonce = nonce();
        let spec = leak_spec(&format!("conformance-replies-{nonce}"));
        let mut session = Session {
            kit: self,
            replies: self.bus.consume(&spec).await?,
            stash: Vec::new(),
            all: Vec::new(),
            late: Vec::new(),
        };
        let mut results = Vec::new();

        // One conversation: a greeting, a redelivered question, an option.
        let mut a = Conversation::new(&format!("kit-{nonce}-a"));
        let t1 = a.turn(&self.bot, "hello", "", self.wait);
        session.publish(&t1, &t1.turn_id).await?;
        let r1 = session.reply_to(&t1).await?;
        results.push((Rule::NamesTheTurn, names_the_turn(&self.bot, &t1, &r1)));
        let offered = r1.as_ref().and_then(|r| {
            r.messages
                .iter()
                .flat_map(|m| m.options.iter())
                .next()
                .cloned()
        });
        a.heard(&self.bot, r1.as_ref());

        let t2 = a.turn(&self.bot, "what are your opening hours?", "", self.wait);
        session.publish(&t2, &t2.turn_id).await?;
        session
            .publish(&t2, &format!("{}:redelivered", t2.turn_id))
            .await?;
        let r2 = session.reply_to(&t2).await?;
        a.heard(&self.bot, r2.as_ref());
        let option = offered.unwrap_or_else(|| "Talk to a person".to_owned());
        let t3 = a.turn(&self.bot, &option, &option, self.wait);
        session.publish(&t3, &t3.turn_id).await?;
        let r3 = session.reply_to(&t3).await?;
        let twice = session
            .all
            .iter()
            .filter(|r| r.turn_id == t2.turn_id)
            .count();
        results.push((
            Rule::RedeliveryAnsweredOnce,
            match (r2.is_some(), twice) {
                (false, _) => Err(format!("no reply to turn {} at all", t2.turn_id)),
                (true, 1) => Ok(()),
                (true, n) => Err(format!(
                    "expected one reply stored for a turn delivered twice; got {n}"
                )),
            },
        ));
        results.push((
            Rule::UnderstandsAnOption,
            match &r3 {
                None => Err(format!(
                    "no reply to a turn with the option {option:?} by its deadline"
                )),
                Some(r) if r.action.is_none() => Err(format!(
                    "the reply to a turn with the option {option:?} has no action"
                )),
                Some(_) => Ok(()),
            },
        ));

        // Another: a customer the bot cannot help.
        let mut b = Conversation::new(&format!("kit-{nonce}-b"));
        let mut handed = None;
        for _ in 0..HANDOFF_WITHIN {
            let turn = b.turn(&self.bot, UNKNOWABLE, "", self.wait);
            session.publish(&turn, &turn.turn_id).await?;
            let reply = session.reply_to(&turn).await?;
            b.heard(&self.bot, reply.as_ref());
            match reply {
                None => break,
                Some(r) if matches!(r.action, Some(Action::Handoff(_))) => {
                    handed = Some(r);
                    break;
                }
                Some(_) => {}
            }
        }
        let reasonless = session
            .all
            .iter()
            .find(|r| matches!(&r.action, Some(Action::Handoff(h)) if h.reason.trim().is_empty()));
        results.push((
            Rule::HandoffHasAReason,
            match (handed, reasonless) {
                (_, Some(r)) => Err(format!(
                    "the handoff answering turn {} has no reason",
                    r.turn_id
                )),
                (None, None) => Err(format!(
                    "expected a handoff within {HANDOFF_WITHIN} turns of {UNKNOWABLE:?}; got none"
                )),
                (Some(_), None) => Ok(()),
            },
        ));
        results.insert(
            1,
            (
                Rule::AnswersBeforeTheDeadline,
                match session.late.first() {
                    None => Ok(()),
                    Some(why) => Err(why.clone()),
                },
            ),
        );
        Ok(Verdict {
            bot: self.bot.clone(),
            results,
        })
    }
}

fn names_the_turn(bot: &str, turn: &BotTurn, reply: &Option<BotReply>) -> Result<(), String> {
    let Some(reply) = reply else {
        return Err(format!("no reply to turn {} by its deadline", turn.turn_id));
    };
    if reply.bot != bot {
        return Err(format!("expected bot {bot:?}; got {:?}", reply.bot));
    }
    if reply.conversation_id != turn.conversation_id {
        return Err(format!(
            "expected conversation {:?}; got {:?}",
            turn.conversation_id, reply.conversation_id
        ));
    }
    if reply.action.is_none() {
        return Err("the reply has no action (continue, handoff or resolve)".into());
    }
    Ok(())
}

/// The kit's side of a check: its reply consumer and what it read.
struct Session<'a> {
    kit: &'a Kit,
    replies: BusStream<Delivery>,
    /// Replies read while waiting for another turn's.
    stash: Vec<BotReply>,
    /// Every reply read.
    all: Vec<BotReply>,
    /// Turns answered after their deadline, or not at all, described.
    late: Vec<String>,
}

impl Session<'_> {
    async fn publish(&self, turn: &BotTurn, msg_id: &str) -> Result<(), BusError> {
        let message = Message::new(subjects::bot_turn(&self.kit.bot), turn.encode_to_vec())
            .with_header(TRACEPARENT, TraceContext::new_root().to_string());
        self.kit
            .bus
            .publish(message, Some(msg_id))
            .await
            .map(|_| ())
    }

    /// The reply to `turn`, or `None` when none came by its deadline (a
    /// reply naming no turn the kit sent is kept and ignored).
    async fn reply_to(&mut self, turn: &BotTurn) -> Result<Option<BotReply>, BusError> {
        if let Some(i) = self.stash.iter().position(|r| r.turn_id == turn.turn_id) {
            return Ok(Some(self.stash.remove(i)));
        }
        let until = Instant::now() + self.kit.wait;
        loop {
            let next = tokio::time::timeout_at(until.into(), self.replies.next()).await;
            let Ok(Some(delivery)) = next else {
                self.late
                    .push(format!("no reply to turn {} by its deadline", turn.turn_id));
                return Ok(None);
            };
            let reply = BotReply::decode(delivery.message.payload.as_ref());
            delivery.ack().await?;
            let Ok(reply) = reply else { continue };
            if reply.turn_id == turn.turn_id && now_ms() > turn.deadline_ms {
                self.late.push(format!(
                    "the reply to turn {} came {} ms after its deadline",
                    turn.turn_id,
                    now_ms() - turn.deadline_ms
                ));
            }
            self.all.push(reply.clone());
            if reply.turn_id == turn.turn_id {
                return Ok(Some(reply));
            }
            self.stash.push(reply);
        }
    }
}

/// One conversation as the context service would tell the bot about it.
struct Conversation {
    id: String,
    turns: u32,
    history: Vec<PbMessage>,
    attributes: std::collections::HashMap<String, String>,
}

impl Conversation {
    fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            turns: 0,
            history: Vec::new(),
            attributes: Default::default(),
        }
    }

    /// The next turn: the customer says `text` (picking `option`, if any).
    fn turn(&mut self, bot: &str, text: &str, option: &str, wait: Duration) -> BotTurn {
        self.turns += 1;
        let message = PbMessage {
            id: format!("{}-m{}", self.id, self.turns),
            conversation_id: self.id.clone(),
            direction: Direction::Inbound as i32,
            channel_name: "chat".into(),
            text: text.to_owned(),
            at_ms: now_ms(),
            ..PbMessage::default()
        };
        let turn = BotTurn {
            turn_id: format!("{}-t{}", self.id, self.turns),
            bot: bot.to_owned(),
            conversation_id: self.id.clone(),
            queue: "support".into(),
            turn: self.turns,
            message: Some(message.clone()),
            option: option.to_owned(),
            history: self.history.clone(),
            channel: Some(Capabilities {
                channel: "chat".into(),
                max_text_chars: 4096,
                identity_kind: "chat_visitor".into(),
                quick_replies: true,
                ..Capabilities::default()
            }),
            attributes: self.attributes.clone(),
            deadline_ms: now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX),
            language: "en".into(),
            ..BotTurn::default()
        };
        self.history.push(message);
        turn
    }

    /// What the bot answered goes into the history, as the context service
    /// keeps it.
    fn heard(&mut self, bot: &str, reply: Option<&BotReply>) {
        let Some(reply) = reply else { return };
        for m in &reply.messages {
            self.history.push(PbMessage {
                conversation_id: self.id.clone(),
                direction: Direction::Outbound as i32,
                channel_name: "chat".into(),
                text: m.text.clone(),
                bot: bot.to_owned(),
                options: m.options.clone(),
                at_ms: now_ms(),
                ..PbMessage::default()
            });
        }
        for (k, v) in &reply.attributes {
            if v.is_empty() {
                self.attributes.remove(k);
            } else {
                self.attributes.insert(k.clone(), v.clone());
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unique enough per check: the clock and the process.
fn nonce() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// A consumer of every reply, for this check alone (its names live as
/// long as the process, like [`topology::bot_turns`]'s).
fn leak_spec(name: &str) -> ConsumerSpec {
    ConsumerSpec {
        name: Box::leak(name.to_owned().into_boxed_str()),
        stream: topology::BOT.name,
        filter: subjects::BOT_REPLY,
        ack_wait: Duration::from_secs(30),
        max_ack_pending: 64,
    }
}
