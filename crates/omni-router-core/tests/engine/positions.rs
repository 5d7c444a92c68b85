//! Positions in line and expected waits ([`Engine::take_positions`]):
//! scenarios, and a property test that the reported lines are always the
//! engine's own order and that offers never skip anyone ahead in line.

use std::collections::BTreeMap;

use omni_core::time::Millis;
use omni_core::{Channel, ConversationId, QueueId};
use omni_router_core::position::PACE_WINDOW_MS;
use omni_router_core::{
    AgentSpec, ContactState, Effect, Engine, Event, Presence, QueuePosition, QueueSpec, Requirement,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::support::{accept, arrive, config, make_available, offers, presence};

fn line(report: &[QueuePosition], queue: &str, channel: Channel) -> Vec<(String, u32)> {
    report
        .iter()
        .filter(|p| p.queue.as_str() == queue && p.channel == channel)
        .map(|p| (p.conversation_id.to_string(), p.position))
        .collect()
}

fn pairs(list: &[(&str, u32)]) -> Vec<(String, u32)> {
    list.iter().map(|(c, p)| (c.to_string(), *p)).collect()
}

#[test]
fn positions_follow_age_and_move_up_when_the_first_is_offered() {
    let mut engine = Engine::new(
        config(),
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    // Out of order: c2 is the oldest, c1 the youngest.
    for (id, at) in [("c1", 300), ("c2", 100), ("c3", 200)] {
        engine
            .apply(400, arrive(id, "q", Channel::CHAT, at))
            .unwrap();
    }
    engine
        .apply(400, arrive("e1", "q", Channel::EMAIL, 50))
        .unwrap();
    let report = engine.take_positions(400, 10);
    assert_eq!(
        line(&report.positions, "q", Channel::CHAT),
        pairs(&[("c2", 1), ("c3", 2), ("c1", 3)])
    );
    assert_eq!(
        line(&report.positions, "q", Channel::EMAIL),
        pairs(&[("e1", 1)]),
        "each channel is its own line"
    );
    assert!(
        report
            .positions
            .iter()
            .all(|p| p.expected_wait_ms.is_none())
    );
    assert_eq!(report.refreshed.len(), 2);

    let again = engine.take_positions(500, 10);
    assert!(again.refreshed.is_empty() && again.positions.is_empty());

    let fx = make_available(&mut engine, 600, &["a"]);
    assert_eq!(offers(&fx)[0].conversation_id.as_str(), "c2");
    let report = engine.take_positions(600, 10);
    assert_eq!(report.refreshed, vec![(QueueId::from("q"), Channel::CHAT)]);
    assert_eq!(
        line(&report.positions, "q", Channel::CHAT),
        pairs(&[("c3", 1), ("c1", 2)]),
        "the offered contact left the line and the others moved up"
    );

    engine
        .apply(700, arrive("c4", "q", Channel::CHAT, 700))
        .unwrap();
    let report = engine.take_positions(700, 1);
    assert_eq!(
        line(&report.positions, "q", Channel::CHAT),
        pairs(&[("c3", 1)]),
        "only the first `limit` contacts"
    );
}

#[test]
fn the_expected_wait_comes_from_the_pace_of_answers_and_expires() {
    let mut engine = Engine::new(
        omni_router_core::EngineConfig {
            offer_timeout_ms: 10_000_000,
            ..config()
        },
        vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)],
        vec![QueueSpec::new("q")],
    );
    for i in 0..6 {
        engine
            .apply(0, arrive(&format!("c{i}"), "q", Channel::CHAT, i))
            .unwrap();
    }
    make_available(&mut engine, 0, &["a"]);
    // c0, c1 and c2 answered a minute apart; each frees the agent for the
    // next.
    for (i, at) in [(0, 60_000), (1, 120_000), (2, 180_000)] {
        let offer = crate::support::live_offer(&engine, &format!("c{i}")).unwrap();
        engine.apply(at, accept(&offer)).unwrap();
        let report = engine.take_positions(at, 10);
        let waits: Vec<Option<Millis>> = report
            .positions
            .iter()
            .map(|p| p.expected_wait_ms)
            .collect();
        if i < 2 {
            assert!(waits.iter().all(Option::is_none), "no basis yet: {waits:?}");
        } else {
            assert_eq!(
                waits,
                [Some(60_000), Some(120_000), Some(180_000)],
                "c3, c4 and c5 after 3 answers a minute apart"
            );
        }
        engine
            .apply(at, crate::support::release(&format!("c{i}")))
            .unwrap();
    }
    // c3 was offered on c2's release; the line is c4, c5.
    let report = engine.take_positions(180_000, 10);
    assert_eq!(
        line(&report.positions, "q", Channel::CHAT),
        pairs(&[("c4", 1), ("c5", 2)])
    );
    assert_eq!(report.positions[0].expected_wait_ms, Some(60_000));
    // Nobody answers for longer than the window: the line is reported
    // again, without estimates.
    assert!(
        engine
            .take_positions(180_000 + PACE_WINDOW_MS, 10)
            .positions
            .is_empty()
    );
    let stale = engine.take_positions(180_001 + PACE_WINDOW_MS, 10);
    assert_eq!(stale.positions.len(), 2);
    assert!(stale.positions.iter().all(|p| p.expected_wait_ms.is_none()));
}

#[test]
fn an_overflowed_contact_takes_its_place_by_age_in_the_new_queue() {
    let mut engine = Engine::new(
        config(),
        Vec::new(),
        vec![
            QueueSpec::new("first").with_overflow(10_000, "second"),
            QueueSpec::new("second"),
        ],
    );
    engine
        .apply(0, arrive("old", "first", Channel::CHAT, 0))
        .unwrap();
    engine
        .apply(5_000, arrive("mid", "second", Channel::CHAT, 5_000))
        .unwrap();
    engine.take_positions(5_000, 10);
    engine.apply(10_000, Event::Tick).unwrap();
    let report = engine.take_positions(10_000, 10);
    assert_eq!(
        line(&report.positions, "second", Channel::CHAT),
        pairs(&[("old", 1), ("mid", 2)])
    );
    assert!(
        report
            .refreshed
            .contains(&(QueueId::from("first"), Channel::CHAT)),
        "the line it left is refreshed too (and now empty)"
    );
}

// ----- property test -----

const LIMIT: usize = 3;
const AGENTS: [&str; 3] = ["a", "b", "c"];
const QUEUES: [&str; 2] = ["hi", "lo"];

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        queue: usize,
        email: bool,
        back: Millis,
    },
    Advance(Millis),
    Presence {
        agent: usize,
        available: bool,
    },
    AcceptAll,
    Release(Index),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..QUEUES.len(), any::<bool>(), 0..3_000i64)
            .prop_map(|(queue, email, back)| Op::Arrive { queue, email, back }),
        2 => (0..2_500i64).prop_map(Op::Advance),
        2 => (0..AGENTS.len(), any::<bool>())
            .prop_map(|(agent, available)| Op::Presence { agent, available }),
        2 => Just(Op::AcceptAll),
        2 => any::<Index>().prop_map(Op::Release),
    ]
}

type Line = (QueueId, Channel);

/// The lines as the engine orders them, from its routing-order view.
fn truth(engine: &Engine) -> BTreeMap<Line, Vec<ConversationId>> {
    let mut lines: BTreeMap<Line, Vec<ConversationId>> = BTreeMap::new();
    for id in engine.waiting() {
        let Some(view) = engine.contact(&id) else {
            continue;
        };
        let line = lines.entry((view.queue, view.channel)).or_default();
        if line.len() < LIMIT {
            line.push(id);
        }
    }
    lines
}

fn run(levels: [u8; 3], ops: &[Op]) {
    let agents = AGENTS
        .iter()
        .zip(levels)
        .map(|(a, level)| {
            AgentSpec::new(*a)
                .with_skill("s", level)
                .with_capacity(Channel::CHAT, 1)
                .with_capacity(Channel::EMAIL, 1)
        })
        .collect();
    let req = |t: &str| Requirement::parse(t).unwrap();
    let queues = vec![
        // Widening steps: older contacts are never harder to serve.
        QueueSpec::new("hi")
            .with_priority(1)
            .with_expression(req("s >= 6"))
            .with_step(1_500, req("s >= 3"))
            .with_step(3_000, req("s >= 1")),
        QueueSpec::new("lo")
            .with_expression(req("s >= 4"))
            .with_step(2_000, req("s >= 1"))
            .with_overflow(4_000, "hi"),
    ];
    let mut engine = Engine::new(
        omni_router_core::EngineConfig {
            // No offer times out in a run: a cooldown would skip the line
            // on purpose.
            offer_timeout_ms: 10_000_000,
            ..config()
        },
        agents,
        queues,
    );
    let mut now: Millis = 10_000;
    let mut next = 0u32;
    let mut present: Vec<ConversationId> = Vec::new();
    let mut model: BTreeMap<Line, Vec<ConversationId>> = BTreeMap::new();
    for op in ops {
        let events: Vec<Event> = match op {
            Op::Arrive { queue, email, back } => {
                next += 1;
                let id = format!("k{next}");
                present.push(id.as_str().into());
                let channel = if *email {
                    Channel::EMAIL
                } else {
                    Channel::CHAT
                };
                vec![arrive(&id, QUEUES[*queue], channel, now - back)]
            }
            Op::Advance(ms) => {
                now += ms;
                vec![Event::Tick]
            }
            Op::Presence { agent, available } => {
                let p = if *available {
                    Presence::Available
                } else {
                    Presence::Away { reason: None }
                };
                vec![presence(AGENTS[*agent], p)]
            }
            Op::AcceptAll => present
                .iter()
                .filter_map(|id| match engine.contact(id)?.state {
                    ContactState::Offered(offer) => Some(accept(&offer)),
                    _ => None,
                })
                .collect(),
            Op::Release(i) if !present.is_empty() => {
                let id = present.remove(i.index(present.len()));
                vec![Event::ContactReleased {
                    conversation_id: id,
                }]
            }
            Op::Release(_) => Vec::new(),
        };
        for event in events {
            let effects = engine.apply(now, event).unwrap();
            for effect in &effects {
                let Effect::Offered(offer) = effect else {
                    continue;
                };
                let Some(view) = engine.contact(&offer.conversation_id) else {
                    continue;
                };
                let line = (view.queue.clone(), view.channel);
                let ahead: Vec<&ConversationId> = match model.get(&line) {
                    Some(list) => match list.iter().position(|c| *c == offer.conversation_id) {
                        Some(at) => list[..at].iter().collect(),
                        None => list
                            .iter()
                            .filter(|c| {
                                engine
                                    .contact(c)
                                    .is_some_and(|v| v.queued_at_ms < view.queued_at_ms)
                            })
                            .collect(),
                    },
                    None => Vec::new(),
                };
                for y in ahead {
                    let skipped = engine.contact(y).is_some_and(|v| {
                        v.state == ContactState::Waiting && (v.queue.clone(), v.channel) == line
                    });
                    assert!(
                        !skipped,
                        "{} offered while {y}, ahead of it in {line:?}, still waits",
                        offer.conversation_id
                    );
                }
            }
            let report = engine.take_positions(now, LIMIT);
            for line in &report.refreshed {
                model.remove(line);
            }
            for p in report.positions {
                let list = model.entry((p.queue, p.channel)).or_default();
                assert_eq!(
                    p.position as usize,
                    list.len() + 1,
                    "positions count from 1"
                );
                list.push(p.conversation_id);
            }
            model.retain(|_, list| !list.is_empty());
            assert_eq!(model, truth(&engine), "reported lines are the engine's");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reported_positions_are_the_order_the_engine_offers_in(
        levels in prop::array::uniform3(1u8..=10),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(levels, &ops);
    }
}
