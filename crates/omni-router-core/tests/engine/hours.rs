//! Business hours: a closed queue's contacts wait without offers, are
//! reported once with the opening time, and are offered at the opening in
//! age order; a holiday is closed; a transfer to a named agent still
//! offers; the service level counts from the opening; a closed queue may
//! send its contacts to an open one. And a property test over random
//! events across a week.

use std::collections::BTreeMap;

use omni_core::Channel;
use omni_core::config::{HolidayConfig, HoursConfig};
use omni_core::hours::Schedule;
use omni_core::time::Millis;
use omni_router_core::{AgentSpec, Effect, Engine, Event, Presence, QueueSpec};
use proptest::prelude::*;

use crate::support::{accept, arrive, config, make_available, offered, offers, release};

const H: Millis = 3_600_000;
const DAY: Millis = 24 * H;
// The epoch is Thursday 1970-01-01 00:00 UTC: day 1 is a Friday, day 4 a
// Monday.
const MON: Millis = 4 * DAY;

/// Weekdays 09:00-17:00 UTC, with `holidays`.
fn office(holidays: &[&str], closed_overflow: Option<&str>) -> Schedule {
    let weekdays = ["mon", "tue", "wed", "thu", "fri"];
    Schedule::parse(&HoursConfig {
        zone: "UTC".into(),
        weekly: weekdays
            .iter()
            .map(|d| ((*d).to_owned(), vec!["09:00-17:00".to_owned()]))
            .collect::<BTreeMap<_, _>>(),
        holidays: holidays
            .iter()
            .map(|d| HolidayConfig {
                date: (*d).to_owned(),
                name: None,
            })
            .collect(),
        closed_overflow: closed_overflow.map(Into::into),
        closed_bot: None,
        closed_reply: BTreeMap::new(),
    })
    .unwrap()
}

fn agent(id: &str, chats: u32) -> AgentSpec {
    AgentSpec::new(id).with_capacity(Channel::CHAT, chats)
}

/// (conversation, queue, opens at) of each closed-queue report.
fn closed(fx: &[Effect]) -> Vec<(String, String, Option<Millis>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::QueueClosed {
                conversation_id,
                queue,
                opens_at_ms,
            } => Some((conversation_id.to_string(), queue.to_string(), *opens_at_ms)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_closed_queue_offers_nothing_and_at_the_opening_offers_oldest_first() {
    let queues = vec![QueueSpec::new("sales").with_hours(office(&[], None))];
    let mut engine = Engine::new(config(), vec![agent("alice", 2)], queues);
    make_available(&mut engine, 0, &["alice"]);
    // Thursday 01:00 and 02:00: closed until 09:00.
    let fx = engine
        .apply(2 * H, arrive("late", "sales", Channel::CHAT, 2 * H))
        .unwrap();
    assert!(offered(&fx).is_empty());
    assert_eq!(closed(&fx), [("late".into(), "sales".into(), Some(9 * H))]);
    let fx = engine
        .apply(2 * H, arrive("early", "sales", Channel::CHAT, H))
        .unwrap();
    assert_eq!(closed(&fx), [("early".into(), "sales".into(), Some(9 * H))]);
    assert_eq!(engine.next_deadline(), Some(9 * H));
    // A tick before the opening: nothing, and no second report.
    let fx = engine.apply(8 * H, Event::Tick).unwrap();
    assert!(offered(&fx).is_empty() && closed(&fx).is_empty());
    // The opening: both offered, the older first.
    let fx = engine.apply(9 * H, Event::Tick).unwrap();
    assert_eq!(
        offered(&fx),
        [
            ("early".to_owned(), "alice".to_owned()),
            ("late".to_owned(), "alice".to_owned())
        ]
    );
    // The next change is the closing at 17:00.
    assert_eq!(engine.next_deadline(), Some(9 * H + 10_000));
}

#[test]
fn a_holiday_is_closed_and_the_contact_is_told_the_next_working_day() {
    // Friday 1970-01-02 is a holiday: Friday 10:00 is closed until Monday.
    let queues = vec![QueueSpec::new("sales").with_hours(office(&["1970-01-02"], None))];
    let mut engine = Engine::new(config(), vec![agent("alice", 1)], queues);
    make_available(&mut engine, DAY, &["alice"]);
    let at = DAY + 10 * H;
    let fx = engine
        .apply(at, arrive("c1", "sales", Channel::CHAT, at))
        .unwrap();
    assert!(offered(&fx).is_empty());
    assert_eq!(
        closed(&fx),
        [("c1".into(), "sales".into(), Some(MON + 9 * H))]
    );
    let fx = engine.apply(MON + 9 * H, Event::Tick).unwrap();
    assert_eq!(offered(&fx), [("c1".to_owned(), "alice".to_owned())]);
}

#[test]
fn a_supervisor_may_still_hand_a_closed_queues_contact_to_an_agent() {
    let queues = vec![QueueSpec::new("sales").with_hours(office(&[], None))];
    let mut engine = Engine::new(config(), vec![agent("alice", 1)], queues);
    make_available(&mut engine, 0, &["alice"]);
    engine
        .apply(H, arrive("c1", "sales", Channel::CHAT, H))
        .unwrap();
    let fx = engine
        .apply(
            2 * H,
            Event::TransferToAgent {
                conversation_id: "c1".into(),
                agent_id: "alice".into(),
            },
        )
        .unwrap();
    assert_eq!(offered(&fx), [("c1".to_owned(), "alice".to_owned())]);
}

#[test]
fn the_service_level_counts_the_wait_from_the_opening() {
    let queues = vec![
        QueueSpec::new("sales")
            .with_hours(office(&[], None))
            .with_service_level(80, 20_000),
    ];
    let mut engine = Engine::new(config(), vec![agent("alice", 2)], queues);
    make_available(&mut engine, 0, &["alice"]);
    engine
        .apply(H, arrive("night", "sales", Channel::CHAT, H))
        .unwrap();
    let fx = engine.apply(9 * H, Event::Tick).unwrap();
    let offer = offers(&fx).pop().unwrap();
    // Answered 5 s after the opening, 8 h after arriving: within 20 s.
    engine.apply(9 * H + 5_000, accept(&offer)).unwrap();
    // One that arrives in the open and waits 30 s is late.
    engine.apply(9 * H + 5_000, presence_away("alice")).unwrap();
    engine
        .apply(10 * H, arrive("day", "sales", Channel::CHAT, 10 * H))
        .unwrap();
    engine.apply(10 * H + 30_000, release("day")).unwrap();
    let stats = &engine.queues(10 * H + 30_000)[0].stats;
    assert_eq!(
        (
            stats.answered,
            stats.answered_in_target,
            stats.abandoned_after_target
        ),
        (1, 1, 1)
    );
}

fn presence_away(agent: &str) -> Event {
    Event::SetPresence {
        agent_id: agent.into(),
        presence: Presence::Away { reason: None },
    }
}

#[test]
fn a_closed_queue_sends_contacts_to_its_open_overflow_queue() {
    let queues = vec![
        QueueSpec::new("day").with_hours(office(&[], Some("night"))),
        QueueSpec::new("night"),
    ];
    let mut engine = Engine::new(config(), vec![agent("alice", 2)], queues);
    // Thursday 10:00, open: a contact waits in "day" (no agent yet).
    engine
        .apply(10 * H, arrive("c1", "day", Channel::CHAT, 10 * H))
        .unwrap();
    // At the closing it moves to "night", at its age.
    let fx = engine.apply(17 * H, Event::Tick).unwrap();
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Requeued { conversation_id, queue, queued_at_ms }
            if conversation_id.as_str() == "c1" && queue.as_str() == "night" && *queued_at_ms == 10 * H
    )));
    // A new contact while closed goes there at once, and is not told the
    // queue is closed: it is served.
    let fx = engine
        .apply(18 * H, arrive("c2", "day", Channel::CHAT, 18 * H))
        .unwrap();
    assert!(closed(&fx).is_empty());
    let fx = make_available(&mut engine, 18 * H, &["alice"]);
    assert_eq!(
        offered(&fx),
        [
            ("c1".to_owned(), "alice".to_owned()),
            ("c2".to_owned(), "alice".to_owned())
        ]
    );
}

#[derive(Debug, Clone)]
enum Op {
    Arrive { queue: usize, after: Millis },
    Accept,
    Release { which: usize },
    Away { agent: usize },
    Back { agent: usize },
    Tick { after: Millis },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 0..3 * H).prop_map(|(queue, after)| Op::Arrive { queue, after }),
        Just(Op::Accept),
        (0..16usize).prop_map(|which| Op::Release { which }),
        (0..3usize).prop_map(|agent| Op::Away { agent }),
        (0..3usize).prop_map(|agent| Op::Back { agent }),
        (0..6 * H).prop_map(|after| Op::Tick { after }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Over random arrivals, answers, releases, presence changes and ticks
    /// across days: no offer is made for a closed queue's contact, no
    /// contact of an open queue waits while an agent has room (every
    /// agent serves every queue), and each contact is told at most once
    /// that its queue is closed.
    #[test]
    fn closed_queues_offer_nothing_and_open_ones_stay_work_conserving(
        ops in proptest::collection::vec(op(), 1..80)
    ) {
        let schedule = office(&["1970-01-02"], None);
        let queues = vec![
            QueueSpec::new("office").with_hours(schedule.clone()),
            QueueSpec::new("always"),
        ];
        let names = ["office", "always"];
        let agents = ["a0", "a1", "a2"];
        let mut engine = Engine::new(
            config(),
            agents.iter().map(|a| agent(a, 2)).collect(),
            queues,
        );
        let mut now: Millis = 0;
        let mut next = 0;
        let mut live: Vec<omni_router_core::Offer> = Vec::new();
        let mut waiting: Vec<String> = Vec::new();
        let mut told = std::collections::BTreeSet::new();
        make_available(&mut engine, now, &agents);
        for op in ops {
            let event = match op {
                Op::Arrive { queue, after } => {
                    now += after;
                    next += 1;
                    let id = format!("c{next}");
                    waiting.push(id.clone());
                    arrive(&id, names[queue], Channel::CHAT, now)
                }
                Op::Accept => match live.pop() {
                    Some(offer) => accept(&offer),
                    None => continue,
                },
                Op::Release { which } => {
                    if waiting.is_empty() {
                        continue;
                    }
                    let id = waiting.remove(which % waiting.len());
                    live.retain(|o| o.conversation_id.as_str() != id);
                    release(&id)
                }
                Op::Away { agent } => {
                    live.retain(|o| o.agent_id.as_str() != agents[agent]);
                    presence_away(agents[agent])
                }
                Op::Back { agent } => Event::SetPresence {
                    agent_id: agents[agent].into(),
                    presence: Presence::Available,
                },
                Op::Tick { after } => {
                    now += after;
                    Event::Tick
                }
            };
            // An offer that expired meanwhile cannot be accepted: the
            // engine refuses and nothing changes.
            let Ok(fx) = engine.apply(now, event) else {
                continue;
            };
            for e in &fx {
                match e {
                    Effect::Offered(offer) => {
                        let view = engine.contact(&offer.conversation_id).unwrap();
                        prop_assert!(
                            view.queue.as_str() != "office" || schedule.is_open(now),
                            "{} offered while office is closed at {now}", offer.conversation_id
                        );
                        live.push(offer.clone());
                    }
                    Effect::OfferRescinded { offer, .. } => {
                        live.retain(|o| o.offer_id != offer.offer_id);
                    }
                    Effect::QueueClosed { conversation_id, opens_at_ms, .. } => {
                        prop_assert!(told.insert(conversation_id.to_string()), "told twice");
                        prop_assert_eq!(*opens_at_ms, schedule.opens_at(now));
                    }
                    _ => {}
                }
            }
            live.retain(|o| engine.contact(&o.conversation_id).is_some_and(|c| {
                matches!(c.state, omni_router_core::ContactState::Offered(ref x) if x.offer_id == o.offer_id)
            }));
            // Work-conserving for open queues: no waiting contact there
            // has an available agent with room that it does not exclude
            // (a decline or a missed offer keeps that agent off it a while).
            let free: Vec<omni_router_core::AgentView> = engine
                .agents()
                .into_iter()
                .filter(|a| {
                    let held = a.load.get(&Channel::CHAT).copied().unwrap_or(0)
                        + a.offered.get(&Channel::CHAT).copied().unwrap_or(0);
                    a.presence.is_available() && held < 2
                })
                .collect();
            for id in engine.waiting() {
                let view = engine.contact(&id).unwrap();
                let open = view.queue.as_str() == "always" || schedule.is_open(now);
                let idle = free
                    .iter()
                    .any(|a| view.excluded.get(&a.id).is_none_or(|until| *until <= now));
                prop_assert!(!(open && idle), "{} waits with an agent free at {now}", id);
            }
        }
    }
}
