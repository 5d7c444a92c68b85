//! Chat replies report what became of them: `delivered` once written to the
//! customer's page (live, or in the history of the page's next welcome,
//! also after a restart), `read` when the page says it showed them.

use omni_testkit::TestApp;
use serde_json::{Value, json};

use crate::support::{Agent, Customer};

/// The delivery status of message `id` once it is `want`, or as it is
/// after 10 s.
async fn delivery_of(agent: &Agent, conversation: &str, id: &str, want: &str) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = agent
            .api
            .get(&format!("/api/conversations/{conversation}"))
            .await
            .expect("timeline");
        let status = r.body["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["id"] == id))
            .and_then(|m| m["delivery"].as_str())
            .unwrap_or("missing")
            .to_owned();
        if status == want || tokio::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn id_of(frame: &Value) -> String {
    frame["message"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn chat_replies_are_reported_delivered_then_read() -> anyhow::Result<()> {
    let mut app = TestApp::start().await?;
    let mut dmitri = Agent::sign_in(&app, "dmitri").await?;
    let (mut jo, _) = Customer::open(&app, None, "support").await?;
    jo.say("my router blinks red").await?;
    let (offer, conv) = dmitri.next_offer().await?;
    dmitri.settle(&offer, "accept").await?;

    // Live: the page gets the reply, the desk sees it delivered, then read.
    dmitri.reply(&conv, "Please restart it.", "r1").await?;
    let pushed = jo.socket.recv_type("message").await?;
    let first = id_of(&pushed);
    assert_eq!(
        delivery_of(&dmitri, &conv, &first, "delivered").await,
        "delivered"
    );
    jo.socket
        .send(&json!({ "type": "read", "message_ids": [first] }))
        .await?;
    assert_eq!(delivery_of(&dmitri, &conv, &first, "read").await, "read");

    // A page cannot mark what it was not shown; a read before hello or
    // without ids is refused.
    let (mut other, _) = Customer::open(&app, None, "support").await?;
    other
        .socket
        .send(&json!({ "type": "read", "message_ids": [] }))
        .await?;
    let refused = other.socket.recv_type("error").await?;
    assert_eq!(refused["code"], "bad_frame");

    // Nobody connected: the reply waits as queued, across a restart, and is
    // delivered when the page comes back and receives it in its history.
    let visitor = jo.visitor.clone();
    drop((jo, other));
    let reply = dmitri.reply(&conv, "Did that help?", "r2").await?;
    let second = reply["id"].as_str().unwrap_or_default().to_owned();
    assert!(
        !second.is_empty(),
        "reply answer names the message: {reply}"
    );
    drop(dmitri);
    app.restart().await?;
    let dmitri = Agent::sign_in(&app, "dmitri").await?;
    assert_eq!(
        delivery_of(&dmitri, &conv, &second, "queued").await,
        "queued"
    );
    let (_jo, welcome) = Customer::open(&app, Some(&visitor), "support").await?;
    let shown = welcome["history"]
        .as_array()
        .is_some_and(|h| h.iter().any(|m| m["id"] == second.as_str()));
    assert!(shown, "the reply is in the history: {welcome}");
    assert_eq!(
        delivery_of(&dmitri, &conv, &second, "delivered").await,
        "delivered"
    );
    app.stop().await;
    Ok(())
}
