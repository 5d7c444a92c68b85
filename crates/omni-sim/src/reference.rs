//! Which queues of a scenario a closed-form model describes exactly, and what
//! it predicts for them.
//!
//! A queue is an Erlang C queue (Erlang A with exponential patience) when its
//! handle times are exponential and it has a pool of servers to itself:
//! every agent group that can serve it serves no other queue. Each agent of
//! such a group is `min(capacity on the channel, total)` servers, since a
//! simulated agent handles concurrent contacts without slowing down.
//! Priorities and selection rules then change nothing for the queue.

use crate::dist::Distribution;
use crate::erlang::{ErlangA, ErlangC, Prediction};
use crate::scenario::Scenario;
use crate::specs;

/// The prediction of Erlang C or Erlang A for queue `queue` of `scenario`,
/// if one of them describes it exactly (see the module docs).
pub fn reference(scenario: &Scenario, queue: usize) -> Option<Prediction> {
    let q = scenario.queues.get(queue)?;
    if q.hours.is_some() {
        // Closed hours break the steady state the formulas assume.
        return None;
    }
    let Distribution::Exponential { mean_secs } = q.handle_time else {
        return None;
    };
    let mut servers: u64 = 0;
    for group in &scenario.agents {
        if !specs::group_serves(group, q) {
            continue;
        }
        let shared = scenario
            .queues
            .iter()
            .enumerate()
            .any(|(other, oq)| other != queue && specs::group_serves(group, oq));
        if shared {
            return None;
        }
        let per_agent = group
            .capacity
            .get(&q.channel)
            .copied()
            .unwrap_or(0)
            .min(group.total.unwrap_or(u32::MAX));
        servers += u64::from(group.count) * u64::from(per_agent);
    }
    let agents = u32::try_from(servers).ok().filter(|n| *n > 0)?;
    let arrivals_per_sec = q.arrivals_per_hour / 3600.0;
    match q.patience {
        None => ErlangC {
            agents,
            arrivals_per_sec,
            mean_handle_secs: mean_secs,
        }
        .predict(q.service_level_secs),
        Some(Distribution::Exponential {
            mean_secs: patience,
        }) => ErlangA {
            agents,
            arrivals_per_sec,
            mean_handle_secs: mean_secs,
            mean_patience_secs: patience,
        }
        .predict(q.service_level_secs),
        Some(Distribution::Lognormal { .. }) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang::Model;

    const BASE: &str = r#"
        duration_secs = 3600
        [[queues]]
        id = "sales"
        skills = { sales = 1 }
        arrivals_per_hour = 160
        handle_time = { distribution = "exponential", mean_secs = 180 }
        [[agents]]
        group = "a"
        count = 5
        skills = { sales = 5 }
        capacity = { chat = 2 }
    "#;

    #[test]
    fn a_dedicated_pool_is_erlang_c_with_capacity_counted_as_servers() {
        let scenario = Scenario::parse(BASE).expect("valid");
        let p = reference(&scenario, 0).expect("erlang c");
        assert_eq!(p.model, Model::ErlangC);
        let direct = ErlangC {
            agents: 10,
            arrivals_per_sec: 160.0 / 3600.0,
            mean_handle_secs: 180.0,
        }
        .predict(20.0)
        .expect("stable");
        assert_eq!(p, direct);
    }

    #[test]
    fn exponential_patience_makes_it_erlang_a_and_lognormal_makes_it_none() {
        let text = BASE.replace(
            "arrivals_per_hour = 160",
            "arrivals_per_hour = 160\npatience = { distribution = \"exponential\", mean_secs = 60 }",
        );
        let scenario = Scenario::parse(&text).expect("valid");
        assert_eq!(
            reference(&scenario, 0).expect("erlang a").model,
            Model::ErlangA
        );
        let text = BASE.replace(
            "{ distribution = \"exponential\", mean_secs = 180 }",
            "{ distribution = \"lognormal\", mean_secs = 180, sd_secs = 60 }",
        );
        let scenario = Scenario::parse(&text).expect("valid");
        assert_eq!(reference(&scenario, 0), None);
    }

    #[test]
    fn a_pool_shared_with_another_queue_has_no_reference() {
        let text = format!(
            "{BASE}\n[[queues]]\nid = \"support\"\narrivals_per_hour = 10\nhandle_time = {{ distribution = \"exponential\", mean_secs = 60 }}\n"
        );
        let scenario = Scenario::parse(&text).expect("valid");
        assert_eq!(reference(&scenario, 0), None);
        assert_eq!(reference(&scenario, 1), None);
    }
}
