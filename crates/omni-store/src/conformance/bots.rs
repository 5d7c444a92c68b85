//! Checks for bots' records: a conversation of a queue with a bot starts
//! held by it, keeps its open turn durably, takes the bot's messages once,
//! and is handed off at its original age; a closed queue's bot takes a
//! waiting conversation once per closure.

use std::collections::BTreeMap;

use omni_core::{BotHandoff, Channel, Closure, ConversationStatus, MessageId, OpenTurn};

use super::{POLICY, StoreFactory, T0, Tag, WINDOW_MS, inbound, open, queue, step, step_err};
use crate::bots::overdue_turns;
use crate::{BotChange, BotStore, ContextStore, IngestOptions, NewBotMessage, NewOutbound};

fn bot_options() -> IngestOptions {
    let mut options = IngestOptions::new(queue(), POLICY);
    options.bot = Some("faq".into());
    options
}

fn turn(t: &Tag, n: u32, deadline_ms: i64) -> OpenTurn {
    OpenTurn {
        turn_id: t.key(&format!("turn{n}")),
        turn: n,
        deadline_ms,
    }
}

/// A new conversation of a queue with a bot is in `Bot` status, needs the
/// bot and no routing; the customer's next message keeps it there; its
/// open turn survives a reopen of the store, is found once past its
/// deadline, and an answered turn is no longer open.
pub async fn a_bot_holds_a_new_conversation_and_its_open_turn<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let first = step(
        "ingest",
        store.ingest_with(&inbound(&who, &t.key("m1"), "hi", T0), &bot_options()),
    )
    .await;
    let c = &first.conversation;
    assert_eq!(c.status, ConversationStatus::Bot);
    assert!(first.needs_bot && !first.needs_routing, "{first:?}");
    assert_eq!(c.queued_at_ms, None, "not in any queue");
    assert_eq!(c.bot.as_ref().map(|b| b.bot.as_str()), Some("faq"));
    let id = c.id.clone();

    let open_turn = turn(&t, 1, T0 + 10_000);
    let held = step(
        "open turn",
        store.bot_change(&id, &BotChange::OpenTurn(open_turn.clone()), T0 + 1),
    )
    .await;
    let state = held
        .bot
        .clone()
        .unwrap_or_else(|| panic!("bot state: {held:?}"));
    assert_eq!((state.turns, state.open_turn), (1, Some(open_turn.clone())));

    let second = step(
        "second message",
        store.ingest_with(&inbound(&who, &t.key("m2"), "and?", T0 + 5), &bot_options()),
    )
    .await;
    assert_eq!(second.conversation.id, id, "continues");
    assert!(second.needs_bot && !second.needs_routing);
    assert_eq!(second.conversation.status, ConversationStatus::Bot);

    drop(store);
    let store = open(factory).await;
    let early = step("overdue early", overdue_turns(&*store, T0 + 9_999)).await;
    assert!(!early.iter().any(|c| c.id == id), "not yet overdue");
    let late = step("overdue late", overdue_turns(&*store, T0 + 10_000)).await;
    assert!(late.iter().any(|c| c.id == id), "overdue at its deadline");

    let closed = step(
        "close turn",
        store.bot_change(&id, &BotChange::CloseTurn(open_turn.turn_id), T0 + 6),
    )
    .await;
    assert_eq!(closed.bot.as_ref().and_then(|b| b.open_turn.clone()), None);
    assert_eq!(closed.bot.as_ref().map(|b| b.turns), Some(1));
    let late = step("overdue after close", overdue_turns(&*store, T0 + 20_000)).await;
    assert!(
        !late.iter().any(|c| c.id == id),
        "an answered turn is not overdue"
    );
}

/// A bot's message is stored once per key, marked with the bot and its
/// options; attributes merge (an empty value removes one); the handoff
/// queues the conversation at its creation time with the handoff kept,
/// and a second handoff changes nothing.
pub async fn a_bot_answers_collects_and_hands_off<F: StoreFactory>(factory: &F) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let first = step(
        "ingest",
        store.ingest_with(&inbound(&who, &t.key("m1"), "refund?", T0), &bot_options()),
    )
    .await;
    let id = first.conversation.id.clone();
    step(
        "open turn",
        store.bot_change(&id, &BotChange::OpenTurn(turn(&t, 1, T0 + 10_000)), T0 + 1),
    )
    .await;
    let message = |n: u32| NewBotMessage {
        outbound: NewOutbound {
            conversation_id: id.clone(),
            agent_id: None,
            text: "Which order?".into(),
            channel: Channel::CHAT,
            idempotency_key: t.key("turn1/0"),
            at_ms: T0 + 2,
            id: MessageId::from(format!("msg_bot{n}_{}", t.0)),
            email: None,
            notice: None,
            options: Vec::new(),
        },
        bot: "faq".into(),
        options: vec!["Order A".into(), "Order B".into()],
    };
    let stored = step("bot message", store.append_bot_message(message(1))).await;
    let again = step("bot message again", store.append_bot_message(message(2))).await;
    assert_eq!(stored, again, "a redelivered reply is stored once");
    assert_eq!(stored.bot.as_deref(), Some("faq"));
    assert_eq!(stored.options, ["Order A", "Order B"]);
    assert_eq!(stored.agent_id, None);

    let attributes = |pairs: &[(&str, &str)]| {
        BotChange::Attributes(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    step(
        "attributes",
        store.bot_change(&id, &attributes(&[("order", "123"), ("tmp", "x")]), T0 + 3),
    )
    .await;
    let merged = step(
        "attributes again",
        store.bot_change(&id, &attributes(&[("tmp", ""), ("tier", "gold")]), T0 + 4),
    )
    .await;
    assert_eq!(
        merged.attributes,
        BTreeMap::from([
            ("order".to_owned(), "123".to_owned()),
            ("tier".to_owned(), "gold".to_owned())
        ])
    );

    let handoff = BotHandoff {
        bot: "faq".into(),
        summary: "wants a refund for order 123".into(),
        intent: "refund".into(),
        reason: "asked_for_person".into(),
        turns: 1,
        at_ms: T0 + 5,
    };
    let queued = step(
        "handoff",
        store.bot_change(&id, &BotChange::Handoff(handoff.clone(), None), T0 + 5),
    )
    .await;
    assert_eq!(queued.status, ConversationStatus::Queued);
    assert_eq!(
        queued.queued_at_ms,
        Some(T0),
        "at the conversation's original age"
    );
    assert_eq!(queued.handoff.as_ref(), Some(&handoff));
    assert_eq!(queued.bot.as_ref().and_then(|b| b.open_turn.clone()), None);
    assert_eq!(
        queued.attributes.get("order").map(String::as_str),
        Some("123")
    );
    let twice = step(
        "handoff again",
        store.bot_change(&id, &BotChange::Handoff(handoff.clone(), None), T0 + 6),
    )
    .await;
    assert_eq!(twice, queued, "a second handoff changes nothing");
    step_err(
        "open a turn after the handoff",
        store.bot_change(&id, &BotChange::OpenTurn(turn(&t, 2, T0 + 9)), T0 + 7),
    )
    .await;
    drop(store);
    let store = open(factory).await;
    let read = step("read", store.conversation(&id)).await;
    assert_eq!(read.as_ref(), Some(&queued), "durable");
    let history = step("messages", store.messages(&id, 0, 10)).await;
    assert_eq!(history.get(1), Some(&stored));
}

/// A bot's resolve closes the conversation; the customer's next message
/// within the window reopens it held by the bot again, with fresh turns.
pub async fn a_bot_resolves_and_a_reopened_conversation_returns_to_it<F: StoreFactory>(
    factory: &F,
) {
    let store = open(factory).await;
    let t = Tag::new();
    let who = t.chat("visitor");
    let first = step(
        "ingest",
        store.ingest_with(&inbound(&who, &t.key("m1"), "hours?", T0), &bot_options()),
    )
    .await;
    let id = first.conversation.id.clone();
    step(
        "open turn",
        store.bot_change(&id, &BotChange::OpenTurn(turn(&t, 1, T0 + 10_000)), T0 + 1),
    )
    .await;
    let resolved = step(
        "resolve",
        store.bot_change(&id, &BotChange::Resolve, T0 + 2),
    )
    .await;
    assert_eq!(resolved.status, ConversationStatus::Resolved);
    let open_ids = step("open", store.open_conversations()).await;
    assert!(!open_ids.iter().any(|c| c.id == id), "no longer open");
    let back = step(
        "reopen",
        store.ingest_with(
            &inbound(&who, &t.key("m2"), "one more", T0 + WINDOW_MS / 2),
            &bot_options(),
        ),
    )
    .await;
    assert!(
        back.reopened && back.needs_bot && !back.needs_routing,
        "{back:?}"
    );
    assert_eq!(back.conversation.id, id);
    assert_eq!(back.conversation.status, ConversationStatus::Bot);
    assert_eq!(back.conversation.bot.as_ref().map(|b| b.turns), Some(0));
    let plain = step(
        "without a bot",
        store.ingest(
            &inbound(&t.chat("other"), &t.key("m3"), "hi", T0),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert!(plain.needs_routing && !plain.needs_bot);
    assert_eq!(plain.conversation.status, ConversationStatus::Queued);
}

/// A conversation waiting in a closed queue enters its closed bot: `Bot`
/// status, in no queue, the closure kept; entering again while the bot
/// holds it changes nothing, and another bot cannot take it. Once the
/// bot handed it off it waits at its original age and is not given to
/// the bot again in the same closure; in the next closure it is.
pub async fn a_closed_queue_hands_a_waiting_conversation_to_its_bot_once<F: StoreFactory>(
    factory: &F,
) {
    let store = open(factory).await;
    let t = Tag::new();
    let waiting = step(
        "ingest",
        store.ingest(
            &inbound(&t.chat("visitor"), &t.key("m1"), "hello?", T0),
            &queue(),
            POLICY,
        ),
    )
    .await;
    assert_eq!(waiting.conversation.status, ConversationStatus::Queued);
    let id = waiting.conversation.id.clone();
    let closure = Closure {
        queue: queue(),
        opens_at_ms: T0 + 3_600_000,
    };
    let enter = |closure: &Closure| BotChange::Enter {
        bot: "night".into(),
        closure: closure.clone(),
    };
    let held = step("enter", store.bot_change(&id, &enter(&closure), T0 + 1)).await;
    assert_eq!(held.status, ConversationStatus::Bot);
    assert_eq!(
        held.queued_at_ms, None,
        "in no queue while the bot holds it"
    );
    let state = held
        .bot
        .clone()
        .unwrap_or_else(|| panic!("bot state: {held:?}"));
    assert_eq!(
        (state.bot.as_str(), state.turns, state.closure.as_ref()),
        ("night", 0, Some(&closure))
    );
    let again = step(
        "enter again",
        store.bot_change(&id, &enter(&closure), T0 + 2),
    )
    .await;
    assert_eq!(again, held, "a repeated notice changes nothing");
    step_err(
        "another bot",
        store.bot_change(
            &id,
            &BotChange::Enter {
                bot: "other".into(),
                closure: closure.clone(),
            },
            T0 + 2,
        ),
    )
    .await;
    step(
        "open turn",
        store.bot_change(&id, &BotChange::OpenTurn(turn(&t, 1, T0 + 10_000)), T0 + 3),
    )
    .await;
    let handoff = BotHandoff {
        bot: "night".into(),
        summary: String::new(),
        intent: String::new(),
        reason: "asked_for_person".into(),
        turns: 1,
        at_ms: T0 + 4,
    };
    let queued = step(
        "handoff",
        store.bot_change(&id, &BotChange::Handoff(handoff, None), T0 + 4),
    )
    .await;
    assert_eq!(queued.status, ConversationStatus::Queued);
    assert_eq!(queued.queued_at_ms, Some(T0), "at its original age");
    drop(store);
    let store = open(factory).await;
    step_err(
        "enter after the handoff, same closure",
        store.bot_change(&id, &enter(&closure), T0 + 5),
    )
    .await;
    let read = step("read", store.conversation(&id)).await;
    assert_eq!(read.as_ref(), Some(&queued), "still waiting, durably");
    let next = Closure {
        queue: queue(),
        opens_at_ms: closure.opens_at_ms + 86_400_000,
    };
    let later = step(
        "enter, next closure",
        store.bot_change(&id, &enter(&next), T0 + 6),
    )
    .await;
    assert_eq!(later.status, ConversationStatus::Bot);
    assert_eq!(
        later.bot.and_then(|b| b.closure),
        Some(next),
        "a new closure"
    );
}
