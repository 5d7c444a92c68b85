//! Accounts, sessions and roles at the desk: each test names the attack it
//! stops (sign-in without a password, telling unknown accounts from wrong
//! passwords, brute force, reading or replying to another agent's
//! conversation over HTTP and over the event socket, a forged cross-site
//! call without the CSRF token, an expired or revoked session, a session
//! token in a WebSocket URL, a socket from another site, single sign-on
//! headers from an untrusted address) and fails if the hole reopens.

use anyhow::Context as _;
use omni_testkit::actors::{Agent, Customer, TEST_PASSWORD, desk_events};
use omni_testkit::app::test_config;
use omni_testkit::{HttpClient, JsonSocket, TestApp};
use serde_json::{Value, json};

/// The embedded app with `tune` applied to the test configuration.
async fn app_with(tune: impl FnOnce(&mut omni_core::config::Config)) -> anyhow::Result<TestApp> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    tune(&mut config);
    TestApp::start_with(data, config).await
}

/// Signs `user` in with the test password; fails unless 200.
async fn signed_in(app: &TestApp, user: &str) -> anyhow::Result<HttpClient> {
    let (r, api) = HttpClient::new(app.desk_url())
        .sign_in(user, TEST_PASSWORD)
        .await?;
    match api {
        Some(api) if r.status == 200 => Ok(api),
        _ => anyhow::bail!("sign in {user}: {} {}", r.status, r.body),
    }
}

/// alice signed in and available, holding a new chat conversation; returns
/// alice, the customer and the conversation id.
async fn alice_with_a_conversation(app: &TestApp) -> anyhow::Result<(Agent, Customer, String)> {
    let mut alice = Agent::sign_in(app, "alice").await?;
    let (mut customer, _) = Customer::open(app, None, "sales").await?;
    customer
        .say("my card number is 4111 1111 1111 1111")
        .await?;
    let (offer, conversation) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    Ok((alice, customer, conversation))
}

#[tokio::test]
async fn sign_in_without_a_password_is_refused() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let desk = HttpClient::new(app.desk_url());
    for body in [
        json!({ "agent_id": "alice" }),
        json!({ "user": "alice" }),
        json!({ "user": "alice", "password": null }),
    ] {
        let r = desk.post("/api/session", &body).await?;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(
            r.body["message"], "user and password are required",
            "{body}"
        );
        assert!(r.headers.get("set-cookie").is_none(), "{body} set a cookie");
    }
    let r = desk
        .post("/api/session", &json!({ "user": "alice", "password": "" }))
        .await?;
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(r.headers.get("set-cookie").is_none());
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_unknown_account_and_a_wrong_password_answer_the_same() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let desk = HttpClient::new(app.desk_url());
    let (unknown, _) = desk.sign_in("mallory", "a guessed password").await?;
    let (wrong, _) = desk.sign_in("alice", "a guessed password").await?;
    assert_eq!(unknown.status, 401);
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    assert_eq!(
        unknown.body,
        json!({"error":"bad_credentials","message":"unknown account or wrong password"})
    );
    // Both failures are in the audit log, for the admin.
    let admin = signed_in(&app, "admin").await?;
    let log = admin.get("/api/admin/audit").await?;
    let failed: Vec<&Value> = log.body["events"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["action"] == "sign_in_failed")
                .collect()
        })
        .unwrap_or_default();
    assert!(
        failed
            .iter()
            .any(|e| e["target"] == "mallory" && e["detail"] == "unknown account"),
        "{}",
        log.body
    );
    assert!(
        failed
            .iter()
            .any(|e| e["target"] == "alice" && e["detail"] == "wrong password"),
        "{}",
        log.body
    );
    assert!(
        failed.iter().all(|e| e["from"] == "127.0.0.1"),
        "{}",
        log.body
    );
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn brute_force_against_sign_in_is_throttled() -> anyhow::Result<()> {
    let app = app_with(|c| {
        c.auth.sign_in_per_account_per_minute = 3;
        c.auth.sign_in_per_address_per_minute = 6;
    })
    .await?;
    let desk = HttpClient::new(app.desk_url());
    for i in 0..3 {
        let (r, _) = desk.sign_in("alice", &format!("guess number {i}")).await?;
        assert_eq!(r.status, 401, "guess {i}: {}", r.body);
    }
    // Now even the right password waits.
    let (r, signed) = desk.sign_in("alice", TEST_PASSWORD).await?;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(signed.is_none());
    assert_eq!(r.body["error"], "too_many_attempts");
    let retry: u64 = r.headers["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Another account from the same address, until the address budget ends.
    for i in 0..2 {
        let (r, _) = desk.sign_in("bob", &format!("guess {i}")).await?;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let (r, _) = desk.sign_in("carmen", TEST_PASSWORD).await?;
    assert_eq!(r.status, 429, "{}", r.body);
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_agent_cannot_read_or_reply_to_anothers_conversation() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let (mut alice, mut customer, conversation) = alice_with_a_conversation(&app).await?;
    // bob signs in but stays offline: the conversation is alice's.
    let bob = signed_in(&app, "bob").await?;
    let mut bob_events = desk_events(&app, &bob).await?;
    bob_events
        .recv_type("state")
        .await
        .context("bob's first state")?;
    let base = format!("/api/conversations/{conversation}");
    for (method, path, body) in [
        ("GET", base.clone(), None),
        ("GET", format!("{base}/customer"), None),
        (
            "POST",
            format!("{base}/messages"),
            Some(json!({"text": "hi, bob here", "client_id": "b1"})),
        ),
        ("POST", format!("{base}/resolve"), Some(json!({}))),
        (
            "PUT",
            format!("{base}/customer"),
            Some(json!({"display_name": "Mallory"})),
        ),
    ] {
        let r = match body {
            None => bob.get(&path).await?,
            Some(b) if method == "PUT" => bob.put(&path, &b).await?,
            Some(b) => bob.post(&path, &b).await?,
        };
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error"], "not_assigned", "{method} {path}");
    }
    // Over the event socket: the customer writes again; alice sees it,
    // bob's socket gets nothing of it.
    customer.say("second secret").await?;
    alice
        .events
        .recv_until("the second message", |f| {
            f["type"] == "message" && f["message"]["text"] == "second secret"
        })
        .await
        .context("alice sees the second message")?;
    // bob signs out: his socket closes once its session check sees it;
    // nothing of alice's conversation came before the close.
    let r = bob.delete("/api/session").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    loop {
        match bob_events.recv().await {
            Ok(frame) => {
                assert_ne!(
                    frame["type"], "message",
                    "bob's socket carried alice's conversation: {frame}"
                );
                assert_ne!(
                    frame["type"], "conversation",
                    "bob's socket carried alice's conversation: {frame}"
                );
            }
            Err(e) => {
                assert!(format!("{e:#}").contains("4001"), "{e:#}");
                break;
            }
        }
    }
    // A supervisor reads it, but replies only in their own.
    let sup = signed_in(&app, "supervisor").await?;
    let r = sup.get(&base).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["messages"].to_string().contains("second secret"));
    let r = sup
        .post(
            &format!("{base}/messages"),
            &json!({"text": "sup", "client_id": "s1"}),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_state_changing_call_without_the_csrf_token_is_refused() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let alice = signed_in(&app, "alice").await?;
    let session = alice.session().cloned().expect("session");
    // What a page of another site could make a browser send: the cookie alone.
    let forged = HttpClient::new(app.desk_url()).with_header("cookie", &session.cookie());
    for (method, path) in [("PUT", "/api/presence"), ("DELETE", "/api/session")] {
        let r = match method {
            "PUT" => forged.put(path, &json!({"presence": "available"})).await?,
            _ => forged.delete(path).await?,
        };
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.body["error"], "csrf");
    }
    let wrong = forged.with_header("x-csrf-token", "guessed");
    let r = wrong
        .put("/api/presence", &json!({"presence": "available"}))
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    // Reads need no token, and the real one works.
    assert_eq!(forged.get("/api/me").await?.status, 200);
    let r = alice
        .put("/api/presence", &json!({"presence": "available"}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_expired_session_is_refused() -> anyhow::Result<()> {
    let app = app_with(|c| c.auth.session_max_secs = 1).await?;
    let alice = signed_in(&app, "alice").await?;
    assert_eq!(alice.get("/api/me").await?.status, 200);
    // Setup, not a timed assertion: let the one-second lifetime pass.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = alice.get("/api/me").await?;
    assert_eq!(r.status, 401, "{}", r.body);
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_password_change_or_disable_ends_every_session() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let alice = signed_in(&app, "alice").await?;
    let mut alice_events = desk_events(&app, &alice).await?;
    alice_events.recv_type("state").await?;
    let bob = signed_in(&app, "bob").await?;
    let admin = signed_in(&app, "admin").await?;

    let r = admin
        .put(
            "/api/admin/accounts/alice",
            &json!({"password": "a brand new password"}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(alice.get("/api/me").await?.status, 401);
    // The open event socket ends too.
    let closed = alice_events.closed().await?;
    assert_eq!(closed.code, 4001, "{closed:?}");
    let (r, _) = HttpClient::new(app.desk_url())
        .sign_in("alice", TEST_PASSWORD)
        .await?;
    assert_eq!(r.status, 401, "the old password still works: {}", r.body);
    let (r, _) = HttpClient::new(app.desk_url())
        .sign_in("alice", "a brand new password")
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = admin
        .put("/api/admin/accounts/bob", &json!({"disabled": true}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(bob.get("/api/me").await?.status, 401);
    let (r, _) = HttpClient::new(app.desk_url())
        .sign_in("bob", TEST_PASSWORD)
        .await?;
    assert_eq!(r.status, 401, "{}", r.body);

    let log = admin.get("/api/admin/audit").await?.body;
    for (action, target) in [("password_set", "alice"), ("account_disabled", "bob")] {
        assert!(
            log["events"].as_array().is_some_and(|e| e
                .iter()
                .any(|e| e["action"] == action && e["target"] == target && e["actor"] == "admin")),
            "{action} {target}: {log}"
        );
    }
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_event_socket_takes_the_cookie_not_a_token_in_the_url() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let alice = signed_in(&app, "alice").await?;
    let session = alice.session().cloned().expect("session");
    let origin = app.desk_url();
    // The token in the query string, as the desk once took it: refused.
    let url = format!("{}?token={}", app.desk_events_url(), session.token);
    let err = JsonSocket::connect_with(&url, &[("origin", origin.as_str())])
        .await
        .err()
        .expect("a token in the URL is not a credential");
    assert!(format!("{err:#}").contains("401"), "{err:#}");
    // The cookie from a page of another site: refused.
    let cookie = session.cookie();
    let err = JsonSocket::connect_with(
        &app.desk_events_url(),
        &[
            ("cookie", cookie.as_str()),
            ("origin", "https://evil.example"),
        ],
    )
    .await
    .err()
    .expect("another site's page");
    assert!(format!("{err:#}").contains("403"), "{err:#}");
    // The cookie from the desk's own page: accepted.
    let mut events = desk_events(&app, &alice).await?;
    events.recv_type("state").await?;
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn single_sign_on_headers_count_only_from_a_trusted_proxy() -> anyhow::Result<()> {
    // Nothing trusted: the headers are ignored, so no password, no session.
    let app = TestApp::start().await?;
    let proxied = HttpClient::new(app.desk_url())
        .with_header("x-forwarded-user", "admin")
        .with_header("x-forwarded-email", "admin@example.com");
    let r = proxied.post("/api/session", &json!({})).await?;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.headers.get("set-cookie").is_none());
    app.stop().await;

    // The proxy's address trusted: the header names the account.
    let app = app_with(|c| c.auth.trusted_proxies = vec!["127.0.0.0/8".into()]).await?;
    let proxied = HttpClient::new(app.desk_url()).with_header("x-forwarded-user", "supervisor");
    let r = proxied.post("/api/session", &json!({})).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["account"]["role"], "supervisor");
    let nobody = HttpClient::new(app.desk_url()).with_header("x-forwarded-user", "mallory");
    let r = nobody.post("/api/session", &json!({})).await?;
    assert_eq!(r.status, 401, "{}", r.body);
    app.stop().await;
    Ok(())
}
