//! Routing decision benchmark: 10,000 agents (50 skills, 1-5 per agent),
//! 100,000 queued contacts, one core.
//!
//! Run with `cargo bench -p omni-router-core --bench routing` (add
//! `-- --quick` for a shorter run). It prints the machine, memory per agent
//! and per queued contact, the latency of each kind of decision (p50, p99,
//! p99.9, max) and the decision rate.
//!
//! Memory is counted exactly: the bench's global allocator (mimalloc, as in
//! the `omni` binary) is wrapped in a counter of live heap bytes, read
//! before and after building the agents and before and after queueing the
//! contacts. The process's resident set is printed too, per contact held:
//! an upper bound, as it also holds the agents, the binary and the
//! allocator's own overhead.
//!
//! Scenarios:
//! - **saturated**: every agent is full and 100,000 contacts wait in 50
//!   queues (one per skill, base requirement `sN >= 4`, relaxed to `>= 2`
//!   after 30 s and to `>= 1` after 90 s, 10% also `AND lang == "es"`).
//!   Each round an assigned contact is released (the agent frees up: the
//!   engine finds the best waiting contact it is eligible for and offers
//!   it), the agent accepts, and a new contact arrives (nobody is free: the
//!   engine checks the index and queues it). Virtual time advances 1 ms per
//!   arrival while filling and per round after, so contacts cross relaxation steps as they age.
//! - **idle** (run first): the same agents and queues, nobody waiting,
//!   agents with room: each arrival is offered at once (the contact-driven
//!   decision through the index) and accepted; once 20,000 contacts are
//!   held, each round also releases one (an agent frees up; only contacts
//!   of the language queues, which few agents meet, can be waiting). Then
//!   everything is released and the saturated scenario fills up.
//! - **positions** (after the saturated timing): the cost of
//!   `Engine::take_positions` as the router calls it every second, the
//!   first 100 contacts of each line that changed.

use std::time::Instant;

use cap::Cap;
use mimalloc::MiMalloc;

use omni_core::Channel;
use omni_core::time::Millis;
use omni_router_core::{
    AgentSpec, Effect, Engine, EngineConfig, Event, Presence, QueueSpec, Requirement,
};

/// The `omni` binary's allocator, counting live bytes.
#[global_allocator]
static HEAP: Cap<MiMalloc> = Cap::new(MiMalloc, usize::MAX);

fn live_bytes() -> u64 {
    HEAP.allocated() as u64
}

const AGENTS: usize = 10_000;
const SKILLS: usize = 50;
const QUEUED: usize = 100_000;
/// Contacts held during the idle phase (a third of the agents' capacity).
const IDLE_HELD: usize = 20_000;

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// User plus system CPU seconds this process has used.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}

fn agents(rng: &mut Rng) -> Vec<AgentSpec> {
    let langs = ["en", "es", "fr", "de"];
    (0..AGENTS)
        .map(|i| {
            let mut spec = AgentSpec::new(format!("agent{i:05}"))
                .with_capacity(Channel::CHAT, 3)
                .with_capacity(Channel::EMAIL, 5)
                .with_capacity(Channel::SMS, 2)
                .with_total(6)
                .with_language("en");
            if rng.below(3) == 0 {
                spec = spec.with_language(langs[1 + rng.below(3)]);
            }
            for _ in 0..1 + rng.below(5) {
                let skill = format!("s{}", rng.below(SKILLS));
                let level = 1 + rng.below(10) as u8;
                spec = spec.with_skill(&skill, level);
            }
            spec
        })
        .collect()
}

fn queues() -> Vec<QueueSpec> {
    (0..SKILLS)
        .map(|k| {
            let base = if k % 10 == 0 {
                format!("s{k} >= 4 AND lang == \"es\"")
            } else {
                format!("s{k} >= 4")
            };
            let req = |t: &str| Requirement::parse(t).expect("benchmark requirement parses");
            QueueSpec::new(format!("q{k}"))
                .with_priority((k % 5) as u32)
                .with_expression(req(&base))
                .with_step(30_000, req(&format!("s{k} >= 2")))
                .with_step(90_000, req(&format!("s{k} >= 1")))
        })
        .collect()
}

fn config() -> EngineConfig {
    EngineConfig {
        offer_timeout_ms: 3_600_000,
        max_consecutive_misses: 3,
        decline_cooldown_ms: 30_000,
        epoch: 1,
        channels: Channel::BUILT_IN.to_vec(),
        // A bound above anything the run holds: every arrival checks it.
        default_max_waiting: Some(1_000_000),
    }
}

struct Sim {
    engine: Engine,
    rng: Rng,
    now: Millis,
    next_id: u64,
    assigned: Vec<omni_core::ConversationId>,
    /// Effect buffers reused across events, as a busy embedder would
    /// ([`Engine::apply_into`]).
    fx: Vec<Effect>,
    accept_fx: Vec<Effect>,
}

impl Sim {
    fn arrival(&mut self) -> Event {
        self.next_id += 1;
        let roll = self.rng.below(10);
        let channel = match roll {
            0..=5 => Channel::CHAT,
            6..=8 => Channel::EMAIL,
            _ => Channel::SMS,
        };
        Event::ContactArrived {
            conversation_id: format!("con_{:032x}", self.next_id).into(),
            queue: format!("q{}", self.rng.below(SKILLS)).into(),
            channel,
            queued_at_ms: self.now,
            preferred_agent: None,
            priority: 0,
            language: None,
        }
    }

    /// Applies `event`; accepts every offer it makes. Returns the time the
    /// event itself took and the number of offers.
    fn step(&mut self, event: Event, accept_times: &mut Vec<u64>) -> (u64, usize) {
        let mut fx = std::mem::take(&mut self.fx);
        fx.clear();
        let start = Instant::now();
        self.engine
            .apply_into(self.now, event, &mut fx)
            .expect("event applies");
        let took = start.elapsed().as_nanos() as u64;
        let mut offered = 0;
        let mut accept_fx = std::mem::take(&mut self.accept_fx);
        for e in fx.drain(..) {
            if let Effect::Offered(offer) = e {
                offered += 1;
                accept_fx.clear();
                let start = Instant::now();
                self.engine
                    .apply_into(
                        self.now,
                        Event::Accept {
                            agent_id: offer.agent_id,
                            offer_id: offer.offer_id,
                        },
                        &mut accept_fx,
                    )
                    .expect("accept applies");
                accept_times.push(start.elapsed().as_nanos() as u64);
                self.assigned.push(offer.conversation_id);
            }
        }
        self.fx = fx;
        self.accept_fx = accept_fx;
        (took, offered)
    }

    fn release_random(&mut self) -> Event {
        let i = self.rng.below(self.assigned.len());
        let id = self.assigned.swap_remove(i);
        Event::ContactReleased {
            conversation_id: id,
        }
    }
}

fn report(name: &str, mut ns: Vec<u64>) {
    if ns.is_empty() {
        println!("{name:<46} (no samples)");
        return;
    }
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)] as f64 / 1000.0;
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1000.0;
    println!(
        "{name:<46} n={:>7}  mean {mean:>6.2} µs  p50 {:>6.2} µs  p99 {:>6.2} µs  p99.9 {:>7.2} µs  max {:>8.2} µs",
        ns.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        *ns.last().unwrap_or(&0) as f64 / 1000.0
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 20_000 } else { 200_000 };
    println!("routing engine benchmark");
    println!(
        "machine: {}, {} logical cores (the benchmark uses one)",
        cpu_model(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "{AGENTS} agents, {SKILLS} skills (1-5 per agent), {SKILLS} queues with 2 relaxation steps, {QUEUED} queued contacts"
    );

    let live0 = live_bytes();
    let mut rng = Rng(42);
    let specs = agents(&mut rng);
    let queue_specs = queues();
    let engine = Engine::new(config(), specs, queue_specs);
    let mut sim = Sim {
        engine,
        rng,
        now: 1_000_000,
        next_id: 0,
        assigned: Vec::new(),
        fx: Vec::new(),
        accept_fx: Vec::new(),
    };
    let ids: Vec<_> = sim.engine.agents().into_iter().map(|a| a.id).collect();
    for id in ids {
        sim.engine
            .apply(
                sim.now,
                Event::SetPresence {
                    agent_id: id,
                    presence: Presence::Available,
                },
            )
            .expect("presence applies");
    }
    let live1 = live_bytes();
    println!(
        "memory per agent (state, skills, queues met, index entries), live heap: {:.0} B",
        live1.saturating_sub(live0) as f64 / AGENTS as f64
    );

    // Idle steady state: agents with room, nobody waiting.
    let mut sink = Vec::new();
    let mut idle_arrivals = Vec::with_capacity(rounds);
    let mut idle_frees = Vec::with_capacity(rounds);
    let mut unmatched = 0usize;
    for _ in 0..rounds {
        sim.now += 1;
        let event = sim.arrival();
        let (took, offered) = sim.step(event, &mut sink);
        if offered == 0 {
            unmatched += 1;
        }
        idle_arrivals.push(took);
        if sim.assigned.len() > IDLE_HELD {
            let event = sim.release_random();
            let (took, _) = sim.step(event, &mut sink);
            idle_frees.push(took);
        }
    }
    // Back to empty: release what is held (and anything still waiting).
    let held: Vec<_> = sim.assigned.drain(..).chain(sim.engine.waiting()).collect();
    for id in held {
        sim.engine
            .apply(
                sim.now,
                Event::ContactReleased {
                    conversation_id: id,
                },
            )
            .expect("release applies");
    }
    println!(
        "idle: {rounds} arrivals with {IDLE_HELD} contacts held, {unmatched} found no open eligible agent"
    );
    report("idle: contact arrives (offered at once)", idle_arrivals);
    report("idle: agent frees up", idle_frees);

    // Fill: arrivals until every agent is busy and QUEUED contacts wait.
    let mut arrived = 0usize;
    let mut live_saturated = live_bytes();
    let mut saturated_at = 0usize;
    loop {
        let waiting = arrived - sim.assigned.len();
        if waiting >= QUEUED {
            break;
        }
        let event = sim.arrival();
        let (_, offered) = sim.step(event, &mut sink);
        arrived += 1;
        if waiting == 0 && offered == 0 && saturated_at == 0 {
            saturated_at = arrived;
            live_saturated = live_bytes();
        }
        sim.now += 1;
    }
    let live2 = live_bytes();
    let rss2 = rss_bytes();
    let queued_after_saturation = arrived - saturated_at;
    println!(
        "memory per queued contact (contact, id, id map, queue entry, timer, decision log), live heap: {:.0} B",
        live2.saturating_sub(live_saturated) as f64 / queued_after_saturation.max(1) as f64
    );
    println!(
        "filled: {arrived} arrivals, {} assigned, {} waiting; live heap {:.1} MiB; resident set {:.1} MiB = {:.0} B per contact held (upper bound: agents, binary and allocator overhead included)",
        sim.assigned.len(),
        arrived - sim.assigned.len(),
        live2 as f64 / 1048576.0,
        rss2 as f64 / 1048576.0,
        rss2 as f64 / arrived as f64
    );

    // Saturated steady state.
    let mut frees = Vec::with_capacity(rounds);
    let mut arrivals = Vec::with_capacity(rounds);
    let mut accepts = Vec::with_capacity(rounds);
    let mut offers_made = 0usize;
    let load_before = load_average();
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    for _ in 0..rounds {
        sim.now += 1;
        let event = sim.release_random();
        let (took, offered) = sim.step(event, &mut accepts);
        frees.push(took);
        offers_made += offered;
        let event = sim.arrival();
        let (took, _) = sim.step(event, &mut accepts);
        arrivals.push(took);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "saturated: {rounds} rounds, {offers_made} offers, {} still waiting, virtual time {} s",
        sim.engine
            .queues(sim.now)
            .iter()
            .map(|q| q.waiting as usize)
            .sum::<usize>(),
        (sim.now - 1_000_000) / 1000
    );
    // The rate per fifth of the run: memory-bound work on a shared host
    // swings with the neighbours' cache use, and the median of the fifths
    // is steadier than one figure over the whole run.
    let fifth = rounds / 5;
    let mut rates: Vec<f64> = (0..5)
        .map(|k| {
            let part = k * fifth..(k + 1) * fifth;
            let busy: u64 =
                frees[part.clone()].iter().sum::<u64>() + arrivals[part].iter().sum::<u64>();
            (2 * fifth) as f64 / (busy as f64 / 1e9)
        })
        .collect();
    let shown: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "decisions per second per fifth of the run: {}; median {:.0}",
        shown.join(" / "),
        rates[2]
    );
    let decisions: Vec<u64> = frees.iter().chain(arrivals.iter()).copied().collect();
    report("saturated: agent frees up (release + offer)", frees);
    report("saturated: contact arrives (queued)", arrivals);
    report("saturated: accept", accepts);
    report("saturated: all decisions", decisions.clone());
    let busy: u64 = decisions.iter().sum();
    println!(
        "decisions per second, one core: {:.0} (sum of decision times); {:.0} including accepts and timing overhead (wall clock)",
        decisions.len() as f64 / (busy as f64 / 1e9),
        (decisions.len() + rounds) as f64 / elapsed
    );
    println!(
        "CPU time: {:.2} s for {} decisions and {} accepts: {:.2} µs of CPU per event, {:.0} events per CPU-second",
        cpu,
        decisions.len(),
        rounds,
        cpu * 1e6 / (decisions.len() + rounds) as f64,
        (decisions.len() + rounds) as f64 / cpu
    );
    println!(
        "load average before / after the steady-state phase: {load_before} / {} (other processes share the cores)",
        load_average()
    );
    // Positions in line, as the router takes them every second: first
    // with every line changed, then after each virtual second of saturated
    // work (1,000 rounds at 1 ms each), first 100 contacts per line.
    let start = Instant::now();
    let first = sim.engine.take_positions(sim.now, 100);
    println!(
        "positions, every line changed: {} lines, {} positions in {:.0} µs",
        first.refreshed.len(),
        first.positions.len(),
        start.elapsed().as_secs_f64() * 1e6
    );
    let mut passes = Vec::new();
    let mut more_accepts = Vec::new();
    let (mut lines, mut listed) = (0usize, 0usize);
    for _ in 0..20 {
        for _ in 0..1_000 {
            sim.now += 1;
            let event = sim.release_random();
            sim.step(event, &mut more_accepts);
            let event = sim.arrival();
            sim.step(event, &mut more_accepts);
        }
        let start = Instant::now();
        let pass = sim.engine.take_positions(sim.now, 100);
        passes.push(start.elapsed().as_nanos() as u64);
        lines += pass.refreshed.len();
        listed += pass.positions.len();
    }
    println!(
        "positions after each second of saturated work: {:.0} lines, {:.0} positions per pass on average",
        lines as f64 / 20.0,
        listed as f64 / 20.0
    );
    report("positions: one pass (after 1,000 rounds)", passes);
    // Tearing down 160,000 contacts takes longer than the run; the process
    // exits anyway.
    std::mem::forget(sim);
}
