//! What a planner relies on beyond the formulas: the same seed gives the same
//! report, priorities show, and occupancy follows the offered work whatever
//! the handle-time distribution.

use omni_sim::Scenario;

use crate::support::{Z, run};

const TWO_QUEUES: &str = r#"
    duration_secs = 720000
    warmup_secs = 7200
    seed = 5
    batches = 20

    [[queues]]
    id = "vip"
    priority = 10
    skills = { sales = 1 }
    arrivals_per_hour = 60
    handle_time = { distribution = "lognormal", mean_secs = 240, sd_secs = 180 }
    patience = { distribution = "exponential", mean_secs = 300 }

    [[queues]]
    id = "standard"
    skills = { sales = 1 }
    arrivals_per_hour = 90
    handle_time = { distribution = "lognormal", mean_secs = 240, sd_secs = 180 }
    patience = { distribution = "exponential", mean_secs = 300 }

    [[agents]]
    group = "sales"
    count = 11
    skills = { sales = 6 }
    capacity = { chat = 1 }
"#;

#[test]
fn the_same_seed_gives_the_same_report_and_another_seed_another() {
    let text = TWO_QUEUES.replace("duration_secs = 720000", "duration_secs = 72000");
    let scenario = Scenario::parse(&text).expect("valid");
    let first = run(&scenario);
    let again = run(&scenario);
    assert_eq!(first.to_json(), again.to_json());
    let other = Scenario::parse(&text.replace("seed = 5", "seed = 6")).expect("valid");
    assert_ne!(run(&other).queues[0].offered, first.queues[0].offered);
}

#[test]
fn higher_priority_queue_is_served_first_from_a_shared_pool() {
    let report = run(&Scenario::parse(TWO_QUEUES).expect("valid"));
    let (vip, standard) = (&report.queues[0], &report.queues[1]);
    let sl = |q: &omni_sim::QueueReport| q.service_level.expect("offered");
    let (a, b) = (sl(vip), sl(standard));
    let gap = (a.value - b.value) / (a.std_error.expect("se").hypot(b.std_error.expect("se")));
    assert!(
        gap > Z,
        "vip SL {:.4} should clearly beat standard SL {:.4} ({gap:.1} standard errors)",
        a.value,
        b.value
    );
    let asa = |q: &omni_sim::QueueReport| q.asa_secs.expect("answered").value;
    assert!(asa(vip) < asa(standard));
    // A shared pool has no closed form: no reference is claimed.
    assert!(vip.reference.is_none() && standard.reference.is_none());
}

#[test]
fn occupancy_is_the_answered_work_over_the_agents_for_lognormal_handle_times() {
    // Distribution-free: busy agent time equals answered contacts times
    // their mean handle time. Without abandonment every contact is answered:
    // occupancy = λ E[S] / n = 8 Erlangs / 11 agents.
    let text = TWO_QUEUES
        .replace(
            "patience = { distribution = \"exponential\", mean_secs = 300 }",
            "",
        )
        .replace("arrivals_per_hour = 60", "arrivals_per_hour = 48")
        .replace("arrivals_per_hour = 90", "arrivals_per_hour = 72");
    let report = run(&Scenario::parse(&text).expect("valid"));
    let occupancy = report.groups[0].occupancy.expect("staffed");
    let expected = (48.0 + 72.0) / 3600.0 * 240.0 / 11.0;
    let off = (occupancy.value - expected) / occupancy.std_error.expect("se");
    assert!(
        off.abs() <= Z,
        "occupancy {:.4} ±{:.4}, expected {expected:.4}",
        occupancy.value,
        occupancy.ci95.unwrap_or(f64::NAN)
    );
    assert_eq!(report.overall.abandoned, 0);
    assert_eq!(report.overall.answered, report.overall.offered);
}

#[test]
fn an_overloaded_queue_without_abandonment_reports_unresolved_contacts() {
    // One agent, three Erlangs, nobody gives up: the queue only grows. The
    // run drains for at most another duration and then reports what is
    // still waiting instead of running forever.
    let text = r#"
        duration_secs = 36000
        seed = 2
        [[queues]]
        id = "flooded"
        arrivals_per_hour = 180
        handle_time = { distribution = "exponential", mean_secs = 60 }
        [[agents]]
        group = "alone"
        count = 1
        capacity = { chat = 1 }
    "#;
    let scenario = Scenario::parse(text).expect("valid");
    let report = run(&scenario);
    let q = &report.queues[0];
    assert!(
        q.unresolved > q.offered / 5,
        "{} of {}",
        q.unresolved,
        q.offered
    );
    assert_eq!(q.answered + q.unresolved, q.offered);
    assert!(report.simulated_secs <= 2.0 * scenario.duration_secs + 1.0);
    assert_eq!(q.reference, None, "Erlang C has no answer above full load");
    assert!(
        report
            .to_text()
            .contains("still waiting when the run stopped")
    );
}

#[test]
fn progress_runs_forward_to_the_end() {
    let scenario = Scenario::parse(TWO_QUEUES).expect("valid");
    let mut seen = Vec::new();
    let report = omni_sim::run(&scenario, &mut |p| seen.push(p.fraction())).expect("runs");
    assert!(
        seen.len() >= 2,
        "a run of {} events reports progress",
        report.events
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&1.0));
}
