//! A chat visitor hears only their own place in line: the router publishes
//! every waiting conversation's place on the bus, and the chat adapter
//! forwards each to the pages of that conversation's visitor alone.

use anyhow::ensure;
use omni_testkit::TestApp;
use omni_testkit::actors::Customer;
use serde_json::{Value, json};

/// Reads `customer`'s frames up to its next `ack`; returns the position
/// frames among them.
async fn positions_until_ack(customer: &mut Customer) -> anyhow::Result<Vec<Value>> {
    customer
        .socket
        .send(&json!({ "type": "message", "client_id": "probe", "text": "still there?" }))
        .await?;
    let mut seen = Vec::new();
    loop {
        let frame = customer.socket.recv().await?;
        match frame["type"].as_str() {
            Some("ack") if frame["client_id"] == "probe" => return Ok(seen),
            Some("position") => seen.push(frame),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_hears_only_their_own_place_in_line() -> anyhow::Result<()> {
    // Nobody is signed in: both customers wait, first and second.
    let app = TestApp::start().await?;
    let (mut jo, _) = Customer::open(&app, None, "sales").await?;
    jo.say("first in line").await?;
    let jo_place = jo
        .socket
        .recv_until("jo's place", |f| f["type"] == "position")
        .await?;
    ensure!(jo_place["position"] == 1, "{jo_place}");
    let (mut sam, _) = Customer::open(&app, None, "sales").await?;
    sam.say("second in line").await?;
    let sam_place = sam
        .socket
        .recv_until("sam's place", |f| {
            f["type"] == "position" && f["position"] == 2
        })
        .await?;
    ensure!(
        sam_place["conversation_id"] != jo_place["conversation_id"],
        "{sam_place} {jo_place}"
    );
    // Sam's place went out before Sam read it; whatever Jo was sent by then
    // is before the answer to Jo's next message, and is Jo's own.
    for frame in positions_until_ack(&mut jo).await? {
        ensure!(
            frame["conversation_id"] == jo_place["conversation_id"],
            "jo was told another conversation's place: {frame}"
        );
    }
    app.stop().await;
    Ok(())
}
