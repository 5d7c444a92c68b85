//! A waiting chat customer's place in line through the whole app, in both
//! modes: the router publishes it, the chat adapter forwards it to the
//! customer's socket; it moves up when the one ahead leaves the line, a
//! returning page gets it after its `welcome`, and it comes again after
//! the router restarts. Embedded: the in-process bus, a restart of the
//! whole app (the customer reconnects). Distributed: NATS, with only the
//! router's process killed and started again (the customer stays
//! connected).

use omni::Part;
use omni_core::Channel;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::test_config;
use omni_testkit::{Cluster, Endpoints, TestApp};
use serde_json::Value;

use crate::support::{binary, blocking};

/// The next `position` frame with `position` `n`.
async fn place(customer: &mut Customer, n: u64) -> anyhow::Result<Value> {
    customer
        .socket
        .recv_until(&format!("position {n}"), |f| {
            f["type"] == "position" && f["position"] == n
        })
        .await
}

/// Two Sales customers write while nobody is available: number 1 and 2.
async fn two_waiting(app: &impl Endpoints) -> anyhow::Result<(Customer, Customer)> {
    let (mut jo, _) = Customer::open(app, None, "sales").await?;
    jo.say("First in line").await?;
    let first = place(&mut jo, 1).await?;
    assert!(
        first.get("expected_wait_secs").is_none(),
        "no estimate before the queue answered anyone: {first}"
    );
    let (mut sam, _) = Customer::open(app, None, "sales").await?;
    sam.say("Second in line").await?;
    place(&mut sam, 2).await?;
    Ok((jo, sam))
}

#[tokio::test]
async fn embedded_place_in_line_moves_up_and_comes_back_after_a_restart() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    // Bob takes one chat at a time: once he holds jo, sam waits, also
    // after the restart (when bob counts as available until his grace
    // runs out).
    config.routing.offer_timeout_secs = 120;
    config
        .agents
        .iter_mut()
        .find(|a| a.id == "bob")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no bob"))?
        .capacity
        .insert(Channel::CHAT, 1);
    let mut app = TestApp::start_with(data, config).await?;
    let (jo, mut sam) = two_waiting(&app).await?;

    // A returning page (a reload) is told its place after the welcome.
    let (mut again, welcome) = Customer::open(&app, Some(&sam.visitor), "sales").await?;
    assert!(welcome["conversation_id"].is_string(), "{welcome}");
    place(&mut again, 2).await?;

    // Bob takes jo: sam moves up.
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (offer, _) = bob.next_offer().await?;
    bob.settle(&offer, "accept").await?;
    place(&mut sam, 1).await?;
    let visitor = sam.visitor.clone();
    drop((jo, sam, again, bob));

    // The whole app restarts: the customer comes back and hears their
    // place again (pushed, or after the welcome if it came first).
    app.restart().await?;
    let (mut sam, _) = Customer::open(&app, Some(&visitor), "sales").await?;
    place(&mut sam, 1).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_place_in_line_comes_again_after_the_router_restarts() -> anyhow::Result<()> {
    let cluster = blocking(|| Cluster::start(binary())).await?;
    let (mut jo, mut sam) = two_waiting(&cluster).await?;
    let cluster = blocking(move || {
        let mut cluster = cluster;
        cluster.kill(Part::Router)?;
        cluster.start_part(Part::Router)?;
        Ok(cluster)
    })
    .await?;
    place(&mut jo, 1).await?;
    place(&mut sam, 2).await?;
    drop(cluster);
    Ok(())
}
