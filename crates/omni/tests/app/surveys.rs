//! After service through the whole embedded app (docs/surveys.md): a
//! resolved chat gets its CSAT survey inline (the scores as quick-reply
//! options), and the customer's "5" is kept, thanked and counted for the
//! agent and queue that handled it; an answer that is not a score gets one
//! polite retry and then is kept as a comment; a follow-up three days
//! after resolve is sent exactly once after a restart (the router's clock
//! moved, not waited for), and the customer's reply reopens the
//! conversation and is offered to the same agent; a customer who writes
//! first cancels their follow-up. Distributed (every part its own process
//! over NATS and Redis): the chat survey and its score, for the agent.
//! In both modes the supervisor finds the score in the desk's CSV export
//! and in the wall's survey figures. Three surveys sent and one answered
//! show a response rate of 33% on the wall, in the rates export and in the
//! metrics. A reply to a follow-up is offered to Bob, who handled the
//! conversation, while Alice (whom the router picks for anyone else) is
//! free, twice. SMS surveys in both modes are in `surveys_sms`, follow-ups
//! with every part its own process in `followups_distributed`.

use std::time::Duration;

use omni::Part;
use omni_core::config::{Config, FollowupConfig, SurveyConfig, SurveyKind};
use omni_proto::context::ListMessagesRequest;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::routing::ExplainRequest;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::sample_config_path;
use omni_testkit::app::test_config;
use omni_testkit::{Cluster, Endpoints, HttpClient, TestApp, grpc};

use crate::support::{binary, blocking};
use serde_json::Value;

const PROMPT: &str = "How did we do? Reply 1 to 5.";
const THANKS: &str = "Thanks a lot!";
const FOLLOWUP: &str = "Checking in: is all well with your order?";

fn config(data: &std::path::Path, survey: bool, followup: bool) -> anyhow::Result<Config> {
    let mut config = test_config(data)?;
    config.context.sending_hours = "00:00-24:00".into();
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .ok_or_else(|| anyhow::anyhow!("the sample has Sales"))?;
    // Days on the router's clock must not move a waiting customer on.
    sales.steps.clear();
    if survey {
        sales.survey = Some(SurveyConfig {
            kind: SurveyKind::Csat,
            comment: false,
            prompt: [("en".to_owned(), PROMPT.to_owned())].into(),
            thanks: [("en".to_owned(), THANKS.to_owned())].into(),
            min_days_between: 30,
        });
    }
    if followup {
        sales.followup = Some(FollowupConfig {
            after_days: 3,
            template: [("en".to_owned(), FOLLOWUP.to_owned())].into(),
        });
    }
    config.validate()?;
    Ok(config)
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

/// A chat customer of Sales served by Bob, resolved; returns both and the
/// conversation.
async fn served_and_resolved(app: &impl Endpoints) -> anyhow::Result<(Customer, Agent, String)> {
    let mut bob = Agent::sign_in(app, "bob").await?;
    let (mut customer, _) = Customer::open(app, None, "sales").await?;
    customer.say("I would like to buy a bike").await?;
    let conversation = bob.take_next_offer().await?;
    bob.reply(&conversation, "Here is the link", "b1").await?;
    bob.resolve(&conversation).await?;
    Ok((customer, bob, conversation))
}

/// The supervisor's desk shows the score: a row of today's CSV export
/// (`answered_at,conversation,queue,agent,channel,kind,score,comment`)
/// and the wall's CSAT % of Sales and of Bob.
async fn supervisor_sees(
    app: &impl Endpoints,
    conversation: &str,
    score: u32,
    csat_percent: f64,
) -> anyhow::Result<()> {
    let (r, supervisor) = HttpClient::new(app.desk_url())
        .sign_in("supervisor", omni_testkit::actors::TEST_PASSWORD)
        .await?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
    let today = omni_core::time::day_of(omni_core::time::now_ms(), 0);
    let r = supervisor
        .get(&format!("/api/surveys.csv?from={today}&to={today}"))
        .await?;
    anyhow::ensure!(r.status == 200, "export: {} {}", r.status, r.body);
    let csv = r.body.as_str().unwrap_or_default();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("answered_at,conversation,queue,agent,channel,kind,score,comment")
    );
    let rows: Vec<&str> = lines.filter(|l| l.contains(conversation)).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    let fields: Vec<&str> = rows[0].split(',').collect();
    assert!(
        fields[0].starts_with(&today) && fields[0].ends_with('Z'),
        "{csv}"
    );
    assert_eq!(
        &fields[1..],
        [
            conversation,
            "sales",
            "bob",
            "chat",
            "csat",
            &score.to_string(),
            ""
        ],
        "{csv}"
    );
    let r = supervisor.get("/api/wall/surveys").await?;
    anyhow::ensure!(r.status == 200, "wall surveys: {} {}", r.status, r.body);
    assert_eq!(
        r.body["queues"]["sales"]["csat_percent"], csat_percent,
        "{}",
        r.body
    );
    assert_eq!(r.body["agents"]["bob"]["csat_responses"], 1, "{}", r.body);
    assert_eq!(
        r.body["agents"]["bob"]["response_rate"], 100.0,
        "one sent, one answered: {}",
        r.body
    );
    Ok(())
}

async fn metrics_with(app: &TestApp, want: &[&str]) -> anyhow::Result<String> {
    metrics_at(&app.metrics_url(), want).await
}

async fn metrics_at(url: &str, want: &[&str]) -> anyhow::Result<String> {
    let client = HttpClient::new(url.to_owned());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = match client.get("/metrics").await {
            Ok(r) if r.status == 200 => r.body.as_str().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        let missing: Vec<&&str> = want.iter().filter(|w| !text.contains(**w)).collect();
        if missing.is_empty() {
            return Ok(text);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "missing {missing:?} in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The (text, options) of the conversation's outbound messages, over gRPC.
async fn outbound(app: &TestApp, conversation: &str) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let mut context =
        ContextServiceClient::new(grpc::channel(&app.grpc_url(), grpc::SERVICE_TOKEN)?);
    let page = context
        .list_messages(ListMessagesRequest {
            conversation_id: conversation.to_owned(),
            after_seq: 0,
            limit: 500,
            include_notes: false,
        })
        .await?
        .into_inner();
    Ok(page
        .messages
        .into_iter()
        .filter(|m| m.direction == omni_proto::common::Direction::Outbound as i32)
        .map(|m| (m.text, m.options))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_resolved_chat_gets_a_survey_and_the_score_lands_on_the_agent()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = config(data.path(), true, false)?;
    let app = TestApp::start_with(data, config).await?;
    let (mut customer, _bob, conversation) = served_and_resolved(&app).await?;

    let prompt = automatic(&mut customer, "the survey").await?;
    assert_eq!(prompt["text"], PROMPT, "{prompt}");
    let sent = outbound(&app, &conversation).await?;
    assert_eq!(
        sent.last(),
        Some(&(
            PROMPT.to_owned(),
            ["1", "2", "3", "4", "5"].map(String::from).to_vec()
        )),
        "the scores go with the prompt as quick-reply options: {sent:?}"
    );

    customer.say("5").await?;
    let thanks = automatic(&mut customer, "the thanks").await?;
    assert_eq!(thanks["text"], THANKS, "{thanks}");
    metrics_with(
        &app,
        &[
            "omni_survey_responses_total{queue=\"sales\",agent=\"bob\",kind=\"csat\"} 1",
            "omni_survey_score_sum{queue=\"sales\",agent=\"bob\",kind=\"csat\"} 5",
            "omni_surveys_sent_total{queue=\"sales\",agent=\"bob\",kind=\"csat\",result=\"sent\"} 1",
        ],
    )
    .await?;
    // The score did not reopen the conversation (no new offer, nothing
    // stored as a customer message).
    let texts: Vec<String> = outbound(&app, &conversation)
        .await?
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(texts, ["Here is the link", PROMPT, THANKS]);
    supervisor_sees(&app, &conversation, 5, 100.0).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_three_surveys_sent_and_one_answered_is_a_33_percent_response_rate()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = config(data.path(), true, false)?;
    let app = TestApp::start_with(data, config).await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let mut customers = Vec::new();
    for n in 0..3 {
        let (mut customer, _) = Customer::open(&app, None, "sales").await?;
        customer
            .say(&format!("I would like to buy bike {n}"))
            .await?;
        let conversation = bob.take_next_offer().await?;
        bob.reply(&conversation, "Here is the link", &format!("b{n}"))
            .await?;
        bob.resolve(&conversation).await?;
        automatic(&mut customer, "the survey").await?;
        customers.push(customer);
    }
    customers[0].say("4").await?;
    automatic(&mut customers[0], "the thanks").await?;
    metrics_with(
        &app,
        &[
            "omni_surveys_sent_total{queue=\"sales\",agent=\"bob\",kind=\"csat\",result=\"sent\"} 3",
            "omni_survey_responses_total{queue=\"sales\",agent=\"bob\",kind=\"csat\"} 1",
        ],
    )
    .await?;

    let (r, supervisor) = HttpClient::new(app.desk_url())
        .sign_in("supervisor", omni_testkit::actors::TEST_PASSWORD)
        .await?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
    let r = supervisor.get("/api/wall/surveys").await?;
    anyhow::ensure!(r.status == 200, "wall surveys: {} {}", r.status, r.body);
    for figures in [&r.body["queues"]["sales"], &r.body["agents"]["bob"]] {
        assert_eq!(
            (&figures["sent"], &figures["responded"]),
            (&Value::from(3), &Value::from(1)),
            "{}",
            r.body
        );
        let rate = figures["response_rate"].as_f64().unwrap_or_default();
        assert_eq!(rate.round(), 33.0, "{}", r.body);
    }
    let today = omni_core::time::day_of(omni_core::time::now_ms(), 0);
    let r = supervisor
        .get(&format!(
            "/api/surveys.csv?from={today}&to={today}&report=rates"
        ))
        .await?;
    anyhow::ensure!(r.status == 200, "rates: {} {}", r.status, r.body);
    assert_eq!(
        r.body.as_str().unwrap_or_default(),
        "scope,queue,agent,kind,sent,responded,response_rate\r\n\
         queue,sales,,csat,3,1,33.3\r\n\
         agent,sales,bob,csat,3,1,33.3\r\n"
    );
    let r = supervisor
        .get(&format!(
            "/api/surveys.csv?from={today}&to={today}&report=all"
        ))
        .await?;
    assert_eq!(r.status, 400, "an unknown report: {}", r.body);
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_answer_that_is_no_score_gets_one_retry_then_is_a_comment() -> anyhow::Result<()>
{
    let data = tempfile::tempdir()?;
    let config = config(data.path(), true, false)?;
    let app = TestApp::start_with(data, config).await?;
    let (mut customer, _bob, conversation) = served_and_resolved(&app).await?;
    automatic(&mut customer, "the survey").await?;

    customer.say("great thanks").await?;
    let retry = automatic(&mut customer, "the retry").await?;
    assert_eq!(
        retry["text"], "Sorry, we did not get that. Please reply with a number from 1 to 5.",
        "{retry}"
    );
    customer.say("very nice").await?;
    // Kept as a comment: no answer, and the conversation stays resolved;
    // a new question afterwards reopens it as usual.
    customer.say("can I also get a helmet?").await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (_, offered) = bob.next_offer().await?;
    assert_eq!(offered, conversation, "the new question reopened it");
    let texts: Vec<String> = outbound(&app, &conversation)
        .await?
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        texts,
        [
            "Here is the link",
            PROMPT,
            "Sorry, we did not get that. Please reply with a number from 1 to 5."
        ],
        "one retry, no thanks"
    );
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_followup_is_sent_once_after_a_restart_and_its_reply_goes_to_the_same_agent()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = config(data.path(), false, true)?;
    let mut app = TestApp::start_with(data, config).await?;
    let (customer, bob, conversation) = served_and_resolved(&app).await?;
    let visitor = customer.visitor.clone();
    drop((customer, bob));

    app.restart().await?;
    let (mut customer, _) = Customer::open(&app, Some(&visitor), "sales").await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    // Three days on, by the router's clock.
    app.advance_router_clock(3 * 86_400_000 + 5_000);
    let followup = automatic(&mut customer, "the follow-up").await?;
    assert_eq!(followup["text"], FOLLOWUP, "{followup}");
    assert_eq!(followup["conversation_id"], conversation.as_str());

    // A new page counts its messages from c1 again: an id of its own.
    customer
        .socket
        .send(&serde_json::json!({ "type": "message", "client_id": "after-restart", "text": "All good, but the bell is loose" }))
        .await?;
    customer.socket.recv_type("ack").await?;
    let (_, offered) = bob.next_offer().await?;
    assert_eq!(
        offered, conversation,
        "the reply reopened the conversation for Bob"
    );
    let sent: Vec<String> = outbound(&app, &conversation)
        .await?
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| t == FOLLOWUP)
        .collect();
    assert_eq!(sent.len(), 1, "sent exactly once");
    metrics_with(
        &app,
        &[
            "omni_followups_total{result=\"sent\"} 1",
            "omni_followups_total{result=\"replied\"} 1",
        ],
    )
    .await?;
    app.stop().await;
    Ok(())
}

/// The agents the router offered `conversation` to, latest first, with
/// the rule that chose each and how many agents were eligible.
async fn offered_to(
    app: &TestApp,
    conversation: &str,
) -> anyhow::Result<Vec<(String, String, u32)>> {
    let mut router =
        RouterServiceClient::new(grpc::channel(&app.grpc_url(), grpc::SUPERVISOR_TOKEN)?);
    let decisions = router
        .explain_conversation(ExplainRequest {
            conversation_id: conversation.to_owned(),
        })
        .await?
        .into_inner()
        .decisions;
    Ok(decisions
        .into_iter()
        .filter(|d| d.kind == "offered")
        .map(|d| (d.agent_id, d.rule, d.eligible.unwrap_or_default()))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_reply_to_a_followup_goes_to_its_agent_over_a_free_better_one()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = config(data.path(), false, true)?;
    let app = TestApp::start_with(data, config).await?;
    // Alice (sales 9) outranks Bob (sales 5) for Sales; away while Bob
    // serves two customers.
    let mut alice = Agent::sign_in(&app, "alice").await?;
    let r = alice
        .api
        .put("/api/presence", &serde_json::json!({ "presence": "away" }))
        .await?;
    anyhow::ensure!(r.status == 200, "alice away: {} {}", r.status, r.body);
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let mut served = Vec::new();
    for n in 0..2 {
        let (customer, _) = Customer::open(&app, None, "sales").await?;
        let mut customer = customer;
        customer
            .say(&format!("I would like to buy bike {n}"))
            .await?;
        let conversation = bob.take_next_offer().await?;
        bob.reply(&conversation, "Here is the link", &format!("b{n}"))
            .await?;
        bob.resolve(&conversation).await?;
        served.push((customer, conversation));
    }
    let r = alice
        .api
        .put(
            "/api/presence",
            &serde_json::json!({ "presence": "available" }),
        )
        .await?;
    anyhow::ensure!(r.status == 200, "alice back: {} {}", r.status, r.body);
    // With both free, a new customer of Sales goes to Alice: she is the
    // one the router picks when nobody is preferred. She takes it and
    // still has room for two more chats.
    let (mut newcomer, _) = Customer::open(&app, None, "sales").await?;
    newcomer.say("Do you sell helmets").await?;
    let theirs = alice.take_next_offer().await?;
    let rules = offered_to(&app, &theirs).await?;
    assert_eq!(
        rules.first(),
        Some(&("alice".to_owned(), "proficiency".to_owned(), 2)),
        "Alice over Bob when nobody is preferred: {rules:?}"
    );

    app.advance_router_clock(3 * 86_400_000 + 5_000);
    for (n, (customer, conversation)) in served.iter_mut().enumerate() {
        let followup = automatic(customer, "the follow-up").await?;
        assert_eq!(followup["conversation_id"], conversation.as_str());
        customer
            .say(&format!("Bike {n} is fine, but the bell is loose"))
            .await?;
        let (offer, offered) = bob.next_offer().await?;
        assert_eq!(&offered, conversation, "the reply reopened it for Bob");
        let offers = offered_to(&app, conversation).await?;
        assert_eq!(
            offers.first(),
            Some(&("bob".to_owned(), "preferred".to_owned(), 2)),
            "offered to Bob as the preferred agent, Alice eligible and free: {offers:?}"
        );
        assert!(
            offers.iter().all(|(agent, _, _)| agent == "bob"),
            "never offered to Alice: {offers:?}"
        );
        bob.settle(&offer, "accept").await?;
        bob.events.recv_type("assigned").await?;
    }
    metrics_with(&app, &["omni_followups_total{result=\"replied\"} 2"]).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_a_customer_who_writes_first_cancels_the_followup() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let config = config(data.path(), false, true)?;
    let app = TestApp::start_with(data, config).await?;
    let (mut customer, mut bob, conversation) = served_and_resolved(&app).await?;
    customer.say("One more thing: do you deliver?").await?;
    let (offer, offered) = bob.next_offer().await?;
    assert_eq!(offered, conversation);
    bob.settle(&offer, "accept").await?;
    metrics_with(&app, &["omni_followups_total{result=\"cancelled\"} 1"]).await?;
    app.advance_router_clock(3 * 86_400_000 + 5_000);
    // A reply from Bob is the next message the customer sees: had the
    // follow-up gone out, it would come first.
    bob.reply(&conversation, "Yes, we do", "b2").await?;
    let next = customer
        .socket
        .recv_until("Bob's answer", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    assert_eq!(next["message"]["text"], "Yes, we do", "{next}");
    app.stop().await;
    Ok(())
}

/// Distributed: the router's process finds the survey due and publishes it
/// over NATS; the context's process sends it and keeps the score, for Bob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_resolved_chat_gets_a_survey_and_the_score_lands_on_the_agent()
-> anyhow::Result<()> {
    let sample = std::fs::read_to_string(sample_config_path())?;
    let (context, sales) = ("[context]\n", "id = \"sales\"\nname = \"Sales\"\n");
    anyhow::ensure!(
        sample.contains(context) && sample.contains(sales),
        "the sample's sections moved"
    );
    let text = sample
        .replace(context, &format!("{context}sending_hours = \"00:00-24:00\"\n"))
        .replace(
            sales,
            &format!("{sales}survey = {{ kind = \"csat\", prompt = {{ en = {PROMPT:?} }}, thanks = {{ en = {THANKS:?} }} }}\n"),
        );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("omniroute.toml");
    std::fs::write(&path, text)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    let (mut customer, _bob, conversation) = served_and_resolved(&cluster).await?;
    let prompt = automatic(&mut customer, "the survey").await?;
    assert_eq!(prompt["text"], PROMPT, "{prompt}");
    customer.say("4").await?;
    let thanks = automatic(&mut customer, "the thanks").await?;
    assert_eq!(thanks["text"], THANKS, "{thanks}");
    supervisor_sees(&cluster, &conversation, 4, 100.0).await?;
    let url = format!("http://127.0.0.1:{}", cluster.ports(Part::Context).metrics);
    metrics_at(
        &url,
        &["omni_survey_responses_total{queue=\"sales\",agent=\"bob\",kind=\"csat\"} 1"],
    )
    .await?;
    drop(cluster);
    Ok(())
}
