//! The discrete-event simulation: virtual time in milliseconds, a heap of
//! pending events, and the real routing [`Engine`] deciding who gets what.
//!
//! Events:
//! - a contact arrives in its queue (Poisson per queue): the engine gets
//!   [`Event::ContactArrived`];
//! - the engine offers it to an agent: the simulated agent accepts at once
//!   ([`Event::Accept`]);
//! - the handle time ends, or the customer's patience runs out while
//!   waiting: the engine gets [`Event::ContactReleased`];
//! - an offer or cooldown deadline of the engine comes due: [`Event::Tick`].
//!
//! Contacts are measured when they arrive inside the measured period
//! (`warmup_secs` to `warmup_secs + duration_secs`). Arrivals go on after it,
//! unmeasured, until every measured contact was answered or abandoned, so the
//! last measured contacts see the same traffic as the others. A run stops at
//! the latest after another `duration_secs`; measured contacts still waiting
//! then are reported as unresolved (a sign of an overloaded queue without
//! abandonment).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use omni_core::hours::Schedule;
use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};
use omni_router_core::{Effect, Engine, EngineConfig, EngineError, Event, Presence};

use crate::dist::Sampler;
use crate::report::Report;
use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::specs;

/// Events between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 14;

/// How far a run has come, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The current virtual time, milliseconds.
    pub virtual_ms: Millis,
    /// Where the measured period ends, milliseconds.
    pub until_ms: Millis,
    /// Contacts generated so far.
    pub contacts: u64,
}

impl Progress {
    /// Share of the arrival period simulated so far, 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.until_ms <= 0 {
            return 1.0;
        }
        (self.virtual_ms as f64 / self.until_ms as f64).clamp(0.0, 1.0)
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The routing engine refused an event the simulator sent it; the
    /// simulation cannot go on consistently.
    #[error("the routing engine refused {what} at {at_ms} ms: {source}")]
    Engine {
        /// What was sent.
        what: String,
        /// Virtual time.
        at_ms: Millis,
        /// The engine's reason.
        source: EngineError,
    },
}

/// Counts of one queue in one batch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QueueBatch {
    pub(crate) offered: u64,
    pub(crate) waited: u64,
    pub(crate) answered: u64,
    pub(crate) answered_in_time: u64,
    pub(crate) abandoned: u64,
    /// Sum of waits of answered contacts, ms.
    pub(crate) answered_wait_ms: f64,
    /// Sum of waits of answered and abandoned contacts, ms.
    pub(crate) wait_ms: f64,
}

/// Agent time of one group in one batch, ms.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GroupBatch {
    /// Time agents held at least one contact.
    pub(crate) busy_ms: f64,
    /// Time-integral of the contacts agents held.
    pub(crate) load_ms: f64,
}

/// Everything a run measured, for the report.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    pub(crate) queues: Vec<Vec<QueueBatch>>,
    /// Measured contacts of each queue neither answered nor abandoned when
    /// the run stopped.
    pub(crate) unresolved: Vec<u64>,
    /// The most contacts of each queue waiting at once, seen at the
    /// arrivals of the measured period.
    pub(crate) peak_waiting: Vec<u64>,
    pub(crate) groups: Vec<Vec<GroupBatch>>,
    /// Length of one batch, ms.
    pub(crate) batch_ms: f64,
    pub(crate) events: u64,
    pub(crate) contacts: u64,
    pub(crate) ended_ms: Millis,
}

/// Runs a scenario to the end and reports. `progress` is called every few
/// thousand events and once at the end.
pub fn run(scenario: &Scenario, progress: &mut dyn FnMut(&Progress)) -> Result<Report, SimError> {
    let tally = Simulation::new(scenario).run(progress)?;
    Ok(Report::new(scenario, &tally))
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    Arrival(usize),
    Abandon(ConversationId),
    HandleDone(ConversationId),
    Tick,
}

/// A contact in the simulation.
struct Live {
    queue: usize,
    arrived_ms: Millis,
    handle_ms: Millis,
    /// The batch it is measured in, if it arrived in the measured period.
    batch: Option<usize>,
    /// The agent holding it, once answered.
    agent: Option<usize>,
}

/// The random streams and settings of one queue.
struct QueueSource {
    id: QueueId,
    channel: Channel,
    interarrival_mean_ms: f64,
    handle: Sampler,
    patience: Option<Sampler>,
    threshold_ms: Millis,
    /// Business hours: the service level counts a wait from the opening.
    hours: Option<Schedule>,
    arrivals: Rng,
    handle_rng: Rng,
    patience_rng: Rng,
    /// Unrounded time of the next arrival, ms.
    next_arrival_ms: f64,
}

struct AgentClock {
    group: usize,
    load: u32,
    since_ms: Millis,
}

struct Simulation {
    engine: Engine,
    /// Effects of the event being applied, and the ones still to carry
    /// out; kept to spare two allocations per event.
    effects: Vec<Effect>,
    work: VecDeque<Effect>,
    now: Millis,
    /// The instant simulated time 0 stands for: the engine's clock is
    /// `start_ms + now` (business hours are evaluated on it).
    start_ms: Millis,
    /// Contacts waiting per queue now, and the most at once in the
    /// measured period.
    waiting_now: Vec<u64>,
    peak_waiting: Vec<u64>,
    seq: u64,
    heap: BinaryHeap<Reverse<(Millis, u64, Pending)>>,
    tick_at: Option<Millis>,
    sources: Vec<QueueSource>,
    contacts: HashMap<ConversationId, Live>,
    agent_index: HashMap<AgentId, usize>,
    agents: Vec<AgentClock>,
    agent_ids: Vec<AgentId>,
    from_ms: Millis,
    until_ms: Millis,
    stop_ms: Millis,
    batches: usize,
    batch_ms: f64,
    queue_tally: Vec<Vec<QueueBatch>>,
    group_tally: Vec<Vec<GroupBatch>>,
    /// Measured contacts not yet answered or abandoned.
    outstanding: u64,
    next_contact: u64,
    events: u64,
}

impl Simulation {
    fn new(scenario: &Scenario) -> Self {
        let specs = specs::build(scenario);
        let agent_ids: Vec<AgentId> = specs.agents.iter().map(|a| a.id.clone()).collect();
        let agent_index = agent_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let agents = specs
            .group_of
            .iter()
            .map(|&group| AgentClock {
                group,
                load: 0,
                since_ms: 0,
            })
            .collect();
        let engine = Engine::new(
            EngineConfig {
                // Simulated agents accept at once, so offers never expire.
                offer_timeout_ms: 60_000,
                max_consecutive_misses: 0,
                decline_cooldown_ms: 0,
                epoch: 0,
                channels: scenario.channels(),
                // The simulator studies waits, not refusals: no bound unless a
                // queue sets one.
                default_max_waiting: None,
            },
            specs.agents,
            specs.queues,
        );
        let seed = scenario.seed;
        let sources = scenario
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let stream = 3 * i as u64;
                QueueSource {
                    id: QueueId::from(q.id.as_str()),
                    channel: q.channel,
                    interarrival_mean_ms: 3_600_000.0 / q.arrivals_per_hour,
                    handle: q.handle_time.sampler(),
                    patience: q.patience.map(|p| p.sampler()),
                    threshold_ms: (q.service_level_secs * 1000.0).round() as Millis,
                    hours: q.hours.as_ref().and_then(|h| Schedule::parse(h).ok()),
                    arrivals: Rng::stream(seed, stream),
                    handle_rng: Rng::stream(seed, stream + 1),
                    patience_rng: Rng::stream(seed, stream + 2),
                    next_arrival_ms: 0.0,
                }
            })
            .collect();
        let from_ms = scenario.measure_from_ms();
        let until_ms = scenario.measure_until_ms();
        let batches = scenario.batches as usize;
        Self {
            engine,
            effects: Vec::new(),
            work: VecDeque::new(),
            now: 0,
            start_ms: scenario.start_ms,
            waiting_now: vec![0; scenario.queues.len()],
            peak_waiting: vec![0; scenario.queues.len()],
            seq: 0,
            heap: BinaryHeap::new(),
            tick_at: None,
            sources,
            contacts: HashMap::new(),
            agent_index,
            agents,
            agent_ids,
            from_ms,
            until_ms,
            stop_ms: until_ms.saturating_add(until_ms - from_ms),
            batches,
            batch_ms: (until_ms - from_ms) as f64 / batches as f64,
            queue_tally: vec![vec![QueueBatch::default(); batches]; scenario.queues.len()],
            group_tally: vec![vec![GroupBatch::default(); batches]; scenario.agents.len()],
            outstanding: 0,
            next_contact: 1,
            events: 0,
        }
    }

    fn run(mut self, progress: &mut dyn FnMut(&Progress)) -> Result<Tally, SimError> {
        for agent_id in self.agent_ids.clone() {
            let what = format!("agent {agent_id} going available");
            self.apply(
                Event::SetPresence {
                    agent_id,
                    presence: Presence::Available,
                },
                || what,
            )?;
        }
        for q in 0..self.sources.len() {
            self.schedule_arrival(q);
        }
        while let Some(Reverse((at, _, pending))) = self.heap.pop() {
            if at >= self.until_ms && (self.outstanding == 0 || at > self.stop_ms) {
                break;
            }
            self.now = at;
            match pending {
                Pending::Arrival(q) => self.arrive(q)?,
                Pending::Abandon(id) => self.abandon(id)?,
                Pending::HandleDone(id) => self.finish(id)?,
                Pending::Tick => {
                    if self.tick_at == Some(at) {
                        self.tick_at = None;
                    }
                    self.apply(Event::Tick, || "a tick".to_owned())?;
                }
            }
            if let Some(deadline) = self
                .engine
                .next_deadline()
                .map(|d| d.saturating_sub(self.start_ms))
                && self.tick_at.is_none_or(|t| deadline < t)
            {
                self.tick_at = Some(deadline);
                self.push(deadline.max(self.now), Pending::Tick);
            }
            self.events += 1;
            if self.events.is_multiple_of(PROGRESS_EVERY) {
                progress(&self.progress());
            }
        }
        // Nothing changed between the last event and the end of the measured
        // period (or the stop), so every agent's state holds up to there.
        let end = self.until_ms;
        for agent in 0..self.agents.len() {
            self.account(agent, end);
        }
        let mut unresolved = vec![0; self.sources.len()];
        for live in self.contacts.values() {
            if live.batch.is_some() && live.agent.is_none() {
                unresolved[live.queue] += 1;
            }
        }
        self.now = self.now.max(self.until_ms);
        progress(&self.progress());
        Ok(Tally {
            queues: self.queue_tally,
            unresolved,
            peak_waiting: self.peak_waiting,
            groups: self.group_tally,
            batch_ms: self.batch_ms,
            events: self.events,
            contacts: self.next_contact - 1,
            ended_ms: self.now,
        })
    }

    fn progress(&self) -> Progress {
        Progress {
            virtual_ms: self.now,
            until_ms: self.until_ms,
            contacts: self.next_contact - 1,
        }
    }

    fn push(&mut self, at: Millis, pending: Pending) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, pending)));
    }

    fn schedule_arrival(&mut self, q: usize) {
        let source = &mut self.sources[q];
        source.next_arrival_ms += source.arrivals.exponential(source.interarrival_mean_ms);
        let at = source.next_arrival_ms.round() as Millis;
        self.push(at, Pending::Arrival(q));
    }

    fn batch_of(&self, at: Millis) -> Option<usize> {
        if at < self.from_ms || at >= self.until_ms {
            return None;
        }
        let b = ((at - self.from_ms) as f64 / self.batch_ms) as usize;
        Some(b.min(self.batches - 1))
    }

    fn arrive(&mut self, q: usize) -> Result<(), SimError> {
        let now = self.now;
        let n = self.next_contact;
        self.next_contact += 1;
        let id = ConversationId::from(format!("c{n}"));
        let source = &mut self.sources[q];
        let handle_ms = source.handle.sample_ms(&mut source.handle_rng).round() as Millis;
        let patience_ms = source
            .patience
            .map(|p| p.sample_ms(&mut source.patience_rng).round() as Millis);
        let (queue, channel) = (source.id.clone(), source.channel);
        let batch = self.batch_of(now);
        if let Some(b) = batch {
            self.queue_tally[q][b].offered += 1;
            self.outstanding += 1;
        }
        self.waiting_now[q] += 1;
        self.contacts.insert(
            id.clone(),
            Live {
                queue: q,
                arrived_ms: now,
                handle_ms,
                batch,
                agent: None,
            },
        );
        self.apply(
            Event::ContactArrived {
                conversation_id: id.clone(),
                queue,
                channel,
                queued_at_ms: self.start_ms.saturating_add(now),
                preferred_agent: None,
                priority: 0,
                language: None,
            },
            || format!("the arrival of {id}"),
        )?;
        if batch.is_some() {
            self.peak_waiting[q] = self.peak_waiting[q].max(self.waiting_now[q]);
        }
        if self.contacts.get(&id).is_some_and(|c| c.agent.is_none()) {
            if let Some(b) = batch {
                self.queue_tally[q][b].waited += 1;
            }
            if let Some(patience) = patience_ms {
                self.push(now.saturating_add(patience), Pending::Abandon(id));
            }
        }
        self.schedule_arrival(q);
        Ok(())
    }

    fn abandon(&mut self, id: ConversationId) -> Result<(), SimError> {
        // Answered in time: the patience no longer matters.
        if self.contacts.get(&id).is_none_or(|c| c.agent.is_some()) {
            return Ok(());
        }
        self.apply(
            Event::ContactReleased {
                conversation_id: id.clone(),
            },
            || format!("the abandonment of {id}"),
        )?;
        let live = self.contacts.remove(&id);
        if let Some(live) = &live {
            self.waiting_now[live.queue] -= 1;
        }
        if let Some(live) = live
            && let Some(b) = live.batch
        {
            let tally = &mut self.queue_tally[live.queue][b];
            tally.abandoned += 1;
            tally.wait_ms += (self.now - live.arrived_ms) as f64;
            self.outstanding -= 1;
        }
        Ok(())
    }

    fn finish(&mut self, id: ConversationId) -> Result<(), SimError> {
        let Some(live) = self.contacts.remove(&id) else {
            return Ok(());
        };
        if let Some(agent) = live.agent {
            self.account(agent, self.now);
            self.agents[agent].load -= 1;
        }
        self.apply(
            Event::ContactReleased {
                conversation_id: id.clone(),
            },
            || format!("the end of handling {id}"),
        )
    }

    /// Applies an event and carries out its effects: offers are accepted at
    /// once, assignments start the handle time. `what` names the event in
    /// the error, should the engine refuse it (formatted only then).
    fn apply(&mut self, event: Event, what: impl FnOnce() -> String) -> Result<(), SimError> {
        let now = self.start_ms.saturating_add(self.now);
        // Buffers kept across events: a long run applies millions.
        let mut work = std::mem::take(&mut self.work);
        work.clear();
        let mut effects = std::mem::take(&mut self.effects);
        effects.clear();
        self.engine
            .apply_into(now, event, &mut effects)
            .map_err(|source| SimError::Engine {
                what: what(),
                at_ms: now,
                source,
            })?;
        work.extend(effects.drain(..));
        while let Some(effect) = work.pop_front() {
            match effect {
                Effect::Offered(offer) => {
                    self.engine
                        .apply_into(
                            now,
                            Event::Accept {
                                agent_id: offer.agent_id,
                                offer_id: offer.offer_id,
                            },
                            &mut effects,
                        )
                        // The engine's reason names the offer.
                        .map_err(|source| SimError::Engine {
                            what: "the acceptance of an offer".to_owned(),
                            at_ms: now,
                            source,
                        })?;
                    work.extend(effects.drain(..));
                }
                Effect::Assigned {
                    conversation_id,
                    agent_id,
                    ..
                } => self.answered(conversation_id, &agent_id),
                Effect::OfferRescinded { .. }
                | Effect::Queued { .. }
                | Effect::Requeued { .. }
                | Effect::Unassigned { .. }
                | Effect::Removed { .. }
                | Effect::Refused { .. }
                | Effect::QueueClosed { .. }
                | Effect::PresenceChanged { .. } => {}
            }
        }
        self.work = work;
        self.effects = effects;
        Ok(())
    }

    fn answered(&mut self, id: ConversationId, agent_id: &AgentId) {
        let now = self.now;
        let Some(&agent) = self.agent_index.get(agent_id) else {
            return;
        };
        let Some(live) = self.contacts.get_mut(&id) else {
            return;
        };
        live.agent = Some(agent);
        let (queue, batch, wait_ms, handle_ms) = (
            live.queue,
            live.batch,
            now - live.arrived_ms,
            live.handle_ms,
        );
        self.waiting_now[queue] -= 1;
        // As the router counts it: from the later of the arrival and the
        // queue's current opening.
        let counted_ms = match &self.sources[queue].hours {
            Some(hours) => hours
                .opened_at(self.start_ms.saturating_add(now))
                .map_or(wait_ms, |opened| {
                    wait_ms.min(self.start_ms.saturating_add(now) - opened)
                }),
            None => wait_ms,
        };
        if let Some(b) = batch {
            let tally = &mut self.queue_tally[queue][b];
            tally.answered += 1;
            tally.answered_wait_ms += wait_ms as f64;
            tally.wait_ms += wait_ms as f64;
            if counted_ms <= self.sources[queue].threshold_ms {
                tally.answered_in_time += 1;
            }
            self.outstanding -= 1;
        }
        self.account(agent, now);
        self.agents[agent].load += 1;
        self.push(now.saturating_add(handle_ms), Pending::HandleDone(id));
    }

    /// Adds an agent's busy time and load since its last change, up to `to`,
    /// to its group's batches (only the measured period counts).
    fn account(&mut self, agent: usize, to: Millis) {
        let clock = &mut self.agents[agent];
        let (group, load, from) = (clock.group, clock.load, clock.since_ms);
        clock.since_ms = to;
        if load == 0 {
            return;
        }
        let origin = self.from_ms as f64;
        let end = to.min(self.until_ms) as f64;
        let mut t = from.max(self.from_ms) as f64;
        let mut b = (((t - origin) / self.batch_ms) as usize).min(self.batches - 1);
        while t < end && b < self.batches {
            let boundary = if b + 1 == self.batches {
                end
            } else {
                origin + (b + 1) as f64 * self.batch_ms
            };
            let stop = boundary.min(end);
            if stop > t {
                let tally = &mut self.group_tally[group][b];
                tally.busy_ms += stop - t;
                tally.load_ms += (stop - t) * f64::from(load);
                t = stop;
            }
            b += 1;
        }
    }
}
