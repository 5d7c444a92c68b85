//! The `omni` binary as an operator runs it: configuration errors exit with
//! a clear message, and a started process stops gracefully on SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{omni, sample};
use std::time::{Duration, Instant};

#[test]
fn sample_config_checks_out() {
    let out = omni()
        .arg("--config")
        .arg(sample())
        .arg("check-config")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok (2 queues, 5 agents"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn check_config_warns_about_queues_no_agent_can_serve_and_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(
        &path,
        r#"
[[queues]]
id = "sales"
requirement = "slaes >= 3"

[[queues]]
id = "vip"
requirement = "sales >= 9"

[[queues]]
id = "fine"
requirement = "sales >= 3"

[[agents]]
id = "ann"
skills = { sales = 5 }
capacity = { chat = 2 }
"#,
    )
    .unwrap();
    let out = omni()
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "warnings, not errors: {stderr}");
    assert!(stdout.contains("ok (3 queues, 1 agents"), "{stdout}");
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        warnings,
        [
            r#"omni: warning: queue sales: no agent has skill "slaes" (did you mean "sales"?)"#,
            r#"omni: warning: queue sales: no configured agent meets requirement "slaes >= 3" or any of its steps"#,
            r#"omni: warning: queue vip: no configured agent meets requirement "sales >= 9" or any of its steps"#,
        ],
        "{stderr}"
    );
}

#[test]
fn config_errors_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("missing.toml", None, "cannot read config file"),
        (
            "corrupt.toml",
            Some("[[queues]\nid = "),
            "invalid config file",
        ),
        (
            "typo.toml",
            Some("dat_dir = \"x\"\n[[queues]]\nid = \"q\"\n"),
            "dat_dir",
        ),
        (
            "range.toml",
            Some("[[queues]]\nid = \"q\"\n[[agents]]\nid = \"a\"\nskills = { sales = 11 }\n"),
            "outside 1-10",
        ),
        ("empty.toml", Some(""), "at least one queue"),
    ];
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        if let Some(content) = content {
            std::fs::write(&path, content).unwrap();
        }
        let out = omni()
            .arg("--config")
            .arg(&path)
            .arg("check-config")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr}"
        );
    }
}

#[test]
fn an_adapter_run_alone_checks_its_section_at_start() {
    // The sample has both adapters switched off and no Twilio credentials:
    // `omni sms` and `omni email` turn their adapter on, so the missing
    // settings stop them at once, named, before anything listens.
    for (part, expected) in [
        ("sms", "sms.twilio.account_sid"),
        ("email", "must be one of email.domains"),
    ] {
        let out = omni()
            .arg("--config")
            .arg(sample())
            .arg(part)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{part}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{part}: expected {expected:?} in {stderr}"
        );
    }
}

#[test]
fn runs_and_stops_gracefully_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = omni()
        .arg("--config")
        .arg(sample())
        .env("OMNI_DATA_DIR", dir.path())
        .env("OMNI_LISTEN_GRPC", "127.0.0.1:0")
        .env("OMNI_LISTEN_CHAT", "127.0.0.1:0")
        .env("OMNI_LISTEN_DESK", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("omniroute ready in"), "{first}");
    let chat = lines.next().unwrap().unwrap();
    assert!(chat.contains("web chat    http://127.0.0.1:"), "{chat}");
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "omni did not stop within 20 s of SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(exit.success(), "exit {exit:?}: {rest:?}");
    assert!(rest.iter().any(|l| l == "omniroute stopped"), "{rest:?}");
    assert!(dir.path().join("store.redb").exists() && dir.path().join("bus.redb").exists());
}

/// Runs the embedded app with stderr written to a file, stops it with
/// SIGINT, and returns the log.
fn log_written_to_a_file() -> String {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("omni.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = omni()
        .arg("--config")
        .arg(sample())
        .env("OMNI_DATA_DIR", dir.path().join("data"))
        .env("OMNI_LISTEN_GRPC", "127.0.0.1:0")
        .env("OMNI_LISTEN_CHAT", "127.0.0.1:0")
        .env("OMNI_LISTEN_DESK", "127.0.0.1:0")
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
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit {exit:?}: {rest:?}");
    std::fs::read_to_string(&log_path).unwrap()
}

#[test]
fn log_lines_written_to_a_file_carry_no_colour_codes() {
    let log = log_written_to_a_file();
    assert!(log.contains("omniroute parts started"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escape in the log file:\n{log}"
    );
}
