//! Scenarios for a contact's own priority (set by routing rules): higher
//! first within its queue, then older; inside relaxation bands too; kept
//! across a decline; named by the explanation.

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId};
use omni_router_core::{AgentSpec, Engine, Event, QueueSpec, Requirement};

use crate::support::*;

fn arrive_at(id: &str, queue: &str, at: Millis, priority: u8) -> Event {
    Event::ContactArrived {
        conversation_id: id.into(),
        queue: queue.into(),
        channel: Channel::CHAT,
        queued_at_ms: at,
        preferred_agent: None,
        priority,
        language: None,
    }
}

fn ids(list: &[&str]) -> Vec<ConversationId> {
    list.iter().map(|s| ConversationId::from(*s)).collect()
}

/// Releases what `agent` holds and returns the contact offered next.
fn free_up(engine: &mut Engine, now: Millis, held: &str) -> Option<String> {
    let fx = engine.apply(now, release(held)).unwrap();
    let offer = offers(&fx).into_iter().next()?;
    engine.apply(now, accept(&offer)).unwrap();
    Some(offer.conversation_id.to_string())
}

#[test]
fn a_higher_priority_is_offered_first_then_the_older() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    let fx = engine.apply(0, arrive_at("c0", "q", 0, 0)).unwrap();
    engine.apply(0, accept(&offers(&fx)[0])).unwrap();
    engine.apply(1, arrive_at("c1", "q", 1, 0)).unwrap();
    engine.apply(2, arrive_at("c2", "q", 2, 5)).unwrap();
    engine.apply(3, arrive_at("c3", "q", 3, 5)).unwrap();
    engine.apply(4, arrive_at("c4", "q", 4, 7)).unwrap();
    assert_eq!(engine.waiting(), ids(&["c4", "c2", "c3", "c1"]));
    assert_eq!(free_up(&mut engine, 10, "c0").as_deref(), Some("c4"));
    assert_eq!(free_up(&mut engine, 11, "c4").as_deref(), Some("c2"));
    assert_eq!(free_up(&mut engine, 12, "c2").as_deref(), Some("c3"));
    assert_eq!(free_up(&mut engine, 13, "c3").as_deref(), Some("c1"));
}

#[test]
fn priority_orders_each_relaxation_band() {
    // The novice meets the queue only from its second step (after 30 s).
    let mut engine = Engine::new(
        config(),
        vec![
            AgentSpec::new("novice")
                .with_capacity(Channel::CHAT, 1)
                .with_skill("billing", 2),
        ],
        vec![
            QueueSpec::new("q")
                .with_expression(Requirement::parse("billing >= 5").unwrap())
                .with_step(30_000, Requirement::parse("billing >= 1").unwrap()),
        ],
    );
    make_available(&mut engine, 0, &["novice"]);
    engine.apply(0, arrive_at("c1", "q", 0, 0)).unwrap();
    engine.apply(1_000, arrive_at("c2", "q", 1_000, 3)).unwrap();
    engine
        .apply(20_000, arrive_at("c3", "q", 20_000, 3))
        .unwrap();
    // At 35 s c1 and c2 have reached the second step; c2 goes first, by
    // priority, although c1 is older.
    let fx = engine.apply(35_000, Event::Tick).unwrap();
    let first = offers(&fx);
    assert_eq!(first.len(), 1, "{fx:?}");
    assert_eq!(first[0].conversation_id.as_str(), "c2");
    engine.apply(35_000, accept(&first[0])).unwrap();
    // c3 has the higher priority but is still in the first step, which
    // the novice does not meet: c1 comes next.
    assert_eq!(free_up(&mut engine, 36_000, "c2").as_deref(), Some("c1"));
    assert_eq!(free_up(&mut engine, 50_000, "c1").as_deref(), Some("c3"));
}

#[test]
fn priority_is_kept_after_a_decline_and_explained() {
    let mut engine = Engine::new(
        config(),
        vec![
            AgentSpec::new("a").with_capacity(Channel::CHAT, 1),
            AgentSpec::new("b").with_capacity(Channel::CHAT, 1),
        ],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    let fx = engine.apply(0, arrive_at("c0", "q", 0, 0)).unwrap();
    engine.apply(0, accept(&offers(&fx)[0])).unwrap();
    engine.apply(1, arrive_at("old", "q", 1, 0)).unwrap();
    engine.apply(2, arrive_at("angry", "q", 2, 5)).unwrap();
    // b comes: the angry contact is offered, and b declines it.
    let fx = make_available(&mut engine, 3, &["b"]);
    let offer = offers(&fx).into_iter().next().unwrap();
    assert_eq!(offer.conversation_id.as_str(), "angry");
    assert_eq!(offer.agent_id, AgentId::from("b"));
    let fx = engine.apply(4, decline(&offer)).unwrap();
    // b is cooling down on it: the old contact goes to b meanwhile.
    assert_eq!(offered(&fx), [("old".into(), "b".into())]);
    // The angry contact is still first in line, at its priority.
    assert_eq!(engine.waiting(), ids(&["angry"]));
    assert_eq!(free_up(&mut engine, 5, "c0").as_deref(), Some("angry"));
    let queued = |id: &str| {
        engine
            .explain(&ConversationId::from(id))
            .into_iter()
            .find(|d| d.kind == "queued")
            .map(|d| d.summary)
            .unwrap_or_default()
    };
    assert_eq!(
        queued("angry"),
        "queued in q (priority 0, contact priority 5)"
    );
    assert_eq!(queued("old"), "queued in q (priority 0)");
}

fn raise(id: &str, priority: u8) -> Event {
    Event::PriorityRaised {
        conversation_id: id.into(),
        priority,
    }
}

#[test]
fn a_raised_priority_moves_a_waiting_contact_up_keeping_its_age() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    let fx = engine.apply(0, arrive_at("c0", "q", 0, 0)).unwrap();
    engine.apply(0, accept(&offers(&fx)[0])).unwrap();
    engine.apply(1, arrive_at("c1", "q", 1, 0)).unwrap();
    engine.apply(2, arrive_at("c2", "q", 2, 0)).unwrap();
    engine.apply(3, arrive_at("c3", "q", 3, 2)).unwrap();
    assert_eq!(engine.waiting(), ids(&["c3", "c1", "c2"]));

    // c2's customer writes angrily: priority 5, ahead of c3 and c1.
    let fx = engine.apply(5, raise("c2", 5)).unwrap();
    assert!(offers(&fx).is_empty(), "nobody is free: {fx:?}");
    assert_eq!(engine.waiting(), ids(&["c2", "c3", "c1"]));
    let c2 = engine.contact(&"c2".into()).unwrap();
    assert_eq!((c2.priority, c2.queued_at_ms), (5, 2));

    // Never lowered; the same priority again changes nothing.
    engine.apply(6, raise("c2", 1)).unwrap();
    engine.apply(7, raise("c2", 5)).unwrap();
    assert_eq!(engine.contact(&"c2".into()).unwrap().priority, 5);
    assert_eq!(engine.waiting(), ids(&["c2", "c3", "c1"]));
    let raised: Vec<String> = engine
        .explain(&"c2".into())
        .into_iter()
        .filter(|d| d.kind == "priority_raised")
        .map(|d| d.summary)
        .collect();
    assert_eq!(raised, vec!["contact priority raised from 0 to 5"]);

    assert_eq!(free_up(&mut engine, 10, "c0").as_deref(), Some("c2"));
    assert_eq!(free_up(&mut engine, 11, "c2").as_deref(), Some("c3"));
}

#[test]
fn a_raised_priority_is_offered_at_once_when_an_agent_is_free_and_kept_when_offered() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    let fx = engine.apply(0, arrive_at("c1", "q", 0, 0)).unwrap();
    let offer = offers(&fx).remove(0);
    // Raised while offered: kept, and it counts once it waits again.
    engine.apply(1, raise("c1", 4)).unwrap();
    assert_eq!(engine.contact(&"c1".into()).unwrap().priority, 4);
    engine.apply(2, arrive_at("c2", "q", 2, 3)).unwrap();
    engine.apply(3, decline(&offer)).unwrap();
    let waiting = engine.waiting();
    assert_eq!(
        waiting.first(),
        Some(&ConversationId::from("c1")),
        "{waiting:?}"
    );
    // An unknown contact is refused; nothing changes.
    assert!(engine.apply(4, raise("ghost", 9)).is_err());
}
