//! Supervisors act on others' work from the desk, agents do not: changing
//! another agent's presence (with a reason) and transferring a conversation
//! are supervisor routes (an agent gets 403 and nothing changes), and each
//! act is in the audit log under the supervisor's name.

use omni_testkit::actors::{Agent, Customer, TEST_PASSWORD};
use omni_testkit::{HttpClient, TestApp};
use serde_json::{Value, json};

/// The audit events with `action` on `target`, newest first.
fn audited<'a>(log: &'a Value, action: &str, target: &str) -> Vec<&'a Value> {
    log["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|e| e["action"] == action && e["target"] == target)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sets_presence_and_transfers_an_agent_may_not() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("my order is late").await?;
    let conversation = bob.take_next_offer().await?;
    let mut alice = Agent::sign_in(&app, "alice").await?;

    // alice, an agent: 403 for both, and bob keeps his presence and his
    // conversation.
    let presence = "/api/agents/bob/presence";
    let transfer = format!("/api/conversations/{conversation}/transfer");
    let r = alice
        .api
        .put(
            presence,
            &json!({ "presence": "away", "reason": "go home" }),
        )
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = alice
        .api
        .post(&transfer, &json!({ "agent": "alice" }))
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    let me = bob.api.get("/api/me").await?;
    assert_eq!(me.body["presence"], "available", "{}", me.body);
    assert_eq!(me.body["assigned"], json!([conversation]), "{}", me.body);

    // The supervisor: a reason is required; with one, bob is away.
    let (r, supervisor) = HttpClient::new(app.desk_url())
        .sign_in("supervisor", TEST_PASSWORD)
        .await?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
    let r = supervisor
        .put(presence, &json!({ "presence": "away", "reason": " " }))
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = supervisor
        .put(
            presence,
            &json!({ "presence": "away", "reason": "covering the lunch break" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["presence"], "away", "{}", r.body);
    assert_eq!(
        r.body["away_reason"], "covering the lunch break",
        "{}",
        r.body
    );

    // ... and moves bob's conversation to alice, who is offered it.
    let r = supervisor
        .post(&transfer, &json!({ "queue": "sales", "agent": "alice" }))
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = supervisor
        .post(&transfer, &json!({ "agent": "alice" }))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, offered) = alice.next_offer().await?;
    assert_eq!(offered, conversation);

    // Both acts are in the audit log, by the supervisor.
    let (r, admin) = HttpClient::new(app.desk_url())
        .sign_in("admin", TEST_PASSWORD)
        .await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
    let log = admin.get("/api/admin/audit").await?.body;
    let presence_changes = audited(&log, "set_presence", "bob");
    assert_eq!(presence_changes.len(), 1, "{log}");
    assert_eq!(presence_changes[0]["actor"], "supervisor");
    assert_eq!(
        presence_changes[0]["detail"],
        "away: covering the lunch break"
    );
    let transfers = audited(&log, "transfer", &conversation);
    assert_eq!(transfers.len(), 1, "{log}");
    assert_eq!(transfers[0]["actor"], "supervisor");
    assert_eq!(transfers[0]["detail"], "agent alice");
    app.stop().await;
    Ok(())
}
