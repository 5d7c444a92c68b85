//! One scenario per routing rule.

use omni_core::Channel;
use omni_core::{AgentId, ConversationId};
use omni_router_core::{
    AgentSpec, ContactState, Effect, Engine, EngineConfig, EngineError, Event, Presence, QueueSpec,
    RescindReason,
};

use crate::support::*;

fn agent(id: &str) -> AgentSpec {
    AgentSpec::new(id)
        .with_capacity(Channel::CHAT, 3)
        .with_capacity(Channel::EMAIL, 5)
        .with_capacity(Channel::SMS, 4)
}

fn summaries(engine: &Engine, id: &str) -> Vec<String> {
    engine
        .explain(&ConversationId::from(id))
        .into_iter()
        .map(|r| r.summary)
        .collect()
}

fn presence_of(engine: &Engine, id: &str) -> Presence {
    engine.agent(&AgentId::from(id)).unwrap().presence
}

#[test]
fn agents_without_the_skill_or_below_the_minimum_are_never_offered() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("low").with_skill("sales", 4),
            agent("none").with_skill("billing", 9),
            agent("ok").with_skill("sales", 5),
        ],
        vec![QueueSpec::new("sales").with_requirement("sales", 5)],
    );
    make_available(&mut engine, 0, &["low", "none"]);
    let fx = engine
        .apply(1, arrive("c1", "sales", Channel::CHAT, 1))
        .unwrap();
    assert_eq!(
        fx,
        vec![Effect::Queued {
            conversation_id: "c1".into()
        }]
    );
    assert_eq!(
        engine.contact(&"c1".into()).unwrap().state,
        ContactState::Waiting
    );

    let fx = make_available(&mut engine, 2, &["ok"]);
    assert_eq!(offered(&fx), [("c1".into(), "ok".into())]);
}

#[test]
fn offers_never_exceed_channel_capacity() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 2)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    let mut all = Vec::new();
    for (i, id) in ["c1", "c2", "c3"].into_iter().enumerate() {
        all.extend(
            engine
                .apply(1, arrive(id, "q", Channel::CHAT, i as i64))
                .unwrap(),
        );
    }
    assert_eq!(
        offered(&all),
        [("c1".into(), "a".into()), ("c2".into(), "a".into())]
    );

    // Accepted conversations hold the capacity just like offers do.
    for id in ["c1", "c2"] {
        let offer = live_offer(&engine, id).unwrap();
        let fx = engine.apply(2, accept(&offer)).unwrap();
        assert!(offers(&fx).is_empty());
    }
    let view = engine.agent(&"a".into()).unwrap();
    assert_eq!((view.load, view.offers.len()), (per_channel([2, 0, 0]), 0));
    assert_eq!(
        engine.contact(&"c3".into()).unwrap().state,
        ContactState::Waiting
    );

    // No email capacity at all: email contacts wait.
    let fx = engine
        .apply(3, arrive("e1", "q", Channel::EMAIL, 3))
        .unwrap();
    assert!(offers(&fx).is_empty());
}

#[test]
fn offers_never_exceed_the_total_cap() {
    let mut engine = Engine::new(
        config(),
        vec![
            AgentSpec::new("a")
                .with_capacity(Channel::CHAT, 2)
                .with_capacity(Channel::EMAIL, 2)
                .with_total(3),
        ],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    let mut all = Vec::new();
    for (i, (id, channel)) in [
        ("c1", Channel::CHAT),
        ("e1", Channel::EMAIL),
        ("c2", Channel::CHAT),
        ("e2", Channel::EMAIL),
    ]
    .into_iter()
    .enumerate()
    {
        all.extend(engine.apply(1, arrive(id, "q", channel, i as i64)).unwrap());
    }
    assert_eq!(offers(&all).len(), 3);
    assert_eq!(
        engine.contact(&"e2".into()).unwrap().state,
        ContactState::Waiting
    );
}

#[test]
fn decline_goes_to_the_next_agent_and_back_after_the_cooldown() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("alice").with_skill("sales", 9),
            agent("bob").with_skill("sales", 5),
        ],
        vec![QueueSpec::new("sales").with_requirement("sales", 1)],
    );
    make_available(&mut engine, 0, &["alice", "bob"]);
    let fx = engine
        .apply(100, arrive("c1", "sales", Channel::CHAT, 100))
        .unwrap();
    let first = offers(&fx).remove(0);
    assert_eq!(first.agent_id.as_str(), "alice");

    let fx = engine.apply(1_000, decline(&first)).unwrap();
    assert_eq!(
        rescinded(&fx),
        [("c1".into(), "alice".into(), RescindReason::Declined)]
    );
    assert!(fx.contains(&Effect::Queued {
        conversation_id: "c1".into()
    }));
    let second = offers(&fx).remove(0);
    assert_eq!(second.agent_id.as_str(), "bob");

    // Bob declines too: nobody left outside the cooldown, the contact waits
    // with its original age.
    let fx = engine.apply(2_000, decline(&second)).unwrap();
    assert!(offers(&fx).is_empty());
    let view = engine.contact(&"c1".into()).unwrap();
    assert_eq!(
        (view.state, view.queued_at_ms),
        (ContactState::Waiting, 100)
    );
    assert_eq!(view.excluded[&AgentId::from("alice")], 31_000);
    assert_eq!(engine.next_deadline(), Some(31_000));

    let fx = engine.apply(31_000, Event::Tick).unwrap();
    assert_eq!(offered(&fx), [("c1".into(), "alice".into())]);
    assert_eq!(
        summaries(&engine, "c1")[1],
        "declined by bob; back in queue at original age (bob excluded until 32000)"
    );
}

#[test]
fn timeout_goes_to_the_next_agent() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("alice").with_skill("s", 9),
            agent("bob").with_skill("s", 5),
        ],
        vec![QueueSpec::new("q").with_requirement("s", 1)],
    );
    make_available(&mut engine, 0, &["alice", "bob"]);
    let fx = engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    let offer = offers(&fx).remove(0);
    assert_eq!(offer.expires_at_ms, 10_000);
    assert_eq!(engine.next_deadline(), Some(10_000));

    assert!(engine.apply(9_999, Event::Tick).unwrap().is_empty());
    let fx = engine.apply(10_000, Event::Tick).unwrap();
    assert_eq!(
        rescinded(&fx),
        [("c1".into(), "alice".into(), RescindReason::Timeout)]
    );
    assert_eq!(offered(&fx), [("c1".into(), "bob".into())]);
    assert_eq!(engine.agent(&"alice".into()).unwrap().consecutive_misses, 1);
}

#[test]
fn missing_offers_in_a_row_sets_the_agent_away_and_answering_resets_the_streak() {
    let config = EngineConfig {
        decline_cooldown_ms: 0,
        ..config()
    };
    let mut engine = Engine::new(
        config,
        vec![AgentSpec::new("x").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["x"]);
    engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();

    // Two misses, then an accept: the streak starts over.
    let mut now = 0;
    for _ in 0..2 {
        now += 10_000;
        let fx = engine.apply(now, Event::Tick).unwrap();
        assert_eq!(offered(&fx), [("c1".into(), "x".into())], "no cooldown set");
    }
    assert_eq!(engine.agent(&"x".into()).unwrap().consecutive_misses, 2);
    let offer = live_offer(&engine, "c1").unwrap();
    engine.apply(now + 1, accept(&offer)).unwrap();
    assert_eq!(engine.agent(&"x".into()).unwrap().consecutive_misses, 0);
    engine.apply(now + 2, release("c1")).unwrap();

    engine
        .apply(now + 3, arrive("c2", "q", Channel::CHAT, now + 3))
        .unwrap();
    now += 3;
    let mut last = Vec::new();
    for _ in 0..3 {
        now += 10_000;
        last = engine.apply(now, Event::Tick).unwrap();
    }
    let away = Presence::Away {
        reason: Some("missed 3 offers in a row".into()),
    };
    assert!(last.contains(&Effect::PresenceChanged {
        agent_id: "x".into(),
        presence: away.clone(),
    }));
    assert!(offers(&last).is_empty(), "an away agent gets no offers");
    assert_eq!(presence_of(&engine, "x"), away);
    assert_eq!(
        engine.contact(&"c2".into()).unwrap().state,
        ContactState::Waiting
    );

    // Back to available: a new streak, and the contact is offered again.
    let fx = make_available(&mut engine, now + 1, &["x"]);
    assert_eq!(offered(&fx), [("c2".into(), "x".into())]);
    assert_eq!(engine.agent(&"x".into()).unwrap().consecutive_misses, 0);
}

#[test]
fn accepting_late_or_someone_elses_offer_is_refused_and_changes_nothing() {
    let mut engine = Engine::new(
        config(),
        vec![agent("a"), agent("b").with_capacity(Channel::CHAT, 0)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a", "b"]);
    let offer = offers(
        &engine
            .apply(0, arrive("c1", "q", Channel::CHAT, 0))
            .unwrap(),
    )
    .remove(0);
    let before = (engine.agents(), engine.contact(&"c1".into()));

    let not_yours = Event::Accept {
        agent_id: "b".into(),
        offer_id: offer.offer_id.clone(),
    };
    assert!(matches!(
        engine.apply(1, not_yours),
        Err(EngineError::OfferNotForAgent { .. })
    ));
    let ghost = Event::Accept {
        agent_id: "ghost".into(),
        offer_id: offer.offer_id.clone(),
    };
    assert_eq!(
        engine.apply(1, ghost),
        Err(EngineError::UnknownAgent("ghost".into()))
    );
    assert_eq!(
        engine.apply(10_000, accept(&offer)),
        Err(EngineError::OfferExpired {
            offer_id: offer.offer_id.clone(),
            expires_at_ms: 10_000
        })
    );
    assert_eq!(
        engine
            .apply(10_000, decline(&offer))
            .unwrap_err()
            .to_string(),
        format!("offer {} expired at 10000", offer.offer_id)
    );
    assert_eq!((engine.agents(), engine.contact(&"c1".into())), before);

    engine.apply(10_000, Event::Tick).unwrap();
    assert_eq!(
        engine.apply(10_001, accept(&offer)),
        Err(EngineError::UnknownOffer(offer.offer_id.clone()))
    );
}

#[test]
fn higher_priority_first_then_older() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![
            QueueSpec::new("low"),
            QueueSpec::new("high").with_priority(5),
        ],
    );
    engine
        .apply(10, arrive("low-1", "low", Channel::CHAT, 1))
        .unwrap();
    engine
        .apply(10, arrive("high-5", "high", Channel::CHAT, 5))
        .unwrap();
    engine
        .apply(10, arrive("high-3", "high", Channel::CHAT, 3))
        .unwrap();
    engine
        .apply(10, arrive("low-0", "low", Channel::CHAT, 0))
        .unwrap();
    let order: Vec<String> = engine.waiting().iter().map(|c| c.to_string()).collect();
    assert_eq!(order, ["high-3", "high-5", "low-0", "low-1"]);

    let mut served = Vec::new();
    let mut fx = make_available(&mut engine, 20, &["a"]);
    let mut now = 20;
    while let Some(offer) = offers(&fx).pop() {
        served.push(offer.conversation_id.to_string());
        now += 1;
        engine.apply(now, accept(&offer)).unwrap();
        fx = engine
            .apply(now, release(offer.conversation_id.as_str()))
            .unwrap();
    }
    assert_eq!(served, order);
}

#[test]
fn a_busy_best_agent_does_not_block_other_contacts() {
    // The older, higher-priority contact needs a skill only busy x has; the
    // newer one in another queue goes to idle y at once.
    let mut engine = Engine::new(
        config(),
        vec![
            AgentSpec::new("x")
                .with_capacity(Channel::CHAT, 1)
                .with_skill("vip", 5),
            AgentSpec::new("y").with_capacity(Channel::CHAT, 1),
        ],
        vec![
            QueueSpec::new("vip")
                .with_priority(9)
                .with_requirement("vip", 1),
            QueueSpec::new("general"),
        ],
    );
    make_available(&mut engine, 0, &["x"]);
    engine
        .apply(0, arrive("v1", "vip", Channel::CHAT, 0))
        .unwrap();
    engine
        .apply(1, arrive("v2", "vip", Channel::CHAT, 1))
        .unwrap();
    let fx = engine
        .apply(2, arrive("g1", "general", Channel::CHAT, 2))
        .unwrap();
    assert!(offers(&fx).is_empty(), "x is full, y offline");
    let fx = make_available(&mut engine, 3, &["y"]);
    assert_eq!(offered(&fx), [("g1".into(), "y".into())]);
}

#[test]
fn preferred_agent_wins_when_eligible() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("alice").with_skill("s", 9),
            agent("bob").with_skill("s", 2),
        ],
        vec![QueueSpec::new("q").with_requirement("s", 1)],
    );
    make_available(&mut engine, 0, &["alice", "bob"]);
    let fx = engine
        .apply(
            0,
            arrive_preferring("c1", "q", Channel::CHAT, 0, Some("bob")),
        )
        .unwrap();
    assert_eq!(offered(&fx), [("c1".into(), "bob".into())]);
    assert_eq!(
        summaries(&engine, "c1")[0],
        "offered to bob (step 1, score 2): 2 of 2 agents eligible; won as preferred agent"
    );

    engine.apply(1, presence("bob", Presence::Offline)).unwrap();
    assert_eq!(
        summaries(&engine, "c1")[0],
        "offered to alice (step 1, score 9): 1 of 2 agents eligible; only eligible agent; preferred agent bob not eligible"
    );
}

#[test]
fn explanation_names_the_eligible_count_winner_and_deciding_rule() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("alice").with_skill("sales", 9),
            agent("bob").with_skill("sales", 5),
            agent("carol").with_skill("sales", 3),
            agent("dave").with_skill("sales", 8),
            agent("erin"),
        ],
        vec![QueueSpec::new("sales").with_requirement("sales", 3)],
    );
    make_available(&mut engine, 0, &["alice", "bob", "carol", "erin"]);
    engine
        .apply(5, arrive("c1", "sales", Channel::CHAT, 5))
        .unwrap();
    let records = engine.explain(&"c1".into());
    assert_eq!(records[0].at_ms, 5);
    assert_eq!(
        records[0].summary,
        "offered to alice (step 1, score 9): 3 of 5 agents eligible; won on proficiency (9 vs 5 for bob)"
    );
    assert_eq!(records[1].summary, "queued in sales (priority 0)");
    assert!(engine.explain(&"never".into()).is_empty());
}

#[test]
fn ties_go_to_the_least_occupied_then_the_longest_idle() {
    let mut engine = Engine::new(
        config(),
        vec![agent("a"), agent("b")],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a", "b"]);
    // Both never assigned and empty: the id decides.
    let o1 = offers(
        &engine
            .apply(1, arrive("c1", "q", Channel::CHAT, 1))
            .unwrap(),
    )
    .remove(0);
    assert_eq!(o1.agent_id.as_str(), "a");
    // a holds one offer now: b is less occupied.
    let o2 = offers(
        &engine
            .apply(2, arrive("c2", "q", Channel::CHAT, 2))
            .unwrap(),
    )
    .remove(0);
    assert_eq!(o2.agent_id.as_str(), "b");
    assert!(summaries(&engine, "c2")[0].ends_with("won on occupancy (0/3 vs 1/3 for a)"));
    engine.apply(3, accept(&o2)).unwrap();
    engine.apply(4, accept(&o1)).unwrap();
    // Equal load again; b was assigned earlier, so b has been idle longer.
    let o3 = offers(
        &engine
            .apply(5, arrive("c3", "q", Channel::CHAT, 5))
            .unwrap(),
    )
    .remove(0);
    assert_eq!(o3.agent_id.as_str(), "b");
    assert!(
        summaries(&engine, "c3")[0]
            .ends_with("won on idle time (last assigned at 3 vs last assigned at 4 for a)")
    );
}

#[test]
fn release_frees_capacity_for_the_next_waiting_contact() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    let offer = offers(
        &engine
            .apply(0, arrive("c1", "q", Channel::CHAT, 0))
            .unwrap(),
    )
    .remove(0);
    engine.apply(1, accept(&offer)).unwrap();
    engine
        .apply(2, arrive("c2", "q", Channel::CHAT, 2))
        .unwrap();
    engine
        .apply(3, arrive("c3", "q", Channel::CHAT, 3))
        .unwrap();

    let fx = engine.apply(4, release("c1")).unwrap();
    assert_eq!(
        fx[0],
        Effect::Removed {
            conversation_id: "c1".into()
        }
    );
    assert_eq!(offered(&fx), [("c2".into(), "a".into())]);
    assert!(engine.contact(&"c1".into()).is_none());
    assert_eq!(summaries(&engine, "c1")[0], "released by a");

    // Released while offered: the offer is rescinded and c3 takes the slot.
    let fx = engine.apply(5, release("c2")).unwrap();
    assert_eq!(
        rescinded(&fx),
        [("c2".into(), "a".into(), RescindReason::Released)]
    );
    assert_eq!(offered(&fx), [("c3".into(), "a".into())]);

    // Released while waiting, and twice.
    engine
        .apply(6, arrive("c4", "q", Channel::CHAT, 6))
        .unwrap();
    let fx = engine.apply(7, release("c4")).unwrap();
    assert_eq!(
        fx,
        vec![Effect::Removed {
            conversation_id: "c4".into()
        }]
    );
    assert_eq!(engine.queues(7)[0].waiting, 0);
    assert_eq!(
        engine.apply(8, release("c4")),
        Err(EngineError::UnknownContact("c4".into()))
    );
}

#[test]
fn going_offline_reroutes_live_offers_and_keeps_assignments() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("alice").with_skill("s", 9),
            agent("bob").with_skill("s", 1),
        ],
        vec![QueueSpec::new("q").with_requirement("s", 1)],
    );
    make_available(&mut engine, 0, &["alice"]);
    let fx: Vec<Effect> = ["c1", "c2", "c3"]
        .into_iter()
        .flat_map(|id| engine.apply(0, arrive(id, "q", Channel::CHAT, 0)).unwrap())
        .collect();
    let first = offers(&fx).remove(0);
    engine.apply(1, accept(&first)).unwrap();
    make_available(&mut engine, 2, &["bob"]);

    let fx = engine
        .apply(3, presence("alice", Presence::Offline))
        .unwrap();
    let mut moved = rescinded(&fx);
    moved.sort();
    assert_eq!(
        moved,
        [
            ("c2".into(), "alice".into(), RescindReason::AgentUnavailable),
            ("c3".into(), "alice".into(), RescindReason::AgentUnavailable),
        ]
    );
    assert_eq!(
        offered(&fx),
        [("c2".into(), "bob".into()), ("c3".into(), "bob".into())]
    );
    let alice = engine.agent(&"alice".into()).unwrap();
    assert_eq!(alice.assigned, [ConversationId::from("c1")]);
    assert!(alice.offers.is_empty());
}

#[test]
fn restore_reoccupies_capacity_without_offering() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    make_available(&mut engine, 0, &["a"]);
    // Two restored assignments put a beyond its capacity of 1.
    assert!(
        engine
            .apply(1, restore("c1", "q", 0, Some("a")))
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .apply(1, restore("c2", "q", 0, Some("a")))
            .unwrap()
            .is_empty()
    );
    let fx = engine.apply(1, restore("c3", "q", 0, None)).unwrap();
    assert_eq!(
        fx,
        vec![Effect::Queued {
            conversation_id: "c3".into()
        }]
    );
    assert_eq!(
        engine.agent(&"a".into()).unwrap().load,
        per_channel([2, 0, 0])
    );
    assert_eq!(
        engine.contact(&"c1".into()).unwrap().state,
        ContactState::Assigned("a".into())
    );

    assert!(offers(&engine.apply(2, release("c1")).unwrap()).is_empty());
    let fx = engine.apply(3, release("c2")).unwrap();
    assert_eq!(offered(&fx), [("c3".into(), "a".into())]);

    assert_eq!(
        engine.apply(4, restore("c9", "q", 0, Some("ghost"))),
        Err(EngineError::UnknownAgent("ghost".into()))
    );
    assert!(engine.contact(&"c9".into()).is_none());

    // A restored assignment keeps its agent busy even if its queue is gone;
    // a waiting contact for a vanished queue is refused.
    assert!(
        engine
            .apply(5, restore("c10", "gone", 0, Some("a")))
            .is_ok()
    );
    assert_eq!(
        engine.agent(&"a".into()).unwrap().load,
        per_channel([1, 0, 0])
    );
    assert_eq!(
        engine.apply(5, restore("c11", "gone", 0, None)),
        Err(EngineError::UnknownQueue("gone".into()))
    );
    // The queue record kept for that assignment is not listed and takes no
    // new contacts; releasing the assignment frees its agent.
    assert!(engine.queues(5).iter().all(|q| q.id.as_str() != "gone"));
    assert_eq!(
        engine.apply(5, arrive("c12", "gone", Channel::CHAT, 5)),
        Err(EngineError::UnknownQueue("gone".into()))
    );
    engine.apply(6, release("c10")).unwrap();
    assert_eq!(
        engine.agent(&"a".into()).unwrap().load,
        per_channel([0, 0, 0])
    );
}

#[test]
fn duplicate_or_misrouted_arrivals_are_refused_without_change() {
    let mut engine = Engine::new(config(), vec![agent("a")], vec![QueueSpec::new("q")]);
    engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    assert_eq!(
        engine.apply(1, arrive("c1", "q", Channel::EMAIL, 1)),
        Err(EngineError::DuplicateContact("c1".into()))
    );
    assert_eq!(engine.contact(&"c1".into()).unwrap().channel, Channel::CHAT);
    assert_eq!(
        engine.apply(1, arrive("c2", "nope", Channel::CHAT, 1)),
        Err(EngineError::UnknownQueue("nope".into()))
    );
    assert!(engine.contact(&"c2".into()).is_none());
    assert_eq!(
        engine.apply(1, presence("ghost", Presence::Available)),
        Err(EngineError::UnknownAgent("ghost".into()))
    );
    assert_eq!(engine.queues(1)[0].waiting, 1);
}

#[test]
fn reconfiguring_rescinds_what_no_longer_fits_and_reorders_queues() {
    let mut engine = Engine::new(
        config(),
        vec![agent("a").with_skill("s", 5)],
        vec![
            QueueSpec::new("q1"),
            QueueSpec::new("q2").with_requirement("s", 1),
        ],
    );
    make_available(&mut engine, 0, &["a"]);
    engine
        .apply(0, arrive("c1", "q1", Channel::CHAT, 0))
        .unwrap();
    engine
        .apply(0, arrive("c2", "q2", Channel::CHAT, 1))
        .unwrap();

    // Chat capacity 3 -> 1: the newer offer goes back to the queue.
    let fx = engine.upsert_agent(
        1,
        agent("a")
            .with_skill("s", 5)
            .with_capacity(Channel::CHAT, 1),
    );
    assert_eq!(
        rescinded(&fx),
        [("c2".into(), "a".into(), RescindReason::AgentUnavailable)]
    );
    assert!(offers(&fx).is_empty());
    assert_eq!(
        engine.agent(&"a".into()).unwrap().presence,
        Presence::Available
    );

    // q2 now outranks q1 for the waiting order.
    engine
        .apply(2, arrive("c3", "q1", Channel::CHAT, 0))
        .unwrap();
    assert_eq!(engine.waiting(), [ConversationId::from("c3"), "c2".into()]);
    engine.upsert_queue(
        3,
        QueueSpec::new("q2")
            .with_priority(1)
            .with_requirement("s", 1),
    );
    assert_eq!(engine.waiting(), [ConversationId::from("c2"), "c3".into()]);

    // Raising q1's requirement above a's skill rescinds c1's offer.
    let fx = engine.upsert_queue(4, QueueSpec::new("q1").with_requirement("s", 6));
    assert_eq!(
        rescinded(&fx),
        [("c1".into(), "a".into(), RescindReason::AgentUnavailable)]
    );
    assert_eq!(offered(&fx), [("c2".into(), "a".into())]);

    // A new agent starts offline.
    assert!(engine.upsert_agent(5, agent("b")).is_empty());
    assert_eq!(presence_of(&engine, "b"), Presence::Offline);
}

#[test]
fn offer_ids_carry_the_epoch_and_queues_report_waits() {
    let config = EngineConfig {
        epoch: 0xabc,
        ..config()
    };
    let mut engine = Engine::new(config, vec![agent("a")], vec![QueueSpec::new("q")]);
    engine
        .apply(1_000, arrive("c1", "q", Channel::CHAT, 1_000))
        .unwrap();
    let queue = &engine.queues(4_000)[0];
    assert_eq!((queue.waiting, queue.longest_wait_ms), (1, 3_000));
    assert_eq!(engine.next_deadline(), None);
    let fx = make_available(&mut engine, 5_000, &["a"]);
    assert_eq!(offers(&fx)[0].offer_id, "off_abc_1");
    assert_eq!(engine.queues(5_000)[0].waiting, 0);
}

#[test]
fn time_never_runs_backwards() {
    let mut engine = Engine::new(config(), vec![agent("a")], vec![QueueSpec::new("q")]);
    make_available(&mut engine, 50_000, &["a"]);
    let offer = offers(
        &engine
            .apply(10, arrive("c1", "q", Channel::CHAT, 10))
            .unwrap(),
    )
    .remove(0);
    assert_eq!(offer.expires_at_ms, 60_000);
}
