//! The wall's JSON shapes, from the router's answers.

use omni_proto::routing as pb;
use serde_json::json;

use super::*;

fn queue() -> pb::QueueState {
    pb::QueueState {
        queue: "sales".into(),
        waiting: 2,
        offered: 1,
        longest_wait_ms: 30_000,
        requirement: "sales >= 3".into(),
        waiting_base: 1,
        steps: vec![pb::StepState {
            after_ms: 20_000,
            requirement: "sales >= 1".into(),
            waiting: 1,
        }],
        service_level_target: Some(pb::ServiceLevelTarget {
            percent: 80,
            threshold_ms: 20_000,
        }),
        today: Some(pb::QueueToday {
            offered: 7,
            answered: 4,
            answered_within_target: 3,
            abandoned: 1,
            abandoned_after_target: 1,
            transferred: 2,
            overflowed: 0,
            service_level: Some(0.6),
            answer_wait_ms: 40_000,
            handled: 2,
            handle_ms: 300_000,
            first_responses: 0,
            first_response_ms: 0,
        }),
        contacts: vec![
            pb::QueuedContact {
                conversation_id: "c1".into(),
                channel_name: "chat".into(),
                queued_at_ms: 70_000,
                step: 2,
                offered_to: String::new(),
            },
            pb::QueuedContact {
                conversation_id: "c2".into(),
                channel_name: "sms".into(),
                queued_at_ms: 90_000,
                step: 1,
                offered_to: "bob".into(),
            },
        ],
        agents_available: 1,
        agents_busy: 2,
        agents_away: 3,
        ..Default::default()
    }
}

#[test]
fn a_queue_shows_today_with_averages_its_steps_and_contacts() {
    let wall = QueueWall::new(&queue(), 100_000);
    let shown = serde_json::to_value(&wall).expect("serializes");
    assert_eq!(
        shown["name"], "sales",
        "the id stands in for a missing name"
    );
    assert_eq!(shown["oldest_since_ms"], 70_000);
    assert_eq!(
        (
            shown["target_percent"].clone(),
            shown["threshold_ms"].clone()
        ),
        (json!(80), json!(20_000))
    );
    assert_eq!(
        shown["today"],
        json!({
            "offered": 7, "answered": 4, "answered_within_target": 3,
            "abandoned": 1, "transferred": 2, "overflowed": 0,
            "service_level": 0.6,
            "average_speed_of_answer_ms": 10_000,
            "average_handle_ms": 150_000,
            "average_first_response_ms": null,
        })
    );
    assert_eq!(
        shown["agents"],
        json!({ "available": 1, "busy": 2, "away": 3 })
    );
    assert_eq!(
        shown["steps"],
        json!([
            { "step": 1, "after_ms": 0, "requirement": "sales >= 3", "waiting": 1 },
            { "step": 2, "after_ms": 20_000, "requirement": "sales >= 1", "waiting": 1 },
        ])
    );
    assert_eq!(shown["contacts"][0]["offered_to"], json!(null));
    assert_eq!(shown["contacts"][1]["offered_to"], "bob");
    assert_eq!(shown["contacts"][1]["channel"], "sms");
    // The router does not know what enrichment learned: the desk adds it
    // from the conversations (wall_cx).
    for fact in ["intent", "sentiment", "lang"] {
        assert_eq!(shown["contacts"][0][fact], json!(null), "{fact}");
    }
}

#[test]
fn an_empty_queue_has_no_oldest_and_no_averages() {
    let empty = pb::QueueState {
        queue: "q".into(),
        name: "Queue".into(),
        ..Default::default()
    };
    let wall = QueueWall::new(&empty, 5);
    assert_eq!(wall.name, "Queue");
    assert_eq!(wall.oldest_since_ms, None);
    assert_eq!(wall.today, TodayView::default());
    assert_eq!(wall.steps.len(), 1);
}

#[test]
fn an_agent_shows_time_in_state_missed_offers_and_load() {
    let state = pb::AgentState {
        agent_id: "bob".into(),
        name: "Bob".into(),
        presence: pb::Presence::Away as i32,
        away_reason: "lunch".into(),
        load: vec![pb::ChannelLoad {
            channel_name: "chat".into(),
            used: 1,
            capacity: 3,
            ..Default::default()
        }],
        offers: vec![pb::Offer {
            conversation_id: "c9".into(),
            ..Default::default()
        }],
        assigned: vec!["c1".into()],
        state_since_ms: 1234,
        offers_missed_today: 2,
        ..Default::default()
    };
    let shown = serde_json::to_value(AgentWall::from(&state)).expect("serializes");
    assert_eq!(
        shown,
        json!({
            "agent_id": "bob", "name": "Bob", "presence": "away",
            "away_reason": "lunch", "state_since_ms": 1234,
            "load": [{ "channel": "chat", "used": 1, "capacity": 3 }],
            "assigned": ["c1"], "offered": ["c9"], "offers_missed_today": 2,
        })
    );
}

#[test]
fn intervals_show_service_level_and_average_depth_so_far() {
    let day = pb::QueueDayResponse {
        day: "2026-12-06".into(),
        day_start_ms: 0,
        interval_ms: 1000,
        queues: vec![pb::QueueIntervals {
            queue: "sales".into(),
            intervals: vec![
                pb::DayInterval {
                    index: 0,
                    arrivals: 3,
                    answered: 3,
                    answered_within_target: 2,
                    abandoned_after_target: 1,
                    waiting_ms: 2000,
                },
                pb::DayInterval {
                    index: 1,
                    arrivals: 1,
                    waiting_ms: 250,
                    ..Default::default()
                },
            ],
        }],
    };
    // Now is halfway through interval 1.
    let view = DayView::new(&day, 1500);
    let [full, current] = &view.queues[0].intervals[..] else {
        panic!("two intervals: {view:?}");
    };
    assert_eq!(full.service_level, Some(0.5));
    assert_eq!(
        full.depth, 2.0,
        "2000 waiting-ms over a whole 1000 ms interval"
    );
    assert_eq!(current.service_level, None, "nothing answered yet");
    assert_eq!(current.depth, 0.5, "250 waiting-ms over the 500 ms so far");
}

#[test]
fn a_queue_with_hours_shows_open_or_closed_the_holiday_and_the_next_change_in_its_zone() {
    let on = |open, next_change_ms: i64, local: &str, holiday: Option<&str>| {
        let q = pb::QueueState {
            queue: "billing".into(),
            hours: Some(pb::QueueHours {
                zone: "Europe/Madrid".into(),
                open,
                next_change_ms,
                next_change_local: local.into(),
                holiday_date: holiday.map(|_| "2026-12-25".to_owned()).unwrap_or_default(),
                holiday_name: holiday.unwrap_or_default().to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        serde_json::to_value(QueueWall::new(&q, 5)).expect("serializes")["hours"].clone()
    };
    let with = |open, next_change_ms: i64, local: &str| on(open, next_change_ms, local, None);
    assert_eq!(
        with(false, 1_000, "Mon 09:00"),
        json!({
            "open": false, "zone": "Europe/Madrid", "next_change_ms": 1_000,
            "holiday": null, "text": "closed, opens Mon 09:00 Europe/Madrid",
        })
    );
    let christmas = on(false, 1_000, "Mon 09:00", Some("Christmas Day"));
    assert_eq!(
        (christmas["text"].clone(), christmas["holiday"].clone()),
        (
            json!("closed: Christmas Day, opens Mon 09:00 Europe/Madrid"),
            json!("Christmas Day")
        ),
        "a holiday is named"
    );
    assert_eq!(
        on(false, 1_000, "Mon 09:00", Some(""))["text"],
        "closed: holiday, opens Mon 09:00 Europe/Madrid",
        "a holiday without a name"
    );
    assert_eq!(
        with(true, 2_000, "Mon 18:00")["text"],
        "open until Mon 18:00 Europe/Madrid"
    );
    let never = with(false, 0, "");
    assert_eq!(
        (never["text"].clone(), never["next_change_ms"].clone()),
        (json!("closed"), json!(null)),
        "no opening in sight: closed alone"
    );
    let always = pb::QueueState {
        queue: "support".into(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(QueueWall::new(&always, 5)).expect("serializes")["hours"],
        json!(null),
        "no hours: nothing to show"
    );
}
