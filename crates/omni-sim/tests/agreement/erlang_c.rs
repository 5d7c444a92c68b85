//! Single queue, Poisson arrivals, exponential handle times, no abandonment:
//! the simulated P(wait), ASA, service level and occupancy agree with
//! Erlang C.

use omni_sim::{ErlangC, Prediction};

use crate::support::{BASE, SingleQueue, agrees, rejects, simulate};

/// Erlang C's prediction for `setup` served by `servers` (its own or, to
/// show the test can tell, one more).
fn predict(setup: &SingleQueue, servers: u32) -> Prediction {
    ErlangC {
        agents: servers,
        arrivals_per_sec: setup.arrivals_per_sec(),
        mean_handle_secs: setup.handle_secs,
    }
    .predict(setup.threshold_secs)
    .expect("stable")
}

#[test]
fn ten_agents_at_eight_erlangs_agree_with_erlang_c() {
    let setup = SingleQueue {
        agents: 10,
        load: 8.0,
        handle_secs: 180.0,
        threshold_secs: 20.0,
        contacts: 800_000.0,
        seed: 11,
        ..BASE
    };
    let report = simulate(&setup);
    let q = &report.queues[0];
    let p = predict(&setup, setup.servers());
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

    let wrong = predict(&setup, 11);
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
        threshold_secs: 30.0,
        seed: 12,
        ..BASE
    };
    let report = simulate(&setup);
    let q = &report.queues[0];
    let p = predict(&setup, setup.servers());
    agrees("P(wait)", q.p_wait, p.p_wait, 0.015);
    agrees("SL(30 s)", q.service_level, p.service_level, 0.015);
    agrees(
        "capacity utilization",
        report.groups[0].capacity_utilization,
        p.occupancy,
        0.005,
    );
    let wrong = predict(&setup, 25);
    rejects("P(wait) of 25 servers", q.p_wait, wrong.p_wait);
}
