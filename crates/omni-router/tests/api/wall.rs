//! What the supervisor's wall reads from the router: today's numbers per
//! queue from the store, the contacts a queue holds and its agents by
//! presence, the day in intervals, each agent's time in state and missed
//! offers; all of the day's numbers the same after a restart.

use std::time::Duration;

use omni_core::ConversationId;
use omni_core::time::now_ms;
use omni_proto::routing::{
    OfferRequest, Presence, QueueDayRequest, QueueDayResponse, QueueState, SetPresenceRequest,
    WatchAgentRequest, agent_event,
};

use super::Router;

const CONFIG: &str = r#"
    [routing]
    decline_cooldown_secs = 3600

    [[queues]]
    id = "support"
    requirement = "support >= 1"

    [[agents]]
    id = "alice"
    skills = { support = 5 }
    capacity = { chat = 1 }
"#;

async fn support(router: &mut Router) -> QueueState {
    router
        .queues()
        .await
        .into_iter()
        .find(|q| q.queue == "support")
        .expect("support listed")
}

async fn day(router: &mut Router) -> QueueDayResponse {
    router
        .client
        .queue_day(QueueDayRequest {})
        .await
        .expect("queue day")
        .into_inner()
}

/// Polls `support` until `done` holds of it (today's numbers reach the
/// router after its next write to the store).
async fn support_once(router: &mut Router, done: impl Fn(&QueueState) -> bool) -> QueueState {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let q = support(router).await;
        if done(&q) {
            return q;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "support never showed the expected numbers: {q:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn offer_of(router: &mut Router, agent: &str) -> String {
    router.agent(agent).await.offers[0].offer_id.clone()
}

#[tokio::test]
async fn the_wall_numbers_come_from_the_store_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start_with(dir.path(), CONFIG).await;
    let started = now_ms();
    router.available("alice").await;

    // c1 is declined (alice will not get it again) and waits; c2 is answered
    // and resolved.
    router.arrive("c1", "support").await;
    let offer = offer_of(&mut router, "alice").await;
    router
        .client
        .decline_offer(OfferRequest {
            agent_id: "alice".into(),
            offer_id: offer,
        })
        .await
        .expect("declined");
    router.arrive("c2", "support").await;
    let offer = offer_of(&mut router, "alice").await;
    router
        .client
        .accept_offer(OfferRequest {
            agent_id: "alice".into(),
            offer_id: offer,
        })
        .await
        .expect("accepted");

    let q = support_once(&mut router, |q| {
        q.today.as_ref().is_some_and(|t| t.answered == 1)
    })
    .await;
    let ids: Vec<&str> = q
        .contacts
        .iter()
        .map(|c| c.conversation_id.as_str())
        .collect();
    assert_eq!(ids, ["c1"], "only c1 waits: {q:?}");
    assert_eq!(q.contacts[0].channel_name, "chat");
    assert_eq!(q.contacts[0].step, 1);
    assert!(q.contacts[0].offered_to.is_empty());
    assert_eq!(
        (q.agents_available, q.agents_busy, q.agents_away),
        (0, 1, 0),
        "alice holds c2"
    );

    router
        .shell
        .release(&ConversationId::from("c2"))
        .await
        .expect("released");
    let mut watch = router
        .client
        .watch_agent(WatchAgentRequest {
            agent_id: "alice".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    router
        .client
        .set_presence(SetPresenceRequest {
            agent_id: "alice".into(),
            presence: Presence::Away as i32,
            reason: "lunch".into(),
        })
        .await
        .expect("away");
    // Alice's desk hears of it (a supervisor may have set it), with the
    // time it began.
    let told = async {
        while let Some(event) = watch.message().await.expect("event") {
            if let Some(agent_event::Kind::State(s)) = event.kind
                && s.away_reason == "lunch"
            {
                return s;
            }
        }
        panic!("the watch ended before alice was told");
    };
    // A guard against a hang, not a measurement.
    let told = tokio::time::timeout(Duration::from_secs(20), told)
        .await
        .expect("alice told she is away");
    assert!(told.state_since_ms >= started, "{told:?}");
    // An open watch would hold the server's graceful stop.
    drop(watch);
    let q = support_once(&mut router, |q| {
        q.today.as_ref().is_some_and(|t| t.handled == 1)
    })
    .await;
    assert_eq!(
        (q.agents_available, q.agents_busy, q.agents_away),
        (0, 0, 1)
    );
    let today = q.today.expect("today");
    assert_eq!(
        (
            today.offered,
            today.answered,
            today.answered_within_target,
            today.abandoned
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(today.service_level, Some(1.0));
    let alice = router.agent("alice").await;
    assert_eq!(alice.offers_missed_today, 1);
    assert_eq!(alice.away_reason, "lunch");
    assert!(
        (started..=now_ms()).contains(&alice.state_since_ms),
        "alice went away during the test: {}",
        alice.state_since_ms
    );

    let before = day(&mut router).await;
    assert_eq!(before.interval_ms, 15 * 60_000);
    assert!(before.day_start_ms <= now_ms() && now_ms() - before.day_start_ms < 86_400_000);
    let support_day = before
        .queues
        .iter()
        .find(|q| q.queue == "support")
        .expect("support's day");
    let arrivals: u64 = support_day.intervals.iter().map(|i| i.arrivals).sum();
    let answered: u64 = support_day.intervals.iter().map(|i| i.answered).sum();
    assert_eq!((arrivals, answered), (2, 1), "{support_day:?}");

    // A restart: the same numbers, read back from the store.
    router.stop().await;
    let mut router = Router::start_with(dir.path(), CONFIG).await;
    let again = support(&mut router).await;
    let today_again = again.today.expect("today");
    assert_eq!(
        (
            today_again.offered,
            today_again.answered,
            today_again.answered_within_target,
            today_again.handled,
            today_again.handle_ms,
            today_again.answer_wait_ms
        ),
        (
            today.offered,
            today.answered,
            today.answered_within_target,
            today.handled,
            today.handle_ms,
            today.answer_wait_ms
        )
    );
    let alice_again = router.agent("alice").await;
    assert_eq!(alice_again.offers_missed_today, 1);
    assert_eq!(
        alice_again.state_since_ms, alice.state_since_ms,
        "time in state kept from the stored presence"
    );
    let after = day(&mut router).await;
    let support_after = after
        .queues
        .iter()
        .find(|q| q.queue == "support")
        .expect("support's day after the restart");
    let arrivals: u64 = support_after.intervals.iter().map(|i| i.arrivals).sum();
    assert_eq!(arrivals, 2);
    router.stop().await;
}
