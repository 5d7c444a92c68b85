//! Business hours in the simulator: a queue closed overnight keeps
//! receiving customers, so the opening finds a backlog that the same
//! staff open all day never sees; and the service level counts waits from
//! the opening, as the router does.

use omni_sim::Scenario;

use crate::support::run;

/// One week from Monday 00:00 UTC; customers write around the clock, 12
/// an hour; four agents, 5-minute chats.
const OFFICE: &str = r#"
    duration_secs = 604800
    warmup_secs = 0
    seed = 3
    batches = 7
    start = "2026-12-07T00:00:00Z"

    [[queues]]
    id = "support"
    arrivals_per_hour = 12
    service_level_secs = 60
    handle_time = { distribution = "exponential", mean_secs = 300 }
    HOURS

    [[agents]]
    group = "team"
    count = 4
    capacity = { chat = 1 }
"#;

const DAILY_9_TO_6: &str = r#"hours = { zone = "UTC", weekly = { mon = ["09:00-18:00"], tue = ["09:00-18:00"], wed = ["09:00-18:00"], thu = ["09:00-18:00"], fri = ["09:00-18:00"], sat = ["09:00-18:00"], sun = ["09:00-18:00"] } }"#;

#[test]
fn an_overnight_closure_leaves_a_morning_backlog() {
    let open = run(&Scenario::parse(&OFFICE.replace("HOURS", "")).expect("valid"));
    let office = run(&Scenario::parse(&OFFICE.replace("HOURS", DAILY_9_TO_6)).expect("valid"));
    let (open, office) = (&open.queues[0], &office.queues[0]);
    // 15 closed hours at 12 an hour: about 180 waiting at 09:00.
    assert!(
        office.peak_waiting > 120,
        "backlog at the opening: {}",
        office.peak_waiting
    );
    assert!(
        open.peak_waiting < 20,
        "open all day, no backlog: {}",
        open.peak_waiting
    );
    // The customers' wait shows the night: hours on average...
    let asa = |q: &omni_sim::QueueReport| q.asa_secs.expect("answered").value;
    assert!(asa(office) > 3600.0, "ASA {}", asa(office));
    assert!(asa(open) < 600.0, "ASA {}", asa(open));
    assert!(office.business_hours && office.reference.is_none());
    assert!(
        run(&Scenario::parse(&OFFICE.replace("HOURS", DAILY_9_TO_6)).expect("valid"))
            .to_text()
            .contains("business hours: at most")
    );
}

#[test]
fn the_service_level_counts_waits_from_the_opening() {
    // Enough agents to answer the whole night's backlog at 09:00: every
    // contact is answered within 60 s of its arrival or of the opening.
    // Counted from the arrival, the night's (15 of 24 hours) would all be
    // late.
    let staffed = OFFICE
        .replace("HOURS", DAILY_9_TO_6)
        .replace("count = 4", "count = 400");
    let report = run(&Scenario::parse(&staffed).expect("valid"));
    let q = &report.queues[0];
    let sl = q.service_level.expect("offered").value;
    assert!(sl > 0.99, "service level from the opening: {sl}");
    assert!(q.peak_waiting > 120, "backlog: {}", q.peak_waiting);
}

#[test]
fn bad_hours_in_a_scenario_name_the_key() {
    let err = Scenario::parse(&OFFICE.replace(
        "HOURS",
        r#"hours = { zone = "UTC", weekly = { mon = ["18:00-09:00"] } }"#,
    ))
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid scenario: queues[0].hours.weekly.mon[0]: \"18:00-09:00\" ends before it starts (a range cannot cross midnight; split it over two days)"
    );
    let err = Scenario::parse(
        &OFFICE
            .replace("HOURS", "")
            .replace("2026-12-07T00:00:00Z", "monday"),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid scenario: start: \"monday\" is not an instant (expected e.g. \"2026-12-07T00:00:00Z\")"
    );
}
