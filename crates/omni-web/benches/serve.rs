//! Cost of serving through [`omni_web::serve`] (hyper with a timer, the
//! per-address limits, the security headers) against plain `axum::serve`,
//! on the same router and machine: `cargo bench -p omni-web`.
//!
//! Prints, for each server: the latency of sequential requests on one
//! keep-alive connection (p50, p99), and requests per second from several
//! clients at once. Sizes: `BENCH_REQUESTS` (default 5000), `BENCH_CLIENTS`
//! (default 8). The limits are raised out of the way: what is measured is
//! the cost of checking them, not of being refused.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use omni_core::config::LimitsConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn app() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}

async fn get_ok(client: &HttpClient, url: &hyper::Uri) -> Result<(), Box<dyn std::error::Error>> {
    let response = client.get(url.clone()).await?;
    let status = response.status();
    response.into_body().collect().await?;
    if !status.is_success() {
        return Err(format!("status {status}").into());
    }
    Ok(())
}

async fn measure(
    name: &str,
    addr: SocketAddr,
    requests: usize,
    clients: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let url: hyper::Uri = format!("http://{addr}/healthz").parse()?;
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    for _ in 0..100 {
        get_ok(&client, &url).await?;
    }
    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        let start = Instant::now();
        get_ok(&client, &url).await?;
        latencies.push(start.elapsed());
    }
    latencies.sort_unstable();
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
            let url = url.clone();
            tokio::spawn(async move {
                for _ in 0..requests / clients {
                    get_ok(&client, &url).await.map_err(|e| e.to_string())?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let per_second = (requests / clients * clients) as f64 / start.elapsed().as_secs_f64();
    println!(
        "{name:<28} sequential p50 {:>6.1} µs  p99 {:>6.1} µs   {clients} clients {per_second:>8.0} requests/s",
        percentile(&latencies, 0.50).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests = env("BENCH_REQUESTS", 5000);
    let clients = env("BENCH_CLIENTS", 8);
    println!(
        "omni-web serve bench on {} cores, {requests} requests",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let shutdown = CancellationToken::new();

    let plain = TcpListener::bind("127.0.0.1:0").await?;
    let plain_addr = plain.local_addr()?;
    tokio::spawn(async move { axum::serve(plain, app()).await });

    let limits = LimitsConfig {
        requests_per_second: 1_000_000_000,
        request_burst: 1_000_000_000,
        ..LimitsConfig::default()
    };
    let ours = TcpListener::bind("127.0.0.1:0").await?;
    let ours_addr = ours.local_addr()?;
    let stop = shutdown.clone();
    tokio::spawn(async move { omni_web::serve("bench", ours, app(), &limits, stop).await });

    // Twice each, alternating, so neither runs only on a cold machine.
    for _ in 0..2 {
        measure("axum::serve (before)", plain_addr, requests, clients).await?;
        measure("omni_web::serve (limits)", ours_addr, requests, clients).await?;
    }
    shutdown.cancel();
    Ok(())
}
