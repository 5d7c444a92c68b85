//! Offers: decline, timeout, missed offers in a row, and answers that come too late or from someone else.

use super::*;

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
    // Each offer says since when the contact waits: its original age.
    assert_eq!((first.queued_at_ms, second.queued_at_ms), (100, 100));

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
