//! The desk's customer routes against the whole app on free ports: an agent
//! reads and edits the customer profile, links identities (with precise
//! errors for bad ones) only as unverified, and cannot text such a number,
//! look customers up or undo merges; made a supervisor, the same person
//! links verified, replies on a channel the customer has (or gets a clear
//! refusal), merges two customers by linking one's phone to the other and
//! undoes it.

use omni_testkit::actors::{Agent, set_role};
use omni_testkit::{JsonSocket, TestApp};
use serde_json::{Value, json};

/// A chat visitor writes on `sales`; the agent accepts the offer. Returns
/// the conversation id.
async fn chat_conversation(app: &TestApp, agent: &mut Agent, name: &str) -> String {
    let mut socket = JsonSocket::connect(&app.chat_ws_url()).await.expect("chat");
    socket
        .send(&json!({ "type": "hello", "visitor": null, "name": name, "topic": "sales" }))
        .await
        .expect("hello");
    socket.recv_type("welcome").await.expect("welcome");
    socket
        .send(&json!({ "type": "message", "client_id": "c1", "text": "hello" }))
        .await
        .expect("say");
    socket.recv_type("ack").await.expect("ack");
    let (offer, conversation) = agent.next_offer().await.expect("offer");
    agent.settle(&offer, "accept").await.expect("accept");
    conversation
}

fn error_of(body: &Value) -> (&str, &str) {
    (
        body["error"].as_str().unwrap_or_default(),
        body["message"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_record_identities_and_supervisors_verify_and_merge() {
    let app = TestApp::start().await.expect("app");
    let mut alice = Agent::sign_in(&app, "alice").await.expect("alice");
    let api = alice.api.clone();
    let first = chat_conversation(&app, &mut alice, "Jo").await;
    let base = format!("/api/conversations/{first}");

    let profile = api.get(&format!("{base}/customer")).await.expect("profile");
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.body["customer"]["display_name"], "Jo");
    assert_eq!(
        profile.body["conversations"].as_array().map(Vec::len),
        Some(1)
    );

    let r = api
        .put(
            &format!("{base}/customer"),
            &json!({ "language": "fr", "tier": "gold", "attributes": { "plan": "pro" } }),
        )
        .await
        .expect("update");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["customer"]["language"], "fr");
    assert_eq!(r.body["customer"]["attributes"]["plan"], "pro");

    // No phone yet: an SMS reply is refused with the reason.
    let r = api
        .post(
            &format!("{base}/messages"),
            &json!({ "text": "hi", "client_id": "r1", "channel": "sms" }),
        )
        .await
        .expect("reply");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        error_of(&r.body).1.contains("has no sms identity"),
        "{}",
        r.body
    );

    // A bad number is a precise 400; a good one links with the evidence.
    let r = api
        .post(
            &format!("{base}/customer/identities"),
            &json!({ "kind": "phone", "value": "555", "evidence": "said so" }),
        )
        .await
        .expect("bad link");
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(error_of(&r.body).0, "invalid_argument");
    assert!(
        error_of(&r.body).1.contains("invalid phone number \"555\""),
        "{}",
        r.body
    );
    let r = api
        .post(
            &format!("{base}/customer/identities"),
            &json!({ "kind": "fax", "value": "1" }),
        )
        .await
        .expect("bad kind");
    assert_eq!(r.status, 400, "{}", r.body);
    // An agent's link is recorded unverified: no SMS goes to it, and she
    // may neither ask for a verified link nor look customers up.
    let r = api
        .post(&format!("{base}/customer/identities"), &json!({ "kind": "phone", "value": "+1 202-555-0100", "evidence": "the customer typed it" }))
        .await
        .expect("unverified link");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["customer"]["unverified"][0]["value"], "+12025550100");
    let r = api
        .post(
            &format!("{base}/messages"),
            &json!({ "text": "texting you", "client_id": "r1b", "channel": "sms" }),
        )
        .await
        .expect("sms to an unverified number");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        error_of(&r.body).1.contains("+12025550100 is not verified"),
        "{}",
        r.body
    );
    let r = api
        .post(&format!("{base}/customer/identities"), &json!({ "kind": "phone", "value": "+1 202-555-0100", "evidence": "trust me", "verified": true }))
        .await
        .expect("verified link by an agent");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        error_of(&r.body).1.contains("a supervisor verifies it"),
        "{}",
        r.body
    );
    let r = api
        .get("/api/customers?phone=%2B12025550100")
        .await
        .expect("find");
    assert_eq!(r.status, 403, "{}", r.body);

    // Made a supervisor (her session follows), she links it verified.
    set_role(&app, "alice", "supervisor")
        .await
        .expect("promote");
    let r = api
        .post(&format!("{base}/customer/identities"), &json!({ "kind": "phone", "value": "+1 202-555-0100", "evidence": "read back the code we texted" }))
        .await
        .expect("link");
    assert_eq!(r.status, 200, "{}", r.body);
    let sources = &r.body["customer"]["identity_sources"];
    assert_eq!(sources[0]["identity"]["value"], "+12025550100");
    assert_eq!(sources[0]["by"], "alice");
    assert_eq!(sources[0]["detail"], "read back the code we texted");
    let r = api
        .post(
            &format!("{base}/messages"),
            &json!({ "text": "texting you", "client_id": "r2", "channel": "sms" }),
        )
        .await
        .expect("sms reply");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["channel"].as_str(), r.body["delivery"].as_str()),
        (Some("sms"), Some("queued"))
    );
    let found = api
        .get("/api/customers?phone=%2B12025550100")
        .await
        .expect("find");
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["customer"]["id"], profile.body["customer"]["id"]);

    // A second visitor turns out to be the same person: linking the phone to
    // them merges the first customer in; unmerge restores both.
    let second = chat_conversation(&app, &mut alice, "Jo again").await;
    let base2 = format!("/api/conversations/{second}");
    let r = api
        .post(
            &format!("{base2}/customer/identities"),
            &json!({ "kind": "phone", "value": "+12025550100", "evidence": "same phone on file" }),
        )
        .await
        .expect("link merges");
    assert_eq!(r.status, 200, "{}", r.body);
    let merge_id = r.body["merged"]["id"].as_str().expect("a merge").to_owned();
    assert_eq!(r.body["merged"]["evidence"], "same phone on file");
    assert_eq!(r.body["conversations"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        r.body["customer"]["language"], "fr",
        "filled from the absorbed customer"
    );

    let r = api
        .post(
            &format!("{base2}/customer/unmerge"),
            &json!({ "merge_id": "mrg_unknown", "reason": "x" }),
        )
        .await
        .expect("unknown merge");
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api
        .post(
            &format!("{base2}/customer/unmerge"),
            &json!({ "merge_id": merge_id, "reason": "different people after all" }),
        )
        .await
        .expect("unmerge");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["conversations"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["restored"]["identities"][1]["value"], "+12025550100");
    assert!(r.body["customer"]["language"].is_null(), "{}", r.body);

    // A chat message has no attachment: 404 with the JSON error body.
    let r = api
        .get(&format!("{base}/messages/1/attachments/1"))
        .await
        .expect("attachment");
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(error_of(&r.body).0, "not_found");
    app.stop().await;
}
