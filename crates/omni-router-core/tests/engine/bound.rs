//! The bound on a queue's length (`max_waiting`): a full queue sends a new
//! contact to its overflow queue if that has room, else refuses it; and a
//! property test that no queue ever holds more than its bound.

use omni_core::Channel;
use omni_core::time::Millis;
use omni_router_core::{
    AgentSpec, Effect, Engine, EngineConfig, EngineError, Event, Presence, QueueSpec,
};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::support::{accept, arrive, config, decline, make_available, offers, release};

fn refused(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Refused {
                conversation_id,
                queue,
            } => Some(format!("{conversation_id}@{queue}")),
            _ => None,
        })
        .collect()
}

fn held(engine: &Engine, queue: &str) -> (u32, u32) {
    let view = engine
        .queues(0)
        .into_iter()
        .find(|q| q.id.as_str() == queue)
        .unwrap();
    (view.waiting + view.offered, view.stats.refused as u32)
}

#[test]
fn a_full_queue_refuses_a_new_contact_and_takes_one_again_when_room_frees() {
    let queues = vec![QueueSpec::new("sales").with_max_waiting(2)];
    let mut engine = Engine::new(config(), vec![], queues);
    for id in ["c1", "c2"] {
        let fx = engine
            .apply(0, arrive(id, "sales", Channel::CHAT, 0))
            .unwrap();
        assert!(refused(&fx).is_empty());
    }
    let fx = engine
        .apply(1, arrive("c3", "sales", Channel::EMAIL, 1))
        .unwrap();
    assert_eq!(refused(&fx), ["c3@sales"]);
    assert!(engine.contact(&"c3".into()).is_none(), "nothing kept of it");
    assert_eq!(held(&engine, "sales"), (2, 1));
    // Refused, not held: the same conversation may ask again later.
    engine.apply(2, release("c1")).unwrap();
    let fx = engine
        .apply(3, arrive("c3", "sales", Channel::CHAT, 3))
        .unwrap();
    assert!(refused(&fx).is_empty());
    assert!(engine.contact(&"c3".into()).is_some());
}

#[test]
fn a_full_queue_sends_a_new_contact_to_its_overflow_queue_while_that_has_room() {
    let queues = vec![
        QueueSpec::new("vip")
            .with_max_waiting(1)
            .with_overflow(60_000, "general"),
        QueueSpec::new("general").with_max_waiting(1),
    ];
    let mut engine = Engine::new(config(), vec![], queues);
    engine
        .apply(0, arrive("c1", "vip", Channel::CHAT, 0))
        .unwrap();
    let fx = engine
        .apply(0, arrive("c2", "vip", Channel::CHAT, 0))
        .unwrap();
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Requeued { conversation_id, queue, queued_at_ms: 0 }
            if conversation_id.as_str() == "c2" && queue.as_str() == "general"
    )));
    assert_eq!(held(&engine, "general"), (1, 0));
    let fx = engine
        .apply(0, arrive("c3", "vip", Channel::CHAT, 0))
        .unwrap();
    assert_eq!(refused(&fx), ["c3@vip"]);
    // The timed overflow of c1 waits while general is full.
    engine.apply(120_000, Event::Tick).unwrap();
    assert_eq!(held(&engine, "vip").0, 1);
    assert_eq!(held(&engine, "general").0, 1);
}

#[test]
fn an_offered_contact_counts_so_a_decline_never_overfills_the_queue() {
    let agents = vec![AgentSpec::new("a").with_capacity(Channel::CHAT, 1)];
    let queues = vec![QueueSpec::new("q").with_max_waiting(1)];
    let mut engine = Engine::new(config(), agents, queues);
    let fx = make_available(&mut engine, 0, &["a"]);
    assert!(fx.is_empty());
    let fx = engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    let offer = offers(&fx).remove(0);
    let fx = engine
        .apply(1, arrive("c2", "q", Channel::CHAT, 1))
        .unwrap();
    assert_eq!(refused(&fx), ["c2@q"], "the offered contact holds the room");
    engine.apply(2, decline(&offer)).unwrap();
    assert_eq!(held(&engine, "q").0, 1);
}

#[test]
fn a_transfer_into_a_full_queue_is_refused_and_changes_nothing() {
    let queues = vec![QueueSpec::new("a").with_max_waiting(1), QueueSpec::new("b")];
    let mut engine = Engine::new(config(), vec![], queues);
    engine
        .apply(0, arrive("c1", "a", Channel::CHAT, 0))
        .unwrap();
    engine
        .apply(0, arrive("c2", "b", Channel::CHAT, 0))
        .unwrap();
    let err = engine
        .apply(
            1,
            Event::TransferToQueue {
                conversation_id: "c2".into(),
                queue: "a".into(),
            },
        )
        .unwrap_err();
    assert_eq!(err, EngineError::QueueFull("a".into()));
    assert_eq!(held(&engine, "b").0, 1);
}

#[test]
fn the_default_bound_applies_to_queues_without_their_own_and_a_restore_is_never_refused() {
    let config = EngineConfig {
        default_max_waiting: Some(1),
        ..config()
    };
    let queues = vec![
        QueueSpec::new("q"),
        QueueSpec::new("big").with_max_waiting(5),
    ];
    let mut engine = Engine::new(config, vec![], queues);
    engine
        .apply(0, arrive("c1", "q", Channel::CHAT, 0))
        .unwrap();
    let fx = engine
        .apply(0, arrive("c2", "q", Channel::CHAT, 0))
        .unwrap();
    assert_eq!(refused(&fx), ["c2@q"]);
    let fx = engine
        .apply(0, arrive("c3", "big", Channel::CHAT, 0))
        .unwrap();
    assert!(refused(&fx).is_empty());
    let fx = engine
        .apply(0, crate::support::restore("c4", "q", 0, None))
        .unwrap();
    assert!(
        refused(&fx).is_empty(),
        "a contact from before a restart stays"
    );
}

const QUEUES: [(&str, u32); 3] = [("q0", 2), ("q1", 3), ("q2", 1)];

#[derive(Debug, Clone)]
enum Op {
    Arrive(usize, usize),
    Accept(Index),
    Decline(Index),
    Release(Index),
    Transfer(Index, usize),
    Presence(usize, bool),
    Advance(Millis),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..QUEUES.len(), 0..3usize).prop_map(|(q, c)| Op::Arrive(q, c)),
        2 => any::<Index>().prop_map(Op::Accept),
        2 => any::<Index>().prop_map(Op::Decline),
        2 => any::<Index>().prop_map(Op::Release),
        1 => (any::<Index>(), 0..QUEUES.len()).prop_map(|(i, q)| Op::Transfer(i, q)),
        1 => (0..2usize, any::<bool>()).prop_map(|(a, on)| Op::Presence(a, on)),
        2 => (0..8_000i64).prop_map(Op::Advance),
    ]
}

fn bounded_engine() -> Engine {
    let agents = vec![
        AgentSpec::new("a")
            .with_capacity(Channel::CHAT, 2)
            .with_capacity(Channel::EMAIL, 1),
        AgentSpec::new("b")
            .with_capacity(Channel::SMS, 1)
            .with_capacity(Channel::CHAT, 1),
    ];
    let queues = vec![
        // q0 overflows to q1 after 3 s and when full.
        QueueSpec::new("q0")
            .with_max_waiting(QUEUES[0].1)
            .with_overflow(3_000, "q1"),
        QueueSpec::new("q1")
            .with_priority(1)
            .with_max_waiting(QUEUES[1].1),
        QueueSpec::new("q2").with_max_waiting(QUEUES[2].1),
    ];
    Engine::new(config(), agents, queues)
}

fn run(ops: &[Op]) {
    let mut engine = bounded_engine();
    let mut now: Millis = 0;
    let mut next = 0u32;
    let mut ids: Vec<String> = Vec::new();
    let channels = [Channel::CHAT, Channel::EMAIL, Channel::SMS];
    for op in ops {
        let live = || -> Vec<_> { engine.agents().into_iter().flat_map(|a| a.offers).collect() };
        // Time moves only by ticks, so what the views showed before an
        // arrival is what the engine decides it on.
        let before = engine.queues(now);
        let event = match op {
            Op::Arrive(q, c) => {
                next += 1;
                let id = format!("k{next}");
                ids.push(id.clone());
                arrive(&id, QUEUES[*q].0, channels[*c], now)
            }
            Op::Accept(i) | Op::Decline(i) => {
                let offers = live();
                if offers.is_empty() {
                    continue;
                }
                let offer = i.get(&offers);
                if matches!(op, Op::Accept(_)) {
                    accept(offer)
                } else {
                    decline(offer)
                }
            }
            Op::Release(i) | Op::Transfer(i, _) => {
                if ids.is_empty() {
                    continue;
                }
                let id = i.get(&ids).as_str();
                match op {
                    Op::Transfer(_, q) => Event::TransferToQueue {
                        conversation_id: id.into(),
                        queue: QUEUES[*q].0.into(),
                    },
                    _ => release(id),
                }
            }
            Op::Presence(a, on) => Event::SetPresence {
                agent_id: ["a", "b"][*a].into(),
                presence: if *on {
                    Presence::Available
                } else {
                    Presence::Away { reason: None }
                },
            },
            Op::Advance(ms) => {
                now += ms;
                Event::Tick
            }
        };
        let asked = match &event {
            Event::ContactArrived { queue, .. } => Some(queue.clone()),
            _ => None,
        };
        let fx = match engine.apply(now, event) {
            Ok(fx) => fx,
            Err(_) => continue,
        };
        for view in engine.queues(now) {
            let max = view.max_waiting.expect("every queue is bounded");
            assert!(
                view.waiting + view.offered <= max,
                "queue {} holds {} waiting and {} offered, over its bound {max}",
                view.id,
                view.waiting,
                view.offered
            );
        }
        // A refusal only when the queue and its overflow queue were full.
        if let (Some(asked), false) = (asked, refused(&fx).is_empty()) {
            let full = |id: &str| {
                before
                    .iter()
                    .find(|q| q.id.as_str() == id)
                    .is_some_and(|q| Some(q.waiting + q.offered) >= q.max_waiting)
            };
            assert!(full(asked.as_str()), "refused by {asked} with room");
            if asked.as_str() == "q0" {
                assert!(full("q1"), "refused by q0 while its overflow q1 had room");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_queue_ever_holds_more_than_its_bound(ops in prop::collection::vec(op(), 1..150)) {
        run(&ops);
    }
}
