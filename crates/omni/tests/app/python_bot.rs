//! The Python example bot (`examples/python-bot`) over a real nats-server
//! passes the bot conformance kit, and stops on SIGTERM; the same bot
//! publishing replies without their message id fails the redelivery rule.
//!
//! Python comes from the system (`python3 -m venv`, Debian's
//! `python3-venv`); its libraries from PyPI with pip inside the venv. With
//! no network, these tests fail saying so: they never skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use omni_bot::conformance::{Kit, Rule, Verdict};
use omni_bus::Bus;
use omni_bus_nats::NatsBus;
use omni_testservers::nats::NatsServer;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> PathBuf {
    repo().join("examples/python-bot")
}

/// A venv with the example's requirements and the generated protobuf
/// code, built once per requirements.txt and protos under the target dir
/// (built aside, then renamed into place, so tests in parallel never share
/// a half-built one); returns the venv and the generated code's directory.
fn python_env() -> (PathBuf, PathBuf) {
    omni_testservers::python::example_env(
        "python-bot",
        &example().join("requirements.txt"),
        &repo().join("proto"),
        &[
            "omni/common/v1/common.proto",
            "omni/adapter/v1/adapter.proto",
            "omni/bot/v1/bot.proto",
        ],
        Path::new(env!("CARGO_TARGET_TMPDIR")),
    )
}

/// The bot process, killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example bot `hours` on `nats` (with `extra` flags), once it says
/// it is ready; returns it and the rest of its stdout.
fn start_bot(nats: &str, extra: &[&str]) -> (Running, impl Iterator<Item = String> + use<>) {
    let (venv, gen_dir) = python_env();
    let mut child = Command::new(venv.join("bin/python"))
        .arg(example().join("bot.py"))
        .env("PYTHONPATH", &gen_dir)
        .args(["--nats", nats, "--bot", "hours"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the bot");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok);
    let ready = lines.by_ref().find(|l| l.starts_with("bot ready"));
    assert_eq!(ready.as_deref(), Some("bot ready: hours"));
    (Running(child), lines)
}

/// The kit against the bot `hours` on `bus`.
fn check(runtime: &tokio::runtime::Runtime, bus: &Arc<dyn Bus>) -> Verdict {
    runtime
        .block_on(Kit::new(bus.clone(), "hours").check())
        .expect("kit")
}

/// A nats-server with Omniroute's streams declared (as any part of
/// Omniroute declares them when it connects), and a bus on it.
fn nats_with_streams(runtime: &tokio::runtime::Runtime) -> (NatsServer, Arc<dyn Bus>) {
    let nats = NatsServer::start().expect("nats-server");
    let bus: Arc<dyn Bus> = runtime
        .block_on(NatsBus::connect(&nats.url()))
        .expect("nats");
    (nats, bus)
}

#[test]
fn the_python_bot_passes_the_bot_conformance_kit_and_stops_on_sigterm() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (nats, bus) = nats_with_streams(&runtime);
    let (mut bot, lines) = start_bot(&nats.url(), &[]);
    let verdict = check(&runtime, &bus);
    assert!(verdict.passed(), "{verdict}");
    assert!(
        verdict
            .to_string()
            .ends_with("bot conformance (hours): 5 passed, 0 failed"),
        "{verdict}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &bot.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let rest: Vec<String> = lines.collect();
    assert!(bot.0.wait().expect("wait").success(), "{rest:?}");
    assert_eq!(rest, ["bot stopped: hours"]);
    runtime.block_on(bus.close());
}

#[test]
fn a_python_bot_without_reply_message_ids_fails_the_redelivery_rule() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (nats, bus) = nats_with_streams(&runtime);
    let (_bot, _lines) = start_bot(&nats.url(), &["--break", "no-msg-id"]);
    let verdict = check(&runtime, &bus);
    let failures = verdict.failures();
    assert_eq!(
        failures,
        [(
            Rule::RedeliveryAnsweredOnce,
            "expected one reply stored for a turn delivered twice; got 2"
        )],
        "{verdict}"
    );
    runtime.block_on(bus.close());
}
