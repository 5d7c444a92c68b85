//! A waiting contact a closed queue hands to its bot (release reason
//! `bot`) is counted as handed to the bot, not as abandoned.

use std::time::Duration;

use omni_core::ConversationId;
use omni_telemetry::metrics::contact::{Number, contact_center};

use super::Router;

const CONFIG: &str = r#"
    [[queues]]
    id = "after_hours"
    requirement = "support >= 1"
"#;

#[tokio::test]
async fn a_contact_handed_to_a_bot_is_not_counted_as_abandoned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start_with(dir.path(), CONFIG).await;
    // No agent: both wait. c1 goes to the bot, then c2's customer leaves.
    router.arrive("c1", "after_hours").await;
    router.arrive("c2", "after_hours").await;
    router
        .shell
        .release_to_bot(&ConversationId::from("c1"))
        .await
        .expect("c1 to the bot");
    router
        .shell
        .release(&ConversationId::from("c2"))
        .await
        .expect("c2 abandoned");

    // Counts reach today's numbers with the next write to the store; c1's
    // release came first, so by the time c2's abandon shows, c1's count
    // has been written too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let today = loop {
        let queue = router
            .queues()
            .await
            .into_iter()
            .find(|q| q.queue == "after_hours")
            .expect("after_hours listed");
        if let Some(today) = queue.today.filter(|t| t.abandoned > 0) {
            break today;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the abandon never showed: {queue:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((today.offered, today.abandoned), (2, 1), "{today:?}");
    let center = contact_center();
    assert_eq!(center.get(Number::ToBot, "after_hours", "chat"), 1);
    assert_eq!(center.get(Number::Abandoned, "after_hours", "chat"), 1);
    assert!(router.queues().await.iter().all(|q| q.contacts.is_empty()));
    router.stop().await;
}
