//! The desk's tools against the whole embedded app: an internal note the
//! customer never sees (not live, not in the history a returning page
//! gets), a transfer with a note the receiving agent reads with the whole
//! history, a resolve that needs the queue's wrap-up code (counted in the
//! metrics, kept in the export), canned responses by role, and away
//! reasons from the configuration.

use omni_testkit::actors::{Agent, Customer, TEST_PASSWORD};
use omni_testkit::app::test_config;
use omni_testkit::{HttpClient, TestApp};
use serde_json::{Value, json};

/// The embedded app with wrap-up codes on `sales`.
async fn app_with_codes() -> anyhow::Result<TestApp> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    for q in config.queues.iter_mut().filter(|q| q.id == "sales") {
        q.wrapup_codes = vec!["sold".into(), "no_sale".into()];
    }
    config.validate()?;
    TestApp::start_with(data, config).await
}

async fn sign_in(app: &TestApp, who: &str) -> anyhow::Result<HttpClient> {
    let (r, client) = HttpClient::new(app.desk_url())
        .sign_in(who, TEST_PASSWORD)
        .await?;
    client.ok_or_else(|| anyhow::anyhow!("sign-in {who}: {}", r.body))
}

fn messages(conversation: &Value) -> Vec<Value> {
    conversation["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_transfers_and_wrapups_on_the_desk() -> anyhow::Result<()> {
    let app = app_with_codes().await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("where is my refund").await?;
    let conversation = bob.take_next_offer().await?;
    let notes = format!("/api/conversations/{conversation}/notes");

    // bob's note: marked internal in his answer.
    let r = bob
        .api
        .post(
            &notes,
            &json!({ "text": "gold customer, secret refund code 4711", "client_id": "n1" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["internal"], true, "{}", r.body);
    let r = bob
        .api
        .post(&notes, &json!({ "text": " ", "client_id": "n2" }))
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);

    // The customer's page gets bob's reply, never the note ...
    bob.reply(&conversation, "Let me check that for you", "r1")
        .await?;
    loop {
        let frame = customer.socket.recv().await?;
        let text = frame.to_string();
        assert!(!text.contains("4711"), "the customer got the note: {frame}");
        if text.contains("Let me check that for you") {
            break;
        }
    }
    // ... nor in the history a returning page is welcomed with.
    let (_, welcome) = Customer::open(&app, Some(&customer.visitor), "sales").await?;
    let history = welcome.to_string();
    assert!(history.contains("Let me check that for you"), "{welcome}");
    assert!(
        !history.contains("4711"),
        "the history has the note: {welcome}"
    );

    // bob hands it to alice with a note; alice reads it with everything.
    let mut alice = Agent::sign_in(&app, "alice").await?;
    let handover = format!("/api/conversations/{conversation}/handover");
    let r = bob
        .api
        .post(&handover, &json!({ "agent": "alice", "queue": "sales" }))
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = bob
        .api
        .post(
            &handover,
            &json!({ "agent": "alice", "note": "alice: refund approved, just confirm" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["to"], "agent alice", "{}", r.body);
    let offered = alice.take_next_offer().await?;
    assert_eq!(offered, conversation);
    // Read at once: the desk waits for the assignment to reach the context
    // service over the bus.
    let seen = alice
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let timeline = messages(&seen.body);
    let texts: Vec<&str> = timeline.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(
        texts,
        [
            "where is my refund",
            "gold customer, secret refund code 4711",
            "Let me check that for you",
            "alice: refund approved, just confirm",
        ],
        "the whole history, notes in place"
    );
    let internal: Vec<bool> = timeline.iter().map(|m| m["internal"] == true).collect();
    assert_eq!(internal, [false, true, false, true]);
    assert_eq!(timeline[3]["notice"], "transferred to agent alice");

    // Resolving needs one of the queue's codes; the code is kept.
    let resolve = format!("/api/conversations/{conversation}/resolve");
    let r = alice.api.post(&resolve, &json!({})).await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("needs a wrap-up code") && message.contains("sold, no_sale"),
        "{}",
        r.body
    );
    let r = alice
        .api
        .post(&resolve, &json!({ "wrapup_code": "maybe" }))
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = alice
        .api
        .post(
            &resolve,
            &json!({ "wrapup_code": "sold", "note": "refunded, customer happy" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "resolved", "{}", r.body);
    assert_eq!(r.body["wrapup_code"], "sold", "{}", r.body);

    // Counted per queue and code.
    let metrics = HttpClient::new(app.metrics_url()).get("/metrics").await?;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    assert!(
        text.lines().any(|l| l.starts_with("omni_wrapups_total{")
            && l.contains("queue=\"sales\"")
            && l.contains("code=\"sold\"")
            && l.ends_with(" 1")),
        "omni_wrapups_total for sales/sold in:\n{text}"
    );

    // The admin's export has the notes and the code.
    let customer_id = seen.body["conversation"]["customer_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let admin = sign_in(&app, "admin").await?;
    let export = admin
        .get(&format!("/api/admin/customers/{customer_id}/export"))
        .await?;
    assert_eq!(export.status, 200, "{}", export.body);
    let exported = &export.body["conversations"][0];
    assert_eq!(
        exported["conversation"]["wrapup_code"], "sold",
        "{exported}"
    );
    let kinds: Vec<&str> = exported["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["notice"]["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["internal_note"; 3], "{exported}");
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canned_responses_shared_by_supervisors_personal_by_anyone() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let bob = sign_in(&app, "bob").await?;
    let alice = sign_in(&app, "alice").await?;
    let supervisor = sign_in(&app, "supervisor").await?;
    let canned = |shortcut: &str, shared: bool| {
        json!({
            "shortcut": shortcut,
            "title": format!("{shortcut} title"),
            "text": "Hello {customer.name}, {agent.name} here",
            "shared": shared,
        })
    };
    let r = bob.post("/api/canned", &canned("thanks", false)).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["shared"], false);
    let bobs = r.body["id"].as_str().unwrap_or_default().to_owned();
    let r = bob.post("/api/canned", &canned("greet", true)).await?;
    assert_eq!(r.status, 403, "an agent may not share: {}", r.body);
    let r = bob.post("/api/canned", &canned("two words", false)).await?;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = supervisor
        .post("/api/canned", &canned("greet", true))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let shared = r.body["id"].as_str().unwrap_or_default().to_owned();

    let shortcuts = |v: &Value| -> Vec<String> {
        v["canned"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["shortcut"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        shortcuts(&bob.get("/api/canned").await?.body),
        ["greet", "thanks"]
    );
    assert_eq!(shortcuts(&alice.get("/api/canned").await?.body), ["greet"]);

    // alice cannot reach bob's; bob cannot change the shared one.
    let r = alice
        .put(&format!("/api/canned/{bobs}"), &canned("mine", false))
        .await?;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = alice.delete(&format!("/api/canned/{bobs}")).await?;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = bob
        .put(&format!("/api/canned/{shared}"), &canned("greet", true))
        .await?;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = bob.delete(&format!("/api/canned/{shared}")).await?;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = bob
        .put(&format!("/api/canned/{bobs}"), &canned("thx", false))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        shortcuts(&bob.get("/api/canned").await?.body),
        ["greet", "thx"]
    );
    let r = bob.delete(&format!("/api/canned/{bobs}")).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(shortcuts(&bob.get("/api/canned").await?.body), ["greet"]);
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn away_reasons_come_from_the_configuration() -> anyhow::Result<()> {
    let app = app_with_codes().await?;
    let bob = Agent::sign_in(&app, "bob").await?;
    let settings = bob.api.get("/api/desk/settings").await?;
    assert_eq!(settings.status, 200, "{}", settings.body);
    assert_eq!(
        settings.body,
        json!({
            "away_reasons": ["break", "lunch", "training", "meeting"],
            "wrapup_codes": { "sales": ["sold", "no_sale"] },
        })
    );
    let r = bob
        .api
        .put(
            "/api/presence",
            &json!({ "presence": "away", "reason": "nap" }),
        )
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("break, lunch, training, meeting")),
        "{}",
        r.body
    );
    let r = bob
        .api
        .put(
            "/api/presence",
            &json!({ "presence": "away", "reason": "lunch" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["presence"], "away");
    assert_eq!(r.body["away_reason"], "lunch");
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisors_transfer_leaves_a_note_for_the_receiver() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("I was charged twice").await?;
    let conversation = bob.take_next_offer().await?;
    let mut alice = Agent::sign_in(&app, "alice").await?;
    let supervisor = sign_in(&app, "supervisor").await?;
    let r = supervisor
        .post(
            &format!("/api/conversations/{conversation}/transfer"),
            &json!({ "agent": "alice", "note": "double charge: refund one" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["noted"], true, "{}", r.body);
    assert_eq!(alice.take_next_offer().await?, conversation);
    // Read at once: the desk waits for the assignment to reach the context
    // service over the bus.
    let seen = alice
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let note = messages(&seen.body)
        .into_iter()
        .find(|m| m["internal"] == true)
        .ok_or_else(|| anyhow::anyhow!("no note: {}", seen.body))?;
    assert_eq!(note["text"], "double charge: refund one");
    assert_eq!(note["agent_id"], "supervisor");
    assert_eq!(note["notice"], "transferred to agent alice");
    // The audit log says the transfer came with a note.
    let admin = sign_in(&app, "admin").await?;
    let log = admin.get("/api/admin/audit").await?.body;
    assert!(
        log["events"].as_array().into_iter().flatten().any(|e| {
            e["action"] == "transfer"
                && e["target"] == conversation.as_str()
                && e["detail"] == "agent alice, with a note"
        }),
        "{log}"
    );
    app.stop().await;
    Ok(())
}
