//! Selection: priority and age, a busy best agent, the preferred agent, ties, and the explanation of each decision.

use super::*;

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
