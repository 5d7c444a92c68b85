//! The cost of counting: one labelled counter increment as the router and
//! the context service make them on every message, from one thread and from
//! two at once, and one scrape of the registry. Prints nanoseconds per
//! increment (median of 15 rounds) and microseconds per scrape.

use std::hint::black_box;
use std::time::Instant;

const PER_ROUND: u64 = 200_000;
const ROUNDS: usize = 15;

fn inc(channel: &str) {
    omni_telemetry::count!(
        "omni_bench_messages_total",
        "bench",
        &[("channel", channel), ("result", "stored")],
    );
}

fn round(threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let channel = if t % 2 == 0 { "chat" } else { "email" };
                for _ in 0..PER_ROUND {
                    inc(black_box(channel));
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / (PER_ROUND as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    for threads in [1, 2] {
        let ns = median((0..ROUNDS).map(|_| round(threads)).collect());
        println!(
            "labelled counter increment, {threads} thread(s) at once: {ns:.1} ns (wall per increment per thread)"
        );
    }
    let scrapes: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            black_box(omni_telemetry::metrics::render());
            start.elapsed().as_nanos() as f64 / 1000.0
        })
        .collect();
    println!("scrape (render): {:.1} us", median(scrapes));
}
