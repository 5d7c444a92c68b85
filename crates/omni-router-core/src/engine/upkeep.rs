//! Upkeep of the engine's indexes: the open-agent index (brought up to
//! date once per event, see `Engine::pending`), the waiting sets per queue
//! and channel, and the timers of relaxation steps, overflows and
//! cooldowns.

use omni_core::time::Millis;

use crate::contact::{NO_TIMER, Slot};
use crate::event::Effect;
use crate::explain::What;

use super::Engine;

impl Engine {
    /// Takes agent `a` out of the index entirely.
    pub(super) fn unindex(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        for ch in 0..usize::from(agent.channels) {
            if agent.indexed & (1 << ch) != 0 {
                self.index
                    .update::<false>(ch, agent.keys[ch], &agent.skills, &agent.langs);
            }
        }
        agent.indexed = 0;
    }

    /// Notes that agent `a`'s presence, load, offers or last assignment
    /// changed: the index catches up at the next [`Engine::flush`].
    pub(super) fn reindex(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        if !agent.pending {
            agent.pending = true;
            self.pending.push(a);
        }
    }

    /// Brings every pending agent's index entries up to date.
    pub(super) fn flush(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        for a in pending.drain(..) {
            self.agents[a as usize].pending = false;
            self.sync(a);
        }
        self.pending = pending;
    }

    /// Puts agent `a` in the index where it is open, with current keys.
    pub(super) fn sync(&mut self, a: u32) {
        let agent = &mut self.agents[a as usize];
        for ch in 0..usize::from(agent.channels) {
            let want = agent.is_open(ch).then(|| agent.base_key(ch));
            let was = (agent.indexed & (1 << ch) != 0).then_some(agent.keys[ch]);
            if want == was {
                continue;
            }
            if let Some(old) = was {
                self.index
                    .update::<false>(ch, old, &agent.skills, &agent.langs);
                agent.indexed &= !(1 << ch);
            }
            if let Some(new) = want {
                self.index
                    .update::<true>(ch, new, &agent.skills, &agent.langs);
                agent.keys[ch] = new;
                agent.indexed |= 1 << ch;
            }
        }
    }

    /// Whether agent `a`'s index entries may be stale.
    pub(super) fn is_pending(&self, a: u32) -> bool {
        !self.pending.is_empty() && self.agents[a as usize].pending
    }

    /// Puts contact `c` in its queue's waiting set (after overflows already
    /// due), with its step and next timer, and marks it for matching.
    pub(super) fn list(&mut self, now: Millis, c: u32) {
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let mut q = contact.queue;
        let queued_at = contact.queued_at_ms;
        let age = now.saturating_sub(queued_at);
        // Follow overflows already due, and those of closed queues, one
        // lap at most.
        let mut moves = Vec::new();
        for _ in 0..self.queues.len() {
            if let Some(target) = self.closed_overflow_target(q) {
                moves.push((q, target));
                q = target;
                continue;
            }
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
        let channel = contact.channel;
        let ch = self.chans.dense(channel);
        let queue = &mut self.queues[q as usize];
        queue.waiting[ch].insert(key);
        queue.changed |= 1 << ch;
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
    pub(super) fn unlist(&mut self, c: u32) {
        let Some(contact) = self.contact_mut(c) else {
            return;
        };
        let key = contact.wait_key(c);
        let channel = contact.channel;
        let q = contact.queue as usize;
        let at = std::mem::replace(&mut contact.timer, NO_TIMER);
        let ch = self.chans.dense(channel);
        if at != NO_TIMER {
            self.timers.remove(&(at, c));
        }
        let queue = &mut self.queues[q];
        queue.waiting[ch].remove(&key);
        queue.changed |= 1 << ch;
        if queue.oldest[ch] == Some(key) {
            queue.oldest[ch] = queue.waiting[ch].first().copied();
        }
    }

    /// The queue `q`'s contacts overflow to, if it exists and has room: a
    /// full target takes no one, and a contact whose overflow falls due
    /// while it is full stays where it is (it tries again when it is next
    /// put back in line, after a decline or a timed-out offer).
    pub(super) fn overflow_target(&self, q: u32) -> Option<u32> {
        let overflow = self.queues[q as usize].spec.overflow.as_ref()?;
        self.queue_lookup.get(&overflow.queue).copied().filter(|t| {
            let target = &self.queues[*t as usize];
            *t != q && !target.hidden && !target.is_full()
        })
    }

    /// Applies what time alone brings, up to `now`: ended cooldowns, steps
    /// coming into force, overflows.
    pub(super) fn catch_up(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        if self.hours.first().is_some_and(|(at, _)| *at <= now) {
            self.catch_up_hours(now, fx);
        }
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
}
