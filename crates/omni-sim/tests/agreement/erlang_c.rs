//! Single queue, Poisson arrivals, exponential handle times, no abandonment:
//! the simulated P(wait), ASA, service level and occupancy agree with
//! Erlang C.

use omni_sim::ErlangC;

use crate::support::{SingleQueue, agrees, rejects, run};

fn model(setup: &SingleQueue) -> ErlangC {
    ErlangC {
        agents: setup.servers(),
        arrivals_per_sec: setup.arrivals_per_sec(),
        mean_handle_secs: setup.handle_secs,
    }
}

#[test]
fn ten_agents_at_eight_erlangs_agree_with_erlang_c() {
    let setup = SingleQueue {
        agents: 10,
        capacity: 1,
        load: 8.0,
        handle_secs: 180.0,
        patience_secs: None,
        threshold_secs: 20.0,
        contacts: 800_000.0,
        seed: 11,
        batches: 30,
    };
    let report = run(&setup.scenario().expect("valid scenario"));
    let q = &report.queues[0];
    let p = model(&setup).predict(20.0).expect("stable");
    assert_eq!(
        q.reference,
        Some(p),
        "the report carries the same prediction"
    );
    agrees("P(wait)", q.p_wait, p.p_wait, 0.01);
    agrees("ASA", q.asa_secs, p.asa_secs, 0.05 * p.asa_secs);
    agrees("SL(20 s)", q.service_level, p.service_level, 0.01);
    agrees("occupancy", report.groups[0].occupancy, p.occupancy, 0.005);
    assert_eq!((q.abandoned, q.unresolved), (0, 0));
    assert_eq!(q.answered, q.offered);

    let wrong = ErlangC {
        agents: 11,
        ..model(&setup)
    }
    .predict(20.0)
    .expect("stable");
    rejects("P(wait) of 11 agents", q.p_wait, wrong.p_wait);
    rejects("ASA of 11 agents", q.asa_secs, wrong.asa_secs);
    rejects(
        "SL(20 s) of 11 agents",
        q.service_level,
        wrong.service_level,
    );
}

#[test]
fn agents_holding_two_chats_each_count_as_two_servers() {
    // 12 agents with chat capacity 2 are 24 servers: the engine fills the
    // second slot of busy agents, and the queue behaves as M/M/24.
    let setup = SingleQueue {
        agents: 12,
        capacity: 2,
        load: 20.0,
        handle_secs: 300.0,
        patience_secs: None,
        threshold_secs: 30.0,
        contacts: 400_000.0,
        seed: 12,
        batches: 30,
    };
    let report = run(&setup.scenario().expect("valid scenario"));
    let q = &report.queues[0];
    let p = model(&setup).predict(30.0).expect("stable");
    agrees("P(wait)", q.p_wait, p.p_wait, 0.015);
    agrees("SL(30 s)", q.service_level, p.service_level, 0.015);
    agrees(
        "capacity utilization",
        report.groups[0].capacity_utilization,
        p.occupancy,
        0.005,
    );
    let wrong = ErlangC {
        agents: 25,
        ..model(&setup)
    }
    .predict(30.0)
    .expect("stable");
    rejects("P(wait) of 25 servers", q.p_wait, wrong.p_wait);
}
