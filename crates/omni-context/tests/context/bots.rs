//! Bots' replies over the real embedded bus and store: only the holding
//! bot's answer to the conversation's open turn is applied; every other
//! reply is refused and changes nothing (the authorization of
//! `omni.bot.reply`).

use futures_util::StreamExt as _;
use omni_bus::topology::bot_turns;
use omni_context::bots::reply::ReplyOutcome;
use omni_core::trace::TraceContext;
use omni_core::{ConversationStatus, Identity};
use omni_proto::bot as bp;
use prost::Message as _;

use crate::support::{Harness, inbound};

fn with_faq_bot(config: &mut omni_core::config::Config) {
    let bot = serde_json::from_value(serde_json::json!({ "deadline_secs": 60 })).expect("bot");
    config.bots.insert("faq".into(), bot);
    config.bots.insert(
        "other".into(),
        serde_json::from_value(serde_json::json!({})).expect("bot"),
    );
    config.queues[0].bot = Some("faq".into());
}

fn reply_to(turn: &bp::BotTurn, bot: &str, turn_id: &str) -> bp::BotReply {
    bp::BotReply {
        turn_id: turn_id.to_owned(),
        bot: bot.to_owned(),
        conversation_id: turn.conversation_id.clone(),
        messages: vec![bp::BotMessage {
            text: format!("{bot} says hi"),
            options: vec![],
        }],
        attributes: [("tier".to_owned(), "gold".to_owned())].into(),
        customer_attributes: Default::default(),
        action: Some(bp::bot_reply::Action::Continue(bp::Continue {})),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_for_another_turn_or_from_another_bot_is_refused() {
    let h = Harness::start(with_faq_bot).await;
    let mut turns = h.consume(&bot_turns("faq")).await;
    let ingested = h
        .service
        .ingest(
            &inbound(Identity::ChatVisitor("v_bots1".into()), "b1", "hello"),
            TraceContext::new_root(),
        )
        .await
        .expect("ingest");
    assert_eq!(ingested.conversation.status, ConversationStatus::Bot);
    let delivery = tokio::time::timeout(std::time::Duration::from_secs(10), turns.next())
        .await
        .expect("a turn within 10 s")
        .expect("stream open");
    let turn = bp::BotTurn::decode(delivery.message.payload.as_ref()).expect("turn");
    delivery.ack().await.expect("ack");
    let id = ingested.conversation.id.clone();
    let trace = TraceContext::new_root();

    for (what, reply) in [
        ("another turn", reply_to(&turn, "faq", "turn_forged")),
        ("another bot", reply_to(&turn, "other", &turn.turn_id)),
    ] {
        let outcome = h.service.apply_bot_reply(&reply, trace).await.expect(what);
        assert!(
            matches!(outcome, ReplyOutcome::Refused(_)),
            "{what}: {outcome:?}"
        );
    }
    let unchanged = h.service.conversation(&id).await.expect("read");
    assert!(
        unchanged.attributes.is_empty(),
        "nothing applied: {unchanged:?}"
    );
    let history = h
        .service
        .store()
        .messages(&id, 0, 10)
        .await
        .expect("history");
    assert_eq!(history.len(), 1, "no bot message sent: {history:?}");

    let right = reply_to(&turn, "faq", &turn.turn_id);
    let outcome = h
        .service
        .apply_bot_reply(&right, trace)
        .await
        .expect("apply");
    assert_eq!(outcome, ReplyOutcome::Applied);
    let replayed = h
        .service
        .apply_bot_reply(&right, trace)
        .await
        .expect("replay");
    assert!(
        matches!(replayed, ReplyOutcome::Refused(_)),
        "a replayed reply finds its turn closed: {replayed:?}"
    );
    let after = h.service.conversation(&id).await.expect("read");
    assert_eq!(
        after.attributes.get("tier").map(String::as_str),
        Some("gold")
    );
    assert_eq!(after.status, ConversationStatus::Bot, "the bot keeps it");
    let history = h
        .service
        .store()
        .messages(&id, 0, 10)
        .await
        .expect("history");
    let by_bot: Vec<_> = history.iter().filter(|m| m.bot.is_some()).collect();
    assert_eq!(by_bot.len(), 1, "sent once: {history:?}");
    assert_eq!(by_bot[0].text, "faq says hi");
}
