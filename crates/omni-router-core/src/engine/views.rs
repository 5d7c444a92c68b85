//! Read-only views of the engine (agents, queues, contacts, the waiting
//! order) and the explanation of each conversation's decisions.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

use crate::agent::{AgentSpec, AgentView};
use crate::channels::PerChannel;
use crate::contact::{ContactState, ContactView, Slot, WaitKey};
use crate::explain::{self, DecisionRecord, Names};
use crate::queue::{QueueSpec, QueueView, StepView};

use super::Engine;
use super::state::AgentState;

impl Engine {
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
            languages: self.lang_names(agent),
            capacity: self
                .by_channel(&agent.capacity)
                .filter(|(_, n)| *n > 0)
                .collect(),
            total: agent.total,
        })
    }

    /// A per-channel record as (channel, value) on every channel routed.
    fn by_channel<'a>(
        &'a self,
        values: &'a PerChannel<u32>,
    ) -> impl Iterator<Item = (Channel, u32)> + 'a {
        self.chans
            .all()
            .iter()
            .enumerate()
            .map(|(ch, channel)| (*channel, values[ch]))
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
            let n = self.chans.len();
            let u: u64 = (0..n).map(|c| u64::from(agent.occupied(c))).sum();
            let mut cap: u64 = (0..n).map(|c| u64::from(agent.capacity[c])).sum();
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
                for set in queue.waiting.iter() {
                    for key in set {
                        oldest = Some(oldest.map_or(key.at, |o| o.min(key.at)));
                        bands[queue.step_at(now_ms.saturating_sub(key.at))] += 1;
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
                    offered: queue.offered,
                    max_waiting: queue.max_waiting,
                    longest_wait_ms,
                    oldest_step: oldest
                        .map(|t| queue.step_at(now_ms.saturating_sub(t)) as u32 + 1)
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
            priority: contact.priority,
            language: contact.lang.map(|l| self.langs.name(l).to_owned()),
            preferred_agent: contact.preferred_agent.as_deref().cloned(),
            state,
            step: explain::shown_step(contact.step),
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
        let mut keys: Vec<(Reverse<u32>, WaitKey)> = self
            .queues
            .iter()
            .flat_map(|q| {
                q.waiting
                    .iter()
                    .flat_map(move |set| set.iter().map(move |k| (Reverse(q.spec.priority), *k)))
            })
            .collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|k| self.contact_ref(k.1.slot).map(|c| c.id.clone()))
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

    pub(super) fn skill_map(&self, agent: &AgentState) -> BTreeMap<String, u8> {
        agent
            .skills
            .iter()
            .map(|(s, l)| (self.skills.name(*s).to_owned(), *l))
            .collect()
    }

    pub(super) fn lang_names(&self, agent: &AgentState) -> Vec<String> {
        agent
            .langs
            .iter()
            .map(|l| self.langs.name(*l).to_owned())
            .collect()
    }

    pub(super) fn agent_view(&self, a: u32) -> AgentView {
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
            load: self.by_channel(&agent.load).collect(),
            offered: self.by_channel(&agent.offered).collect(),
            capacity: self.by_channel(&agent.capacity).collect(),
            total: agent.total,
            offers: agent
                .offers
                .iter()
                .filter_map(|seq| self.offers.get(*seq).map(|l| self.offer_of(l)))
                .collect(),
            assigned,
            skills: self.skill_map(agent),
            languages: self.lang_names(agent),
            consecutive_misses: agent.consecutive_misses,
            last_assigned_ms: agent.last_assigned_ms,
        }
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
