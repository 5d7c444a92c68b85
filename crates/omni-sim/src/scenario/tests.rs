//! Scenario parsing and validation.

use super::*;

const VALID: &str = r#"
    duration_secs = 3600
    [[queues]]
    id = "sales"
    skills = { sales = 5 }
    arrivals_per_hour = 100
    handle_time = { distribution = "exponential", mean_secs = 180 }
    [[agents]]
    group = "team"
    count = 3
    skills = { sales = 7 }
    capacity = { chat = 1 }
"#;

fn error(text: &str) -> String {
    Scenario::parse(text).expect_err("invalid").to_string()
}

fn invalid_key(text: &str) -> String {
    match Scenario::parse(text) {
        Err(ScenarioError::Invalid { key, .. }) => key,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_valid_scenario_gets_its_defaults() {
    let s = Scenario::parse(VALID).expect("valid");
    assert_eq!((s.warmup_secs, s.seed, s.batches), (0.0, 0, 20));
    let q = &s.queues[0];
    assert_eq!(q.channel, Channel::CHAT);
    assert_eq!(q.service_level_secs, 20.0);
    assert_eq!(q.patience, None);
    assert_eq!(
        q.handle_time,
        Distribution::Exponential { mean_secs: 180.0 }
    );
    assert_eq!(s.agent_count(), 3);
    assert_eq!((s.measure_from_ms(), s.measure_until_ms()), (0, 3_600_000));
}

#[test]
fn out_of_range_values_name_their_key() {
    let cases = [
        (VALID.replace("duration_secs = 3600", ""), "duration_secs"),
        (
            VALID.replace(
                "duration_secs = 3600",
                "duration_secs = 3600\nwarmup_secs = -1",
            ),
            "warmup_secs",
        ),
        (
            VALID.replace("duration_secs = 3600", "duration_secs = 3600\nbatches = 1"),
            "batches",
        ),
        (
            VALID.replace("arrivals_per_hour = 100", "arrivals_per_hour = -3"),
            "queues[0].arrivals_per_hour",
        ),
        (
            VALID.replace("mean_secs = 180 }", "mean_secs = 0 }"),
            "queues[0].handle_time.mean_secs",
        ),
        (
            VALID.replace(
                "\"exponential\", mean_secs = 180",
                "\"lognormal\", mean_secs = 180",
            ),
            "queues[0].handle_time.sd_secs",
        ),
        (
            VALID.replace("\"exponential\"", "\"gamma\""),
            "queues[0].handle_time.distribution",
        ),
        (
            VALID.replace("\"exponential\"", "\"none\""),
            "queues[0].handle_time.distribution",
        ),
        (
            VALID.replace(
                "arrivals_per_hour = 100",
                "arrivals_per_hour = 100\npatience = { distribution = \"exponential\" }",
            ),
            "queues[0].patience.mean_secs",
        ),
        (
            VALID.replace("skills = { sales = 7 }", "skills = { sales = 11 }"),
            "agents[0].skills.sales",
        ),
        (VALID.replace("count = 3", "count = 0"), "agents[0].count"),
        (
            VALID.replace("capacity = { chat = 1 }", "capacity = { chat = 0 }"),
            "agents[0].capacity",
        ),
        (
            VALID.replace("skills = { sales = 5 }", "skills = { sales = 8 }"),
            "queues[0].skills",
        ),
        (
            VALID.replace("id = \"sales\"", "id = \"sales\"\nchannel = \"email\""),
            "queues[0].skills",
        ),
        (
            format!(
                "{VALID}\n[[queues]]\nid = \"sales\"\narrivals_per_hour = 1\nhandle_time = {{ distribution = \"exponential\", mean_secs = 1 }}\n"
            ),
            "queues[1].id",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(invalid_key(&text), key, "scenario:\n{text}");
    }
}

#[test]
fn unknown_keys_wrong_types_and_bad_channels_are_parse_errors_that_quote_the_key() {
    let unknown = error(&VALID.replace("arrivals_per_hour", "arrival_rate"));
    assert!(unknown.contains("arrival_rate"), "{unknown}");
    let wrong_type = error(&VALID.replace("count = 3", "count = \"three\""));
    assert!(wrong_type.contains("count"), "{wrong_type}");
    let channel = error(&VALID.replace("capacity = { chat = 1 }", "capacity = { Fax = 1 }"));
    assert!(channel.contains("Fax"), "{channel}");
    let top = error(&format!("durations = 5\n{VALID}"));
    assert!(top.contains("durations"), "{top}");
}

#[test]
fn a_scenario_on_any_channel_name_routes_on_it() {
    let text = VALID
        .replace(
            "id = \"sales\"",
            "id = \"sales\"\nchannel = \"sim-whatsapp\"",
        )
        .replace(
            "capacity = { chat = 1 }",
            "capacity = { sim-whatsapp = 1, chat = 2 }",
        );
    let scenario = Scenario::parse(&text).expect("valid");
    let whatsapp = Channel::parse("sim-whatsapp").expect("name");
    assert_eq!(scenario.channels(), [Channel::CHAT, whatsapp]);
    let report = crate::run(&scenario, &mut |_| {}).expect("runs");
    let queue = &report.queues[0];
    assert_eq!(queue.channel, whatsapp);
    assert!(queue.answered > 0, "{queue:?}");
}

#[test]
fn load_names_the_file() {
    let missing = Scenario::load(Path::new("/nonexistent/scenario.toml"))
        .expect_err("missing file")
        .to_string();
    assert!(missing.contains("/nonexistent/scenario.toml"), "{missing}");
}
