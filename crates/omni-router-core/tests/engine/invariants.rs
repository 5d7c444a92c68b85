//! Property tests: random event sequences against the router invariants,
//! checked after every step by an oracle written against the public views.
//!
//! The queues use the requirements language (with `OR`, `NOT` and `lang`),
//! relaxation steps, an overflow and a custom selection order; the events
//! include transfers to a queue and to an agent.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};
use omni_router_core::{
    AgentSpec, AgentView, ContactState, ContactView, Effect, Engine, EngineConfig, Event, Offer,
    Presence, QueueSpec, QueueView, Requirement, SelectionRule,
};
use proptest::prelude::*;
use proptest::sample::Index;

const AGENTS: [&str; 4] = ["a", "b", "c", "d"];
const QUEUES: [&str; 6] = ["q0", "q1", "q2", "q3", "q4", "q5"];
const OFFER_TIMEOUT_MS: Millis = 5_000;

fn engine() -> Engine {
    let config = EngineConfig {
        offer_timeout_ms: OFFER_TIMEOUT_MS,
        max_consecutive_misses: 2,
        decline_cooldown_ms: 3_000,
        epoch: 9,
        channels: Channel::BUILT_IN.to_vec(),
        default_max_waiting: None,
    };
    let agents = vec![
        AgentSpec::new("a")
            .with_skill("s", 7)
            .with_skill("t", 3)
            .with_language("es")
            .with_capacity(Channel::CHAT, 2)
            .with_capacity(Channel::EMAIL, 1),
        AgentSpec::new("b")
            .with_skill("s", 4)
            .with_capacity(Channel::CHAT, 1)
            .with_capacity(Channel::EMAIL, 2)
            .with_capacity(Channel::SMS, 1)
            .with_total(2),
        AgentSpec::new("c")
            .with_skill("t", 8)
            .with_language("es")
            .with_capacity(Channel::CHAT, 3)
            .with_capacity(Channel::SMS, 2),
        AgentSpec::new("d")
            .with_capacity(Channel::CHAT, 1)
            .with_capacity(Channel::EMAIL, 1)
            .with_capacity(Channel::SMS, 1)
            .with_total(1),
    ];
    let req = |t: &str| Requirement::parse(t).unwrap();
    let queues = vec![
        QueueSpec::new("q0"),
        // Strict, relaxed after 2 s, overflowing to q3 after 6 s.
        QueueSpec::new("q1")
            .with_priority(2)
            .with_requirement("s", 5)
            .with_step(2_000, req("s >= 3"))
            .with_overflow(6_000, "q3"),
        QueueSpec::new("q2")
            .with_priority(2)
            .with_expression(req("t >= 2 AND lang == \"es\" OR t >= 9"))
            .with_step(4_000, req("t OR s >= 7")),
        QueueSpec::new("q3")
            .with_priority(1)
            .with_requirement("s", 1)
            .with_selection(vec![SelectionRule::Idle, SelectionRule::Occupancy]),
        QueueSpec::new("q4")
            .with_expression(req("NOT t AND (s < 5 OR s > 6)"))
            .with_preferred_window(1_000),
        // Skill and language: decided by a pair set of the index.
        QueueSpec::new("q5")
            .with_priority(1)
            .with_expression(req("t >= 4 AND lang == \"es\""))
            .with_step(3_000, req("lang == \"es\" AND t >= 2")),
    ];
    Engine::new(config, agents, queues)
}

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        queue: usize,
        channel: usize,
        age_ms: Millis,
        preferred: Option<usize>,
        restored: bool,
        /// The contact's own priority (routing rules).
        priority: u8,
    },
    Presence {
        agent: usize,
        kind: u8,
    },
    Accept(Index),
    Decline(Index),
    /// Settle a live offer as a possibly different agent.
    AcceptAs(Index, usize),
    /// Accept an offer id seen earlier, most likely settled by now.
    AcceptStale(Index),
    Release(Index),
    ReleaseUnknown,
    Duplicate(Index),
    /// Advance time and tick.
    Advance(Millis),
    /// Advance time without a tick: offers and cooldowns may lapse unnoticed.
    Wait(Millis),
    /// Transfer a present (or unknown) conversation to a queue.
    TransferQueue(Index, usize),
    /// Transfer a present conversation to an agent.
    TransferAgent(Index, usize),
    /// Move a present conversation to a channel (maybe the one it is on).
    ChangeChannel(Index, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..QUEUES.len(), 0..3usize, 0..10_000i64, prop::option::of(0..4usize), any::<bool>(), prop_oneof![3 => Just(0u8), 1 => 1..4u8])
            .prop_map(|(queue, channel, age_ms, preferred, restored, priority)| Op::Arrive {
                queue,
                channel,
                age_ms,
                preferred,
                restored,
                priority,
            }),
        3 => (0..4usize, 0..3u8).prop_map(|(agent, kind)| Op::Presence { agent, kind }),
        3 => any::<Index>().prop_map(Op::Accept),
        2 => any::<Index>().prop_map(Op::Decline),
        1 => (any::<Index>(), 0..4usize).prop_map(|(i, a)| Op::AcceptAs(i, a)),
        1 => any::<Index>().prop_map(Op::AcceptStale),
        2 => any::<Index>().prop_map(Op::Release),
        1 => Just(Op::ReleaseUnknown),
        1 => any::<Index>().prop_map(Op::Duplicate),
        3 => (0..8_000i64).prop_map(Op::Advance),
        1 => (0..8_000i64).prop_map(Op::Wait),
        1 => (any::<Index>(), 0..QUEUES.len()).prop_map(|(i, q)| Op::TransferQueue(i, q)),
        2 => (any::<Index>(), 0..4usize).prop_map(|(i, a)| Op::TransferAgent(i, a)),
        2 => (any::<Index>(), 0..3usize).prop_map(|(i, c)| Op::ChangeChannel(i, c)),
    ]
}

/// Everything observable, to check that a refused event changed nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    agents: Vec<AgentView>,
    queues: Vec<QueueView>,
    contacts: Vec<Option<ContactView>>,
    waiting: Vec<ConversationId>,
    deadline: Option<Millis>,
}

struct Harness {
    engine: Engine,
    now: Millis,
    next_id: u32,
    /// Every conversation id ever used, in order.
    ids: Vec<ConversationId>,
    /// Every offer ever made.
    seen_offers: Vec<Offer>,
    /// Offers made by a transfer to an agent (not bound by the requirement).
    direct: BTreeSet<String>,
}

impl Harness {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            agents: self.engine.agents(),
            queues: self.engine.queues(self.now),
            contacts: self.ids.iter().map(|id| self.engine.contact(id)).collect(),
            waiting: self.engine.waiting(),
            deadline: self.engine.next_deadline(),
        }
    }

    fn live_offers(&self) -> Vec<Offer> {
        self.engine
            .agents()
            .into_iter()
            .flat_map(|a| a.offers)
            .collect()
    }

    fn present(&self) -> Vec<ConversationId> {
        self.ids
            .iter()
            .filter(|id| self.engine.contact(id).is_some())
            .cloned()
            .collect()
    }

    /// The event for `op`, or `None` when it has nothing to act on.
    fn event(&mut self, op: &Op) -> Option<Event> {
        Some(match op {
            Op::Arrive {
                queue,
                channel,
                age_ms,
                preferred,
                restored,
                priority,
            } => {
                self.next_id += 1;
                let id = ConversationId::from(format!("c{:03}", self.next_id));
                self.ids.push(id.clone());
                let (queue, channel) = (QueueId::from(QUEUES[*queue]), Channel::BUILT_IN[*channel]);
                let queued_at_ms = self.now - age_ms;
                let preferred_agent = preferred.map(|i| AgentId::from(AGENTS[i]));
                if *restored {
                    Event::ContactRestored {
                        conversation_id: id,
                        queue,
                        channel,
                        queued_at_ms,
                        preferred_agent,
                        priority: *priority,
                        language: None,
                        assigned_agent: None,
                    }
                } else {
                    Event::ContactArrived {
                        conversation_id: id,
                        queue,
                        channel,
                        queued_at_ms,
                        preferred_agent,
                        priority: *priority,
                        language: None,
                    }
                }
            }
            Op::Presence { agent, kind } => Event::SetPresence {
                agent_id: AGENTS[*agent].into(),
                presence: match kind {
                    0 => Presence::Available,
                    1 => Presence::Away { reason: None },
                    _ => Presence::Offline,
                },
            },
            Op::Accept(i) | Op::Decline(i) | Op::AcceptAs(i, _) => {
                let live = self.live_offers();
                if live.is_empty() {
                    return None;
                }
                let offer = live[i.index(live.len())].clone();
                match op {
                    Op::Accept(_) => Event::Accept {
                        agent_id: offer.agent_id,
                        offer_id: offer.offer_id,
                    },
                    Op::Decline(_) => Event::Decline {
                        agent_id: offer.agent_id,
                        offer_id: offer.offer_id,
                    },
                    Op::AcceptAs(_, agent) => Event::Accept {
                        agent_id: AGENTS[*agent].into(),
                        offer_id: offer.offer_id,
                    },
                    _ => return None,
                }
            }
            Op::AcceptStale(i) => {
                if self.seen_offers.is_empty() {
                    return None;
                }
                let offer = self.seen_offers[i.index(self.seen_offers.len())].clone();
                Event::Accept {
                    agent_id: offer.agent_id,
                    offer_id: offer.offer_id,
                }
            }
            Op::Release(i) => {
                let present = self.present();
                if present.is_empty() {
                    return None;
                }
                Event::ContactReleased {
                    conversation_id: present[i.index(present.len())].clone(),
                }
            }
            Op::ChangeChannel(i, channel) => {
                let present = self.present();
                if present.is_empty() {
                    return None;
                }
                Event::ChannelChanged {
                    conversation_id: present[i.index(present.len())].clone(),
                    channel: Channel::BUILT_IN[*channel],
                }
            }
            Op::ReleaseUnknown => Event::ContactReleased {
                conversation_id: "nobody".into(),
            },
            Op::Duplicate(i) => {
                let present = self.present();
                if present.is_empty() {
                    return None;
                }
                Event::ContactArrived {
                    conversation_id: present[i.index(present.len())].clone(),
                    queue: "q0".into(),
                    channel: Channel::CHAT,
                    queued_at_ms: self.now,
                    preferred_agent: None,
                    priority: 0,
                    language: None,
                }
            }
            Op::Advance(ms) => {
                self.now += ms;
                Event::Tick
            }
            Op::Wait(ms) => {
                self.now += ms;
                return None;
            }
            Op::TransferQueue(i, q) | Op::TransferAgent(i, q) => {
                let present = self.present();
                if present.is_empty() {
                    return None;
                }
                let conversation_id = present[i.index(present.len())].clone();
                match op {
                    Op::TransferQueue(..) => Event::TransferToQueue {
                        conversation_id,
                        queue: QUEUES[*q].into(),
                    },
                    _ => Event::TransferToAgent {
                        conversation_id,
                        agent_id: AGENTS[*q].into(),
                    },
                }
            }
        })
    }
}

/// Routing order: higher queue priority first, then higher contact
/// priority, then older, then id.
type Key = (Reverse<u32>, Reverse<u8>, Millis, ConversationId);

fn key(contact: &ContactView, queues: &BTreeMap<QueueId, QueueView>) -> Key {
    (
        Reverse(queues[&contact.queue].priority),
        Reverse(contact.priority),
        contact.queued_at_ms,
        contact.id.clone(),
    )
}

/// Whether `agent`, holding `offers` live, may be offered `contact` at `now`,
/// according to the documented rules.
fn eligible(
    agent: &AgentView,
    offers: &[&Offer],
    contact: &ContactView,
    queue: &QueueView,
    now: Millis,
) -> bool {
    let on = |m: &BTreeMap<Channel, u32>| m.get(&contact.channel).copied().unwrap_or(0);
    let offered_on = offers
        .iter()
        .filter(|o| o.channel == contact.channel)
        .count() as u32;
    let used_total: u32 = agent.load.values().sum::<u32>() + offers.len() as u32;
    let (_, requirement) = queue.requirement_at(now - contact.queued_at_ms);
    agent.presence == Presence::Available
        && requirement.matches(&agent.skills, &agent.languages)
        && on(&agent.load) + offered_on < on(&agent.capacity)
        && agent.total.is_none_or(|t| used_total < t)
        && contact
            .excluded
            .get(&agent.id)
            .is_none_or(|until| *until <= now)
}

fn check(h: &Harness, event: &Event, effects: &[Effect]) {
    let now = h.now;
    let agents = h.engine.agents();
    let queues: BTreeMap<QueueId, QueueView> = h
        .engine
        .queues(now)
        .into_iter()
        .map(|q| (q.id.clone(), q))
        .collect();
    let contacts: BTreeMap<ConversationId, ContactView> = h
        .ids
        .iter()
        .filter_map(|id| h.engine.contact(id))
        .map(|c| (c.id.clone(), c))
        .collect();

    // Capacity, per channel and in total (no restored assignments here). An
    // assigned conversation that changed channel stays with its agent even
    // beyond capacity (continuity first); offers never go beyond it.
    for agent in &agents {
        for channel in Channel::BUILT_IN {
            let offered = agent.offers.iter().filter(|o| o.channel == channel).count() as u32;
            assert!(
                offered == 0 || agent.load[&channel] + offered <= agent.capacity[&channel],
                "{} offered over capacity on {channel}: {agent:?}",
                agent.id
            );
        }
        if let Some(total) = agent.total {
            let used = agent.load.values().sum::<u32>() + agent.offers.len() as u32;
            assert!(
                agent.offers.is_empty() || used <= total,
                "{} offered over its total: {agent:?}",
                agent.id
            );
        }
        if agent.presence != Presence::Available {
            assert!(
                agent.offers.is_empty(),
                "{} unavailable with offers",
                agent.id
            );
        }
    }

    // One live offer per conversation, consistent between agents and contacts.
    let mut offer_of: BTreeMap<ConversationId, &Offer> = BTreeMap::new();
    for agent in &agents {
        for offer in &agent.offers {
            assert_eq!(offer.agent_id, agent.id);
            let previous = offer_of.insert(offer.conversation_id.clone(), offer);
            assert!(
                previous.is_none(),
                "two live offers for {}",
                offer.conversation_id
            );
            // Offers are made under the requirement in force then; it only
            // widens with time (queue specs here do not change).
            if h.direct.contains(&offer.offer_id) {
                continue;
            }
            let queue = &queues[&offer.queue];
            let made_at = offer.expires_at_ms - OFFER_TIMEOUT_MS;
            let (_, requirement) =
                queue.requirement_at(made_at - contacts[&offer.conversation_id].queued_at_ms);
            assert!(
                requirement.matches(&agent.skills, &agent.languages),
                "{} does not meet the requirement for {offer:?}",
                agent.id
            );
            if matches!(event, Event::Tick) {
                assert!(offer.expires_at_ms > now, "expired offer survived a tick");
            }
        }
    }
    for contact in contacts.values() {
        match &contact.state {
            ContactState::Offered(offer) => {
                assert_eq!(offer_of.get(&contact.id), Some(&offer));
            }
            ContactState::Waiting => assert!(!offer_of.contains_key(&contact.id)),
            ContactState::Assigned(agent) => {
                assert!(!offer_of.contains_key(&contact.id));
                let view = agents.iter().find(|a| a.id == *agent).unwrap();
                assert!(view.assigned.contains(&contact.id));
            }
        }
    }
    for agent in &agents {
        let mut load: BTreeMap<Channel, u32> = Channel::BUILT_IN.map(|c| (c, 0)).into();
        for id in &agent.assigned {
            *load.entry(contacts[id].channel).or_default() += 1;
        }
        assert_eq!(
            load, agent.load,
            "{}'s load disagrees with its assignments",
            agent.id
        );
    }

    // The waiting order is the documented one.
    let waiting: Vec<&ContactView> = contacts
        .values()
        .filter(|c| c.state == ContactState::Waiting)
        .collect();
    let mut expected: Vec<Key> = waiting.iter().map(|c| key(c, &queues)).collect();
    expected.sort();
    let expected: Vec<ConversationId> = expected.into_iter().map(|k| k.3).collect();
    assert_eq!(h.engine.waiting(), expected);
    for queue in queues.values() {
        let n = waiting.iter().filter(|c| c.queue == queue.id).count() as u32;
        assert_eq!(queue.waiting, n, "queue {} count", queue.id);
    }

    // Overflow is applied: nobody waits past their queue's overflow time,
    // and the step they report is the one in force.
    for contact in &waiting {
        let queue = &queues[&contact.queue];
        let age = now - contact.queued_at_ms;
        if let Some(overflow) = &queue.overflow {
            assert!(
                age < overflow.after_ms,
                "{} waits past its overflow",
                contact.id
            );
        }
        assert_eq!(
            contact.step as usize,
            queue.requirement_at(age).0 + 1,
            "{} step",
            contact.id
        );
    }

    // Work-conserving: nobody waits while an eligible agent has room.
    for contact in &waiting {
        for agent in &agents {
            let offers: Vec<&Offer> = agent.offers.iter().collect();
            assert!(
                !eligible(agent, &offers, contact, &queues[&contact.queue], now),
                "{} waits while {} is eligible",
                contact.id,
                agent.id
            );
        }
    }

    // Order: a contact still waiting had no eligible agent at its turn, i.e.
    // before the offers this step made to contacts ranked after it.
    let made: Vec<&Offer> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Offered(offer) => Some(offer),
            _ => None,
        })
        .collect();
    for offer in made.iter().filter(|o| !h.direct.contains(&o.offer_id)) {
        let contact = &contacts[&offer.conversation_id];
        assert!(
            contact
                .excluded
                .get(&offer.agent_id)
                .is_none_or(|u| *u <= now),
            "offered to an agent in cooldown"
        );
    }
    for w in &waiting {
        let w_key = key(w, &queues);
        for agent in &agents {
            let before_later: Vec<&Offer> = agent
                .offers
                .iter()
                .filter(|o| {
                    // A transfer to an agent is a person's choice: it takes
                    // precedence over the routing order.
                    !made.iter().any(|m| {
                        m.offer_id == o.offer_id
                            && !h.direct.contains(&m.offer_id)
                            && key(&contacts[&m.conversation_id], &queues) > w_key
                    })
                })
                .collect();
            assert!(
                !eligible(agent, &before_later, w, &queues[&w.queue], now),
                "{} was passed over for a lower-ranked contact on {}",
                w.id,
                agent.id
            );
        }
    }

    if let (Event::Tick, Some(deadline)) = (event, h.engine.next_deadline()) {
        assert!(deadline > now, "a tick left work due at {deadline}");
    }
}

fn run(ops: &[Op]) {
    let mut h = Harness {
        engine: engine(),
        now: 1_000_000,
        next_id: 0,
        ids: Vec::new(),
        seen_offers: Vec::new(),
        direct: BTreeSet::new(),
    };
    for op in ops {
        let Some(event) = h.event(op) else {
            continue;
        };
        let before = h.snapshot();
        match h.engine.apply(h.now, event.clone()) {
            Ok(effects) => {
                if let Event::TransferToAgent {
                    conversation_id, ..
                } = &event
                {
                    h.direct.extend(effects.iter().filter_map(|e| match e {
                        Effect::Offered(o) if o.conversation_id == *conversation_id => {
                            Some(o.offer_id.clone())
                        }
                        _ => None,
                    }));
                }
                h.seen_offers.extend(effects.iter().filter_map(|e| match e {
                    Effect::Offered(offer) => Some(offer.clone()),
                    _ => None,
                }));
                check(&h, &event, &effects);
            }
            Err(err) => {
                assert_eq!(
                    h.snapshot(),
                    before,
                    "{event:?} failed with {err} but changed state"
                );
            }
        }
        h.now += 1;
    }
    // Every conversation that ever arrived is accounted for exactly once.
    let states: BTreeSet<_> = h.present().into_iter().collect();
    assert!(states.len() <= h.ids.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn router_invariants_hold_after_every_event(ops in prop::collection::vec(op(), 1..120)) {
        run(&ops);
    }
}
