//! External enrichers through the whole app, each test one body for both
//! modes: an enricher that hears the request but never answers lets the
//! chat route anyway (fail open, counted as a timeout in the context
//! service's metrics); an external enricher replaces the built-in intent
//! (`order_status` from `[[enrichment.intents]]`) with `refund`, which
//! sends the chat to billing, and adds the order number a rule reads.
//! Embedded the enricher is a Rust task on the app's bus; distributed it
//! is the Python example (`examples/python-enricher`) on the cluster's
//! NATS. Python comes from the system, its libraries from PyPI inside a
//! venv: with no network the distributed test fails saying so.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use omni::Part;
use omni_bus::Bus;
use omni_bus::topology::subjects;
use omni_bus_nats::NatsBus;
use omni_proto::enrich as en;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::test_config;
use omni_testkit::{Cluster, Endpoints, HttpClient, TestApp};
use prost::Message as _;

use crate::enrichment::{config_file, decisions, enricher, explained};
use crate::support::{binary, blocking};

/// The enricher nobody answers for, with a short deadline.
const SILENT: &str = "\n[enrichment]\nexternal = \"silent\"\ndeadline_ms = 300\n";

/// A built-in intent the external enricher overrides, and the rules that
/// read intents and the enricher's `order_number`.
const INTENTS: &str = r#"
[enrichment]
external = "py-intents"
deadline_ms = 2000

[[enrichment.intents]]
name = "order_status"
keywords = ["order"]

[[queues]]
id = "billing"
requirement = "sales >= 1"

[[rules]]
name = "refunds"
when = 'intent == "refund"'
queue = "billing"

[[rules]]
name = "orders"
when = 'intent == "order_status"'
queue = "sales"

[[rules]]
name = "known-orders"
when = 'order_number == "A-1234"'
priority = 2
"#;

/// The metrics at `url` once they contain every line of `want` (20 s).
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

/// An enricher `silent` that hears every request on `bus` and answers
/// none; Bob is offered the chat anyway, and the context service at
/// `metrics_url` counts the timeout.
async fn a_silent_enricher_lets_the_chat_route(
    app: &impl Endpoints,
    router_url: &str,
    metrics_url: &str,
    bus: Arc<dyn Bus>,
) -> anyhow::Result<()> {
    let mut requests = bus.subscribe(&subjects::enrich_request("silent")).await?;
    let (heard, mut asked) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let _ = heard.send(request);
        }
    });
    let mut bob = Agent::sign_in(app, "bob").await?;
    let (mut jo, _) = Customer::open(app, None, "sales").await?;
    jo.say("Hello, I would like to buy a bike").await?;
    let conversation = bob.take_next_offer().await?;
    let request = tokio::time::timeout(Duration::from_secs(10), asked.recv())
        .await
        .ok()
        .flatten()
        .ok_or_else(|| anyhow::anyhow!("the enricher was not asked"))?;
    let request = en::EnrichRequest::decode(request.payload.as_ref())?;
    assert_eq!(request.text, "Hello, I would like to buy a bike");
    let decisions = decisions(router_url, &conversation).await?;
    explained(&decisions, &["queued in sales (priority 5)"]);
    assert!(
        decisions
            .iter()
            .any(|d| d.kind == "offered" && d.agent_id == "bob"),
        "{decisions:#?}"
    );
    metrics_at(
        metrics_url,
        &[r#"omni_enrichment_total{source="external",result="timeout"} 1"#],
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_enricher_that_times_out_lets_the_chat_route_anyway() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.enrichment.external = Some("silent".into());
    config.enrichment.deadline_ms = 300;
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    a_silent_enricher_lets_the_chat_route(&app, &app.grpc_url(), &app.metrics_url(), app.bus())
        .await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_an_enricher_that_times_out_lets_the_chat_route_anyway() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = config_file(dir.path(), &[], SILENT)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    let bus: Arc<dyn Bus> = NatsBus::connect(&cluster.nats.url()).await?;
    let metrics = format!("http://127.0.0.1:{}", cluster.ports(Part::Context).metrics);
    a_silent_enricher_lets_the_chat_route(&cluster, &cluster.grpc_url(Part::Router), &metrics, bus)
        .await?;
    drop(cluster);
    Ok(())
}

/// A chat customer without a topic asks about an order they were charged
/// twice for: the built-in intent is `order_status` (Sales), the external
/// enricher's `refund` replaces it, so the chat opens in billing, and its
/// order number raises the priority; Bob is offered it, explained.
async fn an_external_enricher_changes_the_intent(
    app: &impl Endpoints,
    router_url: &str,
) -> anyhow::Result<()> {
    let (mut ann, _) = Customer::open(app, None, "").await?;
    ann.say("Where is my order #A-1234? I was charged twice")
        .await?;
    let mut bob = Agent::sign_in(app, "bob").await?;
    let conversation = bob.take_next_offer().await?;
    let decisions = decisions(router_url, &conversation).await?;
    explained(
        &decisions,
        &[
            "queue billing by rule refunds: intent refund",
            "priority 2 by rule known-orders: order_number A-1234",
            "queued in billing (priority 0, contact priority 2)",
        ],
    );
    assert!(
        !decisions.iter().any(|d| d.summary.contains("order_status")),
        "{decisions:#?}"
    );
    Ok(())
}

/// As the Python example answers: `refund` when the text says so (only
/// over a built-in `order_status`, which this test's message has), and
/// the order number.
fn python_like(asked: &en::EnrichRequest) -> en::EnrichResponse {
    let builtin = asked.builtin.get("intent").map(String::as_str);
    let refund = asked.text.contains("charged twice") && builtin == Some("order_status");
    en::EnrichResponse {
        intent: if refund {
            "refund".into()
        } else {
            String::new()
        },
        attributes: asked
            .text
            .contains("#A-1234")
            .then(|| ("order_number".to_owned(), "A-1234".to_owned()))
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_external_enricher_changes_the_intent() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    let extra = omni_core::config::Config::parse(INTENTS).map_err(anyhow::Error::msg)?;
    config.queues.extend(extra.queues);
    config.rules = extra.rules;
    config.enrichment = extra.enrichment;
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    enricher(app.bus(), "py-intents", python_like).await?;
    an_external_enricher_changes_the_intent(&app, &app.grpc_url()).await?;
    app.stop().await;
    Ok(())
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python-enricher")
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example enricher `name` on `nats` (its venv built once under the
/// target dir), once it says it is ready; its output goes to `log`.
fn python_enricher(nats: &str, name: &str, log: &Path) -> anyhow::Result<Running> {
    let (venv, gen_dir) = omni_testservers::python::example_env(
        "python-enricher",
        &example().join("requirements.txt"),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto"),
        &["omni/enrich/v1/enrich.proto"],
        Path::new(env!("CARGO_TARGET_TMPDIR")),
    );
    let running = Running(
        Command::new(venv.join("bin/python"))
            .arg(example().join("enricher.py"))
            .env("PYTHONPATH", &gen_dir)
            .args(["--nats", nats, "--name", name])
            .stdout(std::fs::File::create(log)?)
            .stderr(std::fs::File::create(log.with_extension("err"))?)
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(log).is_ok_and(|l| l.contains("enricher ready")) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the enricher did not start: {}",
            std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_the_python_enricher_changes_the_intent() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = config_file(dir.path(), &[], INTENTS)?;
    let cluster = blocking(move || Cluster::start_with(binary(), &path, &[])).await?;
    let nats = cluster.nats.url();
    let log = dir.path().join("enricher.log");
    let _running = blocking(move || python_enricher(&nats, "py-intents", &log)).await?;
    an_external_enricher_changes_the_intent(&cluster, &cluster.grpc_url(Part::Router)).await?;
    drop(cluster);
    Ok(())
}
