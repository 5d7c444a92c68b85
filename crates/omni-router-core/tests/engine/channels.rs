//! A conversation moving to another channel, and how load is counted per
//! channel in the views.

use omni_core::AgentId;
use omni_core::Channel;
use omni_router_core::{
    AgentSpec, AgentView, ContactState, Engine, EngineError, Event, QueueSpec, RescindReason,
};

use crate::support::*;

fn agent(id: &str, chat: u32, email: u32) -> AgentSpec {
    AgentSpec::new(id)
        .with_skill("s", 5)
        .with_capacity(Channel::CHAT, chat)
        .with_capacity(Channel::EMAIL, email)
}

fn engine(agents: Vec<AgentSpec>) -> Engine {
    Engine::new(
        config(),
        agents,
        vec![QueueSpec::new("q").with_requirement("s", 1)],
    )
}

fn changed(id: &str, channel: omni_core::Channel) -> Event {
    Event::ChannelChanged {
        conversation_id: id.into(),
        channel,
    }
}

fn view(engine: &Engine, id: &str) -> AgentView {
    engine.agent(&AgentId::from(id)).unwrap()
}

/// (chat, email) assigned.
fn load(engine: &Engine, id: &str) -> (u32, u32) {
    let v = view(engine, id);
    (v.load[&Channel::CHAT], v.load[&Channel::EMAIL])
}

#[test]
fn an_assigned_conversation_moves_its_load_to_the_new_channel() {
    let mut engine = engine(vec![agent("alice", 1, 2)]);
    make_available(&mut engine, 0, &["alice"]);
    let fx = engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    engine.apply(1, accept(&offers(&fx)[0])).unwrap();
    assert_eq!(load(&engine, "alice"), (1, 0));

    let fx = engine.apply(2, changed("c1", Channel::EMAIL)).unwrap();
    assert!(fx.is_empty(), "nothing to offer or rescind: {fx:?}");
    assert_eq!(load(&engine, "alice"), (0, 1));
    let contact = engine.contact(&"c1".into()).unwrap();
    assert_eq!(contact.channel, Channel::EMAIL);
    assert_eq!(contact.state, ContactState::Assigned("alice".into()));
    let why = &engine.explain(&"c1".into())[0];
    assert_eq!(why.kind, "channel_changed");
    assert_eq!(
        why.summary,
        "channel changed from chat to email: stays with alice, counted on email"
    );

    // Chat has room again: a new chat arrival is offered to alice, which
    // the old count (chat full) would have refused.
    let fx = engine
        .apply(3, arrive("c2", "q", Channel::CHAT, 3))
        .unwrap();
    assert_eq!(offered(&fx), [("c2".into(), "alice".into())]);

    // Released from email, it frees email.
    engine.apply(4, release("c1")).unwrap();
    assert_eq!(load(&engine, "alice"), (0, 0));
}

#[test]
fn with_no_room_on_the_new_channel_the_agent_keeps_it_and_the_explanation_says_so() {
    let mut engine = engine(vec![agent("alice", 1, 0)]);
    make_available(&mut engine, 0, &["alice"]);
    let fx = engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    engine.apply(1, accept(&offers(&fx)[0])).unwrap();

    engine.apply(2, changed("c1", Channel::EMAIL)).unwrap();
    assert_eq!(load(&engine, "alice"), (0, 1));
    assert_eq!(
        engine.contact(&"c1".into()).unwrap().state,
        ContactState::Assigned("alice".into())
    );
    assert_eq!(
        engine.explain(&"c1".into())[0].summary,
        "channel changed from chat to email: stays with alice, counted on email; \
         alice has no room on email but keeps it (continuity first)"
    );
}

#[test]
fn a_live_offer_that_no_longer_fits_beside_the_moved_conversation_is_rescinded() {
    let mut engine = Engine::new(
        config(),
        vec![
            agent("alice", 1, 1),
            AgentSpec::new("bob")
                .with_skill("s", 1)
                .with_capacity(Channel::EMAIL, 1),
        ],
        vec![QueueSpec::new("q").with_requirement("s", 1)],
    );
    make_available(&mut engine, 0, &["alice"]);
    let fx = engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    engine.apply(1, accept(&offers(&fx)[0])).unwrap();
    let fx = engine
        .apply(2, arrive("c2", "q", Channel::EMAIL, 2))
        .unwrap();
    assert_eq!(offered(&fx), [("c2".into(), "alice".into())]);

    // c1 moves to email: alice keeps it, and her email offer no longer fits.
    make_available(&mut engine, 3, &["bob"]);
    let fx = engine.apply(4, changed("c1", Channel::EMAIL)).unwrap();
    assert_eq!(
        rescinded(&fx),
        [("c2".into(), "alice".into(), RescindReason::AgentUnavailable)]
    );
    assert_eq!(offered(&fx), [("c2".into(), "bob".into())]);
    let v = view(&engine, "alice");
    assert_eq!(
        (v.load[&Channel::EMAIL], v.offered[&Channel::EMAIL]),
        (1, 0)
    );
    // The conversation alone fits: no "no room" in its explanation.
    let why: Vec<String> = engine
        .explain(&"c1".into())
        .into_iter()
        .map(|r| r.summary)
        .collect();
    assert_eq!(
        why[0],
        "channel changed from chat to email: stays with alice, counted on email"
    );
}

#[test]
fn a_waiting_conversation_is_matched_on_its_new_channel_at_its_age() {
    // Bob takes email only, and is the only one free.
    let mut engine = engine(vec![agent("alice", 1, 0), agent("bob", 0, 1)]);
    make_available(&mut engine, 0, &["alice", "bob"]);
    let fx = engine
        .apply(0, arrive("busy", "q", Channel::CHAT, 0))
        .unwrap();
    engine.apply(0, accept(&offers(&fx)[0])).unwrap();
    let fx = engine
        .apply(10, arrive("c1", "q", Channel::CHAT, 10))
        .unwrap();
    assert!(offers(&fx).is_empty(), "nobody has room on chat");

    let fx = engine.apply(20, changed("c1", Channel::EMAIL)).unwrap();
    let offer = &offers(&fx)[0];
    assert_eq!(
        (offer.agent_id.as_str(), offer.channel),
        ("bob", Channel::EMAIL),
        "offered on email"
    );
    let contact = engine.contact(&"c1".into()).unwrap();
    assert_eq!(
        (contact.channel, contact.queued_at_ms),
        (Channel::EMAIL, 10)
    );
    let kinds: Vec<&str> = engine
        .explain(&"c1".into())
        .iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds, ["offered", "channel_changed", "queued"]);
}

#[test]
fn a_live_offer_is_rescinded_and_the_conversation_offered_again_on_the_new_channel() {
    let mut engine = engine(vec![agent("alice", 1, 1)]);
    make_available(&mut engine, 0, &["alice"]);
    let fx = engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    let first = offers(&fx)[0].clone();
    assert_eq!(first.channel, Channel::CHAT);

    let fx = engine.apply(5, changed("c1", Channel::EMAIL)).unwrap();
    assert_eq!(
        rescinded(&fx),
        [("c1".into(), "alice".into(), RescindReason::ChannelChanged)]
    );
    let again = offers(&fx);
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].agent_id.as_str(), again[0].channel),
        ("alice", Channel::EMAIL)
    );
    // The old offer is gone, and the reservation moved with the new one.
    assert_eq!(
        engine.apply(6, accept(&first)),
        Err(EngineError::UnknownOffer(first.offer_id.clone()))
    );
    let v = view(&engine, "alice");
    assert_eq!(
        (v.offered[&Channel::CHAT], v.offered[&Channel::EMAIL]),
        (0, 1)
    );
    engine.apply(7, accept(&again[0])).unwrap();
    assert_eq!(load(&engine, "alice"), (0, 1));
}

#[test]
fn the_same_channel_changes_nothing_and_an_unknown_conversation_is_refused() {
    let mut engine = engine(vec![agent("alice", 1, 1)]);
    make_available(&mut engine, 0, &["alice"]);
    engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    let before = engine.explain(&"c1".into());
    assert_eq!(
        engine.apply(1, changed("c1", Channel::CHAT)),
        Ok(Vec::new())
    );
    assert_eq!(engine.explain(&"c1".into()), before);
    assert_eq!(
        engine.apply(1, changed("nope", Channel::EMAIL)),
        Err(EngineError::UnknownContact("nope".into()))
    );
}

#[test]
fn used_room_counts_live_offers_as_queue_occupancy_does() {
    let mut engine = engine(vec![agent("alice", 2, 0)]);
    make_available(&mut engine, 0, &["alice"]);
    let fx = engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    engine.apply(1, accept(&offers(&fx)[0])).unwrap();
    engine
        .apply(2, arrive("c2", "q", Channel::CHAT, 2))
        .unwrap();
    // One assigned, one offered: 2 of 2 held.
    let v = view(&engine, "alice");
    assert_eq!((v.load[&Channel::CHAT], v.offered[&Channel::CHAT]), (1, 1));
    assert_eq!(v.used(Channel::CHAT), 2);
    let occupancy = engine.queues(2)[0].occupancy;
    assert_eq!(occupancy, Some(1.0));
    assert_eq!(
        occupancy,
        Some(f64::from(v.used(Channel::CHAT)) / f64::from(v.capacity[&Channel::CHAT]))
    );
}

#[test]
fn a_declared_channel_beyond_the_built_in_ones_has_its_own_capacity() {
    // Five channels: two past the three kept inline in the engine's records.
    let (app, fax) = (
        Channel::parse("engine-app").unwrap(),
        Channel::parse("engine-fax").unwrap(),
    );
    let mut engine = Engine::new(
        config().with_channels(Channel::BUILT_IN.into_iter().chain([app, fax])),
        vec![
            AgentSpec::new("a")
                .with_skill("s", 5)
                .with_capacity(app, 1)
                .with_capacity(fax, 2),
        ],
        vec![QueueSpec::new("q").with_requirement("s", 1)],
    );
    engine
        .apply(0, presence("a", omni_router_core::Presence::Available))
        .unwrap();
    let fx = engine.apply(1, arrive("c1", "q", app, 1)).unwrap();
    let offer = offers(&fx).remove(0);
    assert_eq!(offer.channel, app);
    engine.apply(2, accept(&offer)).unwrap();
    // Full on app: the next app contact waits, a fax contact is offered.
    assert!(offers(&engine.apply(3, arrive("c2", "q", app, 3)).unwrap()).is_empty());
    let fx = engine.apply(4, arrive("c3", "q", fax, 4)).unwrap();
    assert_eq!(offers(&fx).remove(0).channel, fax);
    let v = view(&engine, "a");
    assert_eq!((v.load[&app], v.offered[&fax], v.capacity[&fax]), (1, 1, 2));
    assert_eq!(v.used(Channel::CHAT), 0);
    // Released: the waiting app contact takes the room.
    let fx = engine
        .apply(
            5,
            Event::ContactReleased {
                conversation_id: "c1".into(),
            },
        )
        .unwrap();
    assert_eq!(offered(&fx), [("c2".into(), "a".into())]);
}

#[test]
fn a_contact_or_capacity_on_an_undeclared_channel_is_refused() {
    let other = Channel::parse("engine-undeclared").unwrap();
    let mut engine = engine(vec![agent("a", 1, 1)]);
    assert_eq!(
        engine.apply(0, arrive("c1", "q", other, 0)),
        Err(EngineError::UndeclaredChannel(other))
    );
    assert!(engine.contact(&"c1".into()).is_none());
    let err = engine
        .validate_agent(&agent("b", 1, 0).with_capacity(other, 2))
        .unwrap_err();
    assert_eq!(err, EngineError::UndeclaredChannel(other));
    assert!(
        err.to_string()
            .contains("channel engine-undeclared is not declared")
    );
    assert_eq!(engine.validate_agent(&agent("b", 1, 0)), Ok(()));
    engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    assert_eq!(
        engine.apply(1, changed("c1", other)),
        Err(EngineError::UndeclaredChannel(other))
    );
}
