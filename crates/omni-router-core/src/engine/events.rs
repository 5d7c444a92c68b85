//! The handler of each [`Event`](crate::Event), called by
//! [`Engine::apply`] once the event's preconditions hold.

use omni_core::time::Millis;
use omni_core::{AgentId, Channel, ConversationId, QueueId};

use crate::agent::Presence;
use crate::contact::{Contact, MAX_CONTACT_PRIORITY, NO_TIMER, Slot};
use crate::event::Effect;
use crate::explain::{OfferRec, ReleasedWhile, What};
use crate::offer::RescindReason;
use crate::queue::QueueSpec;

use super::Engine;
use super::matching::Choice;

/// A contact as it enters the engine.
pub(super) struct Admission {
    pub(super) conversation_id: ConversationId,
    pub(super) queue: QueueId,
    pub(super) channel: Channel,
    pub(super) queued_at_ms: Millis,
    pub(super) preferred_agent: Option<AgentId>,
    pub(super) priority: u8,
    pub(super) language: Option<String>,
    pub(super) assigned_agent: Option<AgentId>,
    pub(super) restored: bool,
    /// The conversation id's hash.
    pub(super) hash: u64,
}

impl Engine {
    pub(super) fn admit(&mut self, now: Millis, a: Admission, fx: &mut Vec<Effect>) {
        let assigned = a
            .assigned_agent
            .as_ref()
            .and_then(|id| self.agent_slots.get(id).copied());
        let q = match self.queue_lookup.get(&a.queue) {
            // A new contact keeps to the bounds (a restored one was admitted
            // before the restart and is never turned away).
            Some(q) if !a.restored && assigned.is_none() => match self.admission_queue(*q) {
                Some(q) => q,
                None => {
                    let queue = &mut self.queues[*q as usize];
                    queue.stats.refused += 1;
                    fx.push(Effect::Refused {
                        conversation_id: a.conversation_id,
                        queue: a.queue,
                    });
                    return;
                }
            },
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
        let lang = a.language.as_deref().and_then(|l| self.intern_language(l));
        if lang.is_some() {
            self.language_bound += 1;
        }
        let mut log = self.released.reopen(&a.conversation_id);
        // Room for the usual life (queued, offered, assigned, released), so
        // that no decision grows it.
        log.reserve_exact(4);
        let contact = Contact {
            id: a.conversation_id.clone(),
            queue: q,
            channel: a.channel,
            queued_at_ms: a.queued_at_ms,
            priority: a.priority.min(MAX_CONTACT_PRIORITY),
            lang,
            seq,
            preferred_agent: a.preferred_agent.map(Box::new),
            slot: Slot::Waiting,
            step: 0,
            timer: NO_TIMER,
            excluded: None,
            told_closed: a.restored,
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
        let asked = self.queue_lookup.get(&a.queue).copied();
        if let Some(from) = asked.filter(|from| *from != q) {
            // Its queue was full: it waits in the overflow queue, at its age.
            self.queues[from as usize].stats.overflowed += 1;
            self.record(c, now, What::Overflowed { from, to: q });
            fx.push(Effect::Requeued {
                conversation_id: a.conversation_id.clone(),
                queue: self.queues[q as usize].spec.id.clone(),
                queued_at_ms: a.queued_at_ms,
            });
        }
        match assigned {
            Some(agent_slot) => {
                let agent = &mut self.agents[agent_slot as usize];
                let ch = self.chans.dense(a.channel);
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
                        contact_priority: a.priority.min(MAX_CONTACT_PRIORITY),
                        restored: a.restored,
                    },
                );
                self.list(now, c);
                if let Some(contact) = self.contact_ref(c)
                    && contact.queue != q
                {
                    // Its queue was closed: it waits in the open queue the
                    // closed one sends to, at its age.
                    fx.push(Effect::Requeued {
                        conversation_id: a.conversation_id.clone(),
                        queue: self.queues[contact.queue as usize].spec.id.clone(),
                        queued_at_ms: a.queued_at_ms,
                    });
                }
                fx.push(Effect::Queued {
                    conversation_id: a.conversation_id,
                });
            }
        }
    }

    /// The queue a new contact for queue `q` waits in: `q` if it has room,
    /// else the first queue down its overflow chain with room (one lap at
    /// most); `None` when all are full.
    fn admission_queue(&self, q: u32) -> Option<u32> {
        let mut at = q;
        for _ in 0..self.queues.len() {
            if !self.queues[at as usize].is_full() {
                return Some(at);
            }
            at = self.overflow_target(at)?;
            if at == q {
                return None;
            }
        }
        None
    }

    /// Takes contact `c` off whatever holds it (waiting set, live offer or
    /// agent), returning what it was; frees capacity and marks agents.
    pub(super) fn detach(
        &mut self,
        c: u32,
        reason: RescindReason,
        fx: &mut Vec<Effect>,
    ) -> ReleasedWhile {
        let Some(contact) = self.contact_ref(c) else {
            return ReleasedWhile::Waiting;
        };
        let (slot, ch) = (contact.slot, self.chans.dense(contact.channel));
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

    pub(super) fn release(
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
        let bound = contact.lang.is_some();
        if !excluded.is_empty() {
            self.excluding = self.excluding.saturating_sub(1);
        }
        if bound {
            self.language_bound = self.language_bound.saturating_sub(1);
        }
        if !matches!(was, ReleasedWhile::Assigned(_)) {
            let queue = &mut self.queues[q];
            queue.stats.abandoned += 1;
            if queue.counted_wait(now, waited) > queue.spec.service_level.threshold_ms {
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

    pub(super) fn set_presence(
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

    pub(super) fn accept(
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
        let ch = self.chans.dense(live.channel);
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
            if queue.counted_wait(now, now.saturating_sub(queued_at))
                <= queue.spec.service_level.threshold_ms
            {
                queue.stats.answered_in_target += 1;
            }
            queue.changed |= 1 << ch;
            let line = &mut self.paces[q as usize];
            line.pace[ch].push(now);
            line.until[ch] = line.pace[ch].basis_until().unwrap_or(Millis::MAX);
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

    pub(super) fn decline(&mut self, now: Millis, offer: Option<(u64, u32)>, fx: &mut Vec<Effect>) {
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

    pub(super) fn tick(&mut self, now: Millis, fx: &mut Vec<Effect>) {
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

    pub(super) fn transfer_to_queue(
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

    pub(super) fn transfer_to_agent(
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
        let (q, channel) = (contact.queue, contact.channel);
        let ch = self.chans.dense(channel);
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

    /// Moves contact `c` to channel `to` (see [`Event::ChannelChanged`](crate::Event::ChannelChanged)).
    pub(super) fn change_channel(
        &mut self,
        now: Millis,
        c: Option<u32>,
        to: Channel,
        fx: &mut Vec<Effect>,
    ) {
        let Some(c) = c else {
            return;
        };
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let (from, slot) = (contact.channel, contact.slot);
        if from == to {
            return;
        }
        let changed = |kept_by, over_capacity| What::ChannelChanged {
            from,
            to,
            kept_by,
            over_capacity,
        };
        match slot {
            Slot::Waiting => {
                // Out of the old channel's waiting set, into the new one's.
                self.unlist(c);
                self.set_channel(c, to);
                self.record(c, now, changed(None, false));
                self.list(now, c);
            }
            Slot::Offered(seq) => {
                // The offer reserved room on the old channel: rescinded,
                // the contact waits on the new one at its original age.
                let live = self.take_offer(seq);
                self.set_channel(c, to);
                self.record(c, now, changed(None, false));
                match live {
                    Some(live) => self.requeue(now, live, RescindReason::ChannelChanged, fx),
                    None => self.list(now, c),
                }
            }
            Slot::Assigned(a) => {
                // Continuity first: the agent keeps it, counted on the new
                // channel even beyond capacity there.
                let agent = &mut self.agents[a as usize];
                let (f, t) = (self.chans.dense(from), self.chans.dense(to));
                agent.load[f] = agent.load[f].saturating_sub(1);
                agent.load[t] = agent.load[t].saturating_add(1);
                // Beyond capacity by its assignments alone: live offers in
                // the way are rescinded below.
                let all: u64 = agent.load.iter().map(|n| u64::from(*n)).sum();
                let over = agent.load[t] > agent.capacity[t]
                    || agent.total.is_some_and(|total| all > u64::from(total));
                // Room freed on the old channel: the agent may take more.
                self.reindex(a);
                self.dirty_agents.push(a);
                self.set_channel(c, to);
                self.record(c, now, changed(Some(a), over));
                // Live offers that no longer fit beside it are rescinded.
                self.revalidate_agent_offers(now, a, fx);
            }
        }
    }

    /// A later message raised the contact's priority (never lowered): a
    /// waiting contact is put back in line at its new place, at its age.
    pub(super) fn raise_priority(&mut self, now: Millis, c: Option<u32>, priority: u8) {
        let Some(c) = c else {
            return;
        };
        let priority = priority.min(MAX_CONTACT_PRIORITY);
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let (from, slot) = (contact.priority, contact.slot);
        if priority <= from {
            return;
        }
        let waiting = slot == Slot::Waiting;
        if waiting {
            self.unlist(c);
        }
        if let Some(contact) = self.contact_mut(c) {
            contact.priority = priority;
        }
        self.record(c, now, What::PriorityRaised { from, to: priority });
        if waiting {
            self.list(now, c);
        }
    }

    fn set_channel(&mut self, c: u32, to: Channel) {
        if let Some(contact) = self.contact_mut(c) {
            contact.channel = to;
        }
    }
}
