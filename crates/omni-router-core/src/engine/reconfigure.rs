//! Agents and queues added or replaced while the engine runs, and what
//! each agent may serve (queues and the relaxation steps it meets).

use std::cmp::Reverse;

use omni_core::time::Millis;

use crate::agent::{AgentSpec, Presence};
use crate::channels::PerChannel;
use crate::compile::{Compiled, Term};
use crate::contact::Contact;
use crate::error::EngineError;
use crate::event::Effect;
use crate::index::NameId;
use crate::offer::RescindReason;
use crate::queue::{MAX_STEPS, QueueSpec, QueueStats};
use crate::select;
use crate::small::SmallList;

use super::Engine;
use super::state::{AgentState, QueuePace, QueueState};

impl Engine {
    /// Adds an agent (offline) or replaces an agent's spec, keeping its
    /// presence, assignments and live offers. Offers that no longer fit the
    /// new capacity or requirement are rescinded
    /// ([`RescindReason::AgentUnavailable`]); then matching runs. The spec
    /// is taken as given: check it first with [`Engine::validate_agent`]
    /// (capacity on a channel the engine does not route is ignored).
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
        self.match_changes(now, &mut fx);
        self.flush();
        fx
    }

    /// Checks an agent spec against the engine: valid on its own
    /// ([`AgentSpec::validate`]) and capacity only on channels the engine
    /// routes.
    pub fn validate_agent(&self, spec: &AgentSpec) -> Result<(), EngineError> {
        spec.validate().map_err(EngineError::InvalidSpec)?;
        match spec
            .capacity
            .keys()
            .find(|c| self.chans.slot(**c).is_none())
        {
            Some(channel) => Err(EngineError::UndeclaredChannel(*channel)),
            None => Ok(()),
        }
    }

    /// Checks a queue spec against the engine: valid on its own
    /// ([`QueueSpec::validate`]), overflow to a known queue and no overflow
    /// cycle.
    pub fn validate_queue(&self, spec: &QueueSpec) -> Result<(), EngineError> {
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
    /// is taken as given: check it first with [`Engine::validate_queue`] (an
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
                .flat_map(|set| set.iter().map(|k| k.slot))
                .collect();
            for c in waiting {
                self.unlist(c);
                self.list(now, c);
            }
        }
        self.match_changes(now, &mut fx);
        self.flush();
        fx
    }

    /// Inserts or replaces an agent's spec (not its live state); returns its
    /// slot. The caller reranks, recomputes queues and reindexes.
    pub(super) fn put_agent(&mut self, spec: AgentSpec) -> u32 {
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
        let n = self.chans.len();
        let mut capacity = PerChannel::new(n, 0);
        for (channel, room) in &spec.capacity {
            if let Some(ch) = self.chans.slot(*channel) {
                capacity[ch] = *room;
            }
        }
        if let Some(a) = self.agent_slots.get(&spec.id).copied() {
            self.unindex(a);
            self.reindex(a);
            let agent = &mut self.agents[a as usize];
            agent.name = spec.name;
            agent.skills = skills;
            agent.langs = langs;
            agent.capacity = capacity;
            agent.total = spec.total;
            return a;
        }
        let a = self.agents.len() as u32;
        self.agents.push(AgentState {
            id: spec.id.clone(),
            name: spec.name,
            skills,
            langs,
            capacity,
            total: spec.total,
            presence: Presence::Offline,
            load: PerChannel::new(n, 0),
            offered: PerChannel::new(n, 0),
            offers: SmallList::default(),
            assigned: SmallList::default(),
            last_assigned_ms: None,
            consecutive_misses: 0,
            rank: a,
            keys: PerChannel::new(n, 0),
            indexed: 0,
            channels: n as u8,
            pending: false,
            queues: Vec::new(),
        });
        self.agent_slots.insert(spec.id, a);
        a
    }

    /// Recomputes every agent's rank (its position in id order), rebuilding
    /// the index.
    /// The id of language `code` for a contact that requires it, interned
    /// (and the index grown) when no agent or queue named it yet; `None`
    /// for a code that is not 2-3 ASCII letters, which is ignored, so
    /// that outside input cannot grow the interner without bound.
    pub(super) fn intern_language(&mut self, code: &str) -> Option<NameId> {
        let plausible =
            (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphabetic());
        if !plausible {
            return None;
        }
        let id = self.langs.intern(&code.to_ascii_lowercase());
        self.index.grow(self.skills.len(), self.langs.len());
        Some(id)
    }

    pub(super) fn rerank(&mut self) {
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
    pub(super) fn put_queue(&mut self, spec: QueueSpec) -> u32 {
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
        let max_waiting = spec.max_waiting.or(self.config.default_max_waiting);
        let q = match self.queue_slots.get(&spec.id).copied() {
            Some(q) => {
                let queue = &mut self.queues[q as usize];
                queue.max_waiting = max_waiting;
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
                let n = self.chans.len();
                self.paces.push(QueuePace::new(n));
                self.queues.push(QueueState {
                    spec,
                    steps,
                    starts,
                    index_order,
                    waiting: PerChannel::new(n, Default::default()),
                    oldest: PerChannel::new(n, None),
                    stats: QueueStats::default(),
                    offered: 0,
                    max_waiting,
                    changed: 0,
                    hidden: false,
                    open: true,
                    opened_at: Millis::MIN,
                    hours_next: Millis::MAX,
                });
                q
            }
        };
        self.schedule_hours(q);
        q
    }

    /// Makes the index maintain the sets these requirements' covers use,
    /// rebuilding it if that adds any.
    pub(super) fn track(&mut self, steps: &[Compiled]) {
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
    pub(super) fn recompute_agent_queues(&mut self, a: u32) {
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
    pub(super) fn meets(&self, a: u32, q: u32, step: usize) -> bool {
        self.agents[a as usize]
            .queues
            .iter()
            .find(|(x, _)| *x == q)
            .is_some_and(|(_, mask)| mask & (1 << step) != 0)
    }

    pub(super) fn step_of(&self, contact: &Contact, now: Millis) -> usize {
        self.queues[contact.queue as usize].step_at(now.saturating_sub(contact.queued_at_ms))
    }
}
