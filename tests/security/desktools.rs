//! The desk's tools keep to their owners: an agent cannot write a note on,
//! or hand over, a conversation that is not theirs (403, nothing changes);
//! a personal canned response is invisible to everyone but its owner (404
//! to change or delete), and only a supervisor or admin writes a shared
//! one (403); a reason not on the configured list is refused (400).

use omni_testkit::TestApp;
use omni_testkit::actors::{Agent, Customer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_may_not_note_hand_over_or_reach_anothers_canned() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("my order is late").await?;
    let conversation = bob.take_next_offer().await?;
    let alice = Agent::sign_in(&app, "alice").await?;

    // alice on bob's conversation: 403 for a note and a handover.
    let r = alice
        .api
        .post(
            &format!("/api/conversations/{conversation}/notes"),
            &json!({ "text": "planted", "client_id": "x1" }),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = alice
        .api
        .post(
            &format!("/api/conversations/{conversation}/handover"),
            &json!({ "agent": "alice", "note": "mine now" }),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    let me = bob.api.get("/api/me").await?;
    assert_eq!(me.body["assigned"], json!([conversation]), "{}", me.body);
    let seen = bob
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    assert!(
        !seen.body.to_string().contains("planted") && !seen.body.to_string().contains("mine now"),
        "nothing was written: {}",
        seen.body
    );

    // bob's personal canned response is his alone; sharing needs a supervisor.
    let r = bob
        .api
        .post(
            "/api/canned",
            &json!({ "shortcut": "sorry", "title": "Sorry", "text": "Sorry {customer.name}" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    let listed = alice.api.get("/api/canned").await?;
    assert!(
        !listed.body.to_string().contains(&id),
        "alice sees bob's: {}",
        listed.body
    );
    let r = alice
        .api
        .put(
            &format!("/api/canned/{id}"),
            &json!({ "shortcut": "sorry", "title": "Sorry", "text": "hijacked" }),
        )
        .await?;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = alice.api.delete(&format!("/api/canned/{id}")).await?;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = alice
        .api
        .post(
            "/api/canned",
            &json!({ "shortcut": "all", "title": "All", "text": "x", "shared": true }),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    let mine = bob.api.get("/api/canned").await?;
    assert!(
        mine.body.to_string().contains("Sorry {customer.name}"),
        "bob's is intact: {}",
        mine.body
    );

    // An away reason not on the list is refused.
    let r = alice
        .api
        .put(
            "/api/presence",
            &json!({ "presence": "away", "reason": "<script>" }),
        )
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    app.stop().await;
    Ok(())
}
