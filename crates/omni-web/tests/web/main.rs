//! `omni_web::serve` over a real socket: the per-address request limit
//! counts the client's address, forwarded only by a trusted proxy. A
//! spoofed `X-Forwarded-For` from an untrusted peer changes nothing; behind
//! a trusted proxy each forwarded client has its own allowance.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use omni_core::config::LimitsConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// One request per address, no more for an hour.
fn one_request(trusted: &[&str]) -> LimitsConfig {
    LimitsConfig {
        requests_per_second: 1,
        request_burst: 1,
        trusted_proxies: trusted.iter().map(|s| (*s).to_owned()).collect(),
        ..LimitsConfig::default()
    }
}

async fn start(limits: LimitsConfig) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let app = Router::new().route("/", get(|| async { "ok" }));
    tokio::spawn({
        let stop = stop.clone();
        async move { omni_web::serve("test", listener, app, &limits, stop).await }
    });
    (addr, stop)
}

/// The status code of `GET /` with `X-Forwarded-For: forwarded`.
async fn status(addr: SocketAddr, forwarded: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET / HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: {forwarded}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("answer read");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let (addr, stop) = start(one_request(&["10.0.0.0/8"])).await;
    assert_eq!(status(addr, "198.51.100.1").await, 200);
    // Another made-up client: still the same peer, over its allowance.
    assert_eq!(status(addr, "198.51.100.2").await, 429);
    stop.cancel();
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_counted_apart() {
    let (addr, stop) = start(one_request(&["127.0.0.1/32"])).await;
    assert_eq!(status(addr, "198.51.100.1").await, 200);
    assert_eq!(status(addr, "198.51.100.2").await, 200);
    // The right-most untrusted hop counts: a fake hop on the left does not
    // make a new client.
    assert_eq!(status(addr, "203.0.113.9, 198.51.100.1").await, 429);
    stop.cancel();
}
