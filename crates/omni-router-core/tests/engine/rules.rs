//! Scenarios for the requirements language, relaxation steps, overflow,
//! selection order, transfers and queue statistics.

use omni_core::Channel;
use omni_core::ConversationId;
use omni_router_core::{
    AgentSpec, ContactState, Effect, Engine, EngineError, Event, QueueSpec, Requirement,
    RescindReason, SelectionRule,
};

use crate::support::*;

fn req(text: &str) -> Requirement {
    Requirement::parse(text).unwrap()
}

fn agent(id: &str) -> AgentSpec {
    AgentSpec::new(id)
        .with_capacity(Channel::CHAT, 1)
        .with_capacity(Channel::EMAIL, 1)
}

fn state(engine: &Engine, id: &str) -> ContactState {
    engine.contact(&ConversationId::from(id)).unwrap().state
}

#[test]
fn expressions_route_on_skills_and_languages() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("en_expert")
                .with_skill("billing", 9)
                .with_language("en"),
            agent("es_novice")
                .with_skill("billing", 4)
                .with_language("es"),
            agent("es_expert")
                .with_skill("billing", 6)
                .with_language("es"),
        ],
        vec![
            QueueSpec::new("es").with_expression(req(r#"billing >= 5 AND lang == "es""#)),
            QueueSpec::new("not_en").with_expression(req(r#"NOT lang == "en" AND billing < 5"#)),
        ],
    );
    make_available(&mut engine, 0, &["en_expert", "es_novice", "es_expert"]);
    let fx = engine
        .apply(1, arrive("c1", "es", Channel::CHAT, 1))
        .unwrap();
    assert_eq!(offered(&fx), [("c1".into(), "es_expert".into())]);
    let fx = engine
        .apply(2, arrive("c2", "not_en", Channel::CHAT, 2))
        .unwrap();
    assert_eq!(offered(&fx), [("c2".into(), "es_novice".into())]);
    // Nobody else meets "es": it waits even though en_expert is free.
    let fx = engine
        .apply(3, arrive("c3", "es", Channel::EMAIL, 3))
        .unwrap();
    assert_eq!(offered(&fx), [("c3".into(), "es_expert".into())]);
    let fx = engine
        .apply(4, arrive("c4", "es", Channel::CHAT, 4))
        .unwrap();
    assert!(offers(&fx).is_empty());
}

#[test]
fn relaxation_steps_widen_the_eligible_set_over_wait_time_then_overflow() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("novice").with_skill("billing", 2),
            agent("generalist").with_skill("support", 5),
        ],
        vec![
            QueueSpec::new("billing")
                .with_requirement("billing", 5)
                .with_step(30_000, req("billing >= 2"))
                .with_overflow(180_000, "support"),
            QueueSpec::new("support").with_requirement("support", 1),
        ],
    );
    make_available(&mut engine, 0, &["novice", "generalist"]);
    let fx = engine
        .apply(0, arrive("c1", "billing", Channel::CHAT, 0))
        .unwrap();
    assert!(offers(&fx).is_empty(), "nobody meets billing >= 5");
    assert_eq!(engine.next_deadline(), Some(30_000));
    assert!(offers(&engine.apply(29_999, Event::Tick).unwrap()).is_empty());
    let fx = engine.apply(30_000, Event::Tick).unwrap();
    assert_eq!(offered(&fx), [("c1".into(), "novice".into())]);
    let why = engine.explain(&"c1".into());
    // Steps count from 1: the base requirement is step 1, the first
    // relaxation step 2.
    assert_eq!(why[0].step, Some(2));
    assert!(
        why[0]
            .summary
            .starts_with("offered to novice (step 2, score 2)")
    );
    engine.apply(30_001, accept(&offers(&fx)[0])).unwrap();

    // A second contact, with the novice busy, overflows to support.
    let fx = engine
        .apply(40_000, arrive("c2", "billing", Channel::CHAT, 40_000))
        .unwrap();
    assert!(offers(&fx).is_empty());
    let view = &engine.queues(100_000)[0];
    assert_eq!(
        (view.waiting, view.waiting_base, view.oldest_step),
        (1, 0, 2)
    );
    assert_eq!(view.steps[0].waiting, 1);
    // Its step comes into force at 70 s (nobody free), its overflow at 220 s.
    assert_eq!(engine.next_deadline(), Some(70_000));
    assert!(offers(&engine.apply(70_000, Event::Tick).unwrap()).is_empty());
    assert_eq!(engine.next_deadline(), Some(220_000));
    let fx = engine.apply(220_000, Event::Tick).unwrap();
    assert!(fx.contains(&Effect::Requeued {
        conversation_id: "c2".into(),
        queue: "support".into(),
        queued_at_ms: 40_000,
    }));
    assert_eq!(offered(&fx), [("c2".into(), "generalist".into())]);
    let summaries: Vec<String> = engine
        .explain(&"c2".into())
        .into_iter()
        .map(|d| d.summary)
        .collect();
    assert!(summaries.contains(&"overflowed from billing to support at original age".into()));
    assert_eq!(engine.queues(220_000)[0].stats.overflowed, 1);
}

#[test]
fn selection_order_is_per_queue() {
    let agents = vec![
        agent("expert").with_skill("s", 9),
        agent("idle_novice").with_skill("s", 2),
    ];
    let queues = vec![
        QueueSpec::new("default").with_requirement("s", 1),
        QueueSpec::new("fair")
            .with_requirement("s", 1)
            .with_selection(vec![SelectionRule::Idle, SelectionRule::Proficiency]),
    ];
    let mut engine = Engine::new(config(), agents, queues);
    make_available(&mut engine, 0, &["expert", "idle_novice"]);
    // The expert takes one and gets assigned: no longer the idlest.
    let o = offers(
        &engine
            .apply(1, arrive("c1", "default", Channel::CHAT, 1))
            .unwrap(),
    )
    .remove(0);
    assert_eq!(o.agent_id.as_str(), "expert");
    engine.apply(2, accept(&o)).unwrap();
    let fx = engine
        .apply(3, arrive("c2", "fair", Channel::EMAIL, 3))
        .unwrap();
    assert_eq!(offered(&fx), [("c2".into(), "idle_novice".into())]);
    let why = &engine.explain(&"c2".into())[0];
    assert_eq!(why.rule.as_deref(), Some("idle"));
    let fx = engine
        .apply(4, arrive("c3", "default", Channel::EMAIL, 4))
        .unwrap();
    assert_eq!(offered(&fx), [("c3".into(), "expert".into())]);
}

#[test]
fn transfers_move_contacts_to_a_queue_or_an_agent() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("a").with_skill("sales", 5),
            agent("b").with_skill("support", 5),
        ],
        vec![
            QueueSpec::new("sales").with_requirement("sales", 1),
            QueueSpec::new("support").with_requirement("support", 1),
        ],
    );
    make_available(&mut engine, 0, &["a", "b"]);
    let o = offers(
        &engine
            .apply(1, arrive("c1", "sales", Channel::CHAT, 1))
            .unwrap(),
    )
    .remove(0);
    engine.apply(2, accept(&o)).unwrap();

    // Assigned to a; transferred to support: a is free, b is offered.
    let fx = engine
        .apply(
            10,
            Event::TransferToQueue {
                conversation_id: "c1".into(),
                queue: "support".into(),
            },
        )
        .unwrap();
    assert!(fx.contains(&Effect::Unassigned {
        conversation_id: "c1".into(),
        agent_id: "a".into(),
    }));
    assert_eq!(offered(&fx), [("c1".into(), "b".into())]);
    assert_eq!(
        engine.agent(&"a".into()).unwrap().load,
        per_channel([0, 0, 0])
    );
    let view = engine.contact(&"c1".into()).unwrap();
    assert_eq!((view.queue.as_str(), view.queued_at_ms), ("support", 10));

    // Offered to b; transferred straight to a, whatever the requirement.
    let fx = engine
        .apply(
            11,
            Event::TransferToAgent {
                conversation_id: "c1".into(),
                agent_id: "a".into(),
            },
        )
        .unwrap();
    assert_eq!(
        rescinded(&fx),
        [("c1".into(), "b".into(), RescindReason::Transferred)]
    );
    assert_eq!(offered(&fx), [("c1".into(), "a".into())]);
    assert_eq!(
        engine.explain(&"c1".into())[0].rule.as_deref(),
        Some("transfer")
    );

    // An agent without room, or the holder itself, is refused unchanged.
    assert_eq!(
        engine.apply(
            12,
            Event::TransferToAgent {
                conversation_id: "c1".into(),
                agent_id: "a".into(),
            },
        ),
        Err(EngineError::AgentNotAvailable("a".into()))
    );
    assert_eq!(
        engine.apply(
            12,
            Event::TransferToQueue {
                conversation_id: "c1".into(),
                queue: "nope".into(),
            },
        ),
        Err(EngineError::UnknownQueue("nope".into()))
    );
    assert!(matches!(state(&engine, "c1"), ContactState::Offered(o) if o.agent_id.as_str() == "a"));
    let stats = &engine.queues(12)[0].stats;
    assert_eq!(
        (stats.entered, stats.answered, stats.transferred),
        (1, 1, 1)
    );
}

#[test]
fn statistics_measure_service_level_and_abandonment() {
    let mut engine = Engine::new(
        config(),
        vec![agent("a")],
        vec![QueueSpec::new("q").with_service_level(80, 20_000)],
    );
    make_available(&mut engine, 0, &["a"]);
    // Answered in 5 s: within target.
    let o = offers(
        &engine
            .apply(0, arrive("c1", "q", Channel::CHAT, 0))
            .unwrap(),
    )
    .remove(0);
    engine.apply(5_000, accept(&o)).unwrap();
    // Waits 30 s, then answered: outside target.
    engine
        .apply(6_000, arrive("c2", "q", Channel::CHAT, 6_000))
        .unwrap();
    engine.apply(7_000, release("c1")).unwrap();
    let o = live_offer(&engine, "c2").unwrap();
    engine.apply(7_000, release("c2")).unwrap();
    assert!(
        engine.contact(&"c2".into()).is_none(),
        "{o:?} rescinded by the release"
    );
    // Abandoned after 25 s.
    engine
        .apply(8_000, arrive("c3", "q", Channel::EMAIL, 8_000))
        .unwrap();
    let o = live_offer(&engine, "c3").unwrap();
    engine.apply(9_000, decline(&o)).unwrap();
    engine.apply(33_000, release("c3")).unwrap();
    let q = &engine.queues(40_000)[0];
    assert_eq!(q.stats.answered, 1);
    assert_eq!(q.stats.answered_in_target, 1);
    assert_eq!(q.stats.abandoned, 2);
    assert_eq!(q.stats.abandoned_after_target, 1);
    assert_eq!(q.stats.service_level(), Some(0.5));
    assert_eq!(q.occupancy, Some(0.0));
}

#[test]
fn queue_updates_apply_to_waiting_contacts_at_once() {
    let mut engine = Engine::new(
        config(),
        vec![agent("a").with_skill("x", 3)],
        vec![QueueSpec::new("q").with_requirement("x", 5)],
    );
    make_available(&mut engine, 0, &["a"]);
    assert!(
        offers(
            &engine
                .apply(0, arrive("c1", "q", Channel::CHAT, 0))
                .unwrap()
        )
        .is_empty()
    );
    let bad = QueueSpec::new("q").with_overflow(10, "q");
    assert!(engine.validate_queue(&bad).is_err());
    let widened = QueueSpec::new("q").with_expression(req("x >= 3"));
    assert!(engine.validate_queue(&widened).is_ok());
    let fx = engine.upsert_queue(1, widened);
    assert_eq!(offered(&fx), [("c1".into(), "a".into())]);
    // Narrowing it again rescinds the offer that no longer fits.
    let fx = engine.upsert_queue(2, QueueSpec::new("q").with_requirement("x", 4));
    assert_eq!(
        rescinded(&fx),
        [("c1".into(), "a".into(), RescindReason::AgentUnavailable)]
    );
    // An agent added later is routed at once.
    let fx = engine.upsert_agent(3, agent("b").with_skill("x", 8));
    assert!(offers(&fx).is_empty(), "new agents start offline");
    let fx = make_available(&mut engine, 4, &["b"]);
    assert_eq!(offered(&fx), [("c1".into(), "b".into())]);
}

#[test]
fn steps_beyond_the_limit_are_ignored_not_a_crash() {
    let mut queue = QueueSpec::new("q");
    for i in 1..=40 {
        queue = queue.with_step(i * 1_000, req("x"));
    }
    assert!(queue.validate().is_err(), "validation refuses it");
    let mut engine = Engine::new(config(), vec![agent("a").with_skill("x", 1)], vec![queue]);
    make_available(&mut engine, 0, &["a"]);
    let fx = engine
        .apply(100_000, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    assert_eq!(offered(&fx), [("c1".into(), "a".into())]);
}
