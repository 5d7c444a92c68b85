//! Queues opening and closing by their business hours
//! ([`QueueSpec::hours`](crate::QueueSpec::hours)): each scheduled queue
//! has one entry in `Engine::hours` at its next change, worked out from the
//! time passed in (the engine reads no clock).

use omni_core::QueueId;
use omni_core::time::Millis;

use crate::event::Effect;

use super::Engine;

impl Engine {
    /// (Re)schedules queue `q`'s hours after its spec was put: its state
    /// is worked out now if the engine has seen a time, else at the next
    /// event.
    pub(super) fn schedule_hours(&mut self, q: u32) {
        let queue = &mut self.queues[q as usize];
        self.hours.remove(&(queue.hours_next, q));
        if queue.spec.hours.is_none() {
            queue.open = true;
            queue.opened_at = Millis::MIN;
            queue.hours_next = Millis::MAX;
            return;
        }
        if self.now_ms == Millis::MIN {
            queue.open = false;
            queue.hours_next = Millis::MIN;
            self.hours.insert((Millis::MIN, q));
        } else {
            self.refresh_hours(q, self.now_ms);
        }
    }

    /// Works out queue `q`'s state at `now` and its next change; returns
    /// whether it is open.
    fn refresh_hours(&mut self, q: u32, now: Millis) -> bool {
        let queue = &mut self.queues[q as usize];
        self.hours.remove(&(queue.hours_next, q));
        let Some((open, next, since)) = queue.spec.hours.as_ref().map(|s| s.status(now)) else {
            return true;
        };
        queue.open = open;
        queue.opened_at = since.unwrap_or(Millis::MIN);
        queue.hours_next = next.unwrap_or(Millis::MAX);
        if let Some(next) = next {
            self.hours.insert((next, q));
        }
        open
    }

    /// Applies the openings and closings due by `now`: an opened queue's
    /// waiting contacts are matched (in routing order, so oldest first);
    /// a closed queue with a `closed_overflow` sends its waiting contacts
    /// there when that queue is open and has room.
    pub(super) fn catch_up_hours(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        let mut opened = Vec::new();
        let mut closed = Vec::new();
        while let Some((at, q)) = self.hours.first().copied()
            && at <= now
        {
            self.hours.pop_first();
            let was = self.queues[q as usize].open;
            let first = at == Millis::MIN;
            let open = self.refresh_hours(q, now);
            if open && (!was || first) {
                opened.push(q);
            } else if !open && (was || first) {
                closed.push(q);
            }
        }
        for q in opened {
            let waiting: Vec<u32> = self.queues[q as usize]
                .waiting
                .iter()
                .flat_map(|set| set.iter().map(|k| k.slot))
                .collect();
            self.dirty_contacts.extend(waiting);
        }
        for q in closed {
            if self.closed_overflow_target(q).is_none() {
                continue;
            }
            let waiting: Vec<u32> = self.queues[q as usize]
                .waiting
                .iter()
                .flat_map(|set| set.iter().map(|k| k.slot))
                .collect();
            for c in waiting {
                self.unlist(c);
                self.list(now, c);
                if let Some(contact) = self.contact_ref(c)
                    && contact.queue != q
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

    /// Queue `id`'s business hours, if it has any.
    pub fn queue_hours(&self, id: &QueueId) -> Option<omni_core::hours::Schedule> {
        let q = self.queue_lookup.get(id)?;
        self.queues[*q as usize].spec.hours.clone()
    }

    /// Where a contact of queue `q` goes while `q` is closed: its
    /// `closed_overflow` queue, if that exists, is open and has room.
    pub(super) fn closed_overflow_target(&self, q: u32) -> Option<u32> {
        let queue = &self.queues[q as usize];
        if queue.open {
            return None;
        }
        let target = queue.spec.hours.as_ref()?.closed_overflow()?;
        self.queue_lookup
            .get(&QueueId::from(target))
            .copied()
            .filter(|t| {
                let target = &self.queues[*t as usize];
                *t != q && !target.hidden && target.open && !target.is_full()
            })
    }

    /// Reports waiting contact `c`, whose queue is closed, once
    /// ([`Effect::QueueClosed`]).
    pub(super) fn tell_closed(&mut self, c: u32, fx: &mut Vec<Effect>) {
        let Some(contact) = self.contacts.get_mut(c as usize).and_then(Option::as_mut) else {
            return;
        };
        if contact.told_closed {
            return;
        }
        contact.told_closed = true;
        let queue = &self.queues[contact.queue as usize];
        fx.push(Effect::QueueClosed {
            conversation_id: contact.id.clone(),
            queue: queue.spec.id.clone(),
            opens_at_ms: (queue.hours_next != Millis::MAX).then_some(queue.hours_next),
        });
    }
}
