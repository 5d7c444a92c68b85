//! The desk's answers when something is refused or down: a second window
//! accepting an offer is told it was already accepted; a service that
//! cannot be reached is named; account ids sign in whatever their case.

use std::collections::HashMap;
use std::sync::Arc;

use omni_accounts::Accounts;
use omni_desk::Desk;
use omni_store::EmbeddedStore;
use omni_testkit::actors::{TEST_PASSWORD, desk_events};
use omni_testkit::app::{seed_accounts, test_config};
use omni_testkit::{HttpClient, JsonSocket, TestApp};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Signs `id` in (as typed), opens the event socket, goes available.
async fn agent(app: &TestApp, id: &str) -> (HttpClient, JsonSocket) {
    let desk = HttpClient::new(app.desk_url());
    let (r, api) = desk.sign_in(id, TEST_PASSWORD).await.expect("sign in");
    assert_eq!(r.status, 200, "{}", r.body);
    let api = api.expect("session");
    let mut events = desk_events(app, &api).await.expect("events");
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
    let (_, tab2) = desk.sign_in("alice", TEST_PASSWORD).await.expect("sign in");
    let tab2 = tab2.expect("second session");

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

/// A desk on a free port over the given context and router URLs, with the
/// test accounts in a store of its own.
async fn desk_over(
    context: &str,
    router: &str,
) -> (HttpClient, CancellationToken, tempfile::TempDir) {
    // The desk of a test calls with the service token the test app accepts.
    let channel = |url: &str| {
        omni_testkit::grpc::channel(url, omni_testkit::grpc::SERVICE_TOKEN).expect("url")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = test_config(dir.path()).expect("config");
    seed_accounts(&config).await.expect("accounts");
    let store = EmbeddedStore::open(&config.data_dir.join("store.redb")).expect("store");
    let accounts = Arc::new(Accounts::new(store, &config.auth).expect("accounts"));
    let desk = Arc::new(Desk::new(
        channel(context),
        channel(router),
        HashMap::new(),
        accounts,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    tokio::spawn(omni_desk::serve(
        listener,
        desk,
        omni_core::config::LimitsConfig::default(),
        stop.clone(),
    ));
    (HttpClient::new(format!("http://{addr}")), stop, dir)
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

    let (desk, stop, _data) = desk_over(&app.grpc_url(), &dead).await;
    let (r, _) = desk.sign_in("alice", TEST_PASSWORD).await.expect("sign in");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"error":"unavailable","service":"router","message":"the router service is unavailable"})
    );
    stop.cancel();

    // Finding a customer is a supervisor's.
    let (desk, stop, _data) = desk_over(&dead, &app.grpc_url()).await;
    let (r, api) = desk
        .sign_in("supervisor", TEST_PASSWORD)
        .await
        .expect("sign in");
    assert_eq!(r.status, 200, "{}", r.body);
    let api = api.expect("session");
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
