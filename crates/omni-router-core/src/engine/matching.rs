//! Matching: after each event, what changed is matched (see the engine's
//! module docs), using the open-agent index; in debug builds every
//! selection is cross-checked against a scan of all agents.

use std::cmp::Reverse;
use std::ops::Bound;

use omni_core::time::Millis;

use crate::compile::{Compiled, Term, level};
use crate::contact::{Contact, Slot, WaitKey};
use crate::event::Effect;
use crate::explain::OfferRec;
use crate::index;
use crate::select::{self, Scores, Selection, SelectionRule};

use super::Engine;
use super::state::{QueueState, RouteKey};

/// The two lowest index keys seen, with their agents.
#[derive(Default)]
pub(super) struct Top2 {
    pub(super) first: Option<u32>,
    pub(super) second: Option<u32>,
    pub(super) keys: [u128; 2],
}

impl Top2 {
    pub(super) fn consider(&mut self, key: u128, agent: u32) {
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
pub(super) struct Ask<'a> {
    pub(super) queue: &'a QueueState,
    pub(super) step: usize,
    pub(super) compiled: &'a Compiled,
    pub(super) ch: usize,
    pub(super) order: &'a [SelectionRule],
    pub(super) preferred: Option<u32>,
}

/// The outcome of a selection.
pub(super) struct Choice {
    pub(super) agent: u32,
    pub(super) rec: OfferRec,
}

impl Engine {
    /// Matches what changed (see the module docs).
    ///
    /// Each round takes the highest-ranked contact among the dirty agents'
    /// best contacts and the dirty contacts, and offers it to its best
    /// eligible open agent. The agent so chosen has no higher-ranked
    /// eligible contact: not among clean contacts (by the invariant, or it
    /// is dirty and its best would have come first), not among dirty
    /// contacts (they would have come first).
    pub(super) fn match_changes(&mut self, now: Millis, fx: &mut Vec<Effect>) {
        let mut agents = std::mem::take(&mut self.dirty_agents);
        agents.sort_unstable_by_key(|a| self.agents[*a as usize].rank);
        agents.dedup();
        // Dirty contacts in reverse routing order: the best is popped last.
        let mut contacts = std::mem::take(&mut self.scratch);
        contacts.clear();
        let dirty = std::mem::take(&mut self.dirty_contacts);
        for &c in &dirty {
            if let Some(contact) = self.contacts.get(c as usize).and_then(Option::as_ref)
                && contact.slot == Slot::Waiting
            {
                if !self.queues[contact.queue as usize].open {
                    // A closed queue's contacts wait for its opening.
                    self.tell_closed(c, fx);
                    continue;
                }
                contacts.push((
                    Reverse(self.queues[contact.queue as usize].spec.priority),
                    contact.wait_key(c),
                ));
            }
        }
        self.dirty_contacts = dirty;
        self.dirty_contacts.clear();
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
            let c = key.1.slot;
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

    /// The best waiting contact agent `a` is eligible for: higher queue
    /// priority, then higher contact priority, then older, then admitted
    /// earlier.
    pub(super) fn best_contact_for(&self, a: u32, now: Millis) -> Option<RouteKey> {
        let agent = &self.agents[a as usize];
        let mut best: Option<RouteKey> = None;
        for (q, mask) in &agent.queues {
            let queue = &self.queues[*q as usize];
            let priority = queue.spec.priority;
            if best.is_some_and(|b| b.0.0 > priority) {
                break;
            }
            if !queue.open {
                continue;
            }
            for ch in 0..usize::from(agent.channels) {
                if !agent.is_open(ch) {
                    continue;
                }
                let Some(first) = queue.oldest[ch] else {
                    continue;
                };
                // Nothing in this set comes before its first contact: if
                // that does not beat the best so far, skip the set.
                if best.is_some_and(|b| (Reverse(priority), first) >= b) {
                    continue;
                }
                if let Some(found) = self.oldest_in_bands(queue, ch, *mask, a, now) {
                    let key = (Reverse(priority), found);
                    if best.is_none_or(|b| key < b) {
                        best = Some(key);
                    }
                }
            }
        }
        best
    }

    /// The first contact of `set` in the routing order (higher contact
    /// priority, then older) in a relaxation band `mask` allows, that does
    /// not exclude agent `a`.
    pub(super) fn oldest_in_bands(
        &self,
        queue: &QueueState,
        ch: usize,
        mask: u32,
        a: u32,
        now: Millis,
    ) -> Option<WaitKey> {
        let check = self.excluding > 0 || self.language_bound > 0;
        let first = queue.oldest[ch]?;
        if !check && mask & (1 << queue.step_at(now.saturating_sub(first.at))) != 0 {
            // The first contact is in a band the agent meets.
            return Some(first);
        }
        let set = &queue.waiting[ch];
        let langs = &self.agents[a as usize].langs;
        let usable = |k: &&WaitKey| {
            !check
                || self.contact_ref(k.slot).is_some_and(|c| {
                    !c.excludes(a, now)
                        && c.lang.is_none_or(|l| {
                            langs.contains(&l) || queue.step_at(now.saturating_sub(k.at)) > 0
                        })
                })
        };
        let all = queue.all_steps();
        if mask & all == all {
            return set.iter().find(usable).copied();
        }
        let n = queue.steps.len();
        // Each priority present in turn, the highest first (most queues
        // hold one: every contact at priority 0).
        let mut rank = first.rank;
        loop {
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
                    Some(next) => {
                        Bound::Excluded(WaitKey::last_at(rank, now.saturating_sub(*next)))
                    }
                    None => Bound::Included(WaitKey::first_at(rank, Millis::MIN)),
                };
                let upper = Bound::Included(WaitKey::last_at(rank, newest));
                if let Some(k) = set.range((lower, upper)).find(usable) {
                    return Some(*k);
                }
            }
            let next = rank.checked_add(1)?;
            rank = set
                .range((
                    Bound::Included(WaitKey::first_at(next, Millis::MIN)),
                    Bound::Unbounded,
                ))
                .next()?
                .rank;
        }
    }

    pub(super) fn scores(
        &self,
        a: u32,
        compiled: &Compiled,
        ch: usize,
        preferred: Option<u32>,
    ) -> Scores {
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
    pub(super) fn ask<'a>(&'a self, contact: &Contact, now: Millis) -> Ask<'a> {
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
            ch: self.chans.dense(contact.channel),
            order,
            preferred,
        }
    }

    /// The best eligible open agent for waiting contact `c`.
    pub(super) fn select_agent(&self, c: u32, now: Millis) -> Option<Choice> {
        let contact = self.contact_ref(c)?;
        let Ask {
            queue,
            step,
            compiled,
            ch,
            order,
            preferred,
        } = self.ask(contact, now);
        // The contact's language, while its queue's base requirement is in
        // force.
        let speaks = language_in_force(contact, step);
        let eligible = |a: u32| {
            let agent = &self.agents[a as usize];
            agent.is_open(ch)
                && !contact.excludes(a, now)
                && speaks.is_none_or(|l| agent.langs.contains(&l))
                && compiled.eval(&agent.skills, &agent.langs)
        };
        let preferred_ok = preferred.filter(|p| eligible(*p));

        // The index set (with counts per level) that decides the
        // requirement alone, if any (not with a language to speak: the
        // agents are scanned).
        let decided = match (compiled.single, compiled.single_lang) {
            _ if speaks.is_some() => None,
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
        self.cross_check_selection(c, now, (winner, runner_up, count));
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
    pub(super) fn cross_check_selection(&self, c: u32, now: Millis, got: (u32, Option<u32>, u32)) {
        let Some(contact) = self.contact_ref(c) else {
            return;
        };
        let Ask {
            compiled,
            ch,
            order,
            preferred,
            step,
            ..
        } = self.ask(contact, now);
        let speaks = language_in_force(contact, step);
        let mut selection = Selection::new(order);
        for a in 0..self.agents.len() as u32 {
            let agent = &self.agents[a as usize];
            if agent.is_open(ch)
                && !contact.excludes(a, now)
                && speaks.is_none_or(|l| agent.langs.contains(&l))
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
    pub(super) fn candidates(&self, compiled: &Compiled, ch: usize) -> Vec<u32> {
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
    pub(super) fn with_pending(
        &self,
        mut from_index: Vec<u32>,
        ch: usize,
        merge: bool,
    ) -> Vec<u32> {
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
}

/// The language `contact`'s agent must speak at `step` (counted from 0):
/// its own, while its queue's base requirement is in force.
fn language_in_force(contact: &Contact, step: usize) -> Option<crate::index::NameId> {
    contact.lang.filter(|_| step == 0)
}
