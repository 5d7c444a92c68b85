//! Whether the configured agents can serve the configured queues: a check
//! of the configuration alone (no presence, no load), for `omni
//! check-config`.
//!
//! A queue is unservable when no agent meets its requirement nor any of its
//! relaxation steps; a requirement naming a skill no agent has is most
//! likely a typo, and the nearest skill an agent has is suggested.

use std::collections::BTreeSet;
use std::fmt;

use omni_core::QueueId;
use omni_core::config::Config;

use crate::agent::AgentSpec;
use crate::queue::QueueSpec;

/// A configuration no agent can serve as written. A warning, not an error:
/// agents may be added at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoverageWarning {
    /// No configured agent meets the queue's requirement or any of its
    /// relaxation steps.
    Unservable {
        /// The queue.
        queue: QueueId,
        /// Its base requirement, as written in the requirements language.
        requirement: String,
    },
    /// A requirement of the queue (base or step) names a skill that no
    /// configured agent has.
    UnknownSkill {
        /// The queue.
        queue: QueueId,
        /// The skill.
        skill: String,
        /// The agents' skill nearest to it by edit distance, if one is near.
        suggestion: Option<String>,
    },
}

impl fmt::Display for CoverageWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoverageWarning::Unservable { queue, requirement } => write!(
                f,
                "queue {queue}: no configured agent meets requirement \"{requirement}\" or any of its steps"
            ),
            CoverageWarning::UnknownSkill {
                queue,
                skill,
                suggestion,
            } => {
                write!(f, "queue {queue}: no agent has skill \"{skill}\"")?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean \"{s}\"?)"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The warnings for `queues` served by `agents`, in queue order: for each
/// queue, the skills no agent has (once each), then whether it is
/// unservable.
pub fn coverage_warnings(agents: &[AgentSpec], queues: &[QueueSpec]) -> Vec<CoverageWarning> {
    let known: BTreeSet<&str> = agents
        .iter()
        .flat_map(|a| a.skills.keys().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for queue in queues {
        let requirements =
            std::iter::once(&queue.requirement).chain(queue.steps.iter().map(|s| &s.requirement));
        let mut unknown = BTreeSet::new();
        for requirement in requirements.clone() {
            unknown.extend(
                requirement
                    .skills()
                    .into_iter()
                    .filter(|s| !known.contains(s)),
            );
        }
        for skill in unknown {
            out.push(CoverageWarning::UnknownSkill {
                queue: queue.id.clone(),
                skill: skill.to_owned(),
                suggestion: nearest(skill, &known).map(str::to_owned),
            });
        }
        let servable = requirements
            .clone()
            .any(|r| agents.iter().any(|a| r.matches(&a.skills, &a.languages)));
        if !servable {
            out.push(CoverageWarning::Unservable {
                queue: queue.id.clone(),
                requirement: queue.requirement.to_string(),
            });
        }
    }
    out
}

/// [`coverage_warnings`] for a configuration file's agents and queues. A
/// queue whose settings do not convert is left out: validating the
/// configuration reports it.
pub fn config_warnings(config: &Config) -> Vec<CoverageWarning> {
    let agents: Vec<AgentSpec> = config.agents.iter().map(AgentSpec::from).collect();
    let queues: Vec<QueueSpec> = config
        .queues
        .iter()
        .filter_map(|q| QueueSpec::try_from(q).ok())
        .collect();
    coverage_warnings(&agents, &queues)
}

/// The candidate nearest to `word`, if within a typo's distance: one edit
/// for short words, two from five letters on.
fn nearest<'a>(word: &str, candidates: &BTreeSet<&'a str>) -> Option<&'a str> {
    let limit = if word.chars().count() < 5 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Edits (insert, delete, substitute, swap two neighbours) that turn `a`
/// into `b`: the optimal string alignment distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[(i - 1) * width + j] + 1)
                    .min(d[i * width + j - 1] + 1)
                    .min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirement::Requirement;

    fn queue(id: &str, requirement: &str) -> QueueSpec {
        let mut q = QueueSpec::new(id);
        q.requirement = Requirement::parse(requirement).unwrap();
        q
    }

    #[test]
    fn a_misspelled_skill_is_unservable_and_the_nearest_skill_suggested() {
        let agents = vec![AgentSpec::new("ann").with_skill("sales", 5)];
        let warnings = coverage_warnings(&agents, &[queue("sales", "slaes >= 3")]);
        let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "queue sales: no agent has skill \"slaes\" (did you mean \"sales\"?)",
                "queue sales: no configured agent meets requirement \"slaes >= 3\" or any of its steps",
            ]
        );
    }

    #[test]
    fn a_queue_served_by_a_relaxation_step_is_not_unservable() {
        let agents = vec![AgentSpec::new("ann").with_skill("billing", 2)];
        let mut q = queue("billing", "billing >= 5");
        q = q.with_step(30_000, Requirement::parse("billing >= 2").unwrap());
        assert!(coverage_warnings(&agents, &[q]).is_empty());
        let too_high = queue("billing", "billing >= 5");
        assert_eq!(
            coverage_warnings(&agents, &[too_high]),
            [CoverageWarning::Unservable {
                queue: "billing".into(),
                requirement: "billing >= 5".into(),
            }]
        );
    }

    #[test]
    fn a_far_off_skill_gets_no_suggestion() {
        let agents = vec![AgentSpec::new("ann").with_skill("sales", 5)];
        let warnings = coverage_warnings(&agents, &[queue("q", "sales OR plumbing")]);
        assert_eq!(
            warnings,
            [CoverageWarning::UnknownSkill {
                queue: "q".into(),
                skill: "plumbing".into(),
                suggestion: None,
            }]
        );
    }

    #[test]
    fn edit_distance_counts_a_swap_as_one_edit() {
        assert_eq!(edit_distance("slaes", "sales"), 1);
        assert_eq!(edit_distance("sales", "sales"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("billing", "biling"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
