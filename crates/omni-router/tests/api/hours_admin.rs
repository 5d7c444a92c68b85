//! Business hours set through `UpsertQueue`: checked like the
//! configuration (INVALID_ARGUMENT naming the field), shown in
//! `QueueState.hours` with the holiday it is and the schedule, kept by an
//! upsert that says nothing of hours and across a restart, and dropped by
//! `always_open`.

use std::collections::HashMap;

use omni_core::time::now_ms;
use omni_proto::routing::{
    BusinessHours, DayRanges, Holiday, QueueHours, QueueSpec, UpsertQueueRequest,
};

use super::Router;

/// Open every day 09:00-18:00 in Madrid; today (there) is "Christmas Day".
fn hours() -> BusinessHours {
    let today = jiff::Timestamp::from_millisecond(now_ms())
        .expect("now")
        .in_tz("Europe/Madrid")
        .expect("zone")
        .date();
    BusinessHours {
        zone: "Europe/Madrid".into(),
        weekly: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .map(|d| {
                (
                    (*d).to_owned(),
                    DayRanges {
                        ranges: vec!["09:00-18:00".into()],
                    },
                )
            })
            .collect(),
        holidays: vec![Holiday {
            date: today.to_string(),
            name: "Christmas Day".into(),
        }],
        closed_overflow: "support".into(),
        closed_reply: HashMap::from([
            ("en".to_owned(), "We open {opens_at}.".to_owned()),
            ("es".to_owned(), "Abrimos {opens_at}.".to_owned()),
        ]),
    }
}

fn sales() -> QueueSpec {
    QueueSpec {
        queue_id: "sales".into(),
        name: "Sales".into(),
        ..Default::default()
    }
}

async fn upsert(
    router: &mut Router,
    hours: Option<BusinessHours>,
    always_open: bool,
) -> Result<Option<QueueHours>, tonic::Status> {
    router
        .client
        .upsert_queue(UpsertQueueRequest {
            queue: Some(sales()),
            hours,
            always_open,
        })
        .await
        .map(|r| r.into_inner().hours)
}

async fn listed(router: &mut Router) -> Option<QueueHours> {
    router
        .queues()
        .await
        .into_iter()
        .find(|q| q.queue == "sales")
        .expect("sales listed")
        .hours
}

#[tokio::test]
async fn upsert_queue_sets_business_hours_that_show_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut router = Router::start(dir.path()).await;
    let set = upsert(&mut router, Some(hours()), false)
        .await
        .expect("hours accepted")
        .expect("the answer shows the hours");
    assert!(!set.open, "closed all day on the holiday: {set:?}");
    assert_eq!(
        (set.holiday_name.as_str(), set.holiday_date.is_empty()),
        ("Christmas Day", false)
    );
    assert_eq!(set.schedule.as_ref(), Some(&hours()));
    assert_eq!(listed(&mut router).await.as_ref(), Some(&set));

    // An upsert that says nothing of hours keeps them.
    let kept = upsert(&mut router, None, false).await.expect("upsert");
    assert_eq!(kept.and_then(|h| h.schedule), Some(hours()));
    router.stop().await;

    let mut router = Router::start(dir.path()).await;
    let after = listed(&mut router).await.expect("hours after a restart");
    assert_eq!(after.schedule, Some(hours()));
    assert_eq!(after.holiday_name, "Christmas Day");

    // always_open drops them, also across a restart.
    let none = upsert(&mut router, None, true).await.expect("always open");
    assert_eq!(none, None);
    router.stop().await;
    let mut router = Router::start(dir.path()).await;
    assert_eq!(listed(&mut router).await, None);
    router.stop().await;
}

/// A change that makes [`hours`] wrong.
type Change = fn(&mut BusinessHours);

#[tokio::test]
async fn bad_business_hours_are_invalid_argument_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut router = Router::start(dir.path()).await;
    let cases: [(Change, &str); 6] = [
        (
            |h| h.zone = "Europe/Atlantis".into(),
            "invalid argument: hours.zone: unknown time zone \"Europe/Atlantis\"",
        ),
        (
            |h| {
                h.weekly.insert(
                    "mon".into(),
                    DayRanges {
                        ranges: vec!["09:00-14:00".into(), "13:00-18:00".into()],
                    },
                );
            },
            "invalid argument: hours.weekly.mon: \"09:00-14:00\" and \"13:00-18:00\" overlap",
        ),
        (
            |h| {
                h.weekly.insert(
                    "tue".into(),
                    DayRanges {
                        ranges: vec!["18:00-09:00".into()],
                    },
                );
            },
            "invalid argument: hours.weekly.tue[0]: ",
        ),
        (
            |h| h.holidays[0].date = "tomorrow".into(),
            "invalid argument: hours.holidays[0].date: ",
        ),
        (
            |h| h.closed_overflow = "nowhere".into(),
            "invalid argument: hours.closed_overflow: unknown queue \"nowhere\"",
        ),
        (
            |h| h.closed_overflow = "sales".into(),
            "invalid argument: queue: invalid specification: hours.closed_overflow: overflow to the queue itself",
        ),
    ];
    for (change, expected) in cases {
        let mut bad = hours();
        change(&mut bad);
        let err = upsert(&mut router, Some(bad), false)
            .await
            .expect_err("refused");
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{expected}");
        assert!(
            err.message().starts_with(expected),
            "expected {expected:?}, got {:?}",
            err.message()
        );
    }
    let err = upsert(&mut router, Some(hours()), true)
        .await
        .expect_err("both refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("always_open"), "{}", err.message());
    // Nothing was applied or stored.
    assert!(router.queues().await.iter().all(|q| q.queue != "sales"));
    router.stop().await;
}
