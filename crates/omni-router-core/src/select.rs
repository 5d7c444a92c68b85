//! Which eligible agent wins a contact, and the rule that decided it.
//!
//! A queue ranks eligible agents by its [`SelectionRule`]s in order (by
//! default: the contact's preferred agent, then the highest score over the
//! requirement's skills, then the least occupied on the contact's channel,
//! then the longest idle, never assigned counting as idlest); the agent id
//! breaks remaining ties so the outcome is the same every time.

use std::cmp::Ordering;

use omni_core::time::Millis;

/// One ranking criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectionRule {
    /// The contact's preferred agent first.
    Preferred,
    /// Highest score (proficiency summed over the requirement's skills).
    Proficiency,
    /// Least occupied on the contact's channel (assigned plus offered over
    /// capacity).
    Occupancy,
    /// Longest since the last assignment; never assigned first.
    Idle,
}

impl SelectionRule {
    /// Preferred, proficiency, occupancy, idle.
    pub const DEFAULT: [SelectionRule; 4] = [
        SelectionRule::Preferred,
        SelectionRule::Proficiency,
        SelectionRule::Occupancy,
        SelectionRule::Idle,
    ];

    /// `preferred`, `proficiency`, `occupancy` or `idle`.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectionRule::Preferred => "preferred",
            SelectionRule::Proficiency => "proficiency",
            SelectionRule::Occupancy => "occupancy",
            SelectionRule::Idle => "idle",
        }
    }

    /// The rule named `name` (as [`SelectionRule::as_str`] spells it).
    pub fn parse(name: &str) -> Option<Self> {
        [
            SelectionRule::Preferred,
            SelectionRule::Proficiency,
            SelectionRule::Occupancy,
            SelectionRule::Idle,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }
}

/// Whether `order` ranks like the agent index does (after an optional
/// leading preferred rule): proficiency, occupancy, idle.
pub(crate) fn is_index_order(order: &[SelectionRule]) -> bool {
    let rest = match order.first() {
        Some(SelectionRule::Preferred) => &order[1..],
        _ => order,
    };
    rest == [
        SelectionRule::Proficiency,
        SelectionRule::Occupancy,
        SelectionRule::Idle,
    ]
}

/// What the ranking looks at for one eligible agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scores {
    /// The agent's position in id order: the final tie-break.
    pub(crate) rank: u32,
    pub(crate) preferred: bool,
    /// Proficiency summed over the requirement's skills.
    pub(crate) score: u32,
    /// Assigned plus offered on the contact's channel.
    pub(crate) occupied: u32,
    /// Capacity on the contact's channel.
    pub(crate) capacity: u32,
    pub(crate) last_assigned_ms: Option<Millis>,
}

/// `Less` when `a` ranks before `b` under `order`.
pub(crate) fn compare(order: &[SelectionRule], a: &Scores, b: &Scores) -> Ordering {
    for rule in order {
        let o = by_rule(*rule, a, b);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.rank.cmp(&b.rank)
}

fn by_rule(rule: SelectionRule, a: &Scores, b: &Scores) -> Ordering {
    match rule {
        SelectionRule::Preferred => b.preferred.cmp(&a.preferred),
        SelectionRule::Proficiency => b.score.cmp(&a.score),
        SelectionRule::Occupancy => {
            // Cross-multiplied fractions: exact.
            (u64::from(a.occupied) * u64::from(b.capacity))
                .cmp(&(u64::from(b.occupied) * u64::from(a.capacity)))
        }
        // `None` (never assigned) sorts before any time: idlest first.
        SelectionRule::Idle => a.last_assigned_ms.cmp(&b.last_assigned_ms),
    }
}

/// The rule that put `winner` ahead of `runner_up`; `None` when only the
/// agent id separated them.
pub(crate) fn deciding_rule(
    order: &[SelectionRule],
    winner: &Scores,
    runner_up: &Scores,
) -> Option<SelectionRule> {
    order
        .iter()
        .copied()
        .find(|r| by_rule(*r, winner, runner_up) != Ordering::Equal)
}

/// Keeps the best and second-best of the candidates it is shown.
#[derive(Debug)]
pub(crate) struct Selection<'a> {
    order: &'a [SelectionRule],
    pub(crate) eligible: u32,
    pub(crate) best: Option<(u32, Scores)>,
    pub(crate) runner_up: Option<(u32, Scores)>,
}

impl<'a> Selection<'a> {
    pub(crate) fn new(order: &'a [SelectionRule]) -> Self {
        Self {
            order,
            eligible: 0,
            best: None,
            runner_up: None,
        }
    }

    /// Considers agent `agent` with `scores`.
    pub(crate) fn consider(&mut self, agent: u32, scores: Scores) {
        self.eligible += 1;
        match &self.best {
            Some((_, best)) if compare(self.order, &scores, best) != Ordering::Less => {
                let beats_runner_up = self
                    .runner_up
                    .as_ref()
                    .is_none_or(|(_, r)| compare(self.order, &scores, r) == Ordering::Less);
                if beats_runner_up {
                    self.runner_up = Some((agent, scores));
                }
            }
            _ => self.runner_up = self.best.replace((agent, scores)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(rank: u32) -> Scores {
        Scores {
            rank,
            preferred: false,
            score: 5,
            occupied: 0,
            capacity: 3,
            last_assigned_ms: None,
        }
    }

    fn winner(order: &[SelectionRule], candidates: &[Scores]) -> (u32, Option<SelectionRule>) {
        let mut sel = Selection::new(order);
        for c in candidates {
            sel.consider(c.rank, *c);
        }
        let (w, ws) = sel.best.unwrap();
        let rule = sel
            .runner_up
            .and_then(|(_, r)| deciding_rule(order, &ws, &r));
        (w, rule)
    }

    #[test]
    fn each_rule_decides_when_the_earlier_ones_tie() {
        use SelectionRule::*;
        let d = &SelectionRule::DEFAULT;
        let preferred = Scores {
            preferred: true,
            score: 1,
            ..s(1)
        };
        assert_eq!(winner(d, &[s(0), preferred]), (1, Some(Preferred)));
        let expert = Scores {
            score: 9,
            occupied: 2,
            ..s(1)
        };
        assert_eq!(winner(d, &[s(0), expert]), (1, Some(Proficiency)));
        // 1/4 is less occupied than 1/3
        let busy = Scores {
            occupied: 1,
            ..s(0)
        };
        let roomy = Scores {
            occupied: 1,
            capacity: 4,
            ..s(1)
        };
        assert_eq!(winner(d, &[busy, roomy]), (1, Some(Occupancy)));
        let recent = Scores {
            last_assigned_ms: Some(900),
            ..s(0)
        };
        let earlier = Scores {
            last_assigned_ms: Some(100),
            ..s(1)
        };
        assert_eq!(winner(d, &[recent, earlier]), (1, Some(Idle)));
        assert_eq!(winner(d, &[recent, s(1)]).0, 1, "never assigned is idlest");
        assert_eq!(winner(d, &[s(1), s(0)]), (0, None), "agent id breaks ties");
    }

    #[test]
    fn order_is_configurable() {
        use SelectionRule::*;
        let expert_but_busy = Scores {
            score: 9,
            occupied: 2,
            ..s(0)
        };
        let idle_novice = Scores { score: 1, ..s(1) };
        let both = [expert_but_busy, idle_novice];
        assert_eq!(
            winner(&SelectionRule::DEFAULT, &both),
            (0, Some(Proficiency))
        );
        assert_eq!(
            winner(&[Occupancy, Proficiency], &both),
            (1, Some(Occupancy))
        );
        assert!(is_index_order(&SelectionRule::DEFAULT));
        assert!(is_index_order(&[Proficiency, Occupancy, Idle]));
        assert!(!is_index_order(&[Occupancy, Proficiency, Idle]));
        assert_eq!(SelectionRule::parse("idle"), Some(Idle));
        assert_eq!(SelectionRule::parse("fastest"), None);
    }

    #[test]
    fn runner_up_is_the_second_best_whatever_the_order() {
        let with = |rank: u32, score: u32| Scores { score, ..s(rank) };
        let scores = [4, 9, 7, 1];
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]] {
            let mut sel = Selection::new(&SelectionRule::DEFAULT);
            for i in order {
                sel.consider(i, with(i, scores[i as usize]));
            }
            assert_eq!(sel.best.map(|b| b.0), Some(1));
            assert_eq!(sel.runner_up.map(|r| r.0), Some(2));
            assert_eq!(sel.eligible, 4);
        }
    }
}
