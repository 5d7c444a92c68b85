//! The engine: applies events to agents, queues, contacts and offers, then
//! matches what changed, using the open-agent index so that no decision
//! scans all agents or all contacts.
//!
//! Every handler checks all its preconditions before it changes anything, so
//! a refused event leaves the engine as it was.
//!
//! # Matching
//!
//! Before an event is handled, the engine catches up with `now`: ended
//! cooldowns, relaxation steps that came into force and overflows that fell
//! due (each marks its contact for matching). After the event, it matches
//! what changed, in two phases:
//!
//! 1. every agent that gained room or became available takes, in turn,
//!    the best waiting contact it is eligible for (higher priority, then
//!    older): per queue it may serve (precomputed per agent with the steps
//!    it meets), the oldest contact in a relaxation band it meets. That
//!    contact then goes to its best eligible agent, which is this agent
//!    unless another open agent ranks higher;
//! 2. every contact that started or resumed waiting, or whose requirement
//!    widened, in routing order, goes to its best eligible open agent.
//!
//! Agents already open that gained nothing stay unmatched: by the
//! invariant, no waiting contact was eligible for them before the event.
//!
//! # Decisions beyond the design's rules
//! - Time never runs backwards: an earlier `now_ms` counts as the latest seen.
//! - Only [`Event::Tick`] expires offers. Between the expiry time and the
//!   tick, the offer still reserves capacity, and accepting or declining it
//!   fails with [`EngineError::OfferExpired`]; after the tick, with
//!   [`EngineError::UnknownOffer`].
//! - An agent's streak of misses ends when they accept or decline an offer,
//!   or come back to available (also after the engine set them away).
//! - Several offers of one agent expiring in one tick all count as misses;
//!   an agent who reaches the threshold is set away once, and its other live
//!   offers are rescinded as [`RescindReason::AgentUnavailable`].
//! - Away and offline agents keep their assigned conversations.
//! - Reconfiguring an agent or a queue rescinds live offers that no longer
//!   fit (capacity or requirement) as [`RescindReason::AgentUnavailable`];
//!   assigned conversations stay, even beyond a reduced capacity.
//! - A restored assignment ([`Event::ContactRestored`] with an agent) is
//!   accepted even if its queue is no longer configured, so its agent's
//!   capacity stays occupied; a restored waiting contact needs its queue.
//! - Relaxation steps and overflow go by the contact's age (from its
//!   queued time, kept across re-queues and overflows); a transfer starts
//!   a new wait.
//! - Waiting contacts are ordered by priority, then queued time, then
//!   admission order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

use crate::agent::{AgentSpec, AgentView, Presence};
use crate::compile::{Compiled, Term, level};
use crate::config::EngineConfig;
use crate::contact::{Contact, ContactState, ContactView, NO_TIMER, Slot, WaitKey};
use crate::error::EngineError;
use crate::event::{Effect, Event};
use crate::explain::{
    self, DecisionRecord, Names, OfferRec, Rec, ReleasedLogs, ReleasedWhile, What,
};
use crate::hasher::FxMap;
use crate::ids::IdTable;
use crate::index::{self, Interner, NameId, OpenIndex};
use crate::offer::{LiveOffer, Offer, OfferBook, RescindReason};
use crate::queue::{MAX_STEPS, QueueSpec, QueueStats, QueueView, StepView};
use crate::select::{self, Scores, Selection, SelectionRule};
use crate::small::SmallList;

/// The routing engine: a deterministic state machine.
///
/// Feed it [`Event`]s with the current time through [`Engine::apply`] and
/// carry out the returned [`Effect`]s in order. Call [`Event::Tick`] at (or
/// after) [`Engine::next_deadline`] so offers expire, and steps and
/// overflows apply, on time.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    now_ms: Millis,
    skills: Interner,
    langs: Interner,
    agents: Vec<AgentState>,
    agent_slots: FxMap<AgentId, u32>,
    /// Agent slots in id order.
    by_rank: Vec<u32>,
    queues: Vec<QueueState>,
    /// Queue slots in id order, for listing.
    queue_slots: BTreeMap<QueueId, u32>,
    /// Queue slots by id, for lookups on the hot path.
    queue_lookup: FxMap<QueueId, u32>,
    contacts: Vec<Option<Contact>>,
    free: Vec<u32>,
    /// Id hash to contact slots (ids are stored once, in the slab).
    contact_slots: IdTable,
    next_contact_seq: u64,
    offers: OfferBook,
    /// (ends at, contact slot, agent slot) for every decline/miss cooldown.
    cooldowns: BTreeSet<(Millis, u32, u32)>,
    /// (due, contact slot): a waiting contact's next step or overflow.
    timers: BTreeSet<(Millis, u32)>,
    index: OpenIndex,
    released: ReleasedLogs,
    dirty_agents: Vec<u32>,
    dirty_contacts: Vec<u32>,
    /// Agents whose index entries may be stale: their state changed during
    /// the event being applied, and the index catches up once the event is
    /// matched ([`Engine::flush`]). Readers of the index skip their entries
    /// and consider them with their current state instead. An agent freed
    /// and filled again by one event (the common case) so costs the index
    /// nothing.
    pending: Vec<u32>,
    /// Contacts with a cooldown entry; while zero, exclusion checks are
    /// skipped.
    excluding: u32,
    /// Reused by matching, to spare an allocation per event.
    scratch: Vec<RouteKey>,
}

/// An agent inside the engine.
#[derive(Debug, Clone)]
struct AgentState {
    id: AgentId,
    name: String,
    /// (skill, level), sorted by skill.
    skills: Vec<(NameId, u8)>,
    langs: Vec<NameId>,
    capacity: [u32; 3],
    total: Option<u32>,
    presence: Presence,
    /// Assigned per channel.
    load: [u32; 3],
    /// Live offers per channel.
    offered: [u32; 3],
    /// Live offer sequences, oldest first.
    offers: SmallList<u64, 3>,
    /// Assigned contact slots.
    assigned: SmallList<u32, 6>,
    last_assigned_ms: Option<Millis>,
    consecutive_misses: u32,
    /// Position in id order.
    rank: u32,
    /// Base index key per channel, valid where `indexed` has the bit.
    keys: [u128; 3],
    /// The channels the index holds the agent on, with `keys`. Stale while
    /// `pending` (see [`Engine::pending`]).
    indexed: u8,
    /// Listed in [`Engine::pending`].
    pending: bool,
    /// (queue slot, mask of steps met), highest priority first.
    queues: Vec<(u32, u32)>,
}

impl AgentState {
    fn occupied(&self, ch: usize) -> u32 {
        self.load[ch].saturating_add(self.offered[ch])
    }

    fn has_room(&self, ch: usize) -> bool {
        if self.occupied(ch) >= self.capacity[ch] {
            return false;
        }
        match self.total {
            None => true,
            Some(total) => {
                let all: u64 = (0..3).map(|c| u64::from(self.occupied(c))).sum();
                all < u64::from(total)
            }
        }
    }

    /// Whether the agent could take a contact on `ch` now: available, with
    /// room. (The index may lag behind for a pending agent; this does not.)
    fn is_open(&self, ch: usize) -> bool {
        self.presence.is_available() && self.has_room(ch)
    }

    fn is_open_anywhere(&self) -> bool {
        (0..3).any(|ch| self.is_open(ch))
    }

    /// The agent's base index key on `ch` as of now.
    fn base_key(&self, ch: usize) -> u128 {
        index::base_key(
            self.occupied(ch),
            self.capacity[ch],
            self.last_assigned_ms,
            self.rank,
        )
    }
}

/// A queue inside the engine.
#[derive(Debug, Clone)]
struct QueueState {
    spec: QueueSpec,
    /// Step 0 is the base requirement.
    steps: Vec<Compiled>,
    /// When each step starts; `starts[0]` is `Millis::MIN`.
    starts: Vec<Millis>,
    /// The selection order ranks like the index.
    index_order: bool,
    /// Waiting contacts per channel, oldest first.
    waiting: [BTreeSet<WaitKey>; 3],
    /// The first key of each `waiting` set, kept at hand: an agent freeing
    /// up usually takes it, without a walk down the tree.
    oldest: [Option<WaitKey>; 3],
    stats: QueueStats,
    /// Set on a queue that exists only because a restored assignment names
    /// a queue no longer configured: the assignment keeps its queue id and
    /// its agent's capacity, but the queue is not listed, not accepted by
    /// events and never routes new contacts.
    hidden: bool,
}

impl QueueState {
    fn step_at(&self, waited_ms: Millis) -> usize {
        self.starts
            .iter()
            .rposition(|s| waited_ms >= *s)
            .unwrap_or(0)
    }

    fn all_steps(&self) -> u32 {
        (1u32 << self.steps.len()) - 1
    }
}

#[cfg(not(test))]
fn id_hash(id: &ConversationId) -> u64 {
    explain::id_hash(id)
}

/// In unit tests every id of a length collides, to exercise the chains.
#[cfg(test)]
fn id_hash(id: &ConversationId) -> u64 {
    id.as_str().len() as u64
}

/// A waiting contact's place in the routing order: priority, queued time,
/// admission order, slot.
type RouteKey = (Reverse<u32>, Millis, u64, u32);

/// A contact as it enters the engine.
struct Admission {
    conversation_id: ConversationId,
    queue: QueueId,
    channel: Channel,
    queued_at_ms: Millis,
    preferred_agent: Option<AgentId>,
    assigned_agent: Option<AgentId>,
    restored: bool,
    /// The conversation id's hash.
    hash: u64,
}

/// What [`Engine::check`] looked up, so handlers need not look again.
#[derive(Debug, Default)]
struct Found {
    /// The slot of the contact the event names.
    contact: Option<u32>,
    /// The offer's sequence and its agent's slot.
    offer: Option<(u64, u32)>,
    /// The hash of the conversation id the event names (arrivals,
    /// restores, releases): computed once per event.
    hash: u64,
}

/// The two lowest index keys seen, with their agents.
#[derive(Default)]
struct Top2 {
    first: Option<u32>,
    second: Option<u32>,
    keys: [u128; 2],
}

impl Top2 {
    fn consider(&mut self, key: u128, agent: u32) {
        if self.first.is_none() || key < self.keys[0] {
            self.second = self.first;
            self.keys[1] = self.keys[0];
            self.first = Some(agent);
            self.keys[0] = key;
        } else if self.second.is_none() || key < self.keys[1] {
            self.second = Some(agent);
            self.keys[1] = key;
        }
    }
}

/// What a selection goes by ([`Engine::ask`]).
struct Ask<'a> {
    queue: &'a QueueState,
    step: usize,
    compiled: &'a Compiled,
    ch: usize,
    order: &'a [SelectionRule],
    preferred: Option<u32>,
}

/// The outcome of a selection.
struct Choice {
    agent: u32,
    rec: OfferRec,
}

impl Engine {
    /// An engine with these agents (all offline) and queues, and no contacts.
    /// A later spec with an id already seen replaces the earlier one.
    pub fn new(config: EngineConfig, agents: Vec<AgentSpec>, queues: Vec<QueueSpec>) -> Self {
        let offers = OfferBook::new(config.epoch);
        let mut engine = Self {
            config,
            now_ms: Millis::MIN,
            skills: Interner::default(),
            langs: Interner::default(),
            agents: Vec::new(),
            agent_slots: FxMap::default(),
            by_rank: Vec::new(),
            queues: Vec::new(),
            queue_slots: BTreeMap::new(),
            queue_lookup: FxMap::default(),
            contacts: Vec::new(),
            free: Vec::new(),
            contact_slots: IdTable::default(),
            next_contact_seq: 0,
            offers,
            cooldowns: BTreeSet::new(),
            timers: BTreeSet::new(),
            index: OpenIndex::default(),
            released: ReleasedLogs::default(),
            dirty_agents: Vec::new(),
            dirty_contacts: Vec::new(),
            pending: Vec::new(),
            excluding: 0,
            scratch: Vec::new(),
        };
        // Exactly the room the configuration needs: agents added later
        // grow it as usual.
        engine.agents.reserve_exact(agents.len());
        engine.agent_slots.reserve(agents.len());
        for spec in queues {
            engine.put_queue(spec);
        }
        for spec in agents {
            engine.put_agent(spec);
        }
        engine.rerank();
        for a in 0..engine.agents.len() as u32 {
            engine.recompute_agent_queues(a);
        }
        engine
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Applies one event at `now_ms` and returns what to do, in order. After
    /// it returns, no waiting contact has an eligible agent. On error nothing
    /// changed.
    pub fn apply(&mut self, now_ms: Millis, event: Event) -> Result<Vec<Effect>, EngineError> {
        let mut fx = Vec::new();
        self.apply_into(now_ms, event, &mut fx)?;
        Ok(fx)
    }

    /// [`Engine::apply`], appending the effects to `fx`: a caller that
    /// reuses one buffer spares an allocation per event. On error nothing
    /// changed and nothing is appended.
    pub fn apply_into(
        &mut self,
        now_ms: Millis,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        let now = now_ms.max(self.now_ms);
        let found = self.check(now, &event)?;
        self.now_ms = now;
        self.catch_up(now, fx);
        match event {
            Event::ContactArrived {
                conversation_id,
                queue,
                channel,
                queued_at_ms,
                preferred_agent,
            } => self.admit(
                now,
                Admission {
                    conversation_id,
                    queue,
                    channel,
                    queued_at_ms,
                    preferred_agent,
                    assigned_agent: None,
                    restored: false,
                    hash: found.hash,
                },
                fx,
            ),
            Event::ContactRestored {
                conversation_id,
                queue,
                channel,
                queued_at_ms,
                preferred_agent,
                assigned_agent,
            } => self.admit(
                now,
                Admission {
                    conversation_id,
                    queue,
                    channel,
                    queued_at_ms,
                    preferred_agent,
                    assigned_agent,
                    restored: true,
                    hash: found.hash,
                },
                fx,
            ),
            Event::ContactReleased { conversation_id } => {
                self.release(now, found.contact, found.hash, conversation_id, fx)
            }
            Event::SetPresence { agent_id, presence } => {
                self.set_presence(now, &agent_id, presence, fx)
            }
            Event::Accept { agent_id, offer_id } => {
                self.accept(now, found.offer, agent_id, offer_id, fx)
            }
            Event::Decline { .. } => self.decline(now, found.offer, fx),
            Event::Tick => self.tick(now, fx),
            Event::TransferToQueue {
                conversation_id,
                queue,
            } => self.transfer_to_queue(now, &conversation_id, &queue, fx),
            Event::TransferToAgent {
                conversation_id,
                agent_id,
            } => self.transfer_to_agent(now, &conversation_id, &agent_id, fx),
        }
        self.settle(now, fx);
        self.flush();
        Ok(())
    }

    /// Checks an event's preconditions without changing anything.
    fn check(&self, now: Millis, event: &Event) -> Result<Found, EngineError> {
        let mut found = Found::default();
        match event {
            Event::ContactArrived {
                conversation_id,
                queue,
                ..
            } => {
                found.hash = id_hash(conversation_id);
                if self.find_hashed(conversation_id, found.hash).is_some() {
                    return Err(EngineError::DuplicateContact(conversation_id.clone()));
                }
                self.known_queue(queue)?;
            }
            Event::ContactRestored {
                conversation_id,
                queue,
                assigned_agent,
                ..
            } => {
                found.hash = id_hash(conversation_id);
                if self.find_hashed(conversation_id, found.hash).is_some() {
                    return Err(EngineError::DuplicateContact(conversation_id.clone()));
                }
                // An assignment restored after a restart keeps its agent's
                // capacity occupied even if its queue left the configuration.
                if assigned_agent.is_none() {
                    self.known_queue(queue)?;
                }
                if let Some(agent) = assigned_agent
                    && !self.agent_slots.contains_key(agent)
                {
                    return Err(EngineError::UnknownAgent(agent.clone()));
                }
            }
            Event::ContactReleased { conversation_id } => {
                found.hash = id_hash(conversation_id);
                found.contact = Some(
                    self.find_hashed(conversation_id, found.hash)
                        .ok_or_else(|| EngineError::UnknownContact(conversation_id.clone()))?,
                );
            }
            Event::SetPresence { agent_id, .. } => {
                self.agent_slot(agent_id)?;
            }
            Event::Accept { agent_id, offer_id } | Event::Decline { agent_id, offer_id } => {
                found.offer = Some(self.check_offer(now, agent_id, offer_id)?);
            }
            Event::Tick => {}
            Event::TransferToQueue {
                conversation_id,
                queue,
            } => {
                self.contact_slot(conversation_id)?;
                self.known_queue(queue)?;
            }
            Event::TransferToAgent {
                conversation_id,
                agent_id,
            } => {
                let c = self.contact_slot(conversation_id)?;
                let a = self.agent_slot(agent_id)?;
                let contact = self.contact_ref(c);
                let agent = &self.agents[a as usize];
                let holds = match contact.map(|c| c.slot) {
                    Some(Slot::Assigned(x)) => x == a,
                    Some(Slot::Offered(seq)) => self.offers.get(seq).is_some_and(|l| l.agent == a),
                    _ => false,
                };
                let ch = contact.map(|c| c.channel.index()).unwrap_or(0);
                if holds || !agent.presence.is_available() || !agent.has_room(ch) {
                    return Err(EngineError::AgentNotAvailable(agent_id.clone()));
                }
            }
        }
        Ok(found)
    }

    /// The earliest time at which a [`Event::Tick`] would do something (an
    /// offer expiring, a cooldown ending, a relaxation step or overflow
    /// falling due), if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        [
            self.offers.next_expiry(),
            self.cooldowns.first().map(|(at, _, _)| *at),
            self.timers.first().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Adds an agent (offline) or replaces an agent's spec, keeping its
    /// presence, assignments and live offers. Offers that no longer fit the
    /// new capacity or requirement are rescinded
    /// ([`RescindReason::AgentUnavailable`]); then matching runs. The spec
    /// is taken as given: check it first with [`AgentSpec::validate`].
    pub fn upsert_agent(&mut self, now_ms: Millis, spec: AgentSpec) -> Vec<Effect> {
        let now = now_ms.max(self.now_ms);
        self.now_ms = now;
        let mut fx = Vec::new();
        self.catch_up(now, &mut fx);
        let existed = self.agent_slots.contains_key(&spec.id);
        let a = self.put_agent(spec);
        if !existed {
            self.rerank();
        }
        self.recompute_agent_queues(a);
        if existed {
            self.revalidate_agent_offers(now, a, &mut fx);
        }
        self.reindex(a);
        self.dirty_agents.push(a);
        self.settle(now, &mut fx);
        self.flush();
        fx
    }

    /// Checks a queue spec against the engine: valid on its own
    /// ([`QueueSpec::validate`]), overflow to a known queue and no overflow
    /// cycle.
    pub fn check_queue(&self, spec: &QueueSpec) -> Result<(), EngineError> {
        spec.validate().map_err(EngineError::InvalidSpec)?;
        if let Some(overflow) = &spec.overflow {
            if self.known_queue(&overflow.queue).is_err() {
                return Err(EngineError::InvalidSpec(format!(
                    "overflow to unknown queue {}",
                    overflow.queue
                )));
            }
            let mut at = overflow.queue.clone();
            for _ in 0..=self.queues.len() {
                if at == spec.id {
                    return Err(EngineError::InvalidSpec(format!(
                        "overflow to {} comes back to {}",
                        overflow.queue, spec.id
                    )));
                }
                let next = self
                    .queue_slots
                    .get(&at)
                    .and_then(|q| self.queues[*q as usize].spec.overflow.as_ref());
                match next {
                    Some(o) => at = o.queue.clone(),
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Adds a queue or replaces a queue's spec. Waiting contacts take the new
    /// priority, requirement and steps; live offers to agents who no longer
    /// meet the requirement in force are rescinded
    /// ([`RescindReason::AgentUnavailable`]); then matching runs. The spec
    /// is taken as given: check it first with [`Engine::check_queue`] (an
    /// overflow cycle is cut after one lap).
    pub fn upsert_queue(&mut self, now_ms: Millis, spec: QueueSpec) -> Vec<Effect> {
        let now = now_ms.max(self.now_ms);
        self.now_ms = now;
        let mut fx = Vec::new();
        self.catch_up(now, &mut fx);
        let existed = self.queue_slots.contains_key(&spec.id);
        let q = self.put_queue(spec);
        for a in 0..self.agents.len() as u32 {
            self.recompute_agent_queues(a);
        }
        if existed {
            // Offers that no longer fit.
            let unfit: Vec<u64> = self
                .agents
                .iter()
                .flat_map(|agent| agent.offers.iter().copied())
                .filter(|seq| {
                    self.offers.get(*seq).is_some_and(|live| {
                        self.contact_ref(live.contact).is_some_and(|c| {
                            c.queue == q && !self.meets(live.agent, q, self.step_of(c, now))
                        })
                    })
                })
                .collect();
            for seq in unfit {
                if let Some(live) = self.take_offer(seq) {
                    self.requeue(now, live, RescindReason::AgentUnavailable, &mut fx);
                }
            }
            // Waiting contacts: new steps and timers.
            let waiting: Vec<u32> = self.queues[q as usize]
                .waiting
                .iter()
                .flat_map(|set| set.iter().map(|k| k.2))
                .collect();
            for c in waiting {
                self.unlist(c);
                self.list(now, c);
            }
        }
        self.settle(now, &mut fx);
        self.flush();
        fx
    }

    /// One agent, if known.
    pub fn agent(&self, id: &AgentId) -> Option<AgentView> {
        self.agent_slots.get(id).map(|a| self.agent_view(*a))
    }

    /// Every agent, sorted by id.
    pub fn agents(&self) -> Vec<AgentView> {
        self.by_rank.iter().map(|a| self.agent_view(*a)).collect()
    }

    /// The spec an agent runs with, if known.
    pub fn agent_spec(&self, id: &AgentId) -> Option<AgentSpec> {
        let agent = &self.agents[*self.agent_slots.get(id)? as usize];
        Some(AgentSpec {
            id: agent.id.clone(),
            name: agent.name.clone(),
            skills: self.skill_map(agent),
            languages: agent
                .langs
                .iter()
                .map(|l| self.langs.name(*l).to_owned())
                .collect(),
            capacity: agent.capacity,
            total: agent.total,
        })
    }

    /// The spec a queue runs with, if known.
    pub fn queue_spec(&self, id: &QueueId) -> Option<&QueueSpec> {
        self.queue_slots
            .get(id)
            .map(|q| &self.queues[*q as usize].spec)
    }

    /// Every queue, sorted by id, with waits and step bands measured at
    /// `now_ms`.
    pub fn queues(&self, now_ms: Millis) -> Vec<QueueView> {
        // Occupancy among available agents meeting each base requirement.
        let mut used = vec![0u64; self.queues.len()];
        let mut capacity = vec![0u64; self.queues.len()];
        for agent in &self.agents {
            if !agent.presence.is_available() {
                continue;
            }
            let u: u64 = (0..3).map(|c| u64::from(agent.occupied(c))).sum();
            let mut cap: u64 = agent.capacity.iter().map(|c| u64::from(*c)).sum();
            if let Some(total) = agent.total {
                cap = cap.min(u64::from(total));
            }
            for (q, mask) in &agent.queues {
                if mask & 1 != 0 {
                    used[*q as usize] += u;
                    capacity[*q as usize] += cap;
                }
            }
        }
        self.queue_slots
            .values()
            .filter(|q| !self.queues[**q as usize].hidden)
            .map(|q| {
                let queue = &self.queues[*q as usize];
                let mut bands = vec![0u32; queue.steps.len()];
                let mut oldest: Option<Millis> = None;
                for set in &queue.waiting {
                    if let Some((t, _, _)) = set.first() {
                        oldest = Some(oldest.map_or(*t, |o| o.min(*t)));
                    }
                    for (t, _, _) in set {
                        bands[queue.step_at(now_ms.saturating_sub(*t))] += 1;
                    }
                }
                let waiting = bands.iter().sum();
                let longest_wait_ms = oldest.map(|t| now_ms.saturating_sub(t).max(0)).unwrap_or(0);
                let qi = *q as usize;
                QueueView {
                    id: queue.spec.id.clone(),
                    name: queue.spec.name.clone(),
                    priority: queue.spec.priority,
                    waiting,
                    longest_wait_ms,
                    oldest_step: oldest
                        .map(|t| queue.step_at(now_ms.saturating_sub(t)) as u32)
                        .unwrap_or(0),
                    requirement: queue.spec.requirement.clone(),
                    waiting_base: bands[0],
                    steps: queue
                        .spec
                        .steps
                        .iter()
                        .zip(bands.iter().skip(1))
                        .map(|(s, n)| StepView {
                            after_ms: s.after_ms,
                            requirement: s.requirement.clone(),
                            waiting: *n,
                        })
                        .collect(),
                    overflow: queue.spec.overflow.clone(),
                    selection: queue.spec.selection.clone(),
                    service_level_target: queue.spec.service_level,
                    stats: queue.stats.clone(),
                    occupancy: (capacity[qi] > 0).then(|| used[qi] as f64 / capacity[qi] as f64),
                }
            })
            .collect()
    }

    /// One contact, if it is in the engine (waiting, offered or assigned).
    pub fn contact(&self, id: &ConversationId) -> Option<ContactView> {
        let contact = self.contact_ref(self.find(id)?)?;
        let state = match contact.slot {
            Slot::Waiting => ContactState::Waiting,
            Slot::Offered(seq) => match self.offers.get(seq) {
                Some(live) => ContactState::Offered(self.offer_of(live)),
                None => ContactState::Waiting,
            },
            Slot::Assigned(a) => ContactState::Assigned(self.agents[a as usize].id.clone()),
        };
        Some(ContactView {
            id: contact.id.clone(),
            queue: self.queues[contact.queue as usize].spec.id.clone(),
            channel: contact.channel,
            queued_at_ms: contact.queued_at_ms,
            preferred_agent: contact.preferred_agent.as_deref().cloned(),
            state,
            step: u32::from(contact.step),
            excluded: contact
                .exclusions()
                .iter()
                .map(|(a, until)| (self.agents[*a as usize].id.clone(), *until))
                .collect(),
        })
    }

    /// Waiting contacts in routing order: higher priority first, then older,
    /// then admission order.
    pub fn waiting(&self) -> Vec<ConversationId> {
        let mut keys: Vec<(Reverse<u32>, Millis, u64, u32)> = self
            .queues
            .iter()
            .flat_map(|q| {
                q.waiting.iter().flat_map(move |set| {
                    set.iter()
                        .map(move |(t, s, c)| (Reverse(q.spec.priority), *t, *s, *c))
                })
            })
            .collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|k| self.contact_ref(k.3).map(|c| c.id.clone()))
            .collect()
    }

    /// The decisions made about a conversation, newest first. Kept for
    /// released conversations too, within bounds (see [`crate::explain`]).
    pub fn explain(&self, id: &ConversationId) -> Vec<DecisionRecord> {
        let log = match self.find(id) {
            Some(c) => self.contact_ref(c).map(|c| c.log.as_slice()),
            None => self.released.get(id),
        };
        log.unwrap_or_default()
            .iter()
            .rev()
            .map(|r| r.render(self))
            .collect()
    }

    // ----- internal state access -----

    fn contact_ref(&self, slot: u32) -> Option<&Contact> {
        self.contacts.get(slot as usize).and_then(Option::as_ref)
    }

    fn contact_mut(&mut self, slot: u32) -> Option<&mut Contact> {
        self.contacts
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
    }

    fn contact_slot(&self, id: &ConversationId) -> Result<u32, EngineError> {
        self.find(id)
            .ok_or_else(|| EngineError::UnknownContact(id.clone()))
    }

    /// The slot of the contact with this id.
    fn find(&self, id: &ConversationId) -> Option<u32> {
        self.find_hashed(id, id_hash(id))
    }

    /// [`Engine::find`] with the id's hash at hand.
    fn find_hashed(&self, id: &ConversationId, hash: u64) -> Option<u32> {
        self.contact_slots
            .find(hash, |c| self.contact_ref(c).is_some_and(|x| x.id == *id))
    }

    /// Makes the contact in slot `c`, whose id hashes to `hash`, findable
    /// by id.
    fn link(&mut self, c: u32, hash: u64) {
        self.contact_slots.insert(hash, c);
    }

    /// Makes the contact in slot `c`, whose id hashes to `hash`, unfindable
    /// (before it leaves the slab).
    fn unlink(&mut self, c: u32, hash: u64) {
        self.contact_slots.remove(hash, c);
    }

    fn known_queue(&self, id: &QueueId) -> Result<u32, EngineError> {
        self.queue_lookup
            .get(id)
            .copied()
            .filter(|q| !self.queues[*q as usize].hidden)
            .ok_or_else(|| EngineError::UnknownQueue(id.clone()))
    }

    fn agent_slot(&self, id: &AgentId) -> Result<u32, EngineError> {
        self.agent_slots
            .get(id)
            .copied()
            .ok_or_else(|| EngineError::UnknownAgent(id.clone()))
    }

    fn record(&mut self, c: u32, at_ms: Millis, what: What) {
        if let Some(contact) = self.contact_mut(c) {
            explain::push(&mut contact.log, Rec { at_ms, what });
        }
    }

    fn skill_map(&self, agent: &AgentState) -> BTreeMap<String, u8> {
        agent
            .skills
            .iter()
            .map(|(s, l)| (self.skills.name(*s).to_owned(), *l))
            .collect()
    }

    fn agent_view(&self, a: u32) -> AgentView {
        let agent = &self.agents[a as usize];
        let mut assigned: Vec<ConversationId> = agent
            .assigned
            .iter()
            .filter_map(|c| self.contact_ref(*c).map(|c| c.id.clone()))
            .collect();
        assigned.sort();
        AgentView {
            id: agent.id.clone(),
            name: agent.name.clone(),
            presence: agent.presence.clone(),
            load: agent.load,
            capacity: agent.capacity,
            total: agent.total,
            offers: agent
                .offers
                .iter()
                .filter_map(|seq| self.offers.get(*seq).map(|l| self.offer_of(l)))
                .collect(),
            assigned,
            skills: self.skill_map(agent),
            languages: agent
                .langs
                .iter()
                .map(|l| self.langs.name(*l).to_owned())
                .collect(),
            consecutive_misses: agent.consecutive_misses,
            last_assigned_ms: agent.last_assigned_ms,
        }
    }

    // ----- configuration -----

    /// Inserts or replaces an agent's spec (not its live state); returns its
    /// slot. The caller reranks, recomputes queues and reindexes.
    fn put_agent(&mut self, spec: AgentSpec) -> u32 {
        let mut skills: Vec<(NameId, u8)> = spec
            .skills
            .iter()
            .map(|(s, l)| (self.skills.intern(s), *l))
            .collect();
        skills.sort_unstable();
        let mut langs: Vec<NameId> = spec
            .languages
            .iter()
            .map(|l| self.langs.intern(l))
            .collect();
        langs.sort_unstable();
        langs.dedup();
        self.index.grow(self.skills.len(), self.langs.len());
        if let Some(a) = self.agent_slots.get(&spec.id).copied() {
            self.unindex(a);
            self.reindex(a);
            let agent = &mut self.agents[a as usize];
            agent.name = spec.name;
            agent.skills = skills;
            agent.langs = langs;
            agent.capacity = spec.capacity;
            agent.total = spec.total;
            return a;
        }
        let a = self.agents.len() as u32;
        self.agents.push(AgentState {
            id: spec.id.clone(),
            name: spec.name,
            skills,
            langs,
            capacity: spec.capacity,
            total: spec.total,
            presence: Presence::Offline,
            load: [0; 3],
            offered: [0; 3],
            offers: SmallList::default(),
            assigned: SmallList::default(),
            last_assigned_ms: None,
            consecutive_misses: 0,
            rank: a,
            keys: [0; 3],
            indexed: 0,
            pending: false,
            queues: Vec::new(),
        });
        self.agent_slots.insert(spec.id, a);
        a
    }

    /// Recomputes every agent's rank (its position in id order), rebuilding
    /// the index.
    fn rerank(&mut self) {
        let mut order: Vec<u32> = (0..self.agents.len() as u32).collect();
        order.sort_by(|a, b| {
            self.agents[*a as usize]
                .id
                .cmp(&self.agents[*b as usize].id)
        });
        self.flush();
        for a in 0..self.agents.len() as u32 {
            self.unindex(a);
        }
        for (rank, a) in order.iter().enumerate() {
            self.agents[*a as usize].rank = rank as u32;
        }
        self.by_rank = order;
        for a in 0..self.agents.len() as u32 {
            self.sync(a);
        }
    }

    /// Inserts or replaces a queue's spec; returns its slot.
    fn put_queue(&mut self, spec: QueueSpec) -> u32 {
        let mut steps = vec![Compiled::new(
            &spec.requirement,
            &mut self.skills,
            &mut self.langs,
        )];
        let mut starts = vec![Millis::MIN];
        // Steps beyond MAX_STEPS are ignored (QueueSpec::validate refuses
        // them): step masks are 32-bit.
        for step in spec.steps.iter().take(MAX_STEPS) {
            steps.push(Compiled::new(
                &step.requirement,
                &mut self.skills,
                &mut self.langs,
            ));
            starts.push(step.after_ms);
        }
        self.index.grow(self.skills.len(), self.langs.len());
        self.track(&steps);
        let index_order = select::is_index_order(&spec.selection);
        match self.queue_slots.get(&spec.id).copied() {
            Some(q) => {
                let queue = &mut self.queues[q as usize];
                queue.spec = spec;
                queue.steps = steps;
                queue.starts = starts;
                queue.index_order = index_order;
                queue.hidden = false;
                q
            }
            None => {
                let q = self.queues.len() as u32;
                self.queue_slots.insert(spec.id.clone(), q);
                self.queue_lookup.insert(spec.id.clone(), q);
                self.queues.push(QueueState {
                    spec,
                    steps,
                    starts,
                    index_order,
                    waiting: Default::default(),
                    oldest: [None; 3],
                    stats: QueueStats::default(),
                    hidden: false,
                });
                q
            }
        }
    }

    /// Makes the index maintain the sets these requirements' covers use,
    /// rebuilding it if that adds any.
    fn track(&mut self, steps: &[Compiled]) {
        let all = steps
            .iter()
            .any(|c| c.covers.is_empty() && c.single.is_none());
        let langs: Vec<NameId> = steps
            .iter()
            .flat_map(|c| c.covers.iter().flatten())
            .filter_map(|t| match t {
                Term::Lang(l) => Some(*l),
                Term::Skill(..) => None,
            })
            .filter(|l| !self.index.track_lang[*l as usize])
            .collect();
        let pairs: Vec<(NameId, NameId)> = steps
            .iter()
            .filter_map(|c| Some((c.single?.0, c.single_lang?)))
            .filter(|(skill, lang)| self.index.pair(*skill, *lang).is_none())
            .collect();
        if (!all || self.index.track_all) && langs.is_empty() && pairs.is_empty() {
            return;
        }
        self.flush();
        for a in 0..self.agents.len() as u32 {
            self.unindex(a);
        }
        self.index.track_all |= all;
        for l in langs {
            self.index.track_lang[l as usize] = true;
        }
        for (skill, lang) in pairs {
            self.index.track_pair(skill, lang);
        }
        for a in 0..self.agents.len() as u32 {
            self.sync(a);
        }
    }

    /// Which steps of which queues agent `a` meets, highest priority first.
    fn recompute_agent_queues(&mut self, a: u32) {
        let agent = &self.agents[a as usize];
        let mut list: Vec<(u32, u32)> = self
            .queues
            .iter()
            .enumerate()
            .filter(|(_, queue)| !queue.hidden)
            .filter_map(|(q, queue)| {
                let mask = queue
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.eval(&agent.skills, &agent.langs))
                    .fold(0u32, |m, (i, _)| m | (1 << i));
                (mask != 0).then_some((q as u32, mask))
            })
            .collect();
        list.sort_by_key(|(q, _)| (Reverse(self.queues[*q as usize].spec.priority), *q));
        self.agents[a as usize].queues = list;
    }

    /// Whether agent `a` meets step `step` of queue `q`.
    fn meets(&self, a: u32, q: u32, step: usize) -> bool {
        self.agents[a as usize]
            .queues
            .iter()
            .find(|(x, _)| *x == q)
            .is_some_and(|(_, mask)| mask & (1 << step) != 0)
    }

    fn step_of(&self, contact: &Contact, now: Millis) -> usize {
        self.queues[contact.queue as usize].step_at(now.saturating_sub(contact.queued_at_ms))
    }

    // ----- the index -----

    /// Takes agent `a` out of the index entirely.
    fn unindex(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        for ch in 0..3 {
            if agent.indexed & (1 << ch) != 0 {
                self.index
                    .remove(ch, agent.keys[ch], &agent.skills, &agent.langs);
            }
        }
        agent.indexed = 0;
    }

    /// Notes that agent `a`'s presence, load, offers or last assignment
    /// changed: the index catches up at the next [`Engine::flush`].
    fn reindex(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        if !agent.pending {
            agent.pending = true;
            self.pending.push(a);
        }
    }

    /// Brings every pending agent's index entries up to date.
    fn flush(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        for a in pending.drain(..) {
            self.agents[a as usize].pending = false;
            self.sync(a);
        }
        self.pending = pending;
    }

    /// Puts agent `a` in the index where it is open, with current keys.
    fn sync(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        for ch in 0..3 {
            let want = agent.is_open(ch).then(|| agent.base_key(ch));
            let was = (agent.indexed & (1 << ch) != 0).then_some(agent.keys[ch]);
            if want == was {
                continue;
            }
            if let Some(old) = was {
                self.index.remove(ch, old, &agent.skills, &agent.langs);
                agent.indexed &= !(1 << ch);
            }
            if let Some(new) = want {
                self.index.insert(ch, new, &agent.skills, &agent.langs);
                agent.keys[ch] = new;
                agent.indexed |= 1 << ch;
            }
        }
    }

    /// Whether agent `a`'s index entries may be stale.
    fn is_pending(&self, a: u32) -> bool {
        !self.pending.is_empty() && self.agents[a as usize].pending
    }

    // ----- waiting contacts -----

    /// Puts contact `c` in its queue's waiting set (after overflows already
    /// due), with its step and next timer, and marks it for matching.
    fn list(&mut self, now: Millis, c: u32) {
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let mut q = contact.queue;
        let queued_at = contact.queued_at_ms;
        let age = now.saturating_sub(queued_at);
        // Follow overflows already due, one lap at most.
        let mut moves = Vec::new();
        for _ in 0..self.queues.len() {
            let Some(target) = self.overflow_target(q) else {
                break;
            };
            let after = self.queues[q as usize]
                .spec
                .overflow
                .as_ref()
                .map(|o| o.after_ms)
                .unwrap_or(Millis::MAX);
            if age < after {
                break;
            }
            moves.push((q, target));
            q = target;
        }
        for (from, to) in moves {
            self.queues[from as usize].stats.overflowed += 1;
            self.queues[to as usize].stats.entered += 1;
            self.record(c, now, What::Overflowed { from, to });
        }
        let queue = &self.queues[q as usize];
        let step = queue.step_at(age);
        let next_step = queue.starts.get(step + 1).copied();
        let overflow = self
            .overflow_target(q)
            .and(queue.spec.overflow.as_ref().map(|o| o.after_ms));
        let timer = [next_step, overflow]
            .into_iter()
            .flatten()
            .min()
            .map(|after| queued_at.saturating_add(after));
        let Some(contact) = self.contact_mut(c) else {
            return;
        };
        let moved = contact.queue != q;
        contact.queue = q;
        contact.slot = Slot::Waiting;
        let old_step = contact.step;
        contact.step = step as u8;
        contact.timer = timer.unwrap_or(NO_TIMER);
        let key = contact.wait_key(c);
        let ch = contact.channel.index();
        let queue = &mut self.queues[q as usize];
        queue.waiting[ch].insert(key);
        if queue.oldest[ch].is_none_or(|o| key < o) {
            queue.oldest[ch] = Some(key);
        }
        if let Some(at) = timer {
            self.timers.insert((at, c));
        }
        // Step changes show in the offer's record and the queue view; a
        // record per crossing would cost every waiting contact memory.
        if moved && step > 0 && step as u8 != old_step {
            self.record(
                c,
                now,
                What::Step {
                    queue: q,
                    step: step as u8,
                },
            );
        }
        self.dirty_contacts.push(c);
    }

    /// Takes a waiting contact out of its queue's waiting set and timers.
    fn unlist(&mut self, c: u32) {
        let Some(contact) = self.contact_mut(c) else {
            return;
        };
        let key = contact.wait_key(c);
        let ch = contact.channel.index();
        let q = contact.queue as usize;
        let at = std::mem::replace(&mut contact.timer, NO_TIMER);
        if at != NO_TIMER {
            self.timers.remove(&(at, c));
        }
        let queue = &mut self.queues[q];
        queue.waiting[ch].remove(&key);
        if queue.oldest[ch] == Some(key) {
            queue.oldest[ch] = queue.waiting[ch].first().copied();
        }
    }

    fn overflow_target(&self, q: u32) -> Option<u32> {
        let overflow = self.queues[q as usize].spec.overflow.as_ref()?;
        self.queue_lookup
            .get(&overflow.queue)
            .copied()
            .filter(|t| *t != q && !self.queues[*t as usize].hidden)
    }

    /// Applies what time alone brings, up to `now`: ended cooldowns, steps
    /// coming into force, overflows.
    fn catch_up(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        while let Some((until, c, a)) = self.cooldowns.first().copied()
            && until <= now
        {
            self.cooldowns.pop_first();
            if let Some(contact) = self.contact_mut(c) {
                let emptied = match &mut contact.excluded {
                    Some(list) => {
                        list.retain(|(x, u)| !(*x == a && *u == until));
                        list.is_empty()
                    }
                    None => false,
                };
                if emptied {
                    contact.excluded = None;
                }
                if contact.slot == Slot::Waiting {
                    self.dirty_contacts.push(c);
                }
                if emptied {
                    self.excluding = self.excluding.saturating_sub(1);
                }
            }
        }
        while let Some((at, c)) = self.timers.first().copied()
            && at <= now
        {
            let Some(contact) = self.contact_ref(c) else {
                self.timers.pop_first();
                continue;
            };
            let from = contact.queue;
            let queue = &self.queues[from as usize];
            let age = now.saturating_sub(contact.queued_at_ms);
            let overflow_due = self.overflow_target(from).is_some()
                && queue
                    .spec
                    .overflow
                    .as_ref()
                    .is_some_and(|o| age >= o.after_ms);
            if !overflow_due {
                // A step came into force: same queue, same place in it.
                let step = queue.step_at(age);
                let next = queue
                    .starts
                    .get(step + 1)
                    .copied()
                    .into_iter()
                    .chain(
                        self.overflow_target(from)
                            .and(queue.spec.overflow.as_ref().map(|o| o.after_ms)),
                    )
                    .min()
                    .map(|after| contact.queued_at_ms.saturating_add(after));
                self.timers.pop_first();
                if let Some(next) = next {
                    self.timers.insert((next, c));
                }
                if let Some(contact) = self.contact_mut(c) {
                    contact.step = step as u8;
                    contact.timer = next.unwrap_or(NO_TIMER);
                }
                self.dirty_contacts.push(c);
                continue;
            }
            self.unlist(c);
            self.timers.remove(&(at, c));
            self.list(now, c);
            if let Some(contact) = self.contact_ref(c)
                && contact.queue != from
            {
                fx.push(Effect::Requeued {
                    conversation_id: contact.id.clone(),
                    queue: self.queues[contact.queue as usize].spec.id.clone(),
                    queued_at_ms: contact.queued_at_ms,
                });
            }
        }
    }

    // ----- matching -----

    /// Matches what changed (see the module docs).
    ///
    /// Each round takes the highest-ranked contact among the dirty agents'
    /// best contacts and the dirty contacts, and offers it to its best
    /// eligible open agent. The agent so chosen has no higher-ranked
    /// eligible contact: not among clean contacts (by the invariant, or it
    /// is dirty and its best would have come first), not among dirty
    /// contacts (they would have come first).
    fn settle(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        let mut agents = std::mem::take(&mut self.dirty_agents);
        agents.sort_unstable_by_key(|a| self.agents[*a as usize].rank);
        agents.dedup();
        // Dirty contacts in reverse routing order: the best is popped last.
        let mut contacts = std::mem::take(&mut self.scratch);
        contacts.clear();
        for c in self.dirty_contacts.drain(..) {
            if let Some(contact) = self.contacts.get(c as usize).and_then(Option::as_ref)
                && contact.slot == Slot::Waiting
            {
                contacts.push((
                    Reverse(self.queues[contact.queue as usize].spec.priority),
                    contact.queued_at_ms,
                    contact.seq,
                    c,
                ));
            }
        }
        contacts.sort_unstable_by(|a, b| b.cmp(a));
        contacts.dedup();
        loop {
            let mut from_agents: Option<(RouteKey, u32)> = None;
            agents.retain(|a| {
                if !self.agents[*a as usize].is_open_anywhere() {
                    return false;
                }
                match self.best_contact_for(*a, now) {
                    Some(key) => {
                        if from_agents.is_none_or(|(b, _)| key < b) {
                            from_agents = Some((key, *a));
                        }
                        true
                    }
                    None => false,
                }
            });
            let from_contacts = contacts.last().copied();
            let (key, agent) = match (from_agents, from_contacts) {
                (Some((k, a)), Some(d)) if k < d => (k, Some(a)),
                (_, Some(d)) => (d, None),
                (Some((k, a)), None) => (k, Some(a)),
                (None, None) => break,
            };
            if contacts.last() == Some(&key) {
                contacts.pop();
            }
            let c = key.3;
            match self.select_agent(c, now) {
                Some(choice) => self.offer(now, c, choice, fx),
                None => {
                    if let Some(a) = agent {
                        // Cannot happen (the agent is eligible); never loop.
                        agents.retain(|x| *x != a);
                    }
                }
            }
        }
        self.dirty_agents = agents;
        self.dirty_agents.clear();
        self.scratch = contacts;
    }

    /// The best waiting contact agent `a` is eligible for: higher priority,
    /// then older, then admitted earlier.
    fn best_contact_for(&self, a: u32, now: Millis) -> Option<RouteKey> {
        let agent = &self.agents[a as usize];
        let mut best: Option<(Reverse<u32>, Millis, u64, u32)> = None;
        for (q, mask) in &agent.queues {
            let queue = &self.queues[*q as usize];
            let priority = queue.spec.priority;
            if best.is_some_and(|b| b.0.0 > priority) {
                break;
            }
            for ch in 0..3 {
                if !agent.is_open(ch) {
                    continue;
                }
                let Some((t0, seq0, c0)) = queue.oldest[ch] else {
                    continue;
                };
                // Nothing in this set comes before its oldest contact: if
                // that does not beat the best so far, skip the set.
                if best.is_some_and(|b| (Reverse(priority), t0, seq0, c0) >= b) {
                    continue;
                }
                if let Some((t, seq, c)) = self.oldest_in_bands(queue, ch, *mask, a, now) {
                    let key = (Reverse(priority), t, seq, c);
                    if best.is_none_or(|b| key < b) {
                        best = Some(key);
                    }
                }
            }
        }
        best
    }

    /// The oldest contact of `set` in a relaxation band `mask` allows, that
    /// does not exclude agent `a`.
    fn oldest_in_bands(
        &self,
        queue: &QueueState,
        ch: usize,
        mask: u32,
        a: u32,
        now: Millis,
    ) -> Option<WaitKey> {
        let check = self.excluding > 0;
        let oldest = queue.oldest[ch]?;
        if !check && mask & (1 << queue.step_at(now.saturating_sub(oldest.0))) != 0 {
            // The oldest contact is in a band the agent meets.
            return Some(oldest);
        }
        let set = &queue.waiting[ch];
        let usable =
            |k: &&WaitKey| !check || self.contact_ref(k.2).is_some_and(|c| !c.excludes(a, now));
        let all = queue.all_steps();
        if mask & all == all {
            return set.iter().find(usable).copied();
        }
        let n = queue.steps.len();
        // Band k holds contacts with queued time in (now - starts[k+1], now - starts[k]].
        for k in (0..n).rev() {
            if mask & (1 << k) == 0 {
                continue;
            }
            let newest = if k == 0 {
                Millis::MAX
            } else {
                now.saturating_sub(queue.starts[k])
            };
            let lower = match queue.starts.get(k + 1) {
                Some(next) => Bound::Excluded((now.saturating_sub(*next), u64::MAX, u32::MAX)),
                None => Bound::Unbounded,
            };
            let upper = Bound::Included((newest, u64::MAX, u32::MAX));
            if let Some(k) = set.range((lower, upper)).find(usable) {
                return Some(*k);
            }
        }
        None
    }

    fn scores(&self, a: u32, compiled: &Compiled, ch: usize, preferred: Option<u32>) -> Scores {
        let agent = &self.agents[a as usize];
        Scores {
            rank: agent.rank,
            preferred: preferred == Some(a),
            score: compiled.score(&agent.skills),
            occupied: agent.occupied(ch),
            capacity: agent.capacity[ch],
            last_assigned_ms: agent.last_assigned_ms,
        }
    }

    /// What a selection for `contact` goes by: its queue, the step in
    /// force and its requirement, the channel, the selection order, and the
    /// preferred agent while it counts.
    fn ask<'a>(&'a self, contact: &Contact, now: Millis) -> Ask<'a> {
        let queue = &self.queues[contact.queue as usize];
        let step = usize::from(contact.step).min(queue.steps.len() - 1);
        let order = queue.spec.selection.as_slice();
        let waited = now.saturating_sub(contact.queued_at_ms);
        let preferred = contact
            .preferred_agent
            .as_ref()
            .filter(|_| order.contains(&SelectionRule::Preferred))
            .filter(|_| queue.spec.preferred_window_ms.is_none_or(|w| waited < w))
            .and_then(|id| self.agent_slots.get(id).copied());
        Ask {
            queue,
            step,
            compiled: &queue.steps[step],
            ch: contact.channel.index(),
            order,
            preferred,
        }
    }

    /// The best eligible open agent for waiting contact `c`.
    fn select_agent(&self, c: u32, now: Millis) -> Option<Choice> {
        let contact = self.contact_ref(c)?;
        let Ask {
            queue,
            step,
            compiled,
            ch,
            order,
            preferred,
        } = self.ask(contact, now);
        let eligible = |a: u32| {
            let agent = &self.agents[a as usize];
            agent.is_open(ch)
                && !contact.excludes(a, now)
                && compiled.eval(&agent.skills, &agent.langs)
        };
        let preferred_ok = preferred.filter(|p| eligible(*p));

        // The index set (with counts per level) that decides the
        // requirement alone, if any.
        let decided = match (compiled.single, compiled.single_lang) {
            (Some((skill, lo, hi)), None) if queue.index_order => self
                .index
                .by_skill
                .get(skill as usize)
                .zip(self.index.levels.get(skill as usize))
                .map(|(sets, levels)| (skill, lo, hi, &sets[ch], &levels[ch])),
            (Some((skill, lo, hi)), Some(lang)) if queue.index_order => self
                .index
                .pair(skill, lang)
                .map(|pair| (skill, lo, hi, &pair.sets[ch], &pair.levels[ch])),
            _ => None,
        };
        let (winner, runner_up, count) = match decided {
            Some((skill, lo, hi, set, levels)) => {
                let lang = compiled.single_lang;
                let in_range = |a: u32| {
                    let agent = &self.agents[a as usize];
                    (lo..=hi).contains(&level(&agent.skills, skill))
                        && lang.is_none_or(|l| agent.langs.contains(&l))
                };
                let mut count = index::count_levels(levels, lo, hi);
                // Pending agents count as they are now, not as indexed.
                for p in &self.pending {
                    let agent = &self.agents[*p as usize];
                    if in_range(*p) {
                        count = count
                            .saturating_sub(u32::from(agent.indexed & (1 << ch) != 0))
                            .saturating_add(u32::from(agent.is_open(ch)));
                    }
                }
                for (x, until) in contact.exclusions() {
                    if *until > now && self.agents[*x as usize].is_open(ch) && in_range(*x) {
                        count = count.saturating_sub(1);
                    }
                }
                // The two best by index key, leaving out the preferred agent
                // (if eligible, it wins anyway): up to two from the index,
                // then the pending agents with their current keys.
                let wanted = |a: &u32| Some(*a) != preferred_ok && !contact.excludes(*a, now);
                let mut best = Top2::default();
                for (key, a) in set
                    .range(index::level_range(lo, hi))
                    .map(|k| (*k, self.by_rank[index::rank_of(*k) as usize]))
                    .filter(|(_, a)| !self.is_pending(*a) && wanted(a))
                    .take(2)
                {
                    best.consider(key, a);
                }
                for p in &self.pending {
                    let agent = &self.agents[*p as usize];
                    if agent.is_open(ch) && in_range(*p) && wanted(p) {
                        let lv = level(&agent.skills, skill);
                        best.consider(index::skill_key(agent.base_key(ch), lv), *p);
                    }
                }
                let (winner, runner_up) = match preferred_ok {
                    Some(p) => (p, best.first),
                    None => (best.first?, best.second),
                };
                (winner, runner_up, count)
            }
            _ => {
                let mut selection = Selection::new(order);
                for a in self.candidates(compiled, ch) {
                    if eligible(a) {
                        selection.consider(a, self.scores(a, compiled, ch, preferred));
                    }
                }
                let (w, _) = selection.best?;
                (w, selection.runner_up.map(|r| r.0), selection.eligible)
            }
        };
        #[cfg(debug_assertions)]
        self.check_selection(c, now, (winner, runner_up, count));
        let winner_scores = self.scores(winner, compiled, ch, preferred);
        let runner_up = runner_up.map(|r| (r, self.scores(r, compiled, ch, preferred)));
        let rule = runner_up
            .as_ref()
            .and_then(|(_, r)| select::deciding_rule(order, &winner_scores, r));
        Some(Choice {
            agent: winner,
            rec: OfferRec {
                agent: winner,
                step: step as u8,
                eligible: count.max(1),
                winner: winner_scores,
                runner_up,
                rule,
                preferred_passed: contact
                    .preferred_agent
                    .as_ref()
                    .and_then(|p| self.agent_slots.get(p).copied())
                    .filter(|p| *p != winner),
                agents_total: self.agents.len() as u32,
                direct: false,
            },
        })
    }

    /// Checks a selection against a scan of every agent, in builds with
    /// debug assertions (every test): the index, and the pending agents
    /// read around it, must give what the definition gives.
    #[cfg(debug_assertions)]
    fn check_selection(&self, c: u32, now: Millis, got: (u32, Option<u32>, u32)) {
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let Ask {
            compiled,
            ch,
            order,
            preferred,
            ..
        } = self.ask(contact, now);
        let mut selection = Selection::new(order);
        for a in 0..self.agents.len() as u32 {
            let agent = &self.agents[a as usize];
            if agent.is_open(ch)
                && !contact.excludes(a, now)
                && compiled.eval(&agent.skills, &agent.langs)
            {
                selection.consider(a, self.scores(a, compiled, ch, preferred));
            }
        }
        let want = (
            selection.best.map(|b| b.0),
            selection.runner_up.map(|r| r.0),
            selection.eligible,
        );
        assert_eq!(
            (Some(got.0), got.1, got.2),
            want,
            "selection for contact {c} disagrees with a scan of all agents"
        );
    }

    /// Open agents on channel `ch` that might meet `compiled`: the smallest
    /// cover's sets, or everyone open on the channel.
    fn candidates(&self, compiled: &Compiled, ch: usize) -> Vec<u32> {
        let size = |t: &Term| -> usize {
            match t {
                Term::Skill(s, lo, hi) => self.index.count(*s, ch, *lo, *hi) as usize,
                Term::Lang(l) => self.index.by_lang[*l as usize][ch].len(),
            }
        };
        let Some(cover) = compiled
            .covers
            .iter()
            .min_by_key(|cover| cover.iter().map(size).sum::<usize>())
        else {
            let all = self.index.all[ch]
                .iter()
                .map(|k| self.by_rank[index::rank_of(*k) as usize])
                .collect();
            return self.with_pending(all, ch, false);
        };
        let mut out: Vec<u32> = Vec::new();
        for term in cover {
            match term {
                Term::Skill(s, lo, hi) => out.extend(
                    self.index.by_skill[*s as usize][ch]
                        .range(index::level_range(*lo, *hi))
                        .map(|k| self.by_rank[index::rank_of(*k) as usize]),
                ),
                Term::Lang(l) => out.extend(
                    self.index.by_lang[*l as usize][ch]
                        .iter()
                        .map(|k| self.by_rank[index::rank_of(*k) as usize]),
                ),
            }
        }
        self.with_pending(out, ch, cover.len() > 1)
    }

    /// `from_index` without pending agents' (possibly stale) entries, plus
    /// every pending agent open on `ch` (the caller checks eligibility);
    /// sorted and deduplicated when `merge` or pending agents were added.
    fn with_pending(&self, mut from_index: Vec<u32>, ch: usize, merge: bool) -> Vec<u32> {
        let mut merge = merge;
        if !self.pending.is_empty() {
            from_index.retain(|a| !self.agents[*a as usize].pending);
            for p in &self.pending {
                if self.agents[*p as usize].is_open(ch) {
                    from_index.push(*p);
                    merge = true;
                }
            }
        }
        if merge {
            from_index.sort_unstable();
            from_index.dedup();
        }
        from_index
    }

    /// Offers waiting (or transferred) contact `c` to the chosen agent.
    fn offer(&mut self, now: Millis, c: u32, choice: Choice, fx: &mut Vec<Effect>) {
        self.unlist(c);
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let a = choice.agent;
        let ch = contact.channel.index();
        let expires_at_ms = now.saturating_add(self.config.offer_timeout_ms);
        let seq = self
            .offers
            .create(c, a, contact.queue, contact.channel, expires_at_ms);
        let offer = self.offers.get(seq).map(|live| self.offer_of(live));
        let agent = &mut self.agents[a as usize];
        agent.offers.push(seq);
        agent.offered[ch] = agent.offered[ch].saturating_add(1);
        self.reindex(a);
        if let Some(contact) = self.contact_mut(c) {
            contact.slot = Slot::Offered(seq);
        }
        self.record(c, now, What::Offered(Box::new(choice.rec)));
        if let Some(offer) = offer {
            fx.push(Effect::Offered(offer));
        }
    }

    // ----- events -----

    fn admit(&mut self, now: Millis, a: Admission, fx: &mut Vec<Effect>) {
        let assigned = a
            .assigned_agent
            .as_ref()
            .and_then(|id| self.agent_slots.get(id).copied());
        let q = match self.queue_lookup.get(&a.queue) {
            Some(q) => *q,
            None => {
                // A restored assignment whose queue left the configuration:
                // a hidden queue record keeps its id (see `hidden`).
                let q = self.put_queue(QueueSpec::new(a.queue.clone()));
                self.queues[q as usize].hidden = true;
                q
            }
        };
        let seq = self.next_contact_seq;
        self.next_contact_seq += 1;
        let mut log = self.released.reopen(&a.conversation_id);
        // Room for the usual life (queued, offered, assigned, released), so
        // that no decision grows it.
        log.reserve_exact(4);
        let contact = Contact {
            id: a.conversation_id.clone(),
            queue: q,
            channel: a.channel,
            queued_at_ms: a.queued_at_ms,
            seq,
            preferred_agent: a.preferred_agent.map(Box::new),
            slot: Slot::Waiting,
            step: 0,
            timer: NO_TIMER,
            excluded: None,
            log,
        };
        let c = match self.free.pop() {
            Some(c) => {
                self.contacts[c as usize] = Some(contact);
                c
            }
            None => {
                self.contacts.push(Some(contact));
                (self.contacts.len() - 1) as u32
            }
        };
        self.link(c, a.hash);
        match assigned {
            Some(agent_slot) => {
                let agent = &mut self.agents[agent_slot as usize];
                let ch = a.channel.index();
                agent.load[ch] = agent.load[ch].saturating_add(1);
                agent.assigned.push(c);
                self.reindex(agent_slot);
                if let Some(contact) = self.contact_mut(c) {
                    contact.slot = Slot::Assigned(agent_slot);
                }
                self.record(c, now, What::RestoredAssigned { agent: agent_slot });
            }
            None => {
                self.queues[q as usize].stats.entered += 1;
                let priority = self.queues[q as usize].spec.priority;
                self.record(
                    c,
                    now,
                    What::Queued {
                        queue: q,
                        priority,
                        restored: a.restored,
                    },
                );
                self.list(now, c);
                fx.push(Effect::Queued {
                    conversation_id: a.conversation_id,
                });
            }
        }
    }

    /// Takes contact `c` off whatever holds it (waiting set, live offer or
    /// agent), returning what it was; frees capacity and marks agents.
    fn detach(&mut self, c: u32, reason: RescindReason, fx: &mut Vec<Effect>) -> ReleasedWhile {
        let Some(contact) = self.contact_ref(c) else {
            return ReleasedWhile::Waiting;
        };
        let (slot, ch) = (contact.slot, contact.channel.index());
        match slot {
            Slot::Waiting => {
                self.unlist(c);
                ReleasedWhile::Waiting
            }
            Slot::Offered(seq) => match self.take_offer(seq) {
                Some(live) => {
                    let agent = live.agent;
                    fx.push(Effect::OfferRescinded {
                        offer: self.offer_of(&live),
                        reason,
                    });
                    ReleasedWhile::Offered(agent)
                }
                None => ReleasedWhile::Waiting,
            },
            Slot::Assigned(a) => {
                let agent = &mut self.agents[a as usize];
                agent.load[ch] = agent.load[ch].saturating_sub(1);
                agent.assigned.retain(|x| *x != c);
                self.reindex(a);
                self.dirty_agents.push(a);
                ReleasedWhile::Assigned(a)
            }
        }
    }

    fn release(
        &mut self,
        now: Millis,
        c: Option<u32>,
        hash: u64,
        id: ConversationId,
        fx: &mut Vec<Effect>,
    ) {
        let Some(c) = c else {
            return;
        };
        let was = self.detach(c, RescindReason::Released, fx);
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let (q, waited) = (
            contact.queue as usize,
            now.saturating_sub(contact.queued_at_ms),
        );
        let excluded = contact.exclusions().to_vec();
        if !excluded.is_empty() {
            self.excluding = self.excluding.saturating_sub(1);
        }
        if !matches!(was, ReleasedWhile::Assigned(_)) {
            let queue = &mut self.queues[q];
            queue.stats.abandoned += 1;
            if waited > queue.spec.service_level.threshold_ms {
                queue.stats.abandoned_after_target += 1;
            }
        }
        for (a, until) in excluded {
            self.cooldowns.remove(&(until, c, a));
        }
        self.record(c, now, What::Released { was });
        self.unlink(c, hash);
        if let Some(contact) = self.contacts[c as usize].take() {
            self.released.keep(contact.id, contact.log);
        }
        self.free.push(c);
        // The event's own id: no copy.
        fx.push(Effect::Removed {
            conversation_id: id,
        });
    }

    fn set_presence(
        &mut self,
        now: Millis,
        agent_id: &AgentId,
        presence: Presence,
        fx: &mut Vec<Effect>,
    ) {
        let Some(a) = self.agent_slots.get(agent_id).copied() else {
            return;
        };
        let agent = &mut self.agents[a as usize];
        if presence.is_available() && !agent.presence.is_available() {
            // Coming back starts a new streak.
            agent.consecutive_misses = 0;
        }
        agent.presence = presence;
        if agent.presence.is_available() {
            self.reindex(a);
            self.dirty_agents.push(a);
        } else {
            self.reindex(a);
            self.withdraw_all(now, a, fx);
        }
    }

    /// Checks that `agent_id` may settle `offer_id` at `now`; returns the
    /// offer's sequence and the agent's slot.
    fn check_offer(
        &self,
        now: Millis,
        agent_id: &AgentId,
        offer_id: &str,
    ) -> Result<(u64, u32), EngineError> {
        let a = self.agent_slot(agent_id)?;
        let Some(live) = self
            .offers
            .seq_of(offer_id)
            .and_then(|s| self.offers.get(s))
        else {
            return Err(EngineError::UnknownOffer(offer_id.to_owned()));
        };
        if live.agent != a {
            return Err(EngineError::OfferNotForAgent {
                offer_id: offer_id.to_owned(),
                agent_id: agent_id.clone(),
                offered_to: self.agents[live.agent as usize].id.clone(),
            });
        }
        if now >= live.expires_at_ms {
            return Err(EngineError::OfferExpired {
                offer_id: offer_id.to_owned(),
                expires_at_ms: live.expires_at_ms,
            });
        }
        Ok((live.seq, a))
    }

    fn accept(
        &mut self,
        now: Millis,
        offer: Option<(u64, u32)>,
        agent_id: AgentId,
        offer_id: String,
        fx: &mut Vec<Effect>,
    ) {
        let Some((seq, a)) = offer else {
            return;
        };
        let Some(live) = self.take_offer(seq) else {
            return;
        };
        // The offer's room becomes the assignment's: nothing freed.
        if self.dirty_agents.last() == Some(&a) {
            self.dirty_agents.pop();
        }
        let c = live.contact;
        let ch = live.channel.index();
        let agent = &mut self.agents[a as usize];
        agent.load[ch] = agent.load[ch].saturating_add(1);
        agent.assigned.push(c);
        agent.consecutive_misses = 0;
        agent.last_assigned_ms = Some(now);
        self.reindex(a);
        if let Some(contact) = self.contact_mut(c) {
            contact.slot = Slot::Assigned(a);
            let (q, queued_at) = (contact.queue, contact.queued_at_ms);
            let queue = &mut self.queues[q as usize];
            queue.stats.answered += 1;
            if now.saturating_sub(queued_at) <= queue.spec.service_level.threshold_ms {
                queue.stats.answered_in_target += 1;
            }
        }
        self.record(
            c,
            now,
            What::Assigned {
                agent: a,
                offer_seq: seq,
            },
        );
        fx.push(Effect::Assigned {
            conversation_id: self
                .contact_ref(c)
                .map(|x| x.id.clone())
                .unwrap_or_else(|| ConversationId::from("")),
            agent_id,
            offer_id,
        });
    }

    fn decline(&mut self, now: Millis, offer: Option<(u64, u32)>, fx: &mut Vec<Effect>) {
        let Some((seq, a)) = offer else {
            return;
        };
        let Some(live) = self.take_offer(seq) else {
            return;
        };
        // An answer, even a no, ends a streak of misses.
        self.agents[a as usize].consecutive_misses = 0;
        self.exclude(now, live.contact, a);
        self.requeue(now, live, RescindReason::Declined, fx);
    }

    fn tick(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        let max_misses = self.config.max_consecutive_misses;
        let mut tripped: Vec<u32> = Vec::new();
        for seq in self.offers.due(now) {
            let Some(live) = self.take_offer(seq) else {
                continue;
            };
            let a = live.agent;
            let agent = &mut self.agents[a as usize];
            agent.consecutive_misses = agent.consecutive_misses.saturating_add(1);
            if max_misses > 0
                && agent.consecutive_misses >= max_misses
                && agent.presence.is_available()
                && !tripped.contains(&a)
            {
                tripped.push(a);
            }
            self.exclude(now, live.contact, a);
            self.requeue(now, live, RescindReason::Timeout, fx);
        }
        for a in tripped {
            let agent = &mut self.agents[a as usize];
            let presence = Presence::Away {
                reason: Some(format!(
                    "missed {} offers in a row",
                    agent.consecutive_misses
                )),
            };
            agent.presence = presence.clone();
            fx.push(Effect::PresenceChanged {
                agent_id: agent.id.clone(),
                presence,
            });
            self.reindex(a);
            self.withdraw_all(now, a, fx);
        }
    }

    fn transfer_to_queue(
        &mut self,
        now: Millis,
        id: &ConversationId,
        queue: &QueueId,
        fx: &mut Vec<Effect>,
    ) {
        let (Some(c), Some(to)) = (self.find(id), self.queue_lookup.get(queue).copied()) else {
            return;
        };
        let was = self.detach(c, RescindReason::Transferred, fx);
        if let ReleasedWhile::Assigned(a) = was {
            fx.push(Effect::Unassigned {
                conversation_id: id.clone(),
                agent_id: self.agents[a as usize].id.clone(),
            });
        }
        let Some(contact) = self.contact_mut(c) else {
            return;
        };
        let from = contact.queue;
        contact.queue = to;
        contact.queued_at_ms = now;
        contact.step = 0;
        self.queues[from as usize].stats.transferred += 1;
        self.queues[to as usize].stats.entered += 1;
        self.record(c, now, What::TransferredToQueue { from, to });
        self.list(now, c);
        fx.push(Effect::Requeued {
            conversation_id: id.clone(),
            queue: queue.clone(),
            queued_at_ms: now,
        });
        fx.push(Effect::Queued {
            conversation_id: id.clone(),
        });
    }

    fn transfer_to_agent(
        &mut self,
        now: Millis,
        id: &ConversationId,
        agent_id: &AgentId,
        fx: &mut Vec<Effect>,
    ) {
        let (Some(c), Some(a)) = (self.find(id), self.agent_slots.get(agent_id).copied()) else {
            return;
        };
        let was = self.detach(c, RescindReason::Transferred, fx);
        if let ReleasedWhile::Assigned(from) = was {
            fx.push(Effect::Unassigned {
                conversation_id: id.clone(),
                agent_id: self.agents[from as usize].id.clone(),
            });
        }
        let Some(contact) = self.contact_mut(c) else {
            return;
        };
        contact.queued_at_ms = now;
        contact.step = 0;
        contact.slot = Slot::Waiting;
        let q = contact.queue;
        let ch = contact.channel.index();
        self.queues[q as usize].stats.transferred += 1;
        self.record(c, now, What::TransferredToAgent { agent: a });
        fx.push(Effect::Requeued {
            conversation_id: id.clone(),
            queue: self.queues[q as usize].spec.id.clone(),
            queued_at_ms: now,
        });
        let compiled = &self.queues[q as usize].steps[0];
        let scores = self.scores(a, compiled, ch, None);
        let choice = Choice {
            agent: a,
            rec: OfferRec {
                agent: a,
                step: 0,
                eligible: 1,
                winner: scores,
                runner_up: None,
                rule: None,
                preferred_passed: None,
                agents_total: self.agents.len() as u32,
                direct: true,
            },
        };
        self.offer(now, c, choice, fx);
    }

    /// Rescinds every live offer of agent `a`, who is no longer available.
    fn withdraw_all(&mut self, now: Millis, a: u32, fx: &mut Vec<Effect>) {
        let seqs = self.agents[a as usize].offers.as_slice().to_vec();
        for seq in seqs {
            if let Some(live) = self.take_offer(seq) {
                self.requeue(now, live, RescindReason::AgentUnavailable, fx);
            }
        }
    }

    /// Rescinds agent `a`'s offers that no longer fit its capacity or the
    /// requirement in force, keeping the oldest ones that do.
    fn revalidate_agent_offers(&mut self, now: Millis, a: u32, fx: &mut Vec<Effect>) {
        let agent = &self.agents[a as usize];
        let mut used = agent.load;
        let mut used_total: u64 = used.iter().map(|n| u64::from(*n)).sum();
        let mut unfit = Vec::new();
        for seq in agent.offers.iter() {
            let Some(live) = self.offers.get(*seq) else {
                continue;
            };
            let ch = live.channel.index();
            let skilled = self
                .contact_ref(live.contact)
                .is_some_and(|c| self.meets(a, c.queue, self.step_of(c, now)));
            let fits = used[ch] < agent.capacity[ch]
                && agent.total.is_none_or(|t| used_total < u64::from(t));
            if (skilled || self.is_direct(live)) && fits {
                used[ch] = used[ch].saturating_add(1);
                used_total += 1;
            } else {
                unfit.push(*seq);
            }
        }
        for seq in unfit {
            if let Some(live) = self.take_offer(seq) {
                self.requeue(now, live, RescindReason::AgentUnavailable, fx);
            }
        }
    }

    /// The public form of a live offer.
    fn offer_of(&self, live: &LiveOffer) -> Offer {
        Offer {
            offer_id: self.offers.id(live.seq),
            conversation_id: self
                .contact_ref(live.contact)
                .map(|c| c.id.clone())
                .unwrap_or_else(|| ConversationId::from("")),
            agent_id: self.agents[live.agent as usize].id.clone(),
            queue: self.queues[live.queue as usize].spec.id.clone(),
            channel: live.channel,
            expires_at_ms: live.expires_at_ms,
        }
    }

    /// Whether a live offer came from a transfer to the agent.
    fn is_direct(&self, live: &LiveOffer) -> bool {
        self.contact_ref(live.contact)
            .and_then(|c| c.log.last())
            .is_some_and(|r| matches!(&r.what, What::Offered(o) if o.direct))
    }

    /// Keeps agent `a` away from contact `c` for the decline cooldown.
    fn exclude(&mut self, now: Millis, c: u32, a: u32) {
        if self.config.decline_cooldown_ms <= 0 {
            return;
        }
        let until = now.saturating_add(self.config.decline_cooldown_ms);
        let Some(contact) = self.contacts.get_mut(c as usize).and_then(Option::as_mut) else {
            return;
        };
        let list = contact.excluded.get_or_insert_with(Default::default);
        if list.is_empty() {
            self.excluding += 1;
        }
        let old = list
            .iter()
            .position(|(x, _)| *x == a)
            .map(|i| list.swap_remove(i));
        list.push((a, until));
        if let Some((_, old)) = old {
            self.cooldowns.remove(&(old, c, a));
        }
        self.cooldowns.insert((until, c, a));
    }

    /// Removes a live offer and releases the capacity it reserved; the agent
    /// is marked for matching. The contact's state is the caller's to update.
    fn take_offer(&mut self, seq: u64) -> Option<LiveOffer> {
        let live = self.offers.remove(seq)?;
        let a = live.agent;
        let agent = &mut self.agents[a as usize];
        agent.offers.retain(|s| *s != seq);
        let ch = live.channel.index();
        agent.offered[ch] = agent.offered[ch].saturating_sub(1);
        self.reindex(a);
        self.dirty_agents.push(a);
        Some(live)
    }

    /// Puts the contact of a rescinded offer back in its queue at its
    /// original age.
    fn requeue(
        &mut self,
        now: Millis,
        live: LiveOffer,
        reason: RescindReason,
        fx: &mut Vec<Effect>,
    ) {
        let c = live.contact;
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let cooldown_until = contact
            .exclusions()
            .iter()
            .find(|(x, until)| *x == live.agent && *until > now)
            .map_or(explain::NO_COOLDOWN, |(_, until)| *until);
        let id = contact.id.clone();
        self.record(
            c,
            now,
            What::Rescinded {
                agent: live.agent,
                reason,
                cooldown_until,
            },
        );
        self.list(now, c);
        fx.push(Effect::OfferRescinded {
            offer: self.offer_of(&live),
            reason,
        });
        fx.push(Effect::Queued {
            conversation_id: id,
        });
    }
}

impl Names for Engine {
    fn agent(&self, slot: u32) -> &AgentId {
        &self.agents[slot as usize].id
    }

    fn queue(&self, slot: u32) -> &QueueId {
        &self.queues[slot as usize].spec.id
    }

    fn offer_id(&self, seq: u64) -> String {
        format!("off_{:x}_{seq}", self.config.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_ids_are_found_and_removed_in_any_order() {
        let mut engine = Engine::new(
            EngineConfig::default(),
            Vec::new(),
            vec![QueueSpec::new("q")],
        );
        let ids: Vec<ConversationId> = (0..20).map(|i| format!("c{i:02}").into()).collect();
        let arrive = |id: &ConversationId| Event::ContactArrived {
            conversation_id: id.clone(),
            queue: "q".into(),
            channel: Channel::Chat,
            queued_at_ms: 0,
            preferred_agent: None,
        };
        for id in &ids {
            engine.apply(0, arrive(id)).unwrap();
        }
        // Release from the middle, the head and the tail of the chain.
        for i in [7, 19, 0, 12, 1] {
            engine
                .apply(
                    1,
                    Event::ContactReleased {
                        conversation_id: ids[i].clone(),
                    },
                )
                .unwrap();
        }
        for (i, id) in ids.iter().enumerate() {
            let gone = [7, 19, 0, 12, 1].contains(&i);
            assert_eq!(engine.contact(id).is_none(), gone, "{id}");
        }
        // Slots are reused and still found.
        engine.apply(2, arrive(&ids[7])).unwrap();
        assert!(engine.contact(&ids[7]).is_some());
        assert_eq!(engine.waiting().len(), 16);
        assert_eq!(
            engine.apply(3, arrive(&ids[8])),
            Err(EngineError::DuplicateContact(ids[8].clone()))
        );
    }

    #[test]
    fn apply_into_appends_and_leaves_the_buffer_alone_on_error() {
        let mut engine = Engine::new(
            EngineConfig::default(),
            Vec::new(),
            vec![QueueSpec::new("q")],
        );
        let arrive = |id: &str| Event::ContactArrived {
            conversation_id: id.into(),
            queue: "q".into(),
            channel: Channel::Chat,
            queued_at_ms: 0,
            preferred_agent: None,
        };
        let mut fx = Vec::new();
        engine.apply_into(0, arrive("a"), &mut fx).unwrap();
        engine.apply_into(0, arrive("b"), &mut fx).unwrap();
        let queued: Vec<&str> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Queued { conversation_id } => Some(conversation_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(queued, ["a", "b"], "effects appended in order");
        let before = fx.len();
        assert_eq!(
            engine.apply_into(0, arrive("a"), &mut fx),
            Err(EngineError::DuplicateContact("a".into()))
        );
        assert_eq!(fx.len(), before, "nothing appended on error");
        assert_eq!(engine.apply(0, arrive("c")).unwrap(), {
            let mut again = Engine::new(
                EngineConfig::default(),
                Vec::new(),
                vec![QueueSpec::new("q")],
            );
            let mut fx = Vec::new();
            again.apply_into(0, arrive("c"), &mut fx).unwrap();
            fx
        });
    }
}
