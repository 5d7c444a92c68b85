//! A closed queue's bot (`[queues.hours] closed_bot`) in both modes (the
//! embedded bus and store; NATS and Redis): the router's closed-queue
//! notice gets the customer the closed reply, hands the conversation to
//! the bot (the router is told to release the contact) and gives the bot
//! one turn with the customer's message, however often the notice comes;
//! after the bot's handoff a later notice of the same closure leaves the
//! conversation waiting, neither told again nor given to the bot again.

use omni_bus::topology::{ROUTER_REQUESTS, bot_turns, subjects};
use omni_bus::{BusStream, Delivery, Message};
use omni_core::trace::TraceContext;
use omni_core::{ConversationStatus, Identity, Notice};
use omni_proto::bot as bp;
use omni_proto::events as ev;
use prost::Message as _;

use crate::support::{Harness, inbound, next};

/// Support is always closed (no opening ranges) and hands its waiting
/// contacts to the bot `night`.
fn closed_with_bot(config: &mut omni_core::config::Config) {
    let bot = serde_json::from_value(serde_json::json!({ "deadline_secs": 60 })).expect("bot");
    config.bots.insert("night".into(), bot);
    config.queues[0].hours = Some(
        serde_json::from_value(serde_json::json!({ "zone": "UTC", "closed_bot": "night" }))
            .expect("hours"),
    );
}

fn notice(conversation: &str, opens_at_ms: i64, at_ms: i64) -> ev::QueueClosedNotice {
    ev::QueueClosedNotice {
        conversation_id: conversation.to_owned(),
        queue: "support".into(),
        opens_at_ms,
        replies: Default::default(),
        reply: "We are closed. We open tomorrow at 9:00.".into(),
        at_ms,
    }
}

/// The next message on the routing stream: its subject and conversation.
async fn routing(stream: &mut BusStream<Delivery>) -> (String, String) {
    let message = next(stream).await;
    let conversation = if message.subject == subjects::ROUTING_RELEASE {
        ev::RoutingRelease::decode(message.payload.as_ref())
            .expect("release")
            .conversation_id
    } else {
        ev::RoutingRequest::decode(message.payload.as_ref())
            .expect("request")
            .conversation_id
    };
    (message.subject, conversation)
}

async fn closed_bot_takes_the_waiting_customer_once(h: Harness) {
    let mut turns = h.consume(&bot_turns("night")).await;
    let mut routing_stream = h.consume(&ROUTER_REQUESTS).await;
    let trace = TraceContext::new_root();
    let ingested = h
        .service
        .ingest(
            &inbound(
                Identity::ChatVisitor("v_closed1".into()),
                "cb1",
                "where is my order?",
            ),
            trace,
        )
        .await
        .expect("ingest");
    let id = ingested.conversation.id.clone();
    assert_eq!(ingested.conversation.status, ConversationStatus::Queued);
    assert_eq!(
        routing(&mut routing_stream).await,
        (subjects::ROUTING_REQUEST.to_owned(), id.to_string())
    );

    let opens = omni_core::time::now_ms() + 3_600_000;
    let first = notice(id.as_str(), opens, 1);
    for _ in 0..2 {
        // The second is a redelivery: nothing more happens.
        h.service
            .record_closed(&first, trace)
            .await
            .expect("record closed");
    }
    let held = h.service.conversation(&id).await.expect("read");
    assert_eq!(held.status, ConversationStatus::Bot, "{held:?}");
    assert_eq!(held.queued_at_ms, None, "not waiting for a person");
    assert_eq!(held.bot.as_ref().map(|b| b.bot.as_str()), Some("night"));
    assert_eq!(
        routing(&mut routing_stream).await,
        (subjects::ROUTING_RELEASE.to_owned(), id.to_string()),
        "the router lets the contact go"
    );
    let turn = bp::BotTurn::decode(next(&mut turns).await.payload.as_ref()).expect("turn");
    assert_eq!((turn.turn, turn.bot.as_str()), (1, "night"));
    assert_eq!(
        turn.message.as_ref().map(|m| m.text.as_str()),
        Some("where is my order?")
    );
    let told = |history: &[omni_core::StoredMessage]| {
        history
            .iter()
            .filter(|m| matches!(m.notice, Some(Notice::QueueClosed { .. })))
            .count()
    };
    let history = h
        .service
        .store()
        .messages(&id, 0, 20)
        .await
        .expect("history");
    assert_eq!(told(&history), 1, "told once: {history:?}");
    assert_eq!(
        history.last().map(|m| m.text.as_str()),
        Some("We are closed. We open tomorrow at 9:00."),
        "the closed reply comes before the bot's answer"
    );

    // The bot answers and hands off: the contact queues again at its age.
    let handoff = bp::BotReply {
        turn_id: turn.turn_id.clone(),
        bot: "night".into(),
        conversation_id: id.to_string(),
        messages: vec![bp::BotMessage {
            text: "A person will write to you when we open.".into(),
            options: vec![],
        }],
        attributes: Default::default(),
        customer_attributes: Default::default(),
        action: Some(bp::bot_reply::Action::Handoff(bp::Handoff {
            queue: String::new(),
            summary: "order status".into(),
            intent: String::new(),
            reason: "no_answer".into(),
        })),
    };
    h.service
        .apply_bot_reply(&handoff, trace)
        .await
        .expect("handoff");
    let queued = h.service.conversation(&id).await.expect("read");
    assert_eq!(queued.status, ConversationStatus::Queued);
    assert_eq!(queued.queued_at_ms, Some(queued.created_at_ms));
    assert_eq!(
        routing(&mut routing_stream).await,
        (subjects::ROUTING_REQUEST.to_owned(), id.to_string()),
        "asked for a person again"
    );

    // The router reports it waiting again in the same closure.
    h.service
        .record_closed(&notice(id.as_str(), opens, 2), trace)
        .await
        .expect("record closed again");
    let waiting = h.service.conversation(&id).await.expect("read");
    assert_eq!(waiting, queued, "it waits for the opening, unchanged");
    let history = h
        .service
        .store()
        .messages(&id, 0, 20)
        .await
        .expect("history");
    assert_eq!(told(&history), 1, "not told again: {history:?}");
    // No second turn: the next turn on the stream is this marker.
    let marker = bp::BotTurn {
        turn_id: "marker".into(),
        ..bp::BotTurn::default()
    };
    h.bus
        .publish(
            Message::new(subjects::bot_turn("night"), marker.encode_to_vec()),
            None,
        )
        .await
        .expect("publish marker");
    let after = bp::BotTurn::decode(next(&mut turns).await.payload.as_ref()).expect("turn");
    assert_eq!(after.turn_id, "marker", "one turn only: {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_closed_queue_bot_takes_the_waiting_customer_once() {
    closed_bot_takes_the_waiting_customer_once(Harness::start(closed_with_bot).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_closed_queue_bot_takes_the_waiting_customer_once() {
    closed_bot_takes_the_waiting_customer_once(
        Harness::start_distributed_with(closed_with_bot).await,
    )
    .await;
}
