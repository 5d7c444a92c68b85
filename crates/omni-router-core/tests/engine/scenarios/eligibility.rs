//! One contact per slot: who is eligible, and how much each agent may carry.

use super::*;

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
