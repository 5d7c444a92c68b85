//! The desk's answers when something is refused or down: a second window
//! accepting an offer is told it was already accepted; a service that
//! cannot be reached is named; agent ids sign in whatever their case.

use std::collections::HashMap;
use std::sync::Arc;

use omni_desk::Desk;
use omni_testkit::{HttpClient, JsonSocket, TestApp};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Signs `id` in (as typed), opens the event socket, goes available.
async fn agent(app: &TestApp, id: &str) -> (HttpClient, JsonSocket) {
    let desk = HttpClient::new(app.desk_url());
    let r = desk
        .post("/api/session", &json!({ "agent_id": id }))
        .await
        .expect("sign in");
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["token"].as_str().expect("token").to_owned();
    let api = desk.with_token(&token);
    let mut events = JsonSocket::connect(&app.desk_events_url(&token))
        .await
        .expect("events");
    events.recv_type("state").await.expect("state");
    let r = api
        .put("/api/presence", &json!({ "presence": "available" }))
        .await
        .expect("presence");
    assert_eq!(r.status, 200, "{}", r.body);
    (api, events)
}

#[tokio::test]
async fn a_second_window_accepting_is_told_the_offer_was_already_accepted() {
    let app = TestApp::start().await.expect("app");
    // Sign-in ignores case: "Alice" is alice.
    let (tab1, mut events) = agent(&app, "Alice").await;
    let r = tab1.get("/api/me").await.expect("me");
    assert_eq!(r.body["agent_id"], "alice", "{}", r.body);
    // The same agent in a second window.
    let desk = HttpClient::new(app.desk_url());
    let r = desk
        .post("/api/session", &json!({ "agent_id": "alice" }))
        .await
        .expect("sign in");
    let tab2 = desk.with_token(r.body["token"].as_str().expect("token"));

    let mut chat = JsonSocket::connect(&app.chat_ws_url()).await.expect("chat");
    chat.send(&json!({ "type": "hello", "visitor": null, "name": "Ana", "topic": "sales" }))
        .await
        .expect("hello");
    chat.recv_type("welcome").await.expect("welcome");
    chat.send(&json!({ "type": "message", "client_id": "c1", "text": "hello" }))
        .await
        .expect("say");
    let offer = events.recv_type("offer").await.expect("offer");
    let offer_id = offer["offer"]["offer_id"].as_str().expect("offer id");

    let path = format!("/api/offers/{offer_id}/accept");
    let r = tab1.post(&path, &json!({})).await.expect("accept");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = tab2.post(&path, &json!({})).await.expect("accept again");
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"error":"offer_taken","message":"this offer was already accepted"})
    );
    app.stop().await;
}

/// A desk on a free port over the given context and router URLs.
async fn desk_over(context: &str, router: &str) -> (HttpClient, CancellationToken) {
    // The desk of a test calls with the service token the test app accepts.
    let channel = |url: &str| {
        omni_testkit::grpc::channel(url, omni_testkit::grpc::SERVICE_TOKEN).expect("url")
    };
    let desk = Arc::new(Desk::new(channel(context), channel(router), HashMap::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    tokio::spawn(omni_desk::serve(listener, desk, stop.clone()));
    (HttpClient::new(format!("http://{addr}")), stop)
}

/// A URL where nothing listens.
async fn nowhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn a_service_that_is_down_is_named() {
    let app = TestApp::start().await.expect("app");
    let dead = nowhere().await;

    let (desk, stop) = desk_over(&app.grpc_url(), &dead).await;
    let r = desk
        .post("/api/session", &json!({ "agent_id": "alice" }))
        .await
        .expect("sign in");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"error":"unavailable","service":"router","message":"the router service is unavailable"})
    );
    stop.cancel();

    let (desk, stop) = desk_over(&dead, &app.grpc_url()).await;
    let r = desk
        .post("/api/session", &json!({ "agent_id": "alice" }))
        .await
        .expect("sign in");
    assert_eq!(r.status, 200, "{}", r.body);
    let api = desk.with_token(r.body["token"].as_str().expect("token"));
    let r = api
        .get("/api/customers?email=ana@example.net")
        .await
        .expect("find");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["service"], "context", "{}", r.body);
    assert_eq!(r.body["message"], "the context service is unavailable");
    stop.cancel();
    app.stop().await;
}
