//! The runner over the embedded bus: one reply per turn, on the turn's
//! trace; a failing bot and a late turn answer nothing; shutdown finishes
//! the turn in hand.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures_util::StreamExt;
use omni_bot::runner::reply_msg_id;
use omni_bot::{Bot, BotError, Runner};
use omni_bus::topology::{self, subjects};
use omni_bus::{Bus, BusStream, Delivery, Message, TRACEPARENT};
use omni_core::trace::TraceContext;
use omni_proto::bot::bot_reply::Action;
use omni_proto::bot::{BotMessage, BotReply, BotTurn, Continue};
use prost::Message as _;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::support::embedded;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn turn(id: &str, text: &str) -> BotTurn {
    BotTurn {
        turn_id: id.into(),
        bot: "test".into(),
        conversation_id: "k_1".into(),
        turn: 1,
        message: Some(omni_proto::common::Message {
            text: text.into(),
            ..Default::default()
        }),
        deadline_ms: now_ms() + 60_000,
        ..BotTurn::default()
    }
}

async fn publish(bus: &dyn Bus, turn: &BotTurn, trace: Option<TraceContext>) {
    let mut message = Message::new(subjects::bot_turn(&turn.bot), turn.encode_to_vec());
    if let Some(trace) = trace {
        message = message.with_header(TRACEPARENT, trace.to_string());
    }
    bus.publish(message, Some(&turn.turn_id))
        .await
        .expect("publish");
}

/// Every stored reply, through a consumer of the test's own.
async fn replies(bus: &dyn Bus) -> BusStream<Delivery> {
    let spec = topology::ConsumerSpec {
        name: "test-replies",
        stream: topology::BOT.name,
        filter: subjects::BOT_REPLY,
        ack_wait: std::time::Duration::from_secs(30),
        max_ack_pending: 64,
    };
    bus.consume(&spec).await.expect("consume replies")
}

async fn next_reply(replies: &mut BusStream<Delivery>) -> (BotReply, Message) {
    let delivery = replies.next().await.expect("a reply");
    let reply = BotReply::decode(delivery.message.payload.as_ref()).expect("a BotReply");
    let message = delivery.message.clone();
    delivery.ack().await.expect("ack");
    (reply, message)
}

/// Echoes the text; fails on "fail"; waits for `release` on "wait",
/// telling `started` first.
struct Echo {
    started: mpsc::UnboundedSender<String>,
    release: Arc<Notify>,
}

#[async_trait]
impl Bot for Echo {
    async fn turn(&self, turn: BotTurn) -> Result<BotReply, BotError> {
        let text = turn.message.map(|m| m.text).unwrap_or_default();
        let _ = self.started.send(turn.turn_id.clone());
        if text == "fail" {
            return Err(BotError::Failed("asked to fail".into()));
        }
        if text == "wait" {
            self.release.notified().await;
        }
        Ok(BotReply {
            // Wrong on purpose: the runner names the turn itself.
            turn_id: "someone-else".into(),
            messages: vec![BotMessage {
                text,
                options: vec![],
            }],
            action: Some(Action::Continue(Continue {})),
            ..BotReply::default()
        })
    }
}

struct Served {
    bus: Arc<dyn Bus>,
    started: mpsc::UnboundedReceiver<String>,
    release: Arc<Notify>,
    stop: CancellationToken,
    serving: tokio::task::JoinHandle<()>,
    replies: BusStream<Delivery>,
    _bus: crate::support::Embedded,
}

async fn serve_echo() -> Served {
    let embedded = embedded();
    let bus = embedded.bus.clone();
    let replies = replies(bus.as_ref()).await;
    let (tx, started) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let bot = Arc::new(Echo {
        started: tx,
        release: release.clone(),
    });
    let runner = Runner::bind(bus.clone(), "test").await.expect("bind");
    let stop = CancellationToken::new();
    let serving = tokio::spawn(runner.run(bot, stop.clone().cancelled_owned()));
    Served {
        bus,
        started,
        release,
        stop,
        serving,
        replies,
        _bus: embedded,
    }
}

#[tokio::test]
async fn a_reply_names_the_turn_continues_its_trace_and_is_kept_once() {
    let mut s = serve_echo().await;
    let trace = TraceContext::new_root();
    publish(s.bus.as_ref(), &turn("t-1", "hi"), Some(trace)).await;
    let (reply, message) = next_reply(&mut s.replies).await;
    assert_eq!(
        (
            reply.turn_id.as_str(),
            reply.bot.as_str(),
            reply.conversation_id.as_str()
        ),
        ("t-1", "test", "k_1")
    );
    assert_eq!(reply.messages[0].text, "hi");
    let sent = message.trace_context();
    assert_eq!(
        sent.trace_id, trace.trace_id,
        "the reply continues the turn's trace"
    );
    // The reply's id is taken: the same reply again is a duplicate.
    let again = s
        .bus
        .publish(message, Some(&reply_msg_id("t-1")))
        .await
        .expect("publish");
    assert!(again.duplicate);
    s.stop.cancel();
    s.serving.await.expect("runner");
}

#[tokio::test]
async fn a_failing_bot_and_a_late_turn_answer_nothing() {
    let mut s = serve_echo().await;
    publish(s.bus.as_ref(), &turn("t-fail", "fail"), None).await;
    let mut late = turn("t-late", "late");
    late.deadline_ms = now_ms() - 1;
    publish(s.bus.as_ref(), &late, None).await;
    publish(s.bus.as_ref(), &turn("t-ok", "ok"), None).await;
    let (reply, _) = next_reply(&mut s.replies).await;
    assert_eq!(reply.turn_id, "t-ok");
    // The failing bot was asked; the late turn never reached it.
    let mut asked = Vec::new();
    while let Ok(id) = s.started.try_recv() {
        asked.push(id);
    }
    assert_eq!(asked, ["t-fail", "t-ok"]);
    s.stop.cancel();
    s.serving.await.expect("runner");
}

#[tokio::test]
async fn shutdown_finishes_the_turn_in_hand() {
    let mut s = serve_echo().await;
    publish(s.bus.as_ref(), &turn("t-slow", "wait"), None).await;
    assert_eq!(s.started.recv().await.as_deref(), Some("t-slow"));
    s.stop.cancel();
    // The runner is still in the turn: it ends only once the bot answers.
    assert!(!s.serving.is_finished());
    s.release.notify_one();
    s.serving.await.expect("runner");
    let (reply, _) = next_reply(&mut s.replies).await;
    assert_eq!(reply.turn_id, "t-slow");
}
