//! Offers: making one, and taking one back (rescinded, declined, timed
//! out) with the contact requeued at its original age.

use omni_core::ConversationId;
use omni_core::time::Millis;

use crate::contact::Slot;
use crate::event::Effect;
use crate::explain::{self, What};
use crate::offer::{LiveOffer, Offer, RescindReason};

use super::Engine;
use super::matching::Choice;

impl Engine {
    /// Offers waiting (or transferred) contact `c` to the chosen agent.
    pub(super) fn offer(&mut self, now: Millis, c: u32, choice: Choice, fx: &mut Vec<Effect>) {
        self.unlist(c);
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let a = choice.agent;
        let ch = self.chans.dense(contact.channel);
        let expires_at_ms = now.saturating_add(self.config.offer_timeout_ms);
        let q = contact.queue as usize;
        let seq = self
            .offers
            .create(c, a, contact.queue, contact.channel, expires_at_ms);
        self.queues[q].offered = self.queues[q].offered.saturating_add(1);
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

    /// Rescinds every live offer of agent `a`, who is no longer available.
    pub(super) fn withdraw_all(&mut self, now: Millis, a: u32, fx: &mut Vec<Effect>) {
        let seqs = self.agents[a as usize].offers.as_slice().to_vec();
        for seq in seqs {
            if let Some(live) = self.take_offer(seq) {
                self.requeue(now, live, RescindReason::AgentUnavailable, fx);
            }
        }
    }

    /// Rescinds agent `a`'s offers that no longer fit its capacity or the
    /// requirement in force, keeping the oldest ones that do.
    pub(super) fn revalidate_agent_offers(&mut self, now: Millis, a: u32, fx: &mut Vec<Effect>) {
        let agent = &self.agents[a as usize];
        let mut used = agent.load.clone();
        let mut used_total: u64 = used.iter().map(|n| u64::from(*n)).sum();
        let mut unfit = Vec::new();
        for seq in agent.offers.iter() {
            let Some(live) = self.offers.get(*seq) else {
                continue;
            };
            let ch = self.chans.dense(live.channel);
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
    pub(super) fn offer_of(&self, live: &LiveOffer) -> Offer {
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
            queued_at_ms: self
                .contact_ref(live.contact)
                .map_or(live.expires_at_ms, |c| c.queued_at_ms),
        }
    }

    /// Whether a live offer came from a transfer to the agent.
    pub(super) fn is_direct(&self, live: &LiveOffer) -> bool {
        self.contact_ref(live.contact)
            .and_then(|c| c.log.last())
            .is_some_and(|r| matches!(&r.what, What::Offered(o) if o.direct))
    }

    /// Keeps agent `a` away from contact `c` for the decline cooldown.
    pub(super) fn exclude(&mut self, now: Millis, c: u32, a: u32) {
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
    pub(super) fn take_offer(&mut self, seq: u64) -> Option<LiveOffer> {
        let live = self.offers.remove(seq)?;
        let q = live.queue as usize;
        self.queues[q].offered = self.queues[q].offered.saturating_sub(1);
        let a = live.agent;
        let agent = &mut self.agents[a as usize];
        agent.offers.retain(|s| *s != seq);
        let ch = self.chans.dense(live.channel);
        agent.offered[ch] = agent.offered[ch].saturating_sub(1);
        self.reindex(a);
        self.dirty_agents.push(a);
        Some(live)
    }

    /// Puts the contact of a rescinded offer back in its queue at its
    /// original age.
    pub(super) fn requeue(
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
