//! Email adapter benchmark: `cargo bench -p omni-email --bench inbound`.
//!
//! 1. Parsing: MIME decoding, quote/signature separation and HTML
//!    sanitizing of a typical reply (multipart/alternative, quoted history,
//!    a 20 KB PDF attachment), per message, on one core.
//! 2. SMTP end to end: messages sent over one connection into the SMTP
//!    server, each acknowledged (`250`) only after the durable publish on the
//!    embedded bus; latency from the final dot to `250` as p50/p99, and
//!    sustained messages per second with several connections.
//!
//! `BENCH_MESSAGES` and `BENCH_CONNECTIONS` change the sizes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omni_bus::{Bus, EmbeddedBus};
use omni_core::config::Config;
use omni_email::{EmailAdapter, html, mime, quote};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A typical customer reply as a mail client sends it.
fn sample(n: usize) -> Vec<u8> {
    let attachment: String = {
        let bytes: Vec<u8> = (0..20 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        let mut b64 = String::new();
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for chunk in bytes.chunks(3) {
            let v = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= chunk.len() {
                    b64.push(T[(v >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    b64.push('=');
                }
            }
        }
        b64.as_bytes()
            .chunks(76)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let quoted: String = (0..30)
        .map(|i| format!("> Earlier line {i} of the conversation about the order.\r\n"))
        .collect();
    format!(
        "From: Ann Example <ann@example.com>\r\nTo: reply+c_1@support.test\r\nSubject: =?utf-8?q?Re=3A_Bestellung_gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <bench-{n}@mail.example.com>\r\nIn-Reply-To: <out-1@support.test>\r\nReferences: <first@mail.example.com> <out-1@support.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nThe replacement arrived, thank you. Gr=C3=BC=C3=9Fe!\r\n\r\n-- \r\nAnn\r\n\r\nOn Mon, Nov 23, 2026 at 10:00 AM Support <reply+c_1@support.test> wrote:\r\n{quoted}\r\n--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>The replacement arrived, <b>thank you</b>.</p><img src=\"https://t.example/p.gif\"><blockquote>{quoted}</blockquote></body></html>\r\n--a--\r\n--m\r\nContent-Type: application/pdf; name=\"receipt.pdf\"\r\nContent-Disposition: attachment; filename=\"receipt.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--m--\r\n"
    )
    .into_bytes()
}

fn parsing(messages: usize) {
    let raw = sample(0);
    let start = Instant::now();
    for _ in 0..messages {
        let parsed = mime::parse(&raw).expect("parses");
        let split = quote::split(&parsed.text);
        let clean = html::sanitize(&parsed.html, false);
        assert!(!split.new.is_empty() && !clean.is_empty());
    }
    let per = start.elapsed() / messages as u32;
    println!(
        "parse+split+sanitize  {} KB message: {:>8.1} µs/message ({:.0} messages/s on one core)",
        raw.len() / 1024,
        per.as_secs_f64() * 1e6,
        1.0 / per.as_secs_f64()
    );
}

async fn send_all(port: u16, from: usize, count: usize) -> Vec<Duration> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    let mut reply = async |read: &mut BufReader<_>| loop {
        line.clear();
        read.read_line(&mut line).await.expect("reply");
        if line.as_bytes().get(3) != Some(&b'-') {
            return line.clone();
        }
    };
    reply(&mut read).await;
    write
        .write_all(b"EHLO bench.test\r\n")
        .await
        .expect("write");
    reply(&mut read).await;
    let mut latencies = Vec::with_capacity(count);
    for n in from..from + count {
        write
            .write_all(
                b"MAIL FROM:<ann@example.com>\r\nRCPT TO:<reply+c_1@support.test>\r\nDATA\r\n",
            )
            .await
            .expect("write");
        for _ in 0..3 {
            reply(&mut read).await;
        }
        write.write_all(&sample(n)).await.expect("write");
        let sent = Instant::now();
        write.write_all(b".\r\n").await.expect("write");
        let r = reply(&mut read).await;
        latencies.push(sent.elapsed());
        assert!(r.starts_with("250"), "{r}");
    }
    latencies
}

fn main() {
    let messages = env_usize("BENCH_MESSAGES", 500);
    let connections = env_usize("BENCH_CONNECTIONS", 8);
    println!(
        "omni-email inbound benchmark on {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    parsing(messages);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
        let config = Config::parse(
            "[[queues]]\nid = \"q\"\n[email]\ndomains = [\"support.test\"]\n",
        )
        .expect("config");
        config.validate().expect("valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shutdown = CancellationToken::new();
        let adapter = EmailAdapter::new(bus.clone(), Arc::new(config));
        tokio::spawn(omni_email::serve(listener, adapter, shutdown.clone()));

        let mut latencies = send_all(port, 0, messages).await;
        latencies.sort();
        println!(
            "smtp DATA-end to 250, one connection: p50 {:.2} ms, p99 {:.2} ms ({messages} messages)",
            percentile(&latencies, 50.0).as_secs_f64() * 1e3,
            percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        );

        let per = messages / connections;
        let start = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|c| tokio::spawn(send_all(port, messages * (c + 1), per)))
            .collect();
        for t in tasks {
            t.await.expect("join");
        }
        let elapsed = start.elapsed();
        println!(
            "smtp sustained, {connections} connections: {:.0} messages/s ({} messages in {:.2} s)",
            (per * connections) as f64 / elapsed.as_secs_f64(),
            per * connections,
            elapsed.as_secs_f64()
        );
        shutdown.cancel();
        bus.close().await;
    });
}
