//! The foundation scenario: a customer chats, the router offers the
//! conversation by skill, an agent declines and another accepts, replies
//! reach the customer live, an unanswered offer moves on, a resolved
//! conversation reopens, and everything survives a restart.

use omni_testkit::TestApp;
use serde_json::json;

use crate::support::{Agent, Customer, texts};

#[tokio::test]
async fn chat_conversation_end_to_end_with_restart() -> anyhow::Result<()> {
    let mut app = TestApp::start().await?;
    let mut alice = Agent::sign_in(&app, "alice").await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;

    // A customer asks sales; alice (sales 9) is offered first, over bob (sales 5).
    let (mut jo, welcome) = Customer::open(&app, None, "sales").await?;
    assert!(welcome["history"].as_array().is_some_and(|h| h.is_empty()));
    jo.say("Hi, I'd like to upgrade my plan").await?;
    let (offer, conv1) = alice.next_offer().await?;

    // Alice declines: the offer moves to bob, who accepts.
    let r = alice
        .api
        .post(&format!("/api/offers/{offer}/decline"), &json!({}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let rescinded = alice.events.recv_type("offer_rescinded").await?;
    assert_eq!(rescinded["reason"], "declined");
    let (offer, conv) = bob.next_offer().await?;
    assert_eq!(conv, conv1);
    let r = bob
        .api
        .post(&format!("/api/offers/{offer}/accept"), &json!({}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["assigned"]
            .as_array()
            .is_some_and(|a| a.contains(&json!(conv1)))
    );
    bob.events.recv_type("assigned").await?;

    // Bob reads the conversation and replies; the reply reaches the customer live.
    let r = bob.api.get(&format!("/api/conversations/{conv1}")).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        texts(&r.body["messages"]),
        ["Hi, I'd like to upgrade my plan"]
    );
    assert_eq!(r.body["customer"]["identities"][0]["kind"], "chat_visitor");
    assert_eq!(r.body["customer"]["display_name"], "Jo Customer");
    let r = bob
        .api
        .post(
            &format!("/api/conversations/{conv1}/messages"),
            &json!({ "text": "Happy to help! Which plan?", "client_id": "r1" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let pushed = jo.socket.recv_type("message").await?;
    assert_eq!(pushed["message"]["text"], "Happy to help! Which plan?");
    assert_eq!(pushed["message"]["direction"], "outbound");
    assert_eq!(pushed["message"]["agent_name"], "Bob Okafor");

    // The customer's answer reaches bob's desk live.
    jo.say("The premium one").await?;
    let live = bob
        .events
        .recv_until("jo's message", |f| {
            f["type"] == "message" && f["message"]["direction"] == "inbound"
        })
        .await?;
    assert_eq!(live["message"]["text"], "The premium one");

    // A second customer: alice lets the offer time out, so it moves to bob.
    let (mut sam, _) = Customer::open(&app, None, "sales").await?;
    sam.say("Do you ship to Norway?").await?;
    let (_, conv2) = alice.next_offer().await?;
    let rescinded = alice.events.recv_type("offer_rescinded").await?;
    assert_eq!(rescinded["reason"], "timeout");
    let (offer, conv) = bob.next_offer().await?;
    assert_eq!(conv, conv2);
    let r = bob
        .api
        .post(&format!("/api/offers/{offer}/accept"), &json!({}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);

    // Bob resolves the first conversation; the customer writes again within
    // the reopen window: the same conversation reopens and goes back to bob,
    // who handled it last.
    let r = bob
        .api
        .post(&format!("/api/conversations/{conv1}/resolve"), &json!({}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "resolved");
    bob.events.recv_type("released").await?;
    jo.say("One more thing: can I pay yearly?").await?;
    let (offer, conv) = bob.next_offer().await?;
    assert_eq!(
        conv, conv1,
        "a message after resolve reopens the same conversation"
    );
    let r = bob
        .api
        .post(&format!("/api/offers/{offer}/accept"), &json!({}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);

    // Graceful restart on the same data: history, customers and assignments remain.
    let visitor = jo.visitor.clone();
    drop((jo, sam, alice, bob));
    app.restart().await?;
    let (mut jo, welcome) = Customer::open(&app, Some(&visitor), "sales").await?;
    assert_eq!(welcome["visitor"], visitor.as_str());
    assert_eq!(welcome["conversation_id"], conv1.as_str());
    assert_eq!(
        texts(&welcome["history"]),
        [
            "Hi, I'd like to upgrade my plan",
            "Happy to help! Which plan?",
            "The premium one",
            "One more thing: can I pay yearly?"
        ]
    );
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let me = bob.api.get("/api/me").await?;
    let assigned = me.body["assigned"].as_array().cloned().unwrap_or_default();
    assert!(
        assigned.contains(&json!(conv1)) && assigned.contains(&json!(conv2)),
        "{}",
        me.body
    );
    let r = bob.api.get(&format!("/api/conversations/{conv2}")).await?;
    assert_eq!(texts(&r.body["messages"]), ["Do you ship to Norway?"]);

    // Replies still reach the customer after the restart.
    let r = bob
        .api
        .post(
            &format!("/api/conversations/{conv1}/messages"),
            &json!({ "text": "Yes, yearly billing saves 15%.", "client_id": "r2" }),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let pushed = jo.socket.recv_type("message").await?;
    assert_eq!(pushed["message"]["text"], "Yes, yearly billing saves 15%.");
    let _ = bob.events.recv_type("message").await;
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn support_topic_routes_by_skill_and_capacity() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    // Dmitri has support 6 and chat capacity 2; carmen is offline.
    let mut dmitri = Agent::sign_in(&app, "dmitri").await?;
    let mut customers = Vec::new();
    let mut conversations = Vec::new();
    for i in 0..3 {
        let (mut c, _) = Customer::open(&app, None, "support").await?;
        c.say(&format!("support question {i}")).await?;
        if i < 2 {
            let (offer, conv) = dmitri.next_offer().await?;
            let r = dmitri
                .api
                .post(&format!("/api/offers/{offer}/accept"), &json!({}))
                .await?;
            assert_eq!(r.status, 200, "{}", r.body);
            conversations.push(conv);
        }
        customers.push(c);
    }
    // At chat capacity, the third waits; when dmitri resolves one, it is offered.
    let r = dmitri
        .api
        .post(
            &format!("/api/conversations/{}/resolve", conversations[0]),
            &json!({}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, third) = dmitri.next_offer().await?;
    assert!(!conversations.contains(&third));

    // Operators see the same story in the Prometheus metrics.
    let metrics = omni_testkit::HttpClient::new(app.metrics_url())
        .get("/metrics")
        .await?;
    assert_eq!(metrics.status, 200);
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    for line in [
        "omni_inbound_messages_total{channel=\"chat\",result=\"stored\"} 3",
        "omni_routing_assignments_total 2",
        "omni_routing_offers_total 3",
        "omni_queue_waiting{queue=\"support\"} 0",
        "omni_agents{presence=\"available\"} 1",
        "omni_chat_connections 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    app.stop().await;
    Ok(())
}
