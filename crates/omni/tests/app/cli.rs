//! The `omni` binary as an operator runs it: configuration errors exit with
//! a clear message, and a started process stops gracefully on SIGINT.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{omni, sample, succeeded};

/// `omni --config <config> <args>` run to the end.
fn with_config(config: &Path, args: &[&str]) -> Output {
    omni()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// Asserts that a run (`case`) exited 2 with `expected` in its stderr.
fn assert_exits_2_with(out: &Output, case: &str, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
    assert!(
        stderr.contains(expected),
        "{case}: expected {expected:?} in {stderr}"
    );
}

/// The embedded app over the sample configuration, data in `data_dir`,
/// listening on free ports, stdout piped.
pub(crate) fn start_embedded(data_dir: &Path, stderr: impl Into<Stdio>) -> Child {
    omni()
        .arg("--config")
        .arg(sample())
        .env("OMNI_DATA_DIR", data_dir)
        .env("OMNI_LISTEN_GRPC", "127.0.0.1:0")
        .env("OMNI_LISTEN_CHAT", "127.0.0.1:0")
        .env("OMNI_LISTEN_DESK", "127.0.0.1:0")
        .env("OMNI_LISTEN_METRICS", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Sends SIGINT to `child`.
pub(crate) fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sample_config_checks_out() {
    let out = with_config(&sample(), &["check-config"]);
    let stdout = succeeded(&out);
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
    let out = with_config(&path, &["check-config"]);
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
        let out = with_config(&path, &["check-config"]);
        assert_exits_2_with(&out, name, expected);
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
        let out = with_config(&sample(), &[part]);
        assert_exits_2_with(&out, part, expected);
    }
}

#[test]
fn an_unusable_proxy_variable_stops_check_config_and_the_start() {
    // Outbound HTTP (webhook bots, the webhook and SMS adapters) goes through
    // the environment's proxy; a proxy the client cannot use is named at
    // once rather than at the first outbound request.
    for args in [&["check-config"][..], &["context"][..]] {
        let out = omni()
            .arg("--config")
            .arg(sample())
            .args(args)
            .env("HTTPS_PROXY", "socks5://proxy.example:1080")
            .output()
            .unwrap();
        assert_exits_2_with(&out, args[0], "HTTPS_PROXY");
    }
}

#[test]
fn runs_and_stops_gracefully_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start_embedded(dir.path(), Stdio::null());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("omniroute ready in"), "{first}");
    let chat = lines.next().unwrap().unwrap();
    assert!(chat.contains("web chat    http://127.0.0.1:"), "{chat}");
    interrupt(&child);
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
pub(crate) fn log_written_to_a_file() -> String {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("omni.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = start_embedded(&dir.path().join("data"), log);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("omniroute ready in"), "{first}");
    interrupt(&child);
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

/// One HTTP/1.1 exchange over a plain socket: the JSON body of the answer.
fn http_json(
    addr: &str,
    method: &str,
    path: &str,
    session: Option<&(String, String)>,
    body: &str,
) -> (String, serde_json::Value) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let auth = session.map_or(String::new(), |(token, csrf)| {
        format!("Cookie: omni_session={token}\r\nX-CSRF-Token: {csrf}\r\n")
    });
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, json) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "{method} {path}: {answer}"
    );
    (head.to_owned(), serde_json::from_str(json).unwrap())
}

/// Signs `user` in over plain HTTP; the session cookie's token and the
/// CSRF token.
pub(crate) fn sign_in_http(addr: &str, user: &str, password: &str) -> (String, String) {
    let body = serde_json::json!({ "user": user, "password": password }).to_string();
    let (head, json) = http_json(addr, "POST", "/api/session", None, &body);
    let token = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: omni_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    (token, json["csrf_token"].as_str().expect("csrf").to_owned())
}

#[test]
fn a_collector_that_does_not_answer_holds_up_a_stop_only_briefly() {
    // A collector that takes connections and never answers: the last spans
    // cannot be exported, and the stop waits for them a bounded time.
    let collector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    crate::user_cli::add_with_password(&dir.path().join("data"), "alice", "agent");
    let log_path = dir.path().join("omni.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = omni()
        .arg("--config")
        .arg(sample())
        .env("OMNI_DATA_DIR", dir.path().join("data"))
        .env("OMNI_LISTEN_GRPC", "127.0.0.1:0")
        .env("OMNI_LISTEN_CHAT", "127.0.0.1:0")
        .env("OMNI_LISTEN_DESK", "127.0.0.1:0")
        .env("OMNI_LISTEN_METRICS", "127.0.0.1:0")
        .env("OMNI_OTLP_ENDPOINT", &endpoint)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let desk = crate::support::desk_address(&mut lines);
    let desk = desk.expect("the desk's address is printed");
    // A routing decision makes a span to export.
    let session = sign_in_http(&desk, "alice", crate::user_cli::PASSWORD);
    http_json(
        &desk,
        "PUT",
        "/api/presence",
        Some(&session),
        r#"{"presence":"available"}"#,
    );
    interrupt(&child);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(exit.success(), "exit {exit:?}: {rest:?}\n{log}");
    assert!(
        log.contains("trace export did not finish at stop") && log.contains("wait_ms=500"),
        "{log}"
    );
    drop(collector);
}
