//! Scenarios for a contact that requires a language (routing rules'
//! `require_language`): only an agent who speaks it is offered the
//! contact while its queue's base requirement is in force; from the
//! queue's first relaxation step on, any agent the step allows.

use omni_core::time::Millis;
use omni_core::{AgentId, Channel};
use omni_router_core::{AgentSpec, Engine, Event, QueueSpec, Requirement};

use crate::support::*;

fn arrive_speaking(id: &str, at: Millis, language: Option<&str>) -> Event {
    Event::ContactArrived {
        conversation_id: id.into(),
        queue: "q".into(),
        channel: Channel::CHAT,
        queued_at_ms: at,
        preferred_agent: None,
        priority: 0,
        language: language.map(str::to_owned),
    }
}

/// Ann (English) wins every tie on her id; Zoe speaks Spanish. One chat
/// each. The queue relaxes (the same skill, any language) after 30 s.
fn engine() -> Engine {
    let support = || Requirement::parse("support >= 1").unwrap();
    let mut engine = Engine::new(
        config(),
        vec![
            AgentSpec::new("ann")
                .with_capacity(Channel::CHAT, 1)
                .with_skill("support", 5)
                .with_language("en"),
            AgentSpec::new("zoe")
                .with_capacity(Channel::CHAT, 1)
                .with_skill("support", 5)
                .with_language("es"),
        ],
        vec![
            QueueSpec::new("q")
                .with_expression(support())
                .with_step(30_000, support()),
        ],
    );
    make_available(&mut engine, 0, &["ann", "zoe"]);
    engine
}

#[test]
fn a_spanish_contact_goes_to_the_spanish_speaker_though_another_agent_comes_first() {
    let mut engine = engine();
    let fx = engine
        .apply(1, arrive_speaking("es1", 1, Some("es")))
        .unwrap();
    assert_eq!(offered(&fx), [("es1".to_owned(), "zoe".to_owned())]);
    assert_eq!(
        engine.contact(&"es1".into()).unwrap().language.as_deref(),
        Some("es")
    );
    // Without a language, ann's id wins the tie as always.
    let mut plain = self::engine();
    let fx = plain.apply(1, arrive_speaking("p1", 1, None)).unwrap();
    assert_eq!(offered(&fx), [("p1".to_owned(), "ann".to_owned())]);
}

#[test]
fn a_waiting_spanish_contact_does_not_hold_back_the_next_one_for_a_free_agent() {
    let mut engine = engine();
    // Zoe is busy: the Spanish contact waits though ann is free.
    let fx = engine.apply(1, arrive_speaking("p0", 1, None)).unwrap();
    assert_eq!(offered(&fx), [("p0".to_owned(), "ann".to_owned())]);
    let fx = engine.apply(2, arrive_speaking("p1", 2, None)).unwrap();
    assert_eq!(offered(&fx), [("p1".to_owned(), "zoe".to_owned())]);
    engine
        .apply(3, accept(&live_offer(&engine, "p1").unwrap()))
        .unwrap();
    let fx = engine
        .apply(4, arrive_speaking("es1", 4, Some("es")))
        .unwrap();
    assert!(offers(&fx).is_empty(), "{fx:?}");
    // Ann frees up: the older Spanish contact is not hers; the next one is.
    let fx = engine.apply(5, arrive_speaking("p2", 5, None)).unwrap();
    assert!(offers(&fx).is_empty(), "ann still holds p0: {fx:?}");
    let fx = engine.apply(6, release("p0")).unwrap();
    assert_eq!(offered(&fx), [("p2".to_owned(), "ann".to_owned())]);
    // Zoe frees up: the Spanish contact is hers.
    let fx = engine.apply(7, release("p1")).unwrap();
    assert_eq!(offered(&fx), [("es1".to_owned(), "zoe".to_owned())]);
}

#[test]
fn a_language_nobody_speaks_is_dropped_at_the_first_relaxation_step() {
    let mut engine = engine();
    let fx = engine
        .apply(1_000, arrive_speaking("fr1", 1_000, Some("fr")))
        .unwrap();
    assert!(offers(&fx).is_empty(), "nobody speaks French: {fx:?}");
    let fx = engine.apply(30_999, Event::Tick).unwrap();
    assert!(offers(&fx).is_empty(), "{fx:?}");
    // At 30 s of waiting the queue's second step is in force: any agent it
    // allows, and ann's id wins the tie.
    let fx = engine.apply(31_000, Event::Tick).unwrap();
    let offer = offers(&fx);
    assert_eq!(offer.len(), 1, "{fx:?}");
    assert_eq!(offer[0].agent_id, AgentId::from("ann"));
}

#[test]
fn a_code_that_is_not_a_language_is_ignored() {
    let mut engine = engine();
    let fx = engine
        .apply(1, arrive_speaking("x1", 1, Some("not a language")))
        .unwrap();
    assert_eq!(offered(&fx), [("x1".to_owned(), "ann".to_owned())]);
    assert_eq!(engine.contact(&"x1".into()).unwrap().language, None);
}
