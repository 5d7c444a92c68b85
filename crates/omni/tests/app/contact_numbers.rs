//! The contact center's numbers on the router's `/metrics`, after a day in
//! miniature, in both modes: Jo's offer is declined by Bob, offered again
//! and left to time out, offered a third time and accepted, and Bob
//! replies; Pat is answered and resolved. With Bob away: Sam leaves the
//! chat while waiting and stays away past the grace period (abandoned);
//! Lee leaves and comes back within it (still waiting, not abandoned);
//! Max's conversation is closed while waiting (abandoned). Every number is
//! exactly what the test did, today's counts come back from the store, and
//! in distributed mode they are still right after the router's process is
//! killed and started again, both on `/metrics` and in a real Prometheus
//! scraping every part with the shipped scrape configuration.

use std::time::Duration;

use omni::Part;
use omni_proto::context::ResolveConversationRequest;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::{Cluster, Endpoints, HttpClient, TestApp, grpc};
use omni_testservers::prometheus::Prometheus;
use serde_json::json;

use crate::observability::scrape_config_for;
use crate::support::{binary, blocking};

/// What the day must show, line by line, on the router's `/metrics`.
const EXPECTED: &[&str] = &[
    r#"omni_contacts_offered_total{queue="sales",channel="chat"} 5"#,
    r#"omni_contacts_answered_total{queue="sales",channel="chat"} 2"#,
    r#"omni_contacts_answered_within_target_total{queue="sales",channel="chat"} 2"#,
    r#"omni_contacts_abandoned_total{queue="sales",channel="chat"} 2"#,
    r#"omni_offers_total{queue="sales",channel="chat",result="declined"} 1"#,
    r#"omni_offers_total{queue="sales",channel="chat",result="timed_out"} 1"#,
    r#"omni_offers_total{queue="sales",channel="chat",result="accepted"} 2"#,
    r#"omni_queue_today{queue="sales",channel="chat",number="offered"} 5"#,
    r#"omni_queue_today{queue="sales",channel="chat",number="answered"} 2"#,
    r#"omni_queue_today{queue="sales",channel="chat",number="abandoned"} 2"#,
    r#"omni_queue_today{queue="sales",channel="chat",number="offers_declined"} 1"#,
    r#"omni_queue_today{queue="sales",channel="chat",number="offers_timed_out"} 1"#,
    r#"omni_service_level_ratio{queue="sales"} 1"#,
    r#"omni_queue_waiting{queue="sales"} 1"#,
];

/// Lines only this process counted (not restored after a restart).
const THIS_PROCESS: &[&str] = &[
    r#"omni_wait_seconds_count{queue="sales",channel="chat"} 4"#,
    r#"omni_handle_seconds_count{queue="sales",channel="chat"} 1"#,
    r#"omni_agent_presence{agent="bob",presence="away"} 1"#,
];

/// `/metrics` once every line of `want` is on it (today's counts reach
/// it after the next write to the store), or an error naming the missing.
async fn metrics_showing(url: &str, want: &[&str]) -> anyhow::Result<String> {
    let client = HttpClient::new(url.to_owned());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = match client.get("/metrics").await {
            Ok(r) if r.status == 200 => r.body.as_str().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        let missing: Vec<&&str> = want
            .iter()
            .filter(|line| !text.lines().any(|l| l == **line))
            .collect();
        if missing.is_empty() {
            return Ok(text);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("missing {missing:?} in:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `[metrics] abandon_grace_secs` in these tests.
const GRACE: Duration = Duration::from_secs(1);

async fn scripted_day(
    app: &impl Endpoints,
    context_grpc: &str,
    metrics: &str,
) -> anyhow::Result<Customer> {
    let mut bob = Agent::sign_in(app, "bob").await?;

    // Jo: declined, then timed out, then accepted; Bob replies.
    let (mut jo, _) = Customer::open(app, None, "sales").await?;
    jo.say("Hello, a question about prices").await?;
    let (offer, jo_conversation) = bob.next_offer().await?;
    bob.settle(&offer, "decline").await?;
    let (_, again) = bob.next_offer().await?;
    assert_eq!(again, jo_conversation);
    let timed_out = bob.events.recv_type("offer_rescinded").await?;
    assert_eq!(timed_out["reason"], "timeout", "{timed_out}");
    let accepted = bob.take_next_offer().await?;
    assert_eq!(accepted, jo_conversation);
    bob.reply(&jo_conversation, "Hi Jo, happy to help", "r1")
        .await?;
    // A second reply is not a first response.
    bob.reply(&jo_conversation, "Which product?", "r2").await?;

    // Pat: answered, resolved.
    let (mut pat, _) = Customer::open(app, None, "sales").await?;
    pat.say("Quick one").await?;
    let pat_conversation = bob.take_next_offer().await?;
    bob.resolve(&pat_conversation).await?;

    // Bob goes away: the next customers wait.
    let away = bob
        .api
        .put("/api/presence", &json!({ "presence": "away" }))
        .await?;
    anyhow::ensure!(away.status == 200, "away: {}", away.body);

    // Sam leaves the chat while waiting and does not come back.
    let sam = waiting_customer(app).await?;
    drop(sam);
    metrics_showing(
        metrics,
        &[r#"omni_contacts_abandoned_total{queue="sales",channel="chat"} 1"#],
    )
    .await?;

    // Lee leaves and comes back within the grace period.
    let lee = waiting_customer(app).await?;
    let visitor = lee.0.visitor.clone();
    drop(lee);
    let (lee_again, welcome) = Customer::open(app, Some(&visitor), "sales").await?;
    assert_eq!(welcome["visitor"], visitor.as_str(), "{welcome}");

    // Max's conversation is closed while waiting.
    let (_max, max_conversation) = waiting_customer(app).await?;
    let mut context = ContextServiceClient::new(grpc::channel(context_grpc, grpc::SERVICE_TOKEN)?);
    context
        .resolve_conversation(ResolveConversationRequest {
            conversation_id: max_conversation,
            agent_id: String::new(),
            ..Default::default()
        })
        .await?;
    // Past Lee's grace period: Lee came back, so Lee still waits.
    tokio::time::sleep(GRACE * 3).await;
    // Lee's page stays open to the end of the test.
    Ok(lee_again)
}

/// A customer of Sales waiting in line, and their conversation.
async fn waiting_customer(app: &impl Endpoints) -> anyhow::Result<(Customer, String)> {
    let (mut customer, _) = Customer::open(app, None, "sales").await?;
    customer.say("Anyone there?").await?;
    let waiting = customer
        .socket
        .recv_until("waiting", |f| f["type"] == "position")
        .await?;
    let conversation = waiting["conversation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((customer, conversation))
}

/// On the context service's page: Jo's first reply (not the second; Pat
/// was resolved without one).
const FIRST_RESPONSE: &str = r#"omni_first_response_seconds_count{queue="sales",channel="chat"} 1"#;

/// On the context service's page: both replies reached Jo's page, which
/// reported them delivered.
const DELIVERY_REPORTS: &str =
    r#"omni_delivery_report_seconds_count{channel="chat",status="delivered"} 2"#;

/// Waits until Prometheus holds every line of `want` (`selector value`) as
/// the one series of its selector, scraped after `since` (Unix seconds),
/// or fails naming the first it lacks.
async fn prometheus_holds(
    prometheus: &std::sync::Arc<Prometheus>,
    want: &[&'static str],
    since: f64,
) -> anyhow::Result<()> {
    let prometheus = std::sync::Arc::clone(prometheus);
    let want = want.to_vec();
    blocking(move || {
        for line in want {
            let (selector, value) = line.rsplit_once(' ').expect("selector value");
            let value: f64 = value.parse().expect("a number");
            prometheus
                .query_until(
                    &format!("timestamp({selector}) > {since}"),
                    Duration::from_secs(20),
                    |s| s.len() == 1,
                )
                .map_err(|e| {
                    anyhow::anyhow!("prometheus scraped no {selector} since {since}: {e}")
                })?;
            prometheus
                .query_until(selector, Duration::from_secs(20), |s| {
                    s.len() == 1 && s[0].value == value
                })
                .map_err(|e| anyhow::anyhow!("prometheus lacks {line}: {e}"))?;
        }
        Ok(())
    })
    .await
}

fn all_lines() -> Vec<&'static str> {
    EXPECTED.iter().chain(THIS_PROCESS).copied().collect()
}

#[tokio::test]
async fn embedded_the_router_counts_a_day_exactly() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.metrics.abandon_grace_secs = GRACE.as_secs();
    let app = TestApp::start_with(data, config).await?;
    let _lee = scripted_day(&app, &app.grpc_url(), &app.metrics_url()).await?;
    let mut lines = all_lines();
    lines.extend([FIRST_RESPONSE, DELIVERY_REPORTS]);
    metrics_showing(&app.metrics_url(), &lines).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_the_router_counts_a_day_exactly_and_a_restart_keeps_it() -> anyhow::Result<()>
{
    let mut cluster = blocking(|| {
        Cluster::start_with(
            binary(),
            &sample_config_path(),
            &[
                ("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "2"),
                ("OMNI_ROUTING_DECLINE_COOLDOWN_SECS", "1"),
                ("OMNI_METRICS_ABANDON_GRACE_SECS", "1"),
            ],
        )
    })
    .await?;
    let config = scrape_config_for(&cluster, &Part::CORE);
    let prometheus = std::sync::Arc::new(blocking(move || Ok(Prometheus::start(&config)?)).await?);
    let router_metrics = format!("http://127.0.0.1:{}", cluster.ports(Part::Router).metrics);
    let _lee = scripted_day(&cluster, &cluster.grpc_url(Part::Context), &router_metrics).await?;
    // Today's counts on the router's page come from the store: once they
    // show, the store holds the day.
    metrics_showing(&router_metrics, &all_lines()).await?;
    let context_metrics = format!("http://127.0.0.1:{}", cluster.ports(Part::Context).metrics);
    metrics_showing(&context_metrics, &[FIRST_RESPONSE, DELIVERY_REPORTS]).await?;
    prometheus_holds(&prometheus, EXPECTED, 0.0).await?;
    prometheus_holds(&prometheus, &[FIRST_RESPONSE, DELIVERY_REPORTS], 0.0).await?;
    let unix_now = || -> anyhow::Result<f64> {
        Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs_f64())
    };
    // Bob went away during the day, before this.
    let before_kill = unix_now()?;
    let cluster = blocking(move || {
        cluster.kill(Part::Router)?;
        cluster.start_part(Part::Router)?;
        Ok(cluster)
    })
    .await?;
    let restarted = unix_now()?;
    // The per-agent gauges come back from the router's stored state: Bob
    // is still away, and has been since before the restart.
    let mut after_restart: Vec<&str> = EXPECTED.to_vec();
    after_restart.push(r#"omni_agent_presence{agent="bob",presence="away"} 1"#);
    let asked = unix_now()?;
    let text = metrics_showing(&router_metrics, &after_restart).await?;
    let away_for: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(r#"omni_agent_state_seconds{agent="bob"} "#))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("bob's time in state: {text}"))?;
    assert!(
        away_for > asked - before_kill,
        "bob's time away ({away_for} s) counts from before the restart ({} s ago)",
        asked - before_kill
    );
    // Scraped from the new process: still the day's numbers.
    prometheus_holds(&prometheus, EXPECTED, restarted).await?;
    assert!(
        !text.contains("omni_contacts_transferred_total{queue=\"sales\""),
        "nothing was transferred: {text}"
    );
    drop(cluster);
    Ok(())
}
