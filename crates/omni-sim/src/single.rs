//! One queue, one pool of agents, Poisson arrivals and exponential handle
//! times (and patience, if given): the scenario whose figures Erlang C and
//! Erlang A give in closed form. The agreement tests and the agreement
//! example (`examples/agreement.rs`) both run it.

use crate::{Scenario, ScenarioError};

/// A single-queue scenario and the parameters it is made from.
#[derive(Debug, Clone, Copy)]
pub struct SingleQueue {
    /// Agents in the pool.
    pub agents: u32,
    /// Conversations each agent holds at once (chat capacity).
    pub capacity: u32,
    /// Offered load in Erlangs.
    pub load: f64,
    /// Mean handle time.
    pub handle_secs: f64,
    /// Mean patience, if customers abandon.
    pub patience_secs: Option<f64>,
    /// The service-level threshold.
    pub threshold_secs: f64,
    /// Arrivals the measured period should hold, about.
    pub contacts: f64,
    /// The run's seed.
    pub seed: u64,
    /// Batches for the batch-means confidence intervals.
    pub batches: u32,
}

impl SingleQueue {
    /// The scenario: the measured period long enough for about `contacts`
    /// arrivals, after a warm-up of 200 mean handle times.
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        let arrivals_per_hour = self.load / self.handle_secs * 3600.0;
        let patience = match self.patience_secs {
            Some(mean) => {
                format!("patience = {{ distribution = \"exponential\", mean_secs = {mean} }}")
            }
            None => String::new(),
        };
        let text = format!(
            r#"
            duration_secs = {duration}
            warmup_secs = {warmup}
            seed = {seed}
            batches = {batches}

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
            duration = self.contacts / arrivals_per_hour * 3600.0,
            warmup = self.handle_secs * 200.0,
            seed = self.seed,
            batches = self.batches,
            threshold = self.threshold_secs,
            handle = self.handle_secs,
            agents = self.agents,
            capacity = self.capacity,
        );
        Scenario::parse(&text)
    }

    /// Servers in the queueing model: agents times capacity.
    pub fn servers(&self) -> u32 {
        self.agents * self.capacity
    }

    /// Arrivals per second.
    pub fn arrivals_per_sec(&self) -> f64 {
        self.load / self.handle_secs
    }

    /// `10 agents, 8 Erl, AHT 180 s` (with `× n chats` and the patience
    /// when they apply).
    pub fn label(&self) -> String {
        let servers = if self.capacity == 1 {
            format!("{} agents", self.agents)
        } else {
            format!("{} agents × {} chats", self.agents, self.capacity)
        };
        let patience = match self.patience_secs {
            Some(p) => format!(", patience {p} s"),
            None => String::new(),
        };
        format!(
            "{servers}, {} Erl, AHT {} s{patience}",
            self.load, self.handle_secs
        )
    }
}
