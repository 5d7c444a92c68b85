//! The engine: applies events to agents, queues, contacts and offers, then
//! matches waiting contacts to eligible agents until no match is left.
//!
//! Every handler checks all its preconditions before it changes anything, so
//! a refused event leaves the engine as it was.
//!
//! Decisions beyond the design's rules:
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
//!   fit (capacity or skills) as [`RescindReason::AgentUnavailable`];
//!   assigned conversations stay, even beyond a reduced capacity.
//! - A restored assignment ([`Event::ContactRestored`] with an agent) is
//!   accepted even if its queue is no longer configured, so its agent's
//!   capacity stays occupied; a restored waiting contact needs its queue.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, CustomerId, QueueId};

use crate::agent::{AgentSpec, AgentState, AgentView, Presence};
use crate::config::EngineConfig;
use crate::contact::{Contact, ContactState, ContactView, Slot, WaitKey};
use crate::error::EngineError;
use crate::event::{Effect, Event};
use crate::explain::{DecisionLog, DecisionRecord, MAX_RELEASED_CONVERSATIONS};
use crate::offer::{LiveOffer, OfferBook, RescindReason};
use crate::queue::{QueueSpec, QueueState, QueueView};
use crate::select::{Candidate, Selection, Winner};

/// The routing engine: a deterministic state machine.
///
/// Feed it [`Event`]s with the current time through [`Engine::apply`] and
/// carry out the returned [`Effect`]s in order. Call [`Event::Tick`] at (or
/// after) [`Engine::next_deadline`] so offers expire on time.
///
/// Time never runs backwards inside the engine: a `now_ms` earlier than one
/// already seen is taken as the latest one seen.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    now_ms: Millis,
    agents: BTreeMap<AgentId, AgentState>,
    queues: BTreeMap<QueueId, QueueState>,
    contacts: HashMap<ConversationId, Contact>,
    /// Waiting contacts in routing order.
    waiting: BTreeSet<WaitKey>,
    offers: OfferBook,
    /// (ends at, contact, agent) for every decline/miss cooldown.
    cooldowns: BTreeSet<(Millis, ConversationId, AgentId)>,
    log: DecisionLog,
}

/// A contact as it enters the engine.
struct Admission {
    conversation_id: ConversationId,
    customer_id: CustomerId,
    queue: QueueId,
    channel: Channel,
    queued_at_ms: Millis,
    preferred_agent: Option<AgentId>,
    assigned_agent: Option<AgentId>,
    restored: bool,
}

impl Engine {
    /// An engine with these agents (all offline) and queues, and no contacts.
    /// A later spec with an id already seen replaces the earlier one.
    pub fn new(config: EngineConfig, agents: Vec<AgentSpec>, queues: Vec<QueueSpec>) -> Self {
        let offers = OfferBook::new(config.epoch);
        Self {
            config,
            now_ms: Millis::MIN,
            agents: agents
                .into_iter()
                .map(|spec| (spec.id.clone(), AgentState::new(spec)))
                .collect(),
            queues: queues
                .into_iter()
                .map(|spec| (spec.id.clone(), QueueState::new(spec)))
                .collect(),
            contacts: HashMap::new(),
            waiting: BTreeSet::new(),
            offers,
            cooldowns: BTreeSet::new(),
            log: DecisionLog::new(MAX_RELEASED_CONVERSATIONS),
        }
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Applies one event at `now_ms` and returns what to do, in order. After
    /// it returns, no waiting contact has an eligible agent. On error nothing
    /// changed.
    pub fn apply(&mut self, now_ms: Millis, event: Event) -> Result<Vec<Effect>, EngineError> {
        let now = now_ms.max(self.now_ms);
        let mut fx = Vec::new();
        match event {
            Event::ContactArrived {
                conversation_id,
                customer_id,
                queue,
                channel,
                queued_at_ms,
                preferred_agent,
            } => self.admit(
                now,
                Admission {
                    conversation_id,
                    customer_id,
                    queue,
                    channel,
                    queued_at_ms,
                    preferred_agent,
                    assigned_agent: None,
                    restored: false,
                },
                &mut fx,
            )?,
            Event::ContactRestored {
                conversation_id,
                customer_id,
                queue,
                channel,
                queued_at_ms,
                preferred_agent,
                assigned_agent,
            } => self.admit(
                now,
                Admission {
                    conversation_id,
                    customer_id,
                    queue,
                    channel,
                    queued_at_ms,
                    preferred_agent,
                    assigned_agent,
                    restored: true,
                },
                &mut fx,
            )?,
            Event::ContactReleased { conversation_id } => {
                self.release(now, &conversation_id, &mut fx)?
            }
            Event::SetPresence { agent_id, presence } => {
                self.set_presence(now, &agent_id, presence, &mut fx)?
            }
            Event::Accept { agent_id, offer_id } => {
                self.accept(now, &agent_id, &offer_id, &mut fx)?
            }
            Event::Decline { agent_id, offer_id } => {
                self.decline(now, &agent_id, &offer_id, &mut fx)?
            }
            Event::Tick => self.tick(now, &mut fx),
        }
        self.now_ms = now;
        self.match_waiting(now, &mut fx);
        Ok(fx)
    }

    /// The earliest time at which a [`Event::Tick`] would do something (an
    /// offer expiring, a cooldown ending), if any.
    pub fn next_deadline(&self) -> Option<Millis> {
        let cooldown = self.cooldowns.first().map(|(at, _, _)| *at);
        match (self.offers.next_expiry(), cooldown) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Adds an agent (offline) or replaces an agent's spec, keeping its
    /// presence, assignments and live offers. Offers that no longer fit the
    /// new capacity or skills are rescinded ([`RescindReason::AgentUnavailable`]);
    /// then matching runs.
    pub fn upsert_agent(&mut self, now_ms: Millis, spec: AgentSpec) -> Vec<Effect> {
        let now = now_ms.max(self.now_ms);
        self.now_ms = now;
        let mut fx = Vec::new();
        let id = spec.id.clone();
        match self.agents.get_mut(&id) {
            Some(agent) => {
                agent.spec = spec;
                self.revalidate_agent_offers(now, &id, &mut fx);
            }
            None => {
                self.agents.insert(id, AgentState::new(spec));
            }
        }
        self.match_waiting(now, &mut fx);
        fx
    }

    /// Adds a queue or replaces a queue's spec. Waiting contacts take the new
    /// priority; live offers to agents who no longer meet the requirements
    /// are rescinded ([`RescindReason::AgentUnavailable`]); then matching runs.
    pub fn upsert_queue(&mut self, now_ms: Millis, spec: QueueSpec) -> Vec<Effect> {
        let now = now_ms.max(self.now_ms);
        self.now_ms = now;
        let mut fx = Vec::new();
        let id = spec.id.clone();
        match self.queues.get_mut(&id) {
            Some(queue) => {
                let (old, new) = (queue.spec.priority, spec.priority);
                if old != new {
                    for (queued_at_ms, contact) in &queue.waiting {
                        let mut key = WaitKey {
                            priority: Reverse(old),
                            queued_at_ms: *queued_at_ms,
                            id: contact.clone(),
                        };
                        self.waiting.remove(&key);
                        key.priority = Reverse(new);
                        self.waiting.insert(key);
                    }
                }
                queue.spec = spec;
                let unfit: Vec<String> = self
                    .offers
                    .all()
                    .into_iter()
                    .filter(|live| live.offer.queue == id)
                    .filter(|live| {
                        self.agents.get(&live.offer.agent_id).is_none_or(|agent| {
                            self.queues.get(&id).is_some_and(|q| {
                                agent.spec.proficiency_for(&q.spec.requirements).is_none()
                            })
                        })
                    })
                    .map(|live| live.offer.offer_id.clone())
                    .collect();
                for offer_id in unfit {
                    if let Some(live) = self.take_offer(&offer_id) {
                        self.requeue(now, live, RescindReason::AgentUnavailable, &mut fx);
                    }
                }
            }
            None => {
                self.queues.insert(id, QueueState::new(spec));
            }
        }
        self.match_waiting(now, &mut fx);
        fx
    }

    /// One agent, if known.
    pub fn agent(&self, id: &AgentId) -> Option<AgentView> {
        self.agents.get(id).map(|agent| self.agent_view(agent))
    }

    /// Every agent, sorted by id.
    pub fn agents(&self) -> Vec<AgentView> {
        self.agents
            .values()
            .map(|agent| self.agent_view(agent))
            .collect()
    }

    /// Every queue, sorted by id, with waits measured at `now_ms`.
    pub fn queues(&self, now_ms: Millis) -> Vec<QueueView> {
        self.queues.values().map(|q| q.view(now_ms)).collect()
    }

    /// One contact, if it is in the engine (waiting, offered or assigned).
    pub fn contact(&self, id: &ConversationId) -> Option<ContactView> {
        let contact = self.contacts.get(id)?;
        let state = match &contact.slot {
            Slot::Waiting => ContactState::Waiting,
            Slot::Offered(offer_id) => match self.offers.get(offer_id) {
                Some(live) => ContactState::Offered(live.offer.clone()),
                None => ContactState::Waiting,
            },
            Slot::Assigned(agent) => ContactState::Assigned(agent.clone()),
        };
        Some(ContactView {
            id: contact.id.clone(),
            customer_id: contact.customer_id.clone(),
            queue: contact.queue.clone(),
            channel: contact.channel,
            queued_at_ms: contact.queued_at_ms,
            preferred_agent: contact.preferred_agent.clone(),
            state,
            excluded: contact.excluded.clone(),
        })
    }

    /// Waiting contacts in routing order: higher priority first, then older,
    /// then conversation id.
    pub fn waiting(&self) -> Vec<ConversationId> {
        self.waiting.iter().map(|key| key.id.clone()).collect()
    }

    /// The decisions made about a conversation, newest first. Kept for
    /// released conversations too, within bounds (see [`crate::explain`]).
    pub fn explain(&self, id: &ConversationId) -> Vec<DecisionRecord> {
        self.log.newest_first(id)
    }

    fn agent_view(&self, agent: &AgentState) -> AgentView {
        let offers = agent
            .offers
            .values()
            .filter_map(|id| self.offers.get(id))
            .map(|live| live.offer.clone())
            .collect();
        agent.view(offers)
    }

    fn admit(
        &mut self,
        now: Millis,
        a: Admission,
        fx: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        if self.contacts.contains_key(&a.conversation_id) {
            return Err(EngineError::DuplicateContact(a.conversation_id));
        }
        // An assignment restored after a restart keeps its agent's capacity
        // occupied even if its queue left the configuration.
        let queue = self.queues.get(&a.queue);
        if queue.is_none() && a.assigned_agent.is_none() {
            return Err(EngineError::UnknownQueue(a.queue));
        }
        let priority = queue.map(|q| q.spec.priority).unwrap_or(0);
        if let Some(agent) = &a.assigned_agent
            && !self.agents.contains_key(agent)
        {
            return Err(EngineError::UnknownAgent(agent.clone()));
        }

        let id = a.conversation_id;
        self.log.reopened(&id);
        let mut contact = Contact {
            id: id.clone(),
            customer_id: a.customer_id,
            queue: a.queue,
            channel: a.channel,
            queued_at_ms: a.queued_at_ms,
            preferred_agent: a.preferred_agent,
            slot: Slot::Waiting,
            excluded: BTreeMap::new(),
        };
        let summary = match a.assigned_agent {
            Some(agent_id) => {
                if let Some(agent) = self.agents.get_mut(&agent_id) {
                    let i = contact.channel.index();
                    agent.load[i] = agent.load[i].saturating_add(1);
                    agent.assigned.insert(id.clone());
                }
                let summary = format!("restored as assigned to {agent_id}");
                contact.slot = Slot::Assigned(agent_id);
                self.contacts.insert(id.clone(), contact);
                summary
            }
            None => {
                let verb = if a.restored {
                    "restored to"
                } else {
                    "queued in"
                };
                let summary = format!("{verb} {} (priority {priority})", contact.queue);
                self.contacts.insert(id.clone(), contact);
                self.enqueue(&id);
                fx.push(Effect::Queued {
                    conversation_id: id.clone(),
                });
                summary
            }
        };
        self.log.record(&id, now, summary);
        Ok(())
    }

    fn release(
        &mut self,
        now: Millis,
        id: &ConversationId,
        fx: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        let Some(contact) = self.contacts.remove(id) else {
            return Err(EngineError::UnknownContact(id.clone()));
        };
        let summary = match &contact.slot {
            Slot::Waiting => {
                self.unlist(&contact);
                "released while waiting".to_owned()
            }
            Slot::Offered(offer_id) => {
                let live = self.take_offer(offer_id);
                let summary = match &live {
                    Some(live) => format!("released while offered to {}", live.offer.agent_id),
                    None => "released while offered".to_owned(),
                };
                if let Some(live) = live {
                    fx.push(Effect::OfferRescinded {
                        offer: live.offer,
                        reason: RescindReason::Released,
                    });
                }
                summary
            }
            Slot::Assigned(agent_id) => {
                if let Some(agent) = self.agents.get_mut(agent_id) {
                    let i = contact.channel.index();
                    agent.load[i] = agent.load[i].saturating_sub(1);
                    agent.assigned.remove(id);
                }
                format!("released by {agent_id}")
            }
        };
        for (agent, until) in &contact.excluded {
            self.cooldowns.remove(&(*until, id.clone(), agent.clone()));
        }
        fx.push(Effect::Removed {
            conversation_id: id.clone(),
        });
        self.log.record(id, now, summary);
        self.log.released(id);
        Ok(())
    }

    fn set_presence(
        &mut self,
        now: Millis,
        agent_id: &AgentId,
        presence: Presence,
        fx: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        let Some(agent) = self.agents.get_mut(agent_id) else {
            return Err(EngineError::UnknownAgent(agent_id.clone()));
        };
        if presence.is_available() && !agent.presence.is_available() {
            // Coming back starts a new streak.
            agent.consecutive_misses = 0;
        }
        agent.presence = presence;
        if !agent.presence.is_available() {
            self.withdraw_all(now, agent_id, fx);
        }
        Ok(())
    }

    /// Checks that `agent_id` may settle `offer_id` at `now`.
    fn check_offer(
        &self,
        now: Millis,
        agent_id: &AgentId,
        offer_id: &str,
    ) -> Result<(), EngineError> {
        if !self.agents.contains_key(agent_id) {
            return Err(EngineError::UnknownAgent(agent_id.clone()));
        }
        let Some(live) = self.offers.get(offer_id) else {
            return Err(EngineError::UnknownOffer(offer_id.to_owned()));
        };
        if live.offer.agent_id != *agent_id {
            return Err(EngineError::OfferNotForAgent {
                offer_id: offer_id.to_owned(),
                agent_id: agent_id.clone(),
                offered_to: live.offer.agent_id.clone(),
            });
        }
        if now >= live.offer.expires_at_ms {
            return Err(EngineError::OfferExpired {
                offer_id: offer_id.to_owned(),
                expires_at_ms: live.offer.expires_at_ms,
            });
        }
        Ok(())
    }

    fn accept(
        &mut self,
        now: Millis,
        agent_id: &AgentId,
        offer_id: &str,
        fx: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        self.check_offer(now, agent_id, offer_id)?;
        let Some(live) = self.take_offer(offer_id) else {
            return Err(EngineError::UnknownOffer(offer_id.to_owned()));
        };
        let offer = live.offer;
        if let Some(agent) = self.agents.get_mut(agent_id) {
            let i = offer.channel.index();
            agent.load[i] = agent.load[i].saturating_add(1);
            agent.assigned.insert(offer.conversation_id.clone());
            agent.consecutive_misses = 0;
            agent.last_assigned_ms = Some(now);
        }
        if let Some(contact) = self.contacts.get_mut(&offer.conversation_id) {
            contact.slot = Slot::Assigned(agent_id.clone());
        }
        self.log.record(
            &offer.conversation_id,
            now,
            format!("assigned to {agent_id} (accepted {})", offer.offer_id),
        );
        fx.push(Effect::Assigned {
            conversation_id: offer.conversation_id,
            agent_id: agent_id.clone(),
            offer_id: offer.offer_id,
        });
        Ok(())
    }

    fn decline(
        &mut self,
        now: Millis,
        agent_id: &AgentId,
        offer_id: &str,
        fx: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        self.check_offer(now, agent_id, offer_id)?;
        let Some(live) = self.take_offer(offer_id) else {
            return Err(EngineError::UnknownOffer(offer_id.to_owned()));
        };
        if let Some(agent) = self.agents.get_mut(agent_id) {
            // An answer, even a no, ends a streak of misses.
            agent.consecutive_misses = 0;
        }
        self.exclude(now, &live.offer.conversation_id, agent_id);
        self.requeue(now, live, RescindReason::Declined, fx);
        Ok(())
    }

    fn tick(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        let max_misses = self.config.max_consecutive_misses;
        let mut tripped: Vec<AgentId> = Vec::new();
        for offer_id in self.offers.due(now) {
            let Some(live) = self.take_offer(&offer_id) else {
                continue;
            };
            let agent_id = live.offer.agent_id.clone();
            if let Some(agent) = self.agents.get_mut(&agent_id) {
                agent.consecutive_misses = agent.consecutive_misses.saturating_add(1);
                if max_misses > 0
                    && agent.consecutive_misses >= max_misses
                    && agent.presence.is_available()
                    && !tripped.contains(&agent_id)
                {
                    tripped.push(agent_id.clone());
                }
            }
            self.exclude(now, &live.offer.conversation_id, &agent_id);
            self.requeue(now, live, RescindReason::Timeout, fx);
        }
        for agent_id in tripped {
            let Some(agent) = self.agents.get_mut(&agent_id) else {
                continue;
            };
            let presence = Presence::Away {
                reason: Some(format!(
                    "missed {} offers in a row",
                    agent.consecutive_misses
                )),
            };
            agent.presence = presence.clone();
            fx.push(Effect::PresenceChanged {
                agent_id: agent_id.clone(),
                presence,
            });
            self.withdraw_all(now, &agent_id, fx);
        }
        while let Some((until, _, _)) = self.cooldowns.first()
            && *until <= now
        {
            let Some((until, contact, agent)) = self.cooldowns.pop_first() else {
                break;
            };
            if let Some(contact) = self.contacts.get_mut(&contact)
                && contact.excluded.get(&agent) == Some(&until)
            {
                contact.excluded.remove(&agent);
            }
        }
    }

    /// Rescinds every live offer of an agent who is no longer available.
    fn withdraw_all(&mut self, now: Millis, agent_id: &AgentId, fx: &mut Vec<Effect>) {
        let offer_ids: Vec<String> = self
            .agents
            .get(agent_id)
            .map(|agent| agent.offers.values().cloned().collect())
            .unwrap_or_default();
        for offer_id in offer_ids {
            if let Some(live) = self.take_offer(&offer_id) {
                self.requeue(now, live, RescindReason::AgentUnavailable, fx);
            }
        }
    }

    /// Rescinds the agent's offers that no longer fit its capacity or skills,
    /// keeping the oldest ones that do.
    fn revalidate_agent_offers(&mut self, now: Millis, agent_id: &AgentId, fx: &mut Vec<Effect>) {
        let Some(agent) = self.agents.get(agent_id) else {
            return;
        };
        let mut used = agent.load;
        let mut used_total: u64 = used.iter().map(|n| u64::from(*n)).sum();
        let mut unfit = Vec::new();
        for offer_id in agent.offers.values() {
            let Some(live) = self.offers.get(offer_id) else {
                continue;
            };
            let i = live.offer.channel.index();
            let skilled = self
                .queues
                .get(&live.offer.queue)
                .is_some_and(|q| agent.spec.proficiency_for(&q.spec.requirements).is_some());
            let fits = used[i] < agent.spec.capacity[i]
                && agent.spec.total.is_none_or(|t| used_total < u64::from(t));
            if skilled && fits {
                used[i] = used[i].saturating_add(1);
                used_total += 1;
            } else {
                unfit.push(offer_id.clone());
            }
        }
        for offer_id in unfit {
            if let Some(live) = self.take_offer(&offer_id) {
                self.requeue(now, live, RescindReason::AgentUnavailable, fx);
            }
        }
    }

    /// Keeps `agent_id` away from the contact for the decline cooldown.
    fn exclude(&mut self, now: Millis, contact_id: &ConversationId, agent_id: &AgentId) {
        if self.config.decline_cooldown_ms <= 0 {
            return;
        }
        let Some(contact) = self.contacts.get_mut(contact_id) else {
            return;
        };
        let until = now.saturating_add(self.config.decline_cooldown_ms);
        if let Some(old) = contact.excluded.insert(agent_id.clone(), until) {
            self.cooldowns
                .remove(&(old, contact_id.clone(), agent_id.clone()));
        }
        self.cooldowns
            .insert((until, contact_id.clone(), agent_id.clone()));
    }

    /// Removes a live offer and releases the capacity it reserved. The
    /// contact's state is the caller's to update.
    fn take_offer(&mut self, offer_id: &str) -> Option<LiveOffer> {
        let live = self.offers.remove(offer_id)?;
        if let Some(agent) = self.agents.get_mut(&live.offer.agent_id) {
            agent.offers.remove(&live.seq);
            let i = live.offer.channel.index();
            agent.offered[i] = agent.offered[i].saturating_sub(1);
        }
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
        let offer = live.offer;
        let id = offer.conversation_id.clone();
        let Some(contact) = self.contacts.get_mut(&id) else {
            return;
        };
        contact.slot = Slot::Waiting;
        let cooldown = contact
            .excluded
            .get(&offer.agent_id)
            .filter(|until| **until > now)
            .map(|until| format!(" ({} excluded until {until})", offer.agent_id))
            .unwrap_or_default();
        self.enqueue(&id);
        let what = match reason {
            RescindReason::Declined => format!("declined by {}", offer.agent_id),
            RescindReason::Timeout => format!("offer to {} timed out", offer.agent_id),
            RescindReason::AgentUnavailable => {
                format!("offer to {} rescinded: agent unavailable", offer.agent_id)
            }
            RescindReason::Released => format!("offer to {} rescinded", offer.agent_id),
        };
        self.log.record(
            &id,
            now,
            format!("{what}; back in queue at original age{cooldown}"),
        );
        fx.push(Effect::OfferRescinded { offer, reason });
        fx.push(Effect::Queued {
            conversation_id: id,
        });
    }

    fn priority_of(&self, queue: &QueueId) -> u32 {
        self.queues.get(queue).map(|q| q.spec.priority).unwrap_or(0)
    }

    /// Adds a contact already in `contacts` to the waiting order.
    fn enqueue(&mut self, id: &ConversationId) {
        let Some(contact) = self.contacts.get(id) else {
            return;
        };
        self.waiting
            .insert(contact.wait_key(self.priority_of(&contact.queue)));
        if let Some(queue) = self.queues.get_mut(&contact.queue) {
            queue.waiting.insert((contact.queued_at_ms, id.clone()));
        }
    }

    /// Takes a contact out of the waiting order.
    fn unlist(&mut self, contact: &Contact) {
        self.waiting
            .remove(&contact.wait_key(self.priority_of(&contact.queue)));
        if let Some(queue) = self.queues.get_mut(&contact.queue) {
            queue
                .waiting
                .remove(&(contact.queued_at_ms, contact.id.clone()));
        }
    }

    /// Offers waiting contacts, in routing order, to their best eligible
    /// agent, until no waiting contact has one.
    ///
    /// One pass is enough: offers only take capacity away, so a contact that
    /// had no eligible agent at its turn has none after later offers either.
    fn match_waiting(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        // Agents who could take something: everyone else is skipped.
        let mut open: Vec<AgentId> = self
            .agents
            .values()
            .filter(|agent| agent.is_open())
            .map(|agent| agent.spec.id.clone())
            .collect();
        let mut cursor: Option<WaitKey> = None;
        while !open.is_empty() {
            let next = match &cursor {
                None => self.waiting.first(),
                Some(key) => self
                    .waiting
                    .range((Bound::Excluded(key), Bound::Unbounded))
                    .next(),
            };
            let Some(key) = next.cloned() else {
                break;
            };
            let Some(winner) = self.select(now, &key.id, &open) else {
                cursor = Some(key);
                continue;
            };
            self.offer(now, &key.id, &winner, fx);
            if self.agents.get(&winner.agent).is_none_or(|a| !a.is_open()) {
                open.retain(|id| *id != winner.agent);
            }
            cursor = Some(key);
        }
    }

    /// The best eligible agent among `open` for a waiting contact.
    fn select(&self, now: Millis, contact_id: &ConversationId, open: &[AgentId]) -> Option<Winner> {
        let contact = self.contacts.get(contact_id)?;
        let queue = self.queues.get(&contact.queue)?;
        let mut selection = Selection::default();
        for agent in open.iter().filter_map(|id| self.agents.get(id)) {
            if !agent.presence.is_available()
                || !agent.has_room(contact.channel)
                || contact.excludes(&agent.spec.id, now)
            {
                continue;
            }
            let Some(proficiency) = agent.spec.proficiency_for(&queue.spec.requirements) else {
                continue;
            };
            selection.consider(Candidate {
                agent: &agent.spec.id,
                preferred: contact.preferred_agent.as_ref() == Some(&agent.spec.id),
                proficiency,
                occupied: agent.occupied(contact.channel),
                capacity: agent.spec.capacity[contact.channel.index()],
                last_assigned_ms: agent.last_assigned_ms,
            });
        }
        selection.finish()
    }

    /// Offers a waiting contact to the winner of its selection.
    fn offer(
        &mut self,
        now: Millis,
        contact_id: &ConversationId,
        winner: &Winner,
        fx: &mut Vec<Effect>,
    ) {
        let Some(contact) = self.contacts.get(contact_id).cloned() else {
            return;
        };
        self.unlist(&contact);
        let expires_at_ms = now.saturating_add(self.config.offer_timeout_ms);
        let live = self.offers.create(
            contact.id.clone(),
            winner.agent.clone(),
            contact.queue.clone(),
            contact.channel,
            expires_at_ms,
        );
        if let Some(agent) = self.agents.get_mut(&winner.agent) {
            agent.offers.insert(live.seq, live.offer.offer_id.clone());
            let i = contact.channel.index();
            agent.offered[i] = agent.offered[i].saturating_add(1);
        }
        if let Some(stored) = self.contacts.get_mut(contact_id) {
            stored.slot = Slot::Offered(live.offer.offer_id.clone());
        }
        let preferred_note = match &contact.preferred_agent {
            Some(preferred) if *preferred != winner.agent => {
                format!("; preferred agent {preferred} not eligible")
            }
            _ => String::new(),
        };
        self.log.record(
            contact_id,
            now,
            format!(
                "offered to {}: {} of {} agents eligible; {}{preferred_note}",
                winner.agent,
                winner.eligible,
                self.agents.len(),
                winner.rule
            ),
        );
        fx.push(Effect::Offered(live.offer));
    }
}
