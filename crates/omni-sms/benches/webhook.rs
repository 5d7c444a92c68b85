//! Cost of the SMS adapter's hot paths: `cargo bench -p omni-sms`.
//!
//! Prints, on this machine: signed Twilio webhooks answered per second and
//! their latency (each one is a signature check, an E.164 parse and a
//! durable embedded-bus publish, i.e. an fsync), one client at a time and
//! with several; replies sent per second through the outbound consumer to a
//! minimal Twilio-compatible API on loopback (consume, submit, durable
//! report, ack); then the cost of one signature check and one segment count.
//! Sizes: `BENCH_REQUESTS` (default 1000), `BENCH_CLIENTS` (default 8).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hyper::http::{Method, header};
use omni_bus::topology::{CONTEXT_DELIVERY, subjects};
use omni_bus::{Bus, EmbeddedBus, Message};
use omni_core::Channel;
use omni_core::config::{Config, SmsProvider};
use omni_proto::common as pb;
use omni_proto::events as ev;
use omni_sms::SmsAdapter;
use omni_sms::http::HttpClient;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "bench-token";

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

async fn webhook(http: &HttpClient, base: &str, n: usize) -> Duration {
    let sid = format!("SM{n:032x}");
    let params = [
        ("MessageSid", sid.as_str()),
        ("AccountSid", ACCOUNT),
        ("From", "+14155552671"),
        ("To", "+14155550100"),
        ("Body", "Hello, I would like to change my booking please"),
        ("NumSegments", "1"),
        ("NumMedia", "0"),
    ];
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let url = format!("{base}/twilio/sms");
    let signature = omni_sms::signature::sign(TOKEN, &url, &owned);
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            form.append_pair(k, v);
        }
        form.finish()
    };
    let started = Instant::now();
    let response = http
        .send(
            Method::POST,
            &url,
            &[(
                header::HeaderName::from_static("x-twilio-signature"),
                signature,
            )],
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await
        .expect("request");
    assert_eq!(response.status, 200);
    started.elapsed()
}

fn print_latencies(label: &str, mut latencies: Vec<Duration>, total: Duration) {
    latencies.sort();
    println!(
        "{label}: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms",
        latencies.len() as f64 / total.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests = env("BENCH_REQUESTS", 1000);
    let clients = env("BENCH_CLIENTS", 8);
    println!(
        "omni-sms bench on {} cores ({})",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH
    );

    let dir = tempfile::tempdir()?;
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus"))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut config = Config::default();
    config.sms.enabled = true;
    config.sms.provider = SmsProvider::Twilio;
    config.sms.from = "+14155550100".into();
    config.sms.public_url = base.clone();
    config.sms.twilio.account_sid = ACCOUNT.into();
    config.sms.twilio.auth_token = TOKEN.into();
    config.sms.twilio.api_base = fake_twilio().await?;
    // One load generator on one address: the per-address request limit
    // would throttle it, not measure the webhook.
    config.limits.requests_per_second = 1_000_000;
    config.limits.request_burst = 1_000_000;
    let adapter = SmsAdapter::new(bus.clone(), Arc::new(config))?;
    let shutdown = CancellationToken::new();
    tokio::spawn(omni_sms::serve(listener, adapter.clone(), shutdown.clone()));
    tokio::spawn(omni_sms::outbound::run(
        adapter,
        bus.clone(),
        shutdown.clone(),
    ));
    let http = HttpClient::new(Duration::from_secs(10), "omniroute-bench")?;

    // Warm-up: the numbering-plan database loads on first use.
    webhook(&http, &base, usize::MAX).await;

    let started = Instant::now();
    let mut latencies = Vec::with_capacity(requests);
    for n in 0..requests {
        latencies.push(webhook(&http, &base, n).await);
    }
    print_latencies("twilio webhook, 1 client", latencies, started.elapsed());

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let http = http.clone();
        let base = base.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            for n in 0..requests / clients {
                latencies.push(webhook(&http, &base, (c + 1) * 1_000_000 + n).await);
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined?);
    }
    print_latencies(
        &format!("twilio webhook, {clients} clients"),
        latencies,
        started.elapsed(),
    );

    let mut reports = bus.consume(&CONTEXT_DELIVERY).await?;
    let started = Instant::now();
    for n in 0..requests {
        bus.publish(
            Message::new(subjects::outbound(Channel::SMS), reply(n).encode_to_vec()),
            Some(&format!("bench-reply-{n}")),
        )
        .await?;
    }
    let published = started.elapsed();
    for _ in 0..requests {
        let delivery = reports.next().await.ok_or("delivery stream ended")?;
        let report = ev::DeliveryReport::decode(delivery.message.payload.as_ref())?;
        assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
        delivery.ack().await?;
    }
    let total = started.elapsed();
    println!(
        "outbound replies via a Twilio-compatible API on loopback: {:.0} replies/s ({} published in {:.0} ms, all reported in {:.0} ms)",
        requests as f64 / total.as_secs_f64(),
        requests,
        published.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
    );

    let params: Vec<(String, String)> = (0..12)
        .map(|i| (format!("Param{i}"), format!("value number {i}")))
        .collect();
    let url = "https://sms.example.com/twilio/sms";
    let signature = omni_sms::signature::sign(TOKEN, url, &params);
    let rounds = 100_000;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(omni_sms::signature::verify(TOKEN, url, &params, &signature));
    }
    println!(
        "signature check, 12 parameters: {:.2} µs",
        started.elapsed().as_secs_f64() * 1e6 / rounds as f64
    );

    let texts = [
        "a".repeat(160),
        "Your booking {ref: 42} is confirmed – see you soon! 😀".repeat(4),
        "Привет! ".repeat(40),
    ];
    let started = Instant::now();
    let mut total = 0;
    for _ in 0..rounds / 10 {
        for text in &texts {
            total += omni_sms::segments::count(text).count;
        }
    }
    println!(
        "segment count, 160-320 characters: {:.2} µs ({total} segments)",
        started.elapsed().as_secs_f64() * 1e6 / (rounds / 10 * texts.len()) as f64
    );
    shutdown.cancel();
    Ok(())
}

fn reply(n: usize) -> ev::OutboundMessage {
    ev::OutboundMessage {
        attachments: Vec::new(),
        message: Some(pb::Message {
            id: format!("bench-{n}"),
            conversation_id: "conv-bench".into(),
            text: "Thanks for waiting, your booking is now changed.".into(),
            ..Default::default()
        }),
        to: Some(pb::Identity {
            kind: Some(pb::identity::Kind::Phone("+14155552671".into())),
        }),
        email: None,
    }
}

/// A minimal Messages API: 201 with a message resource for every request.
async fn fake_twilio() -> std::io::Result<String> {
    use axum::routing::post;
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/2010-04-01/Accounts/{account}/Messages.json",
        post(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move {
                (
                    hyper::http::StatusCode::CREATED,
                    [(header::CONTENT_TYPE, "application/json")],
                    format!(
                        r#"{{"sid":"SM{n:032x}","status":"queued","error_code":null,"error_message":null}}"#
                    ),
                )
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}
