//! The simulator against queueing theory and against what a planner expects.
//!
//! Every test runs the real routing engine through the simulator with a
//! fixed seed, so a pass is reproducible. Agreement is judged by batch-means
//! confidence intervals: the formula's value must lie within
//! [`support::Z`] standard errors of the simulated estimate, the interval
//! must be narrow enough to mean something, and a wrong model (one agent
//! more) must fall outside the same bounds.

mod behavior;
mod erlang_a;
mod erlang_c;
mod hours;
mod support;
