//! A conversation's survey on the conversation in the desk (docs/desk.md,
//! docs/surveys.md): Bob resolves a chat of Sales (CSAT, with a comment);
//! the resolve's answer carries the survey; the supervisor reading the
//! conversation sees it sent and not answered, then, once the customer
//! answers "4" and "Quick and kind", scored 4 of 5 with the comment and
//! attributed to Bob, whose open desk hears of it live. Alice, who did not
//! handle it, is refused the conversation and so its survey.

use omni_core::config::{SurveyConfig, SurveyKind};
use omni_testkit::actors::{Agent, Customer, TEST_PASSWORD};
use omni_testkit::app::test_config;
use omni_testkit::{HttpClient, TestApp};
use serde_json::Value;

/// Signs `user` in to the desk, without going available.
async fn signed_in(app: &TestApp, user: &str) -> anyhow::Result<HttpClient> {
    let (r, client) = HttpClient::new(app.desk_url())
        .sign_in(user, TEST_PASSWORD)
        .await?;
    client.ok_or_else(|| anyhow::anyhow!("sign-in {user}: {}", r.body))
}

/// The next message the customer's chat shows that no agent wrote.
async fn automatic(customer: &mut Customer, what: &str) -> anyhow::Result<Value> {
    let frame = customer
        .socket
        .recv_until(what, |f| {
            f["type"] == "message"
                && f["message"]["direction"] == "outbound"
                && f["message"]["agent_id"].is_null()
        })
        .await?;
    Ok(frame["message"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_the_desk_shows_a_conversations_survey_to_whoever_may_read_it()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.context.sending_hours = "00:00-24:00".into();
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .ok_or_else(|| anyhow::anyhow!("the sample has Sales"))?;
    sales.survey = Some(SurveyConfig {
        kind: SurveyKind::Csat,
        comment: true,
        prompt: Default::default(),
        thanks: Default::default(),
        min_days_between: 30,
    });
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;

    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("I would like to buy a bike").await?;
    let conversation = bob.take_next_offer().await?;
    bob.reply(&conversation, "Here is the link", "b1").await?;
    let resolved = bob.resolve(&conversation).await?;
    assert_eq!(resolved["survey"]["kind"], "csat", "{resolved}");
    assert_eq!(resolved["survey"]["agent"], "bob", "{resolved}");
    assert_eq!(resolved["survey"]["score"], Value::Null, "{resolved}");

    automatic(&mut customer, "the survey").await?;
    let supervisor = signed_in(&app, "supervisor").await?;
    let path = format!("/api/conversations/{conversation}");
    let r = supervisor.get(&path).await?;
    anyhow::ensure!(r.status == 200, "supervisor reads: {} {}", r.status, r.body);
    let survey = &r.body["survey"];
    assert_eq!(survey["phase"], "asked", "{survey}");
    assert_eq!(survey["score"], Value::Null, "{survey}");
    assert!(survey["asked_at_ms"].as_i64().is_some(), "{survey}");

    customer.say("4").await?;
    automatic(&mut customer, "the thanks").await?;
    customer.say("Quick and kind").await?;
    // Bob's desk hears of the answer, with its comment.
    let frame = bob
        .events
        .recv_until("the survey's comment", |f| {
            f["type"] == "survey" && f["survey"]["comment"] == "Quick and kind"
        })
        .await?;
    assert_eq!(frame["conversation_id"], conversation.as_str(), "{frame}");
    assert_eq!(frame["survey"]["score"], 4, "{frame}");

    let r = supervisor.get(&path).await?;
    anyhow::ensure!(r.status == 200, "supervisor reads: {} {}", r.status, r.body);
    let survey = &r.body["survey"];
    assert_eq!(survey["phase"], "answered", "{survey}");
    assert_eq!(survey["kind"], "csat", "{survey}");
    assert_eq!(survey["score"], 4, "{survey}");
    assert_eq!(survey["high"], 5, "{survey}");
    assert_eq!(survey["comment"], "Quick and kind", "{survey}");
    assert_eq!(survey["agent"], "bob", "{survey}");
    assert_eq!(survey["agent_name"], "Bob Okafor", "{survey}");
    assert_eq!(survey["queue"], "sales", "{survey}");
    assert!(survey["answered_at_ms"].as_i64().is_some(), "{survey}");

    // Alice did not handle it: refused, as for the conversation itself.
    let alice = signed_in(&app, "alice").await?;
    let r = alice.get(&path).await?;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.get("survey").is_none(), "{}", r.body);

    app.stop().await;
    Ok(())
}
