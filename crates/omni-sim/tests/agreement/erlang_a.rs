//! Single queue, Poisson arrivals, exponential handle times and exponential
//! patience: the simulated P(wait), abandonment, ASA and service level agree
//! with Erlang A, also when the load exceeds the agents.

use omni_sim::{ErlangA, Prediction};

use crate::support::{BASE, SingleQueue, agrees, rejects, simulate};

/// Erlang A's prediction for `setup` served by `servers` (its own or, to
/// show the test can tell, one more).
fn predict(setup: &SingleQueue, servers: u32) -> Prediction {
    ErlangA {
        agents: servers,
        arrivals_per_sec: setup.arrivals_per_sec(),
        mean_handle_secs: setup.handle_secs,
        mean_patience_secs: setup.patience_secs.expect("patience"),
    }
    .predict(setup.threshold_secs)
    .expect("valid")
}

#[test]
fn fully_loaded_queue_with_impatient_customers_agrees_with_erlang_a() {
    // As much work as agents (10 Erlangs on 10 agents): without abandonment
    // the queue would grow forever.
    let setup = SingleQueue {
        agents: 10,
        load: 10.0,
        handle_secs: 180.0,
        patience_secs: Some(120.0),
        threshold_secs: 20.0,
        seed: 21,
        ..BASE
    };
    let report = simulate(&setup);
    let q = &report.queues[0];
    let p = predict(&setup, setup.servers());
    assert_eq!(q.reference, Some(p));
    agrees("P(wait)", q.p_wait, p.p_wait, 0.01);
    agrees("P(abandon)", q.abandon_rate, p.abandon_rate, 0.005);
    agrees("ASA", q.asa_secs, p.asa_secs, 0.05 * p.asa_secs);
    agrees("SL(20 s)", q.service_level, p.service_level, 0.01);
    agrees("occupancy", report.groups[0].occupancy, p.occupancy, 0.005);
    assert_eq!(q.unresolved, 0);

    let wrong = predict(&setup, 11);
    rejects("P(wait) of 11 agents", q.p_wait, wrong.p_wait);
    rejects(
        "P(abandon) of 11 agents",
        q.abandon_rate,
        wrong.abandon_rate,
    );
    rejects("ASA of 11 agents", q.asa_secs, wrong.asa_secs);
    rejects(
        "SL(20 s) of 11 agents",
        q.service_level,
        wrong.service_level,
    );
}

#[test]
fn overloaded_queue_agrees_with_erlang_a() {
    // 30% more work than 50 agents can do; customers wait a minute on
    // average before giving up.
    let setup = SingleQueue {
        agents: 50,
        load: 65.0,
        handle_secs: 300.0,
        patience_secs: Some(60.0),
        threshold_secs: 30.0,
        seed: 22,
        ..BASE
    };
    let report = simulate(&setup);
    let q = &report.queues[0];
    let p = predict(&setup, setup.servers());
    agrees("P(wait)", q.p_wait, p.p_wait, 0.01);
    agrees("P(abandon)", q.abandon_rate, p.abandon_rate, 0.005);
    agrees("ASA", q.asa_secs, p.asa_secs, 0.05 * p.asa_secs);
    agrees("SL(30 s)", q.service_level, p.service_level, 0.01);
    let wrong = predict(&setup, 51);
    rejects(
        "P(abandon) of 51 agents",
        q.abandon_rate,
        wrong.abandon_rate,
    );
    rejects(
        "SL(30 s) of 51 agents",
        q.service_level,
        wrong.service_level,
    );
}
