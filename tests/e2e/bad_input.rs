//! Bad input gets a precise protocol-level error, and the process keeps
//! serving everyone else.

use omni_testkit::http::DeskSession;
use omni_testkit::{HttpClient, JsonSocket, TestApp};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Agent, Customer};

#[tokio::test]
async fn chat_rejects_bad_frames_precisely() -> anyhow::Result<()> {
    let app = TestApp::start().await?;

    // A message before hello.
    let mut socket = JsonSocket::connect(&app.chat_ws_url()).await?;
    socket
        .send(&json!({ "type": "message", "client_id": "c1", "text": "hi" }))
        .await?;
    let e = socket.recv_type("error").await?;
    assert_eq!(e["code"], "not_ready");
    assert_eq!(e["client_id"], "c1");

    // Not JSON, an unknown type, a binary frame: errors, connection stays open.
    socket.send_raw(Message::Text("{not json".into())).await?;
    assert_eq!(socket.recv_type("error").await?["code"], "bad_frame");
    socket.send(&json!({ "type": "shout" })).await?;
    assert_eq!(socket.recv_type("error").await?["code"], "bad_frame");
    socket
        .send_raw(Message::Binary(vec![1u8, 2, 3].into()))
        .await?;
    assert_eq!(socket.recv_type("error").await?["code"], "bad_frame");

    // After hello: empty, over the text limit, a bad client id.
    socket
        .send(&json!({ "type": "hello", "visitor": null }))
        .await?;
    socket.recv_type("welcome").await?;
    socket
        .send(&json!({ "type": "message", "client_id": "c2", "text": "   " }))
        .await?;
    assert_eq!(socket.recv_type("error").await?["code"], "empty");
    let long = "x".repeat(4097);
    socket
        .send(&json!({ "type": "message", "client_id": "c3", "text": long }))
        .await?;
    let e = socket.recv_type("error").await?;
    assert_eq!(e["code"], "too_large");
    assert_eq!(e["client_id"], "c3");
    socket
        .send(&json!({ "type": "message", "client_id": "no spaces allowed", "text": "hi" }))
        .await?;
    assert_eq!(socket.recv_type("error").await?["code"], "bad_client_id");

    // The same connection still accepts a good message.
    socket
        .send(&json!({ "type": "message", "client_id": "c4", "text": "still here" }))
        .await?;
    assert_eq!(socket.recv_type("ack").await?["client_id"], "c4");

    // A frame over the 64 KiB frame limit closes with 1009.
    let huge = "y".repeat(70 * 1024);
    socket.send_raw(Message::Text(huge.into())).await?;
    let closed = socket.closed().await?;
    assert_eq!(closed.code, 1009, "{closed:?}");

    // Other customers are unaffected.
    let (mut other, _) = Customer::open(&app, None, "support").await?;
    other.say("hello after the bad one").await?;
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_forged_visitor_id_gets_a_fresh_identity() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let (_, welcome) = Customer::open(&app, Some("v_someone-elses-id"), "sales").await?;
    assert_ne!(welcome["visitor"], "v_someone-elses-id");
    assert!(welcome["history"].as_array().is_some_and(|h| h.is_empty()));
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn desk_errors_are_json_with_precise_status() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let desk = HttpClient::new(app.desk_url());

    let (r, _) = desk.sign_in("mallory", "not anyone's password").await?;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "bad_credentials");
    assert_eq!(r.body["message"], "unknown account or wrong password");

    let r = desk.get("/api/me").await?;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "unauthorized");
    let forged = DeskSession {
        token: "forged".into(),
        csrf: "forged".into(),
    };
    let r = desk.with_session(forged).get("/api/me").await?;
    assert_eq!(r.status, 401);

    let r = desk
        .send_raw(hyper::Method::POST, "/api/session", b"{\"user\":".to_vec())
        .await?;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "bad_request");

    let r = desk.get("/api/nowhere").await?;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "not_found");

    // An offer accepted after it timed out: 409, and the agent holds nothing.
    let mut emma = Agent::sign_in(&app, "emma").await?;
    let r = emma
        .api
        .put("/api/presence", &json!({ "presence": "busy" }))
        .await?;
    assert_eq!(r.status, 400);
    let (mut c, _) = Customer::open(&app, None, "support").await?;
    c.say("my order is late").await?;
    let (offer, conv) = emma.next_offer().await?;
    let rescinded = emma.events.recv_type("offer_rescinded").await?;
    assert_eq!(rescinded["reason"], "timeout");
    let r = emma
        .api
        .post(&format!("/api/offers/{offer}/accept"), &json!({}))
        .await?;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"], "offer_expired");

    // Replying to a conversation that is not yours: 403.
    let r = emma
        .api
        .post(
            &format!("/api/conversations/{conv}/messages"),
            &json!({ "text": "hi", "client_id": "x1" }),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"], "not_assigned");
    app.stop().await;
    Ok(())
}
