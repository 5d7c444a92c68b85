//! What changes the engine's state around offers: releases, presence, restore, refused arrivals, reconfiguration, offer ids and the clock.

use super::*;

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
