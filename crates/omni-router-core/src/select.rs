//! Which eligible agent wins a contact, and the rule that decided it.
//!
//! Ranking: the contact's preferred agent, then the highest proficiency over
//! the queue's required skills, then the least occupied on the contact's
//! channel, then the longest idle (never assigned counts as idlest), then the
//! agent id so that ties resolve the same way every time.

use std::cmp::Ordering;

use omni_core::AgentId;
use omni_core::time::Millis;

/// An eligible agent and what the ranking looks at.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<'a> {
    pub(crate) agent: &'a AgentId,
    pub(crate) preferred: bool,
    /// Sum of the agent's proficiency over the queue's required skills.
    pub(crate) proficiency: u32,
    /// Assigned plus offered on the contact's channel.
    pub(crate) occupied: u32,
    /// Capacity on the contact's channel.
    pub(crate) capacity: u32,
    pub(crate) last_assigned_ms: Option<Millis>,
}

/// `Less` when `a` ranks before `b`.
pub(crate) fn compare(a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
    b.preferred
        .cmp(&a.preferred)
        .then_with(|| b.proficiency.cmp(&a.proficiency))
        .then_with(|| occupancy(a).cmp(&occupancy(b)))
        // `None` (never assigned) sorts before any time: idlest first.
        .then_with(|| a.last_assigned_ms.cmp(&b.last_assigned_ms))
        .then_with(|| a.agent.cmp(b.agent))
}

/// Occupancy as a fraction, compared by cross-multiplication.
fn occupancy(c: &Candidate<'_>) -> Fraction {
    Fraction {
        num: u64::from(c.occupied),
        den: u64::from(c.capacity),
    }
}

#[derive(Debug, Clone, Copy)]
struct Fraction {
    num: u64,
    den: u64,
}

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.num * other.den).cmp(&(other.num * self.den))
    }
}

impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Fraction {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Fraction {}

/// Keeps the best and second-best of the candidates it is shown.
#[derive(Debug, Default)]
pub(crate) struct Selection<'a> {
    eligible: usize,
    best: Option<Candidate<'a>>,
    runner_up: Option<Candidate<'a>>,
}

/// The outcome of a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Winner {
    pub(crate) agent: AgentId,
    pub(crate) eligible: usize,
    /// The rule that put the winner ahead of the runner-up.
    pub(crate) rule: String,
}

impl<'a> Selection<'a> {
    pub(crate) fn consider(&mut self, candidate: Candidate<'a>) {
        self.eligible += 1;
        match &self.best {
            Some(best) if compare(&candidate, best) != Ordering::Less => {
                let beats_runner_up = self
                    .runner_up
                    .as_ref()
                    .is_none_or(|r| compare(&candidate, r) == Ordering::Less);
                if beats_runner_up {
                    self.runner_up = Some(candidate);
                }
            }
            _ => self.runner_up = self.best.replace(candidate),
        }
    }

    pub(crate) fn finish(self) -> Option<Winner> {
        let best = self.best?;
        let rule = match &self.runner_up {
            None => "only eligible agent".to_owned(),
            Some(runner_up) => deciding_rule(&best, runner_up),
        };
        Some(Winner {
            agent: best.agent.clone(),
            eligible: self.eligible,
            rule,
        })
    }
}

fn deciding_rule(w: &Candidate<'_>, r: &Candidate<'_>) -> String {
    if w.preferred != r.preferred {
        "won as preferred agent".to_owned()
    } else if w.proficiency != r.proficiency {
        format!(
            "won on proficiency ({} vs {} for {})",
            w.proficiency, r.proficiency, r.agent
        )
    } else if occupancy(w) != occupancy(r) {
        format!(
            "won on occupancy ({}/{} vs {}/{} for {})",
            w.occupied, w.capacity, r.occupied, r.capacity, r.agent
        )
    } else if w.last_assigned_ms != r.last_assigned_ms {
        format!(
            "won on idle time ({} vs {} for {})",
            idle(w.last_assigned_ms),
            idle(r.last_assigned_ms),
            r.agent
        )
    } else {
        format!("won on agent id (tied with {})", r.agent)
    }
}

fn idle(last_assigned_ms: Option<Millis>) -> String {
    match last_assigned_ms {
        None => "never assigned".to_owned(),
        Some(at) => format!("last assigned at {at}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(agent: &AgentId) -> Candidate<'_> {
        Candidate {
            agent,
            preferred: false,
            proficiency: 5,
            occupied: 0,
            capacity: 3,
            last_assigned_ms: None,
        }
    }

    fn select<'a>(candidates: Vec<Candidate<'a>>) -> Option<Winner> {
        let mut selection = Selection::default();
        for c in candidates {
            selection.consider(c);
        }
        selection.finish()
    }

    #[test]
    fn nobody_eligible_means_no_winner() {
        assert_eq!(select(Vec::new()), None);
    }

    #[test]
    fn each_rule_decides_when_the_earlier_ones_tie() {
        let (a, b) = (AgentId::from("a"), AgentId::from("b"));

        let w = select(vec![candidate(&a)]).unwrap();
        assert_eq!(
            (w.agent.as_str(), w.rule.as_str()),
            ("a", "only eligible agent")
        );

        let b_preferred = Candidate {
            preferred: true,
            proficiency: 1,
            ..candidate(&b)
        };
        let w = select(vec![candidate(&a), b_preferred]).unwrap();
        assert_eq!(
            (w.agent.as_str(), w.rule.as_str()),
            ("b", "won as preferred agent")
        );

        let b_expert = Candidate {
            proficiency: 9,
            occupied: 2,
            ..candidate(&b)
        };
        let w = select(vec![candidate(&a), b_expert]).unwrap();
        assert_eq!(w.agent.as_str(), "b");
        assert_eq!(w.rule, "won on proficiency (9 vs 5 for a)");

        // 1/4 is less occupied than 1/3
        let a_busy = Candidate {
            occupied: 1,
            ..candidate(&a)
        };
        let b_roomy = Candidate {
            occupied: 1,
            capacity: 4,
            ..candidate(&b)
        };
        let w = select(vec![a_busy, b_roomy]).unwrap();
        assert_eq!(w.agent.as_str(), "b");
        assert_eq!(w.rule, "won on occupancy (1/4 vs 1/3 for a)");

        let a_recent = Candidate {
            last_assigned_ms: Some(900),
            ..candidate(&a)
        };
        let b_earlier = Candidate {
            last_assigned_ms: Some(100),
            ..candidate(&b)
        };
        let w = select(vec![a_recent.clone(), b_earlier]).unwrap();
        assert_eq!(w.agent.as_str(), "b");
        assert_eq!(
            w.rule,
            "won on idle time (last assigned at 100 vs last assigned at 900 for a)"
        );
        let w = select(vec![a_recent, candidate(&b)]).unwrap();
        assert_eq!(w.agent.as_str(), "b", "never assigned is idlest");

        let w = select(vec![candidate(&b), candidate(&a)]).unwrap();
        assert_eq!(w.agent.as_str(), "a");
        assert_eq!(w.rule, "won on agent id (tied with b)");
    }

    #[test]
    fn runner_up_is_the_second_best_whatever_the_order() {
        let ids: Vec<AgentId> = ["a", "b", "c", "d"]
            .into_iter()
            .map(AgentId::from)
            .collect();
        let with = |i: usize, p: u32| Candidate {
            proficiency: p,
            ..candidate(&ids[i])
        };
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]] {
            let profs = [4, 9, 7, 1];
            let mut selection = Selection::default();
            for i in order {
                selection.consider(with(i, profs[i]));
            }
            let w = selection.finish().unwrap();
            assert_eq!(w.agent.as_str(), "b");
            assert_eq!(w.eligible, 4);
            assert_eq!(w.rule, "won on proficiency (9 vs 7 for c)");
        }
    }
}
