//! The supervisor's wall's today numbers in distributed mode (every part
//! its own process over NATS and Redis): after a small day (Jo's offer
//! declined by Bob, offered again and accepted, Bob's first reply, resolve)
//! the wall's numbers are the store's (the router's `omni_queue_today`
//! lines), and after the router's process is killed and started again the
//! wall shows the same numbers, read back from the store.

use std::time::Duration;

use omni::Part;
use omni_testkit::actors::{Agent, Customer, TEST_PASSWORD};
use omni_testkit::app::sample_config_path;
use omni_testkit::{Cluster, Endpoints, HttpClient};
use serde_json::{Value, json};

use crate::support::{binary, blocking};

/// The wall (`GET /api/wall`) once `done` holds of it.
async fn wall_once(
    supervisor: &HttpClient,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let last = supervisor.get("/api/wall").await;
        if let Ok(r) = &last
            && r.status == 200
            && done(&r.body)
        {
            return Ok(r.body.clone());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the wall never showed {what}: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sales(wall: &Value) -> &Value {
    wall["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == "sales"))
        .unwrap_or(&Value::Null)
}

fn agent<'a>(wall: &'a Value, id: &str) -> &'a Value {
    wall["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["agent_id"] == id))
        .unwrap_or(&Value::Null)
}

/// Every interval's counts per queue, without the average depth (the
/// current interval's moves on with the clock).
fn counted(day: &Value) -> Vec<(String, u64, u64, u64)> {
    let mut out = Vec::new();
    for q in day["queues"].as_array().into_iter().flatten() {
        for i in q["intervals"].as_array().into_iter().flatten() {
            out.push((
                q["queue"].as_str().unwrap_or_default().to_owned(),
                i["index"].as_u64().unwrap_or_default(),
                i["arrivals"].as_u64().unwrap_or_default(),
                i["answered"].as_u64().unwrap_or_default(),
            ));
        }
    }
    out
}

/// `omni_queue_today{queue="sales",channel="chat",number=…}` on the
/// router's `/metrics`: the store's count.
async fn stored(metrics: &str, number: &str) -> anyhow::Result<u64> {
    let text = HttpClient::new(metrics.to_owned()).get("/metrics").await?;
    let text = text.body.as_str().unwrap_or_default().to_owned();
    let prefix = format!(r#"omni_queue_today{{queue="sales",channel="chat",number="{number}"}} "#);
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_the_walls_today_is_the_stores_and_survives_a_router_restart()
-> anyhow::Result<()> {
    let mut cluster = blocking(|| {
        Cluster::start_with(
            binary(),
            &sample_config_path(),
            &[
                ("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "30"),
                ("OMNI_ROUTING_DECLINE_COOLDOWN_SECS", "1"),
            ],
        )
    })
    .await?;
    let router_metrics = format!("http://127.0.0.1:{}", cluster.ports(Part::Router).metrics);
    let mut bob = Agent::sign_in(&cluster, "bob").await?;
    let (mut jo, _) = Customer::open(&cluster, None, "sales").await?;
    jo.say("Hello, a question about prices").await?;
    let (offer, conversation) = bob.next_offer().await?;
    bob.settle(&offer, "decline").await?;
    let accepted = bob.take_next_offer().await?;
    assert_eq!(accepted, conversation);
    bob.reply(&conversation, "Hi Jo, happy to help", "r1")
        .await?;
    bob.resolve(&conversation).await?;

    let (r, supervisor) = HttpClient::new(cluster.desk_url())
        .sign_in("supervisor", TEST_PASSWORD)
        .await?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
    let before = wall_once(&supervisor, "the day's numbers", |w| {
        let t = &sales(w)["today"];
        t["answered"] == 1
            && !t["average_handle_ms"].is_null()
            && !t["average_first_response_ms"].is_null()
            && agent(w, "bob")["offers_missed_today"] == 1
    })
    .await?;
    let today = sales(&before)["today"].clone();
    assert_eq!(today["offered"], 1, "{today}");
    assert_eq!(today["abandoned"], 0, "{today}");
    for number in [
        "offered",
        "answered",
        "answered_within_target",
        "abandoned",
        "transferred",
    ] {
        assert_eq!(
            today[number],
            json!(stored(&router_metrics, number).await?),
            "{number}: the wall against the store's omni_queue_today"
        );
    }
    let day = supervisor.get("/api/wall/day").await?;
    let arrivals: u64 = day.body["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == "sales"))
        .and_then(|q| q["intervals"].as_array())
        .map(|i| i.iter().filter_map(|i| i["arrivals"].as_u64()).sum())
        .unwrap_or(0);
    assert_eq!(arrivals, 1, "{}", day.body);

    let cluster = blocking(move || {
        cluster.kill(Part::Router)?;
        cluster.start_part(Part::Router)?;
        Ok(cluster)
    })
    .await?;
    // Today, read back from the store by the new router process.
    wall_once(&supervisor, "the same numbers after the restart", |w| {
        sales(w)["today"] == today && agent(w, "bob")["offers_missed_today"] == 1
    })
    .await?;
    let day_after = supervisor.get("/api/wall/day").await?;
    assert_eq!(
        counted(&day_after.body),
        counted(&day.body),
        "{}",
        day_after.body
    );
    drop(cluster);
    Ok(())
}
