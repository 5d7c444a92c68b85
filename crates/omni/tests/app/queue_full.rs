//! A full queue through the whole app, in both modes: with room for one
//! waiting conversation per queue, a second Sales customer waits in
//! Support (Sales overflows there), a third gets the automatic answer on
//! their chat (a message no agent wrote) and their conversation is
//! resolved; once Sales has room, their next message routes again.
//! Embedded: `limits.max_waiting_per_queue` in the configuration.
//! Distributed: `OMNI_LIMITS_MAX_WAITING_PER_QUEUE` for every process,
//! the refusal crossing NATS from the router's process to the context's.

use omni_core::config::QUEUE_FULL_ANSWER;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::{Cluster, Endpoints, TestApp};
use serde_json::Value;

use crate::support::{binary, blocking};

/// The automatic answer on `customer`'s socket, then their conversation
/// resolved.
async fn told_the_queue_is_full(customer: &mut Customer) -> anyhow::Result<Value> {
    let frame = customer
        .socket
        .recv_until("the automatic answer", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    let message = frame["message"].clone();
    assert_eq!(message["text"], QUEUE_FULL_ANSWER, "{frame}");
    assert!(
        message["agent_id"].is_null(),
        "no agent wrote it, and the page can tell: {frame}"
    );
    customer
        .socket
        .recv_until("resolved", |f| {
            f["type"] == "status" && f["status"] == "resolved"
        })
        .await?;
    Ok(message)
}

/// A customer of Sales who is first in line (in Sales, or in Support where
/// a full Sales overflows to).
async fn first_in_line(app: &impl Endpoints, text: &str) -> anyhow::Result<Customer> {
    let (mut customer, _) = Customer::open(app, None, "sales").await?;
    customer.say(text).await?;
    customer
        .socket
        .recv_until("position 1", |f| {
            f["type"] == "position" && f["position"] == 1
        })
        .await?;
    Ok(customer)
}

/// Jo waits in Sales, Pat in Support (Sales is full and overflows there);
/// Sam is turned away and told so.
async fn two_wait_one_is_refused(
    app: &impl Endpoints,
) -> anyhow::Result<(Customer, Customer, Customer)> {
    let jo = first_in_line(app, "First in line").await?;
    let pat = first_in_line(app, "Sales is full, so Support").await?;
    let (mut sam, _) = Customer::open(app, None, "sales").await?;
    sam.say("Is anyone there?").await?;
    told_the_queue_is_full(&mut sam).await?;
    Ok((jo, pat, sam))
}

/// Bob (Sales only, room for two chats) takes Jo: Sales has room; Sam
/// writes again, their conversation routes again and Bob is offered it.
async fn room_again(app: &impl Endpoints, sam: &mut Customer) -> anyhow::Result<()> {
    let mut bob = Agent::sign_in(app, "bob").await?;
    let (offer, first) = bob.next_offer().await?;
    bob.settle(&offer, "accept").await?;
    sam.say("Trying again").await?;
    let status = sam
        .socket
        .recv_until("waiting again", |f| {
            f["type"] == "status" && f["status"] == "waiting"
        })
        .await?;
    let (_, second) = bob.next_offer().await?;
    assert_ne!(first, second);
    assert_eq!(status["conversation_id"], second.as_str(), "{status}");
    Ok(())
}

#[tokio::test]
async fn embedded_a_full_queue_answers_the_customer_and_routes_them_later() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.limits.max_waiting_per_queue = 1;
    config.routing.offer_timeout_secs = 120;
    let app = TestApp::start_with(data, config).await?;
    let (_jo, _pat, mut sam) = two_wait_one_is_refused(&app).await?;
    // A page opened again shows the answer in the history.
    let (_again, welcome) = Customer::open(&app, Some(&sam.visitor), "sales").await?;
    let history = welcome["history"].as_array().cloned().unwrap_or_default();
    assert!(
        history
            .iter()
            .any(|m| m["text"] == QUEUE_FULL_ANSWER && m["agent_id"].is_null()),
        "the answer is in the history: {welcome}"
    );
    assert!(
        history.iter().any(|m| m["text"] == "Is anyone there?"),
        "the customer's message is kept: {welcome}"
    );
    room_again(&app, &mut sam).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_a_full_queue_answers_the_customer_and_routes_them_later() -> anyhow::Result<()>
{
    let cluster = blocking(|| {
        Cluster::start_with(
            binary(),
            &sample_config_path(),
            &[
                ("OMNI_LIMITS_MAX_WAITING_PER_QUEUE", "1"),
                ("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "120"),
            ],
        )
    })
    .await?;
    let (_jo, _pat, mut sam) = two_wait_one_is_refused(&cluster).await?;
    room_again(&cluster, &mut sam).await?;
    drop(cluster);
    Ok(())
}
