//! Scenario text and statistical checks shared by the agreement tests.

use omni_sim::{Estimate, Report, Scenario};

/// Standard errors the formula may be off by. With 30 batches (Student's t
/// with 29 degrees of freedom) a correct model misses this in about 1 of
/// 650 seeds.
pub const Z: f64 = 3.5;

pub use omni_sim::SingleQueue;

/// What the single-queue cases share: one chat per agent, customers who
/// never give up, 30 batches. Each case sets the rest.
pub const BASE: SingleQueue = SingleQueue {
    agents: 1,
    capacity: 1,
    load: 0.5,
    handle_secs: 60.0,
    patience_secs: None,
    threshold_secs: 20.0,
    contacts: 400_000.0,
    seed: 1,
    batches: 30,
};

/// Runs a scenario without progress output.
pub fn run(scenario: &Scenario) -> Report {
    omni_sim::run(scenario, &mut |_| {}).expect("simulation runs")
}

/// Runs a single-queue case.
pub fn simulate(setup: &SingleQueue) -> Report {
    run(&setup.scenario().expect("valid scenario"))
}

/// Checks that `theory` lies within [`Z`] standard errors of the estimate
/// and that the estimate is precise: its 95% half-width at most `max_ci`.
pub fn agrees(name: &str, estimate: Option<Estimate>, theory: f64, max_ci: f64) {
    let e = estimate.unwrap_or_else(|| panic!("{name}: no estimate"));
    let se = e
        .std_error
        .unwrap_or_else(|| panic!("{name}: no standard error"));
    let ci = e.ci95.unwrap_or_else(|| panic!("{name}: no interval"));
    let off = (e.value - theory) / se;
    eprintln!(
        "{name}: simulated {:.5} ±{ci:.5}, formula {theory:.5} ({off:+.2} standard errors)",
        e.value
    );
    assert!(
        ci <= max_ci,
        "{name}: interval ±{ci:.5} is wider than ±{max_ci}: the run is too short to test anything"
    );
    assert!(
        off.abs() <= Z,
        "{name}: simulated {:.5} ±{ci:.5} but the formula says {theory:.5} ({off:.2} standard errors off)",
        e.value
    );
}

/// Checks that a wrong prediction (e.g. for one agent more) falls outside
/// the bounds [`agrees`] uses: the test can tell the difference.
pub fn rejects(name: &str, estimate: Option<Estimate>, wrong: f64) {
    let e = estimate.unwrap_or_else(|| panic!("{name}: no estimate"));
    let se = e
        .std_error
        .unwrap_or_else(|| panic!("{name}: no standard error"));
    let off = (e.value - wrong) / se;
    assert!(
        off.abs() > Z,
        "{name}: the wrong value {wrong:.5} is only {off:.2} standard errors from {:.5}: the test is too loose",
        e.value
    );
}
