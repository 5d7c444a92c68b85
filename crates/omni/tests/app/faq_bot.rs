//! The built-in FAQ bot as an operator runs it: `omni bot faq` over a
//! real NATS passes the bot conformance kit and stops on SIGTERM; the
//! embedded app runs it in process for a bot with a FAQ file; a missing
//! or broken FAQ file stops `omni check-config` and `omni bot faq` with a
//! message naming the file and the line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use omni_bot::conformance::Kit;
use omni_bus::Bus;
use omni_bus_nats::NatsBus;
use omni_testkit::app::{TestApp, test_config};
use omni_testservers::nats::NatsServer;

use crate::support::{config_file, omni, succeeded};

/// A configuration with one queue and the bot `faq` answering from `faq`.
fn config_with_faq(dir: &Path, faq: &Path) -> PathBuf {
    let path = dir.join("omniroute.toml");
    std::fs::write(
        &path,
        format!(
            "[[queues]]\nid = \"support\"\n\n[bots.faq]\nfaq_file = {:?}\n",
            faq.display().to_string()
        ),
    )
    .expect("write config");
    path
}

#[test]
fn a_broken_or_missing_faq_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().expect("dir");
    let faq = dir.path().join("faq.toml");
    std::fs::write(&faq, "[[entries]]\nid = \"hours\"\nanswer = 9\n").expect("write");
    let config = config_with_faq(dir.path(), &faq);
    for args in [&["check-config"][..], &["bot", "faq", "--bot", "faq"]] {
        let out = omni()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .expect("omni");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid FAQ file {}: line 3:", faq.display())),
            "{args:?}: {stderr}"
        );
    }
    std::fs::remove_file(&faq).expect("remove");
    let out = omni()
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .expect("omni");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "bots.faq.faq_file: cannot read the FAQ file {}",
            faq.display()
        )),
        "{stderr}"
    );
    let out = omni()
        .arg("--config")
        .arg(&config)
        .args(["bot", "faq", "--bot", "sales"])
        .output()
        .expect("omni");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no [bots.sales] in the configuration"),
        "{stderr}"
    );
}

#[test]
fn check_config_reads_the_sample_faq_file() {
    let dir = tempfile::tempdir().expect("dir");
    let config = config_with_faq(dir.path(), &config_file("faq.toml"));
    let out = omni()
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .expect("omni");
    let stdout = succeeded(&out);
    assert!(stdout.contains("FAQ files: 1 ok"), "{stdout}");
}

#[test]
fn omni_bot_faq_passes_the_kit_over_nats_and_stops_on_sigterm() {
    let nats = NatsServer::start().expect("nats-server");
    let dir = tempfile::tempdir().expect("dir");
    let config = config_with_faq(dir.path(), &config_file("faq.toml"));
    let mut bot = omni()
        .arg("--config")
        .arg(&config)
        .args(["bot", "faq", "--bot", "faq"])
        .env("OMNI_NATS_URL", nats.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("omni bot faq");
    let mut lines = BufReader::new(bot.stdout.take().expect("stdout")).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("ready"))
        .unwrap_or_default();
    assert!(
        ready.starts_with("omni bot faq: bot faq ready (7 questions"),
        "{ready}"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let verdict = runtime.block_on(async {
        let bus: Arc<dyn Bus> = NatsBus::connect(&nats.url()).await.expect("nats");
        let verdict = Kit::new(bus.clone(), "faq").check().await.expect("kit");
        bus.close().await;
        verdict
    });
    assert!(verdict.passed(), "{verdict}");
    let status = Command::new("kill")
        .args(["-TERM", &bot.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(bot.wait().expect("wait").success(), "{rest:?}");
    assert!(
        rest.iter().any(|l| l == "omni bot faq: bot faq stopped"),
        "{rest:?}"
    );
}

#[tokio::test]
async fn the_embedded_app_runs_the_faq_bot_of_a_bot_with_a_faq_file() {
    let data = tempfile::tempdir().expect("dir");
    let mut config = test_config(data.path()).expect("config");
    let mut bot = omni_core::config::Config::parse(&format!(
        "[bots.faq]\nfaq_file = {:?}\n",
        config_file("faq.toml").display().to_string()
    ))
    .expect("bot config");
    config.bots.append(&mut bot.bots);
    let app = TestApp::start_with(data, config).await.expect("app");
    let verdict = Kit::new(app.bus(), "faq").check().await.expect("kit");
    assert!(verdict.passed(), "{verdict}");
    app.stop().await;
}
