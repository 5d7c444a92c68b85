//! The conformance kit against the FAQ bot, on both buses, and against
//! bots that break a rule on purpose (so each rule is seen to fail).

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use omni_bot::conformance::{Kit, Rule};
use omni_bot::{Bot, BotError, Runner};
use omni_bus::topology::{self, subjects};
use omni_bus::{Bus, Message};
use omni_proto::bot::bot_reply::Action;
use omni_proto::bot::{BotMessage, BotReply, BotTurn, Continue, Handoff};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use crate::support::{embedded, nats, sample_faq_bot};

async fn faq_passes_on(bus: Arc<dyn Bus>) {
    let runner = Runner::bind(bus.clone(), "faq").await.expect("bind");
    let stop = CancellationToken::new();
    let serving = tokio::spawn({
        let stop = stop.clone();
        async move {
            runner
                .run(Arc::new(sample_faq_bot()), stop.cancelled_owned())
                .await
        }
    });
    let verdict = Kit::new(bus, "faq").check().await.expect("kit");
    stop.cancel();
    serving.await.expect("runner");
    assert!(verdict.passed(), "{verdict}");
    assert_eq!(verdict.results.len(), Rule::ALL.len());
    assert!(
        verdict
            .to_string()
            .ends_with("bot conformance (faq): 5 passed, 0 failed"),
        "{verdict}"
    );
}

#[tokio::test]
async fn the_faq_bot_passes_the_kit_on_the_embedded_bus() {
    let bus = embedded();
    faq_passes_on(bus.bus.clone()).await;
}

#[tokio::test]
async fn the_faq_bot_passes_the_kit_on_nats() {
    let nats = nats().await;
    faq_passes_on(nats.bus.clone()).await;
}

/// Continues every turn, or hands off without a reason on the third.
struct Careless;

#[async_trait]
impl Bot for Careless {
    async fn turn(&self, turn: BotTurn) -> Result<BotReply, BotError> {
        let action = if turn.turn >= 3 {
            Action::Handoff(Handoff::default())
        } else {
            Action::Continue(Continue {})
        };
        Ok(BotReply {
            messages: vec![BotMessage {
                text: "ok".into(),
                options: vec![],
            }],
            action: Some(action),
            ..BotReply::default()
        })
    }
}

#[tokio::test]
async fn a_handoff_without_a_reason_breaks_its_rule() {
    let bus = embedded().bus;
    let runner = Runner::bind(bus.clone(), "careless").await.expect("bind");
    let stop = CancellationToken::new();
    let serving = tokio::spawn(runner.run(Arc::new(Careless), stop.clone().cancelled_owned()));
    let verdict = Kit::new(bus, "careless").check().await.expect("kit");
    stop.cancel();
    serving.await.expect("runner");
    let failures = verdict.failures();
    assert_eq!(failures.len(), 1, "{verdict}");
    assert_eq!(failures[0].0, Rule::HandoffHasAReason, "{verdict}");
    assert!(
        failures[0].1.starts_with("the handoff answering turn kit-")
            && failures[0].1.ends_with("has no reason"),
        "{verdict}"
    );
}

/// A bot that publishes its own replies without the reply's message id:
/// a redelivered turn is answered twice.
#[tokio::test]
async fn a_bot_that_answers_a_redelivered_turn_twice_breaks_its_rule() {
    let bus = embedded().bus;
    let mut turns = bus
        .consume(&topology::bot_turns("echo"))
        .await
        .expect("consume");
    let stop = CancellationToken::new();
    let serving = tokio::spawn({
        let (bus, stop) = (bus.clone(), stop.clone());
        async move {
            loop {
                let delivery = tokio::select! {
                    _ = stop.cancelled() => break,
                    next = turns.next() => match next { Some(d) => d, None => break },
                };
                let turn = BotTurn::decode(delivery.message.payload.as_ref()).expect("turn");
                let reply = BotReply {
                    turn_id: turn.turn_id,
                    bot: "echo".into(),
                    conversation_id: turn.conversation_id,
                    action: Some(Action::Handoff(Handoff {
                        reason: "no_answer".into(),
                        ..Handoff::default()
                    })),
                    ..BotReply::default()
                };
                bus.publish(
                    Message::new(subjects::BOT_REPLY, reply.encode_to_vec()),
                    None,
                )
                .await
                .expect("publish");
                delivery.ack().await.expect("ack");
            }
        }
    });
    let verdict = Kit::new(bus, "echo").check().await.expect("kit");
    stop.cancel();
    serving.await.expect("bot");
    let failures = verdict.failures();
    assert_eq!(
        failures,
        [(
            Rule::RedeliveryAnsweredOnce,
            "expected one reply stored for a turn delivered twice; got 2"
        )],
        "{verdict}"
    );
}

/// Never answers: every turn is an error.
struct Mute;

#[async_trait]
impl Bot for Mute {
    async fn turn(&self, _turn: BotTurn) -> Result<BotReply, BotError> {
        Err(BotError::Failed("mute".into()))
    }
}

#[tokio::test]
async fn a_bot_that_never_answers_breaks_every_rule_naming_the_first_turn() {
    let bus = embedded().bus;
    let runner = Runner::bind(bus.clone(), "mute").await.expect("bind");
    let stop = CancellationToken::new();
    let serving = tokio::spawn(runner.run(Arc::new(Mute), stop.clone().cancelled_owned()));
    let verdict = Kit::new(bus, "mute")
        .with_deadline(std::time::Duration::from_millis(500))
        .check()
        .await
        .expect("kit");
    stop.cancel();
    serving.await.expect("runner");
    let failures = verdict.failures();
    assert_eq!(failures.len(), Rule::ALL.len(), "{verdict}");
    let (rule, why) = failures[1];
    assert_eq!(rule, Rule::AnswersBeforeTheDeadline);
    assert!(
        why.starts_with("no reply to turn kit-") && why.ends_with("-a-t1 by its deadline"),
        "{verdict}"
    );
}
