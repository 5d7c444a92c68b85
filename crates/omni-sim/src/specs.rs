//! The one place that turns a scenario into the routing engine's
//! [`AgentSpec`]s and [`QueueSpec`]s, and decides who may serve what. When the
//! engine's specs grow (requirement expressions, relaxation steps), this is
//! the file to adapt.

use omni_core::Channel;
use omni_router_core::{AgentSpec, QueueSpec};

use crate::scenario::{AgentGroup, QueueScenario, Scenario};

/// The engine's view of a scenario.
pub(crate) struct Specs {
    /// Every agent, group by group.
    pub(crate) agents: Vec<AgentSpec>,
    /// The group index of each agent in `agents`.
    pub(crate) group_of: Vec<usize>,
    /// Every queue, in scenario order.
    pub(crate) queues: Vec<QueueSpec>,
}

/// Builds the agents (`<group>#<n>`, numbered from 1) and queues of a
/// scenario.
pub(crate) fn build(scenario: &Scenario) -> Specs {
    let mut agents = Vec::new();
    let mut group_of = Vec::new();
    for (g, group) in scenario.agents.iter().enumerate() {
        for n in 1..=group.count {
            agents.push(agent_spec(group, format!("{}#{n}", group.group)));
            group_of.push(g);
        }
    }
    let queues = scenario.queues.iter().map(queue_spec).collect();
    Specs {
        agents,
        group_of,
        queues,
    }
}

fn agent_spec(group: &AgentGroup, id: String) -> AgentSpec {
    let mut spec = AgentSpec::new(id);
    for (skill, level) in &group.skills {
        spec = spec.with_skill(skill, *level);
    }
    for (channel, capacity) in &group.capacity {
        spec = spec.with_capacity(*channel, *capacity);
    }
    if let Some(total) = group.total {
        spec = spec.with_total(total);
    }
    spec
}

fn queue_spec(queue: &QueueScenario) -> QueueSpec {
    let mut spec = QueueSpec::new(queue.id.as_str()).with_priority(queue.priority);
    for (skill, minimum) in &queue.skills {
        spec = spec.with_requirement(skill, *minimum);
    }
    // Checked when the scenario was read.
    spec.hours = queue
        .hours
        .as_ref()
        .and_then(|h| omni_core::hours::Schedule::parse(h).ok());
    spec
}

/// Whether agents of `group` are eligible for contacts of `queue`: capacity
/// on its channel and the skills it requires.
pub(crate) fn group_serves(group: &AgentGroup, queue: &QueueScenario) -> bool {
    let agent = agent_spec(group, group.group.clone());
    has_capacity(&agent, queue.channel) && agent.score_for(&queue_spec(queue).requirement).is_some()
}

fn has_capacity(agent: &AgentSpec, channel: Channel) -> bool {
    agent.capacity.get(&channel).is_some_and(|n| *n > 0) && agent.total.is_none_or(|t| t > 0)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::dist::Distribution;

    fn queue(skills: &[(&str, u8)], channel: Channel) -> QueueScenario {
        QueueScenario {
            id: "q".into(),
            channel,
            priority: 3,
            skills: skills.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect(),
            arrivals_per_hour: 10.0,
            handle_time: Distribution::Exponential { mean_secs: 60.0 },
            patience: None,
            service_level_secs: 20.0,
            hours: None,
        }
    }

    fn group(skills: &[(&str, u8)], capacity: &[(Channel, u32)]) -> AgentGroup {
        AgentGroup {
            group: "g".into(),
            count: 2,
            skills: skills.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect(),
            capacity: capacity.iter().copied().collect::<BTreeMap<_, _>>(),
            total: Some(2),
        }
    }

    #[test]
    fn eligibility_needs_channel_capacity_and_skills() {
        let g = group(&[("sales", 6)], &[(Channel::CHAT, 2)]);
        assert!(group_serves(&g, &queue(&[("sales", 5)], Channel::CHAT)));
        assert!(!group_serves(&g, &queue(&[("sales", 7)], Channel::CHAT)));
        assert!(!group_serves(&g, &queue(&[("billing", 1)], Channel::CHAT)));
        assert!(!group_serves(&g, &queue(&[], Channel::EMAIL)));
    }

    #[test]
    fn builds_one_spec_per_agent_with_group_settings() {
        let scenario = Scenario {
            duration_secs: 10.0,
            warmup_secs: 0.0,
            seed: 1,
            batches: 2,
            start_ms: 0,
            queues: vec![queue(&[("sales", 5)], Channel::CHAT)],
            agents: vec![group(&[("sales", 6)], &[(Channel::CHAT, 2)])],
        };
        let specs = build(&scenario);
        let ids: Vec<&str> = specs.agents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["g#1", "g#2"]);
        assert_eq!(specs.group_of, [0, 0]);
        assert_eq!(specs.agents[0].capacity[&Channel::CHAT], 2);
        assert_eq!(specs.agents[0].total, Some(2));
        assert_eq!(specs.queues[0].priority, 3);
        assert_eq!(
            specs.queues[0]
                .requirement
                .minimums()
                .expect("an AND of minimums")["sales"],
            5
        );
    }
}
