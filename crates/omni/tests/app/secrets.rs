//! No secret in what the `omni` binary prints: its start-up banner, its log
//! at `trace`, and the error of a part that cannot reach NATS, with every
//! credential of the configuration set through the environment.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{omni, sample};

const SECRETS: [&str; 6] = [
    "relay-pw-5521",
    "twilio-tok-5522",
    "kannel-pw-5523",
    "kannel-sec-5524",
    "nats-pw-5525",
    "redis-pw-5526",
];

/// `omni` over the sample configuration with both adapters on, every
/// secret set, listening on free ports.
fn with_secrets() -> Command {
    let mut command = omni();
    command
        .arg("--config")
        .arg(sample())
        .env("OMNI_LOG", "trace")
        .env("OMNI_LISTEN_GRPC", "127.0.0.1:0")
        .env("OMNI_LISTEN_CHAT", "127.0.0.1:0")
        .env("OMNI_LISTEN_DESK", "127.0.0.1:0")
        .env("OMNI_LISTEN_SMTP", "127.0.0.1:0")
        .env("OMNI_LISTEN_SMS", "127.0.0.1:0")
        .env("OMNI_LISTEN_METRICS", "127.0.0.1:0")
        .env("OMNI_CONTEXT_REPLY_DOMAIN", "support.example.test")
        .env("OMNI_EMAIL_ENABLED", "true")
        .env("OMNI_EMAIL_DOMAINS", "support.example.test")
        .env("OMNI_EMAIL_RELAY_USER", "relay")
        .env("OMNI_EMAIL_RELAY_PASSWORD", SECRETS[0])
        .env("OMNI_SMS_ENABLED", "true")
        .env(
            "OMNI_SMS_TWILIO_ACCOUNT_SID",
            "AC0000000000000000000000000000005",
        )
        .env("OMNI_SMS_TWILIO_AUTH_TOKEN", SECRETS[1])
        .env("OMNI_SMS_KANNEL_PASSWORD", SECRETS[2])
        .env("OMNI_SMS_KANNEL_SECRET", SECRETS[3])
        .env(
            "OMNI_NATS_URL",
            format!("nats://omni:{}@127.0.0.1:1", SECRETS[4]),
        )
        .env(
            "OMNI_REDIS_URL",
            format!("redis://omni:{}@127.0.0.1:1", SECRETS[5]),
        );
    command
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} in {what}: {leaks:#?}");
    }
}

#[test]
fn the_start_up_banner_and_log_show_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("omni.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = with_secrets()
        .env("OMNI_DATA_DIR", dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("omniroute ready in"), "{first}");
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let banner: Vec<String> = std::iter::once(first)
        .chain(lines.map_while(Result::ok))
        .collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}: {banner:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("smtp server listening"), "a trace log: {log}");
    assert_no_secret("the banner", &banner.join("\n"));
    assert_no_secret("the log", &log);
}

#[test]
fn a_part_that_cannot_reach_nats_names_the_server_not_the_password() {
    let out = with_secrets().arg("email").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot reach NATS at nats://omni:***@127.0.0.1:1"),
        "{stderr}"
    );
    assert_no_secret("the error", &stderr);
    assert_no_secret("the output", &String::from_utf8_lossy(&out.stdout));
}
