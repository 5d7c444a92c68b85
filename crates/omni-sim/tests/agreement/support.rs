//! Scenario text and statistical checks shared by the agreement tests.

use omni_sim::{Estimate, Report, Scenario};

/// Standard errors the formula may be off by. With 30 batches (Student's t
/// with 29 degrees of freedom) a correct model misses this in about 1 of
/// 650 seeds.
pub const Z: f64 = 3.5;

/// A single-queue scenario and the parameters it was made from.
pub struct SingleQueue {
    pub agents: u32,
    pub capacity: u32,
    pub load: f64,
    pub handle_secs: f64,
    pub patience_secs: Option<f64>,
    pub threshold_secs: f64,
    pub contacts: f64,
    pub seed: u64,
}

impl SingleQueue {
    /// Poisson arrivals at `load` Erlangs, exponential handle times, the
    /// measured period long enough for about `contacts` arrivals, and a
    /// warm-up of 200 mean handle times.
    pub fn scenario(&self) -> Scenario {
        let arrivals_per_hour = self.load / self.handle_secs * 3600.0;
        let duration_secs = self.contacts / arrivals_per_hour * 3600.0;
        let patience = match self.patience_secs {
            Some(mean) => {
                format!("patience = {{ distribution = \"exponential\", mean_secs = {mean} }}")
            }
            None => String::new(),
        };
        let text = format!(
            r#"
            duration_secs = {duration_secs}
            warmup_secs = {warmup}
            seed = {seed}
            batches = 30

            [[queues]]
            id = "q"
            arrivals_per_hour = {arrivals_per_hour}
            service_level_secs = {threshold}
            handle_time = {{ distribution = "exponential", mean_secs = {handle} }}
            {patience}

            [[agents]]
            group = "pool"
            count = {agents}
            capacity = {{ chat = {capacity} }}
            "#,
            warmup = self.handle_secs * 200.0,
            seed = self.seed,
            threshold = self.threshold_secs,
            handle = self.handle_secs,
            agents = self.agents,
            capacity = self.capacity,
        );
        Scenario::parse(&text).expect("valid scenario")
    }

    /// Servers in the queueing model: agents times capacity.
    pub fn servers(&self) -> u32 {
        self.agents * self.capacity
    }

    pub fn arrivals_per_sec(&self) -> f64 {
        self.load / self.handle_secs
    }
}

/// Runs a scenario without progress output.
pub fn run(scenario: &Scenario) -> Report {
    omni_sim::run(scenario, &mut |_| {}).expect("simulation runs")
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
