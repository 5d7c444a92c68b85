//! A forward HTTP proxy on a free loopback port, as a company's egress
//! proxy is to Omniroute's outbound HTTP (`HTTPS_PROXY`, `HTTP_PROXY`):
//! `CONNECT host:port` is answered 200 and the tunnel relayed; a request by
//! its absolute URI (`POST http://host:port/path`) is relayed as it came.
//! Either way it goes to the named port on 127.0.0.1 whatever the host, so
//! a test can name a host nobody resolves ([`NOWHERE`]) and an answer
//! proves the request went through the proxy. It records each
//! connection's request head ([`ForwardProxy::seen`]).
//!
//! Plain threads (two per relayed connection), so sync and async tests
//! alike can run it; it stops accepting on drop.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// A host name nobody can resolve (RFC 2606 reserves `.invalid`).
pub const NOWHERE: &str = "bots.omniroute.invalid";

/// The proxy (see the module doc).
pub struct ForwardProxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl ForwardProxy {
    /// Starts the proxy on a free loopback port.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(client) = client {
                    let log = log.clone();
                    thread::spawn(move || relay(client, &log));
                }
            }
        });
        Ok(Self { port, seen, stop })
    }

    /// `http://127.0.0.1:<port>`, the value for `HTTPS_PROXY`/`HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request heads seen so far, one per connection, as sent.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves one connection: reads the head, records it, relays to the port
/// it names.
fn relay(mut client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut buf = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 1024];
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    if let Ok(mut seen) = seen.lock() {
        seen.push(head.clone());
    }
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let authority = if method == "CONNECT" {
        Some(target)
    } else {
        target
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
    };
    let port = authority
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.parse::<u16>().ok());
    let Some(port) = port else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", port)) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    let forward = if method == "CONNECT" {
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        &buf[end..]
    } else {
        &buf[..]
    };
    if upstream.write_all(forward).is_err() {
        return;
    }
    let (Ok(mut client_in), Ok(mut upstream_out)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut upstream_out);
        let _ = upstream_out.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = up.join();
}
