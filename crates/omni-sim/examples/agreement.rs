//! Prints the simulator-versus-formula agreement table of
//! `docs/simulator.md`: long single-queue runs against Erlang C and Erlang
//! A, with 95% confidence intervals from batch means, and the simulator's
//! speed.
//!
//! ```sh
//! cargo run --release -p omni-sim --example agreement
//! SIM_CONTACTS=1000000 cargo run --release -p omni-sim --example agreement
//! ```
//!
//! `SIM_CONTACTS` (default 4,000,000) is the number of measured contacts per
//! case; `SIM_SEED` (default 1) the seed of the first case, the next cases
//! take the following seeds so that their errors are independent.

use std::time::Instant;

use omni_sim::{Estimate, SingleQueue};

/// The allocator of `omni simulate`, so the speed printed is the command's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_number(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

fn row(measure: &str, unit: Unit, estimate: Option<Estimate>, formula: f64) -> String {
    let Some(e) = estimate else {
        return format!("| | {measure} | {} | - | - |", unit.show(formula));
    };
    let ci = e.ci95.unwrap_or(f64::NAN);
    let se = e.std_error.unwrap_or(f64::NAN);
    format!(
        "| | {measure} | {} | {} ± {} | {:+.2} |",
        unit.show(formula),
        unit.show(e.value),
        unit.show_plain(ci),
        (e.value - formula) / se
    )
}

#[derive(Clone, Copy)]
enum Unit {
    Percent,
    Seconds,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{:.2}%", v * 100.0),
            Unit::Seconds => format!("{v:.2} s"),
        }
    }

    fn show_plain(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{:.2}", v * 100.0),
            Unit::Seconds => format!("{v:.2}"),
        }
    }
}

/// The cases: agents, chats each, offered Erlangs, mean handle time, mean
/// patience (none: nobody abandons, Erlang C), service-level threshold.
const CASES: [(u32, u32, f64, f64, Option<f64>, f64); 6] = [
    (10, 1, 8.0, 180.0, None, 20.0),
    (50, 1, 45.0, 300.0, None, 20.0),
    (12, 2, 20.0, 300.0, None, 30.0),
    (10, 1, 10.0, 180.0, Some(120.0), 20.0),
    (50, 1, 65.0, 300.0, Some(60.0), 30.0),
    (100, 1, 95.0, 240.0, Some(300.0), 20.0),
];

fn main() {
    let contacts = env_number("SIM_CONTACTS", 4_000_000.0);
    let seed = env_number("SIM_SEED", 1.0) as u64;
    let cases = CASES.map(
        |(agents, capacity, load, handle_secs, patience_secs, threshold_secs)| SingleQueue {
            agents,
            capacity,
            load,
            handle_secs,
            patience_secs,
            threshold_secs,
            contacts,
            seed,
            batches: 40,
        },
    );
    println!(
        "{} measured contacts per case, seeds {seed}-{}, 40 batches; ± is the 95% confidence interval; \"off\" is (simulated - formula) / standard error\n",
        contacts as u64,
        seed + cases.len() as u64 - 1
    );
    println!("| case | measure | formula | simulated | off (SE) |");
    println!("|---|---|---|---|---|");
    let mut speed = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let case = SingleQueue {
            seed: seed + i as u64,
            ..*case
        };
        let scenario = case
            .scenario()
            .unwrap_or_else(|e| panic!("case {}: {e}", case.label()));
        let started = Instant::now();
        let report = match omni_sim::run(&scenario, &mut |_| {}) {
            Ok(r) => r,
            Err(e) => panic!("case {}: {e}", case.label()),
        };
        let elapsed = started.elapsed().as_secs_f64();
        speed.push((
            report.contacts as f64 / elapsed,
            report.events as f64 / elapsed,
        ));
        let q = &report.queues[0];
        let Some(p) = q.reference else {
            panic!("case {}: no closed-form reference", case.label());
        };
        println!("| {}: **{}** | | | | |", case.label(), p.model.label());
        println!("{}", row("P(wait)", Unit::Percent, q.p_wait, p.p_wait));
        println!("{}", row("ASA", Unit::Seconds, q.asa_secs, p.asa_secs));
        println!(
            "{}",
            row(
                &format!("SL({} s)", case.threshold_secs),
                Unit::Percent,
                q.service_level,
                p.service_level
            )
        );
        if case.patience_secs.is_some() {
            println!(
                "{}",
                row("P(abandon)", Unit::Percent, q.abandon_rate, p.abandon_rate)
            );
        }
        println!(
            "{}",
            row(
                "occupancy",
                Unit::Percent,
                report.groups[0].capacity_utilization,
                p.occupancy
            )
        );
    }
    let contacts_per_sec = speed.iter().map(|s| s.0).sum::<f64>() / speed.len() as f64;
    let events_per_sec = speed.iter().map(|s| s.1).sum::<f64>() / speed.len() as f64;
    println!(
        "\nspeed: {contacts_per_sec:.0} contacts/s ({events_per_sec:.0} simulator events/s), mean over the cases"
    );
}
