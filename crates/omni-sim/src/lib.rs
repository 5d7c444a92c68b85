//! Omniroute's routing simulator: the real routing core
//! ([`omni_router_core::Engine`]) driven by a discrete-event simulation in
//! virtual time, with the Erlang C and Erlang A formulas to check it against.
//!
//! A [`Scenario`] (a TOML file) describes queues with Poisson arrivals,
//! handle-time and patience distributions and a service-level threshold,
//! and agent groups with skills and capacity. [`run`] simulates it,
//! deterministically for its seed, and returns a [`Report`]: per queue the
//! service level, average speed of answer, probability of waiting and
//! abandonment, per agent group the occupancy, each with a 95% confidence
//! interval from batch means, next to the Erlang C or Erlang A prediction
//! where one describes the queue exactly.
//!
//! ```no_run
//! let scenario = omni_sim::Scenario::load("config/simulate.toml".as_ref())?;
//! let report = omni_sim::run(&scenario, &mut |_progress| {})?;
//! println!("{}", report.to_text());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//! - [`scenario`] reads and validates scenario files ([`Scenario`],
//!   [`ScenarioError`]).
//! - `specs` (internal) builds the engine's agent and queue specs from a
//!   scenario: the one place to adapt when they change.
//! - [`sim`] is the event loop around the engine ([`run`], [`Progress`]).
//! - [`report`] holds the results and their text, JSON and CSV forms.
//! - [`stats`] computes confidence intervals from batch means.
//! - [`erlang`] holds Erlang B, C and A; [`reference`](mod@reference) decides which queues
//!   they describe; [`special`] has the gamma functions they need.
//! - [`rng`] and [`dist`] generate the random numbers (xoshiro256++) and
//!   durations (exponential, lognormal).
//! - [`single`] is the single-queue scenario Erlang C and A describe in
//!   closed form ([`SingleQueue`](single::SingleQueue)), run by the
//!   agreement tests and the agreement example.

#![forbid(unsafe_code)]

pub mod dist;
pub mod erlang;
pub mod reference;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod single;
pub mod special;
mod specs;
pub mod stats;

pub use erlang::{ErlangA, ErlangC, Model, Prediction};
pub use report::{CSV_COLUMNS, GroupReport, OverallReport, QueueReport, Report};
pub use scenario::{Scenario, ScenarioError};
pub use sim::{Progress, SimError, run};
pub use single::SingleQueue;
pub use stats::Estimate;
