//! Real servers for tests: `nats-server` (JetStream), `redis-server`, the
//! Kannel SMS gateway and an SMTP sink (`aiosmtpd`), each on a free loopback
//! port with its own temporary data directory, stopped on drop. A missing
//! binary is an error that says how to install it (`scripts/test` installs
//! them from Debian's packages); tests never skip silently.
//!
//! # Layout
//! - [`nats`] starts `nats-server` with JetStream (`NatsServer`).
//! - [`redis`] starts `redis-server` with AOF on (`RedisServer`).
//! - [`kannel`] starts Kannel's bearerbox, smsbox and fakesmsc (`KannelServer`).
//! - [`smtp`] starts an `aiosmtpd` SMTP sink writing to a Maildir (`SmtpSink`).
//! - [`python`] finds the Python 3 the sink and the test clients run.

#![forbid(unsafe_code)]

pub mod kannel;
pub mod nats;
pub mod python;
pub mod redis;
pub mod smtp;

/// A free TCP port on 127.0.0.1 (bound and released; small race accepted).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
