//! Resource limits and headers of the HTTP servers (chat, desk, SMS
//! webhooks): a slow-header flood is closed while a normal client is
//! served, an address over its request rate or connection cap is refused
//! with 429 (a WebSocket with close 1008), a desk WebSocket frame of 64 MiB
//! is refused and the desk stays up, every route answers with the security
//! headers, and `/metrics` is not on the desk's port.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use omni_core::config::Config;
use omni_testkit::actors::{Agent, desk_events};
use omni_testkit::{JsonSocket, TestApp};
use omni_testservers::smtp::SmtpSink;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// The longest a test waits for something that must happen.
const PATIENCE: Duration = Duration::from_secs(60);

/// The embedded app with the SMS webhooks on and `limits` changed.
async fn app_with(change: impl FnOnce(&mut Config)) -> anyhow::Result<(TestApp, SmtpSink)> {
    let data = tempfile::tempdir()?;
    let relay = SmtpSink::start()?;
    let mut config =
        omni_testkit::providers::email_and_sms_config(data.path(), &relay, "http://127.0.0.1:9")?;
    change(&mut config);
    config.validate()?;
    Ok((TestApp::start_with(data, config).await?, relay))
}

fn addr_of(url: &str) -> anyhow::Result<SocketAddr> {
    url.trim_start_matches("http://")
        .parse()
        .with_context(|| format!("address of {url}"))
}

/// The HTTP servers of the app: `(name, address)`.
fn servers(app: &TestApp) -> anyhow::Result<Vec<(&'static str, SocketAddr)>> {
    let sms = app.sms_url().context("the SMS webhooks are on")?;
    Ok(vec![
        ("chat", addr_of(&app.chat_url())?),
        ("desk", addr_of(&app.desk_url())?),
        ("sms", addr_of(&sms)?),
    ])
}

/// An answer read off the wire: status, headers (names lowercase), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection, `Connection: close`.
async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> anyhow::Result<Answer> {
    let mut stream = TcpStream::connect(addr).await?;
    let text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .context("no answer")??;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").context("no header end")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("status line of {head:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// Sends a request's headers a byte at a time until the server closes the
/// connection; how many bytes it took.
async fn dribble(addr: SocketAddr) -> anyhow::Result<usize> {
    let mut stream = TcpStream::connect(addr).await?;
    let head = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
    let mut buf = [0u8; 1024];
    for sent in 0.. {
        let byte = head.get(sent).copied().unwrap_or(b'a');
        if stream.write_all(&[byte]).await.is_err() {
            return Ok(sent);
        }
        // Pacing, not a deadline: keep dribbling while the socket is open.
        let read = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            return Ok(sent);
        }
    }
    unreachable!("the loop only ends by returning")
}

#[tokio::test]
async fn a_slow_header_flood_is_closed_while_a_normal_client_is_served() -> anyhow::Result<()> {
    let (app, _relay) = app_with(|c| c.limits.header_read_timeout_ms = 1500).await?;
    for (name, addr) in servers(&app)? {
        let flood: Vec<_> = (0..100).map(|_| tokio::spawn(dribble(addr))).collect();
        // While the flood holds its connections, a normal client is served.
        let answer = request(addr, "GET", "/healthz", "").await?;
        ensure!(
            answer.status == 200,
            "{name}: {} {}",
            answer.status,
            answer.body
        );
        for task in flood {
            let sent = tokio::time::timeout(PATIENCE, task)
                .await
                .with_context(|| format!("{name}: a slow-header connection is still open"))???;
            ensure!(sent > 0, "{name}: closed before any byte");
        }
    }
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_address_over_its_request_rate_is_refused_with_429_or_close_1008() -> anyhow::Result<()>
{
    let (app, _relay) = app_with(|c| {
        c.limits.requests_per_second = 1;
        c.limits.request_burst = 3;
    })
    .await?;
    for (name, addr) in servers(&app)? {
        let mut refused = None;
        for _ in 0..20 {
            let answer = request(addr, "GET", "/healthz", "").await?;
            if answer.status == 429 {
                refused = Some(answer);
                break;
            }
            ensure!(answer.status == 200, "{name}: {}", answer.status);
        }
        let refused = refused.with_context(|| format!("{name}: 20 requests, none refused"))?;
        let retry: u64 = refused
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name}: Retry-After in {:?}", refused.headers))?;
        ensure!(retry >= 1, "{name}: Retry-After {retry}");
        let body: serde_json::Value = serde_json::from_str(&refused.body)?;
        ensure!(body["error"] == "rate_limited", "{name}: {body}");
        ensure!(
            body["message"]
                .as_str()
                .unwrap_or("")
                .contains("too many requests"),
            "{name}: {body}"
        );
    }
    // The chat's WebSocket: a page cannot read a 429, so the socket opens
    // and closes at once with 1008 and the reason.
    let mut socket = JsonSocket::connect(&app.chat_ws_url()).await?;
    let closed = socket.closed().await?;
    ensure!(closed.code == 1008, "{closed:?}");
    ensure!(closed.reason.contains("too many requests"), "{closed:?}");
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_address_over_its_connection_cap_is_refused_until_one_closes() -> anyhow::Result<()> {
    let (app, _relay) = app_with(|c| c.limits.connections_per_address = 4).await?;
    let desk = addr_of(&app.desk_url())?;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(desk).await?);
    }
    let refused = request(desk, "GET", "/healthz", "").await?;
    ensure!(refused.status == 429, "{} {}", refused.status, refused.body);
    ensure!(
        refused.body.contains("too many connections"),
        "{}",
        refused.body
    );
    ensure!(
        refused.header("retry-after").is_some(),
        "{:?}",
        refused.headers
    );
    drop(held.pop());
    // The closed connection's slot comes back once the server sees the close.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = request(desk, "GET", "/healthz", "").await?;
        if answer.status == 200 {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "still refused: {}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_desk_websocket_frame_of_64_mib_is_refused_and_the_desk_stays_up() -> anyhow::Result<()> {
    let (app, _relay) = app_with(|_| {}).await?;
    let agent = Agent::sign_in(&app, "alice").await?;
    // 1 MiB: under axum's default limits, over the desk's own.
    let mut socket = desk_events(&app, &agent.api).await?;
    socket.recv_type("state").await?;
    socket
        .send_raw(Message::Binary(vec![0u8; 1 << 20].into()))
        .await?;
    let closed = socket.closed().await?;
    ensure!(closed.code == 1009, "{closed:?}");
    // 64 MiB: refused from the frame's header, not buffered.
    let mut socket = desk_events(&app, &agent.api).await?;
    socket.recv_type("state").await?;
    // The desk may close while the frame is still going out.
    let _ = socket
        .send_raw(Message::Binary(vec![0u8; 64 << 20].into()))
        .await;
    let closed = socket.closed().await?;
    ensure!(matches!(closed.code, 1009 | 1006), "{closed:?}");
    // Still up: the page, and a new event socket.
    let page = request(addr_of(&app.desk_url())?, "GET", "/", "").await?;
    ensure!(page.status == 200, "{}", page.status);
    let mut socket = desk_events(&app, &agent.api).await?;
    socket.recv_type("state").await?;
    app.stop().await;
    Ok(())
}

/// Checks the security headers of one answer.
fn check_headers(what: &str, answer: &Answer) -> anyhow::Result<()> {
    for (name, want) in [
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        if answer.header(name) != Some(want) {
            bail!(
                "{what} ({}): {name} is {:?}, not {want}",
                answer.status,
                answer.header(name)
            );
        }
    }
    let csp = answer
        .header("content-security-policy")
        .with_context(|| format!("{what}: no Content-Security-Policy"))?;
    ensure!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    ensure!(!csp.contains("unsafe"), "{what}: {csp}");
    ensure!(
        csp.contains("script-src 'self'") || csp.contains("default-src 'none'"),
        "{what}: scripts only from the page's own origin: {csp}"
    );
    Ok(())
}

#[tokio::test]
async fn every_route_answers_with_the_security_headers() -> anyhow::Result<()> {
    let (app, _relay) = app_with(|_| {}).await?;
    let servers = servers(&app)?;
    let mut routes: Vec<(SocketAddr, String, String)> = Vec::new();
    let (chat, desk, sms) = (servers[0].1, servers[1].1, servers[2].1);
    for route in omni_chat::server::ACCESS {
        routes.push((chat, route.method.into(), route.sample_path("chat/main.js")));
    }
    for route in omni_desk::access::ACCESS {
        routes.push((desk, route.method.into(), route.sample_path("desk/main.js")));
    }
    for (method, path) in [
        ("POST", "/twilio/sms"),
        ("POST", "/twilio/status"),
        ("GET", "/kannel/inbound"),
        ("GET", "/kannel/dlr"),
        ("GET", "/healthz"),
    ] {
        routes.push((sms, method.into(), path.into()));
    }
    // 404s and the shared files too.
    for addr in [chat, desk, sms] {
        routes.push((addr, "GET".into(), "/no/such/path".into()));
        routes.push((addr, "GET".into(), "/assets/common/common.js".into()));
    }
    for (addr, method, path) in &routes {
        let answer = request(*addr, method, path, "{}").await?;
        check_headers(&format!("{method} {addr}{path}"), &answer)?;
    }
    app.stop().await;
    Ok(())
}

#[tokio::test]
async fn metrics_are_served_on_the_metrics_listener_and_not_on_the_desk_port() -> anyhow::Result<()>
{
    let (app, _relay) = app_with(|_| {}).await?;
    let on_desk = request(addr_of(&app.desk_url())?, "GET", "/metrics", "").await?;
    ensure!(
        on_desk.status == 404,
        "the desk port serves /metrics: {}",
        on_desk.status
    );
    let metrics = request(addr_of(&app.metrics_url())?, "GET", "/metrics", "").await?;
    ensure!(metrics.status == 200, "{}", metrics.status);
    ensure!(
        metrics.body.lines().any(|l| l.starts_with("omni_")),
        "{}",
        metrics.body
    );
    app.stop().await;
    Ok(())
}

/// Opens the chat as a new visitor and sends one message: `Ok(ack)` or the
/// error frame that refused it.
async fn new_visitor_says(app: &TestApp, text: &str) -> anyhow::Result<serde_json::Value> {
    let mut socket = JsonSocket::connect(&app.chat_ws_url()).await?;
    socket
        .send(&serde_json::json!({ "type": "hello", "visitor": null, "name": "Flood" }))
        .await?;
    socket.recv_type("welcome").await?;
    socket
        .send(&serde_json::json!({ "type": "message", "client_id": "c1", "text": text }))
        .await?;
    socket
        .recv_until("an ack or an error", |f| {
            f["type"] == "ack" || f["type"] == "error"
        })
        .await
}

#[tokio::test]
async fn a_chat_visitor_flood_is_refused_before_acceptance_with_a_reason() -> anyhow::Result<()> {
    let (app, _relay) = app_with(|c| c.limits.conversations_per_address = 5).await?;
    let mut answers = Vec::new();
    for n in 0..12 {
        answers.push(new_visitor_says(&app, &format!("flood {n}")).await?);
    }
    let acked = answers.iter().filter(|a| a["type"] == "ack").count();
    ensure!(
        acked == 5,
        "{acked} of 12 new visitors were accepted: {answers:?}"
    );
    for refused in answers.iter().filter(|a| a["type"] != "ack") {
        ensure!(refused["code"] == "rate_limited", "{refused}");
        ensure!(
            refused["client_id"] == "c1",
            "the page can tell which message: {refused}"
        );
        let message = refused["message"].as_str().unwrap_or("");
        ensure!(
            message.contains("too many new conversations") && message.contains("retry in"),
            "{refused}"
        );
    }
    // Only the accepted ones reached the context service: once the five
    // are stored, there are five and no more.
    let line = "omni_inbound_messages_total{channel=\"chat\",result=\"stored\"}";
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let metrics = request(addr_of(&app.metrics_url())?, "GET", "/metrics", "").await?;
        let stored: u64 = metrics
            .body
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        ensure!(stored <= 5, "{stored} chat messages stored");
        if stored == 5 {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "only {stored} stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
    Ok(())
}
