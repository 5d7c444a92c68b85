//! Presence follows the agent's connection: an available agent without an
//! open `WatchAgent` stream (a desk window) for the grace period goes away
//! with the reason "disconnected", and their offers move on at once; after
//! a restart, available agents who do not connect within the grace period
//! go away too.

use std::time::Duration;

use futures_util::StreamExt;
use omni_proto::routing::{Presence, WatchAgentRequest, agent_event};
use tonic::Streaming;

use super::Router;

/// One-second grace; offers wait ten minutes, so only the grace moves them.
const CONFIG: &str = r#"
    [routing]
    disconnect_grace_secs = 1
    offer_timeout_secs = 600

    [[queues]]
    id = "support"
    requirement = "support >= 1"

    [[agents]]
    id = "alice"
    skills = { support = 9 }
    capacity = { chat = 1 }

    [[agents]]
    id = "bob"
    skills = { support = 5 }
    capacity = { chat = 1 }
"#;

/// Longest wait for something the router should do within a second or two.
const PATIENCE: Duration = Duration::from_secs(30);

impl Router {
    async fn watch(&mut self, agent: &str) -> Streaming<omni_proto::routing::AgentEvent> {
        self.client
            .watch_agent(WatchAgentRequest {
                agent_id: agent.into(),
            })
            .await
            .expect("watch")
            .into_inner()
    }
}

/// The next offer on a watch stream, as (offer id, conversation id).
async fn next_offer(events: &mut Streaming<omni_proto::routing::AgentEvent>) -> (String, String) {
    let wait = async {
        while let Some(event) = events.next().await {
            if let Some(agent_event::Kind::Offered(o)) = event.expect("event").kind {
                return (o.offer_id, o.conversation_id);
            }
        }
        panic!("watch stream ended before an offer");
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .expect("an offer arrives")
}

#[tokio::test]
async fn an_agent_whose_desk_is_gone_goes_away_and_the_offer_moves_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start_with(dir.path(), CONFIG).await;
    let mut bob_events = router.watch("bob").await;
    let alice_events = router.watch("alice").await;
    router.available("alice").await;
    router.available("bob").await;
    // Alice closes her only desk window; bob keeps his open.
    drop(alice_events);
    router.arrive("con_1", "support").await;

    // Alice (support 9) was offered it first or was already away: either
    // way the conversation reaches bob well before the 10-minute timeout.
    let (_, conversation) = next_offer(&mut bob_events).await;
    assert_eq!(conversation, "con_1");
    let alice = router.agent("alice").await;
    assert_eq!(alice.presence, Presence::Away as i32);
    assert_eq!(alice.away_reason, "disconnected");
    assert!(alice.offers.is_empty());
    let bob = router.agent("bob").await;
    assert_eq!(
        bob.presence,
        Presence::Available as i32,
        "a connected agent stays available"
    );
    // An open stream would hold the server's graceful stop.
    drop(bob_events);
    router.stop().await;
}

#[tokio::test]
async fn after_a_restart_agents_who_do_not_connect_go_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start_with(dir.path(), CONFIG).await;
    // Both connected and available when the router stops.
    let alice_events = router.watch("alice").await;
    let bob_events = router.watch("bob").await;
    router.available("alice").await;
    router.available("bob").await;
    drop((alice_events, bob_events));
    router.stop().await;

    // After the restart presence is kept, but only bob opens a desk.
    let mut router = Router::start_with(dir.path(), CONFIG).await;
    assert_eq!(
        router.agent("alice").await.presence,
        Presence::Available as i32
    );
    let mut bob_events = router.watch("bob").await;
    router.arrive("con_2", "support").await;
    let (_, conversation) = next_offer(&mut bob_events).await;
    assert_eq!(conversation, "con_2");
    let alice = router.agent("alice").await;
    assert_eq!(alice.presence, Presence::Away as i32);
    assert_eq!(alice.away_reason, "disconnected");
    assert_eq!(
        router.agent("bob").await.presence,
        Presence::Available as i32
    );
    drop(bob_events);
    router.stop().await;
}
