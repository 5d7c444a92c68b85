//! Typing and read receipts in distributed mode: every part its own
//! process over NATS and Redis. The customer's typing reaches the agent's
//! desk (chat process → NATS → context process → desk process); the agent's
//! typing and reading reach the customer's page (desk → context over gRPC →
//! NATS → chat process).

use omni_testkit::Cluster;
use omni_testkit::actors::{Agent, Customer};
use serde_json::json;

use crate::distributed::Urls;
use crate::support::{binary, blocking};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_reading_cross_the_processes() -> anyhow::Result<()> {
    let cluster = blocking(|| Cluster::start(binary())).await?;
    let urls = Urls::of(&cluster);
    let mut alice = Agent::sign_in(&urls, "alice").await?;
    let (mut jo, _) = Customer::open(&urls, None, "sales").await?;
    jo.say("Hello, is the blue one in stock?").await?;
    let (offer, conv) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    // The desk forwards signals for conversations it has seen assigned.
    alice
        .events
        .recv_until("the assignment", |f| {
            f["type"] == "assigned" && f["conversation_id"] == conv.as_str()
        })
        .await?;

    // The customer types: the agent's desk shows it.
    jo.socket
        .send(&json!({ "type": "typing", "typing": true }))
        .await?;
    let typing = alice
        .events
        .recv_until("the customer's typing", |f| f["type"] == "typing")
        .await?;
    assert_eq!(typing["conversation_id"], conv.as_str());
    assert_eq!(typing["typing"], true);

    // The agent types, then has read the customer's message: the page is told.
    alice
        .events
        .send(&json!({ "type": "typing", "conversation_id": conv, "typing": true }))
        .await?;
    let typing = jo.socket.recv_type("typing").await?;
    assert_eq!(typing["conversation_id"], conv.as_str());
    assert_eq!(typing["typing"], true);
    assert_eq!(typing["agent_name"], "Alice Martin");
    alice
        .events
        .send(&json!({ "type": "read", "conversation_id": conv, "up_to_seq": 1 }))
        .await?;
    let read = jo.socket.recv_type("read").await?;
    assert_eq!(read["conversation_id"], conv.as_str());
    assert_eq!(read["client_ids"], json!(["c1"]));

    // She stops: the page hears that too.
    alice
        .events
        .send(&json!({ "type": "typing", "conversation_id": conv, "typing": false }))
        .await?;
    let next = jo.socket.recv_type("typing").await?;
    assert_eq!(next["typing"], false, "{next}");
    drop(cluster);
    Ok(())
}
