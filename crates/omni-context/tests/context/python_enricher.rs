//! The Python example enricher (`examples/python-enricher`) on a real
//! nats-server: its intent routes a refund email to billing, the order
//! number it finds joins the facts, and once it is stopped contacts are
//! routed anyway (fail open).
//!
//! Python comes from the system (`python3 -m venv`); its libraries from
//! PyPI with pip inside the venv. With no network this test fails saying
//! so: it never skips.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::enrichment::{routed_from, rules};
use crate::support::Harness;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python-enricher")
}

/// A venv with the example's requirements and the generated code of the
/// enrich proto, built once per (requirements, proto) under the target
/// dir (aside, then renamed into place); returns (venv, generated code).
fn python_env() -> (PathBuf, PathBuf) {
    omni_testservers::python::example_env(
        "python-enricher",
        &example().join("requirements.txt"),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto"),
        &["omni/enrich/v1/enrich.proto"],
        Path::new(env!("CARGO_TARGET_TMPDIR")),
    )
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example enricher `name` on `nats`, once it says it is ready.
fn enricher(nats: &str, name: &str, log: &Path) -> Running {
    let (venv, gen_dir) = python_env();
    let running = Running(
        Command::new(venv.join("bin/python"))
            .arg(example().join("enricher.py"))
            .env("PYTHONPATH", &gen_dir)
            .args(["--nats", nats, "--name", name])
            .stdout(std::fs::File::create(log).expect("log"))
            .stderr(std::fs::File::create(log.with_extension("err")).expect("log"))
            .spawn()
            .expect("start the enricher"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(log).is_ok_and(|l| l.contains("enricher ready")) {
        assert!(
            Instant::now() < deadline,
            "the enricher did not start: {}",
            std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_enricher_sets_the_intent_that_routes() {
    let h = Harness::start_distributed_with(|c| rules(c, Some("py-intents"))).await;
    let nats = h.nats_url().expect("distributed");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("enricher.log");
    let running = tokio::task::spawn_blocking({
        let log = log.clone();
        move || enricher(&nats, "py-intents", &log)
    })
    .await
    .expect("enricher started");

    let request = routed_from(
        &h,
        "ann@example.com",
        "Hello, I would like a refund for order #A-1234 please",
    )
    .await;
    assert_eq!(request.queue, "billing", "{request:?}");
    assert_eq!(
        request.reasons,
        ["queue billing by rule refunds: intent refund"]
    );
    assert_eq!(
        request.attributes.get("order_number").map(String::as_str),
        Some("A-1234")
    );

    // Stopped: the next contact goes to its channel's queue anyway.
    drop(running);
    let request = routed_from(&h, "bob@example.com", "I would like a refund").await;
    assert_eq!(request.queue, "support", "{request:?}");
    assert!(request.reasons.is_empty());
}
