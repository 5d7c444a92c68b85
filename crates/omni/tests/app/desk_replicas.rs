//! Two desk replicas over one Redis share accounts and sessions, as behind
//! a plain load balancer: a session made on one works on the other, and a
//! sign-out on either ends it on both.

use std::collections::HashMap;
use std::sync::Arc;

use omni_accounts::{Accounts, NewAccount};
use omni_core::access::Role;
use omni_desk::Desk;
use omni_store_redis::RedisStore;
use omni_testkit::{HttpClient, TestApp};
use omni_testservers::redis::RedisServer;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "replicated password";

/// A desk over `grpc` (context and router) with accounts in `store`.
async fn replica(grpc: &str, store: Arc<RedisStore>, stop: &CancellationToken) -> HttpClient {
    // The desk calls with the service token the test app accepts.
    let channel =
        || omni_testkit::grpc::channel(grpc, omni_testkit::grpc::SERVICE_TOKEN).expect("url");
    let config = omni_core::config::AuthConfig::default();
    let accounts = Arc::new(Accounts::new(store, &config).expect("accounts"));
    let desk = Arc::new(Desk::new(channel(), channel(), HashMap::new(), accounts));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(omni_desk::serve(
        listener,
        desk,
        omni_core::config::LimitsConfig::default(),
        stop.clone(),
    ));
    HttpClient::new(format!("http://{addr}"))
}

#[tokio::test]
async fn desk_replicas_share_sessions_through_redis() {
    let app = TestApp::start().await.expect("app");
    let redis = RedisServer::start().expect("redis");
    let store = RedisStore::connect(&redis.url(), "replicas")
        .await
        .expect("store");
    let accounts = Accounts::new(store.clone(), &Default::default()).expect("accounts");
    accounts
        .create(
            "test",
            None,
            NewAccount {
                id: "alice".into(),
                display_name: None,
                role: Role::Agent,
                password: Some(SecretString::from(PASSWORD)),
            },
        )
        .await
        .expect("alice");
    let stop = CancellationToken::new();
    let one = replica(&app.grpc_url(), store.clone(), &stop).await;
    let two = replica(&app.grpc_url(), store, &stop).await;

    let (r, on_one) = one.sign_in("alice", PASSWORD).await.expect("sign in");
    assert_eq!(r.status, 200, "{}", r.body);
    let session = on_one
        .expect("session")
        .session()
        .cloned()
        .expect("session");
    let on_two = two.with_session(session.clone());
    let r = on_two.get("/api/me").await.expect("me");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agent_id"], "alice");
    assert_eq!(r.body["csrf_token"], session.csrf.as_str());

    let r = on_two.delete("/api/session").await.expect("sign out");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = one.with_session(session).get("/api/me").await.expect("me");
    assert_eq!(r.status, 401, "signed out on the other replica: {}", r.body);
    stop.cancel();
    app.stop().await;
}
