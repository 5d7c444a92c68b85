//! Real servers for tests: `nats-server` (JetStream), `redis-server`, the
//! Kannel SMS gateway, an SMTP sink (`aiosmtpd`) and Prometheus, each on a
//! free loopback port with its own temporary data directory, stopped on
//! drop. A missing binary is an error that says how to install it
//! (`scripts/test` installs them from Debian's packages); tests never skip
//! silently.
//!
//! # Layout
//! - [`nats`] starts `nats-server` with JetStream (`NatsServer`).
//! - [`redis`] starts `redis-server` with AOF on (`RedisServer`).
//! - [`kannel`] starts Kannel's bearerbox, smsbox and fakesmsc (`KannelServer`).
//! - [`smtp`] starts an `aiosmtpd` SMTP sink writing to a Maildir (`SmtpSink`).
//! - [`prometheus`] starts Prometheus with a test's configuration
//!   (`Prometheus`, with `query`), and runs `promtool`.
//! - [`tls`] makes a test CA and server/client certificates with `openssl`
//!   (`TestCerts`), for the TLS variants of the Redis and NATS servers.
//! - [`python`] finds the Python 3 the sink and the test clients run.
//! - [`proxy`] runs a forward HTTP proxy (`CONNECT` and absolute URIs) that
//!   records what it relays (`ForwardProxy`), for outbound HTTP behind a
//!   proxy.
//! - Here: what they share, a free port, starting on one ([`start_on_a_free_port`])
//!   and the end of a log file ([`log_tail`]).

#![forbid(unsafe_code)]

pub mod kannel;
pub mod nats;
pub mod prometheus;
pub mod proxy;
pub mod python;
pub mod redis;
pub mod smtp;
pub mod tls;

/// A free TCP port on 127.0.0.1 (bound and released; small race accepted).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Tries to start a server on a free port, `attempts` times: `spawn` starts
/// it on the port given. The port may have been taken between
/// [`free_port`] and the server's bind, so another port is tried; a missing
/// binary (`NotFound`) ends at once, as another port will not help. `what`
/// names the server in the error when no attempt was made.
pub(crate) fn start_on_a_free_port(
    attempts: usize,
    what: &str,
    mut spawn: impl FnMut(u16) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut last_error = None;
    for _ in 0..attempts {
        match spawn(free_port()?) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(e),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other(format!("{what} did not start"))))
}

/// The last `lines` lines of the log at `path`, or why it cannot be read.
pub(crate) fn log_tail(path: &std::path::Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read the log: {e})"),
    }
}
