//! Proactive follow-ups with every part in its own process over NATS and
//! Redis (docs/surveys.md, "Follow-ups"). A cluster's router has no clock a
//! test can move, so the follow-up falls due by the agent's own check-in
//! date (`followup_at_ms` on resolve) set to now while the router (which
//! claims due items) is down: a follow-up due across a restart of the
//! context service (which sends it) and of the router is sent exactly
//! once, and the customer's reply reopens the conversation for the agent
//! who handled it (over Alice, free and the router's pick for anyone
//! else); a customer who writes first cancels their follow-up,
//! which is then never sent. The resolve goes to the
//! context service as a service, since the desk asks the router.

use std::time::Duration;

use omni::Part;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{
    GetConversationRequest, ListMessagesRequest, ResolveConversationRequest,
};
use omni_proto::routing::ExplainRequest;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::{Cluster, HttpClient, grpc};
use serde_json::{Value, json};

use crate::support::{binary, blocking};
use crate::surveys_sms::sample_with;

const FOLLOWUP: &str = "Checking in: is all well with your order?";

/// A cluster whose Sales checks in three days after resolve, offers
/// timing out in 2 s.
async fn cluster() -> anyhow::Result<(tempfile::TempDir, Cluster)> {
    let dir = tempfile::tempdir()?;
    let line = format!("followup = {{ after_days = 3, template = {{ en = {FOLLOWUP:?} }} }}");
    let path = sample_with(dir.path(), &line, false)?;
    // Offers time out in 2 s: one made to Bob while his desk is down
    // again after the router's restart comes back to him soon.
    let env = [
        ("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "2"),
        ("OMNI_ROUTING_DECLINE_COOLDOWN_SECS", "1"),
    ];
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &env)).await?;
    Ok((dir, cluster))
}

/// Bob serves a chat customer of Sales; the router then stops, and the
/// conversation is resolved for Bob with a check-in due now, which nothing
/// can claim yet. The resolve goes to the context service's
/// `ResolveConversation` as a service (the desk's resolve asks the router
/// whether the conversation is Bob's, and the router is down).
async fn served_then_resolved_without_a_router(
    cluster: &mut Cluster,
) -> anyhow::Result<(Customer, Agent, String)> {
    let mut bob = Agent::sign_in(cluster, "bob").await?;
    let (mut customer, _) = Customer::open(cluster, None, "sales").await?;
    customer.say("I would like to buy a bike").await?;
    let conversation = bob.take_next_offer().await?;
    bob.reply(&conversation, "Here is the link", "b1").await?;
    stop(cluster, Part::Router).await?;
    let mut context = context(cluster)?;
    context
        .resolve_conversation(ResolveConversationRequest {
            conversation_id: conversation.clone(),
            agent_id: "bob".into(),
            wrapup_code: String::new(),
            note: String::new(),
            followup_at_ms: omni_core::time::now_ms(),
        })
        .await?;
    let followup = context
        .get_conversation(GetConversationRequest {
            conversation_id: conversation.clone(),
        })
        .await?
        .into_inner()
        .followup
        .ok_or_else(|| anyhow::anyhow!("no follow-up scheduled"))?;
    assert_eq!(
        (
            followup.state.as_str(),
            followup.agent.as_str(),
            followup.by_agent
        ),
        ("pending", "bob", true),
        "{followup:?}"
    );
    Ok((customer, bob, conversation))
}

fn context(
    cluster: &Cluster,
) -> anyhow::Result<ContextServiceClient<omni_proto::auth::AuthChannel>> {
    let url = cluster.grpc_url(Part::Context);
    Ok(ContextServiceClient::new(grpc::channel(
        &url,
        grpc::SERVICE_TOKEN,
    )?))
}

async fn stop(cluster: &mut Cluster, part: Part) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| cluster.stop(part))?;
    Ok(())
}

async fn start(cluster: &mut Cluster, part: Part) -> anyhow::Result<()> {
    tokio::task::block_in_place(|| cluster.start_part(part))
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

/// The texts of the conversation's outbound messages, over gRPC.
async fn outbound(cluster: &Cluster, conversation: &str) -> anyhow::Result<Vec<String>> {
    let page = context(cluster)?
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
        .map(|m| m.text)
        .collect())
}

/// The agents the router offered `conversation` to, latest first, with
/// the rule that chose each.
async fn offered_to(
    cluster: &Cluster,
    conversation: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let url = cluster.grpc_url(Part::Router);
    let mut router = RouterServiceClient::new(grpc::channel(&url, grpc::SERVICE_TOKEN)?);
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
        .map(|d| (d.agent_id, d.rule))
        .collect())
}

/// Waits until the context service's metrics show every line of `want`.
async fn context_metrics(cluster: &Cluster, want: &[&str]) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}", cluster.ports(Part::Context).metrics);
    let client = HttpClient::new(url);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = match client.get("/metrics").await {
            Ok(r) if r.status == 200 => r.body.as_str().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        let missing: Vec<&&str> = want.iter().filter(|w| !text.contains(**w)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "missing {missing:?} in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The follow-up of `conversation` as the desk shows it to `agent`.
async fn followup_of(agent: &Agent, conversation: &str) -> anyhow::Result<Value> {
    let r = agent
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    anyhow::ensure!(r.status == 200, "view: {} {}", r.status, r.body);
    Ok(r.body["followup"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_followup_is_sent_once_after_a_restart_and_its_reply_goes_to_the_same_agent()
-> anyhow::Result<()> {
    let (_dir, mut cluster) = cluster().await?;
    let (mut customer, bob, conversation) =
        served_then_resolved_without_a_router(&mut cluster).await?;
    drop(bob);
    // The part that sends it restarts while it is due; then the router
    // that claims it comes back.
    stop(&mut cluster, Part::Context).await?;
    start(&mut cluster, Part::Context).await?;
    start(&mut cluster, Part::Router).await?;

    let followup = automatic(&mut customer, "the follow-up").await?;
    assert_eq!(followup["text"], FOLLOWUP, "{followup}");
    assert_eq!(followup["conversation_id"], conversation.as_str());
    // Bob's desk lost its events with the router; he signs in again.
    // Alice, whom the router picks for Sales when nobody is preferred
    // (sales 9 to Bob's 5), is on and free.
    let mut bob = Agent::sign_in(&cluster, "bob").await?;
    let _alice = Agent::sign_in(&cluster, "alice").await?;
    customer.say("All good, but the bell is loose").await?;
    let (offer, offered) = bob.next_offer().await?;
    assert_eq!(
        offered, conversation,
        "the reply reopened the conversation for Bob"
    );
    let offers = offered_to(&cluster, &conversation).await?;
    assert_eq!(
        offers
            .first()
            .map(|(agent, rule)| (agent.as_str(), rule.as_str())),
        Some(("bob", "preferred")),
        "offered to Bob as the preferred agent: {offers:?}"
    );
    assert!(
        offers.iter().all(|(agent, _)| agent == "bob"),
        "never offered to Alice: {offers:?}"
    );
    bob.settle(&offer, "accept").await?;
    let texts = outbound(&cluster, &conversation).await?;
    assert_eq!(
        texts,
        ["Here is the link", FOLLOWUP],
        "the follow-up sent exactly once"
    );
    let view = followup_of(&bob, &conversation).await?;
    assert_eq!(
        (&view["state"], &view["outcome"], &view["replied"]),
        (&json!("done"), &json!("sent"), &json!(true)),
        "{view}"
    );
    context_metrics(
        &cluster,
        &[
            "omni_followups_total{result=\"sent\"} 1",
            "omni_followups_total{result=\"replied\"} 1",
        ],
    )
    .await?;
    drop(cluster);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_customer_who_writes_first_cancels_the_followup() -> anyhow::Result<()> {
    let (_dir, mut cluster) = cluster().await?;
    let (mut customer, bob, conversation) =
        served_then_resolved_without_a_router(&mut cluster).await?;
    drop(bob);
    // Due already, but the customer writes before any router could claim it.
    customer.say("One more thing: do you deliver?").await?;
    context_metrics(&cluster, &["omni_followups_total{result=\"cancelled\"} 1"]).await?;
    start(&mut cluster, Part::Router).await?;
    let mut bob = Agent::sign_in(&cluster, "bob").await?;
    let (offer, offered) = bob.next_offer().await?;
    assert_eq!(offered, conversation, "the customer's message reopened it");
    bob.settle(&offer, "accept").await?;
    let view = followup_of(&bob, &conversation).await?;
    assert_eq!(
        (&view["state"], &view["outcome"]),
        (&json!("cancelled"), &json!("customer_wrote")),
        "{view}"
    );
    // A reply from Bob is the next message the customer sees, and the
    // conversation holds no follow-up.
    bob.reply(&conversation, "Yes, we do", "b2").await?;
    let next = customer
        .socket
        .recv_until("Bob's answer", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    assert_eq!(next["message"]["text"], "Yes, we do", "{next}");
    assert_eq!(
        outbound(&cluster, &conversation).await?,
        ["Here is the link", "Yes, we do"]
    );
    drop(cluster);
    Ok(())
}
