//! The Python example adapter (`examples/python-adapter`) against the real
//! `omni adapter-check` over a real nats-server: the guide's steps in
//! docs/adapters.md, run as written (every rule passes out of process),
//! and the same adapter broken on purpose, which fails with the rule named.
//!
//! Python comes from the system (`python3 -m venv`, Debian's
//! `python3-venv`); its libraries from PyPI with pip inside the venv. With
//! no network, these tests fail saying so: they never skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use omni_proto::adapter::{ConformanceAnswer, ConformanceCustomerMessage};
use omni_testservers::free_port;
use omni_testservers::nats::NatsServer;
use prost::Message as _;

use crate::support::{binary, omni};

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> PathBuf {
    repo().join("examples/python-adapter")
}

/// The guide's shell steps: every ```` ```sh guide-step ```` block of
/// docs/adapters.md, in order.
fn guide_steps() -> Vec<String> {
    let doc = std::fs::read_to_string(repo().join("docs/adapters.md")).expect("docs/adapters.md");
    let mut steps = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim() == "```sh guide-step" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim() == "```" => steps.extend(current.take()),
            Some(step) => {
                step.push_str(line);
                step.push('\n');
            }
        }
    }
    steps
}

fn run(command: &mut Command) -> Output {
    command.output().expect("run a command")
}

/// Panics with what pip said, naming the likely cause.
fn pip_failed(out: &Output) -> ! {
    panic!(
        "pip could not install examples/python-adapter/requirements.txt from PyPI \
         (this test needs network access to pypi.org, or a pip cache that has them):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A venv with the example's requirements and the generated protobuf
/// code, built once per requirements.txt under the target dir (built
/// aside, then renamed into place, so tests in parallel never share a
/// half-built one); returns the venv and the generated code's directory.
fn python_env() -> (PathBuf, PathBuf) {
    omni_testservers::python::example_env(
        "python-adapter",
        &example().join("requirements.txt"),
        &repo().join("proto"),
        &[
            "omni/common/v1/common.proto",
            "omni/events/v1/events.proto",
            "omni/adapter/v1/adapter.proto",
        ],
        Path::new(env!("CARGO_TARGET_TMPDIR")),
    )
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example's provider on `port`; it refuses `blocked-user`.
fn provider(port: &str) -> Running {
    let (venv, _) = python_env();
    Running(
        Command::new(venv.join("bin/python"))
            .arg(example().join("provider.py"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--refuse", "blocked-user"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the provider"),
    )
}

/// Waits until `path` contains `text`; panics with `why` after 30 s.
fn wait_for(path: &Path, text: &str, why: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(path).is_ok_and(|l| l.contains(text)) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in {}: {}",
            path.display(),
            std::fs::read_to_string(why).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The adapter (with `extra` flags) on `nats`, sending to the provider on
/// `provider_port`, once it says it is ready; its stdout goes to `log`,
/// its log lines to `log` with the extension `err`.
fn adapter(nats: &str, token: &str, provider_port: &str, extra: &[&str], log: &Path) -> Running {
    let (venv, gen_dir) = python_env();
    let adapter_port = free_port().expect("port").to_string();
    let adapter = Running(
        Command::new(venv.join("bin/python"))
            .arg(example().join("adapter.py"))
            .env("PYTHONPATH", &gen_dir)
            .env("APP_PROVIDER_SECRET", "provider-secret")
            .args(["--nats", nats, "--channel", "app"])
            .args(["--listen", &format!("127.0.0.1:{adapter_port}")])
            .args([
                "--provider-url",
                &format!("http://127.0.0.1:{provider_port}"),
            ])
            .args(["--conformance-token", token])
            .args(extra)
            .stdout(std::fs::File::create(log).expect("log"))
            .stderr(std::fs::File::create(log.with_extension("err")).expect("log"))
            .spawn()
            .expect("start the adapter"),
    );
    wait_for(log, "adapter ready", &log.with_extension("err"));
    adapter
}

/// The provider and the adapter (with `extra` flags) on `nats`.
fn start_adapter(nats: &str, token: &str, extra: &[&str], log: &Path) -> (Running, Running) {
    let port = free_port().expect("port").to_string();
    let provider = provider(&port);
    (provider, adapter(nats, token, &port, extra, log))
}

#[test]
fn a_provider_that_is_down_is_retried_until_it_takes_the_reply() {
    let nats = NatsServer::start().expect("nats-server");
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("adapter.log");
    let port = free_port().expect("port").to_string();
    let _adapter = adapter(&nats.url(), "tok-4", &port, &[], &log);
    let url = nats.url();
    let check = std::thread::spawn(move || check(&url, "tok-4"));
    // The provider comes up only once the adapter has had to retry.
    wait_for(
        &log.with_extension("err"),
        "provider unavailable; will retry",
        &log.with_extension("err"),
    );
    let _provider = provider(&port);
    let out = check.join().expect("adapter-check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("adapter conformance (app): 8 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
}

fn check(nats: &str, token: &str) -> Output {
    check_with(nats, token, &[])
}

fn check_with(nats: &str, token: &str, extra: &[&str]) -> Output {
    run(omni()
        .args(["adapter-check", "--channel", "app", "--nats", nats])
        .args(["--conformance-token", token])
        .args(["--recipient", "app:user-42"])
        .args(["--refused-recipient", "app:blocked-user"])
        .args(["--refused-reason", "recipient_blocked", "--wait-secs", "10"])
        .args(extra))
}

#[test]
fn the_capabilities_come_from_the_announcement_and_flags_override_them() {
    let nats = NatsServer::start().expect("nats-server");
    let dir = tempfile::tempdir().expect("dir");
    let _adapter = start_adapter(&nats.url(), "tok-3", &[], &dir.path().join("adapter.log"));
    let out = check_with(&nats.url(), "tok-3", &["--max-text-chars", "600"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("announced: max_text_chars 500, identity kind \"app\""),
        "{stdout}"
    );
    // 600 declared by the flag; the adapter refuses more than 500.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL size_limits: expected a text of exactly 600 characters"),
        "{stdout}"
    );
}

#[test]
fn the_guide_runs_as_written_and_the_python_adapter_passes_every_rule() {
    let steps = guide_steps();
    assert!(
        steps.len() >= 4,
        "guide steps in docs/adapters.md: {steps:?}"
    );
    let nats = NatsServer::start().expect("nats-server");
    let work = tempfile::tempdir().expect("dir");
    let mut script = String::from("set -euo pipefail\n");
    for (n, step) in steps.iter().enumerate() {
        script.push_str(&format!("echo '== guide step {}' >&2\n{step}", n + 1));
    }
    let omni_dir = binary().parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        omni_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut bash = Command::new("bash");
    bash.arg("-c")
        .arg(&script)
        .current_dir(repo())
        .env("PATH", path)
        .env("WORK", work.path())
        .env("OMNI_NATS_URL", nats.url())
        .env("ADAPTER_PORT", free_port().expect("port").to_string())
        .env("PROVIDER_PORT", free_port().expect("port").to_string());
    std::os::unix::process::CommandExt::process_group(&mut bash, 0);
    let child = bash
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    let group = child.id();
    let out = child.wait_with_output().expect("the guide's script");
    // Whatever a failed step left running.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The step that failed is the last one that started.
    let failed_step = stderr
        .rsplit("== guide step ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| steps.get(n - 1));
    if !out.status.success() && failed_step.is_some_and(|step| step.contains("pip install")) {
        pip_failed(&out);
    }
    assert!(
        out.status.success(),
        "the guide failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("adapter conformance (app): 8 passed, 0 failed, 0 skipped"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("ok   acknowledged_only_when_durable"),
        "{stdout}"
    );
    // The last step's SIGTERM: the adapter drained and stopped by itself.
    let log = std::fs::read_to_string(work.path().join("adapter.log")).expect("adapter.log");
    assert!(log.contains("app-adapter: stopped"), "{log}");
}

#[test]
fn a_python_adapter_that_acknowledges_before_the_publish_fails_that_rule() {
    let nats = NatsServer::start().expect("nats-server");
    let dir = tempfile::tempdir().expect("dir");
    let _adapter = start_adapter(
        &nats.url(),
        "tok-1",
        &["--break", "ack-before-publish"],
        &dir.path().join("adapter.log"),
    );
    let out = check(&nats.url(), "tok-1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "FAIL acknowledged_only_when_durable: expected no acknowledgement while the bus cannot store; got acknowledged"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("ok   idempotent_redelivery"), "{stdout}");
}

#[test]
fn a_python_adapter_without_idempotency_keys_fails_idempotent_redelivery() {
    let nats = NatsServer::start().expect("nats-server");
    let dir = tempfile::tempdir().expect("dir");
    let _adapter = start_adapter(
        &nats.url(),
        "tok-2",
        &["--break", "no-dedup"],
        &dir.path().join("adapter.log"),
    );
    let out = check(&nats.url(), "tok-2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL idempotent_redelivery"), "{stdout}");
    assert!(
        stdout.contains("ok   acknowledged_only_when_durable"),
        "{stdout}"
    );
}

/// The hook's answer to a `customer_writes` request carrying `token`.
async fn hook_answer(nats: &str, token: Option<&str>) -> ConformanceAnswer {
    let client = async_nats::connect(nats).await.expect("nats");
    let mut headers = async_nats::HeaderMap::new();
    if let Some(token) = token {
        headers.insert("Omni-Conformance-Token", token);
    }
    let request = ConformanceCustomerMessage {
        provider_message_id: "m-1".into(),
        from: "user-42".into(),
        text: "hello".into(),
    };
    let reply = client
        .request_with_headers(
            "omni.adapter.conformance.app.customer_writes",
            headers,
            request.encode_to_vec().into(),
        )
        .await
        .expect("an answer from the hook");
    ConformanceAnswer::decode(reply.payload.as_ref()).expect("a ConformanceAnswer")
}

#[test]
fn the_conformance_hook_refuses_a_missing_or_wrong_token() {
    let nats = NatsServer::start().expect("nats-server");
    let dir = tempfile::tempdir().expect("dir");
    let _adapter = start_adapter(
        &nats.url(),
        "the-right-token",
        &[],
        &dir.path().join("a.log"),
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for token in [None, Some("a-wrong-token")] {
        let answer = runtime.block_on(hook_answer(&nats.url(), token));
        assert_eq!(
            answer.refused, "missing or wrong conformance token",
            "{token:?}"
        );
        assert!(!answer.acknowledged);
    }
    // The right token reaches the provider path (no stream yet: a retryable 503).
    let answer = runtime.block_on(hook_answer(&nats.url(), Some("the-right-token")));
    assert_eq!(answer.refused, "", "{answer:?}");
    assert!(answer.retryable && !answer.acknowledged, "{answer:?}");
    assert!(answer.detail.starts_with("HTTP 503"), "{answer:?}");
    let out = check(&nats.url(), "a-wrong-token");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "the adapter's capabilities: the conformance hook refused the request: missing or wrong conformance token"
        ),
        "{stderr}"
    );
}
