//! Per-address limits of an HTTP server: how many connections one address
//! holds and how many requests it makes, and the refusal it gets beyond
//! them: `429 Too Many Requests` with `Retry-After` and a JSON body, or, for
//! a WebSocket upgrade (which a page cannot read a 429 from), a socket
//! closed at once with code 1008 and the reason.
//!
//! [`crate::serve`] counts connections and puts the peer's address
//! ([`ConnectInfo`]) and the client's ([`Client`]: forwarded by a trusted
//! proxy, else the peer) on every request; [`middleware`] checks the
//! client's request rate. Limits count by [`address`]: an IPv6 client by its /64. [`RateLimit`] is the keyed limiter the chat also uses for its own
//! bounds (messages, new conversations).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts as _, Request, State};

use crate::client::Client;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use omni_core::config::LimitsConfig;
use omni_core::error_body::ErrorBody;
use tracing::warn;

/// WebSocket close code "policy violation" (RFC 6455), for a socket refused
/// or closed by a limit.
pub const CLOSE_POLICY: u16 = 1008;

/// A keyed rate limit: `count` per `period` for each key, all at once or
/// spread out.
pub struct RateLimit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// `per_second` sustained with bursts of `burst`.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        let quota = Quota::per_second(at_least_one(per_second)).allow_burst(at_least_one(burst));
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
        }
    }

    /// `count` per `period`, as a burst that refills evenly over the period.
    pub fn per_period(count: u32, period: Duration) -> Self {
        let count = at_least_one(count);
        let each = (period / count.get()).max(Duration::from_nanos(1));
        let quota = Quota::with_period(each)
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
        }
    }

    /// Takes one from `key`'s allowance, or says how long until one is back.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Forgets the keys whose allowance is full again, so the table holds
    /// only the addresses seen recently.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The address a limit counts: an IPv4 address as it is (an IPv4-mapped
/// IPv6 one as IPv4), an IPv6 address by its /64, the block one subscriber
/// is given (else one client could take a fresh address per request).
pub fn address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// The limits of one server, shared by its connections.
pub struct AddressLimits {
    /// The server's name for logs and metrics (`chat`, `desk`, `sms`).
    server: &'static str,
    connections_per_address: u32,
    connections: Mutex<HashMap<IpAddr, u32>>,
    requests: RateLimit<IpAddr>,
    /// One warning per address and 10 s, so a flood does not flood the log.
    warnings: RateLimit<IpAddr>,
}

impl AddressLimits {
    /// The limits of `config` for the server `server`.
    pub fn new(server: &'static str, config: &LimitsConfig) -> Self {
        Self {
            server,
            connections_per_address: config.connections_per_address,
            connections: Mutex::new(HashMap::new()),
            requests: RateLimit::per_second(config.requests_per_second, config.request_burst),
            warnings: RateLimit::per_period(1, Duration::from_secs(10)),
        }
    }

    /// Counts a new connection from `ip`: its slot, and whether it is over
    /// the cap (its requests are then refused); `None` when the address is
    /// so far over the cap that the connection is closed without an answer.
    pub(crate) fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<(Slot, bool)> {
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let open = connections.entry(ip).or_insert(0);
        // Room to tell a few refused connections why, then silence.
        let hard = self.connections_per_address.saturating_add(64);
        if *open >= hard {
            drop(connections);
            self.refused(ip, "connections", Duration::from_secs(1));
            return None;
        }
        *open += 1;
        let over = *open > self.connections_per_address;
        Some((
            Slot {
                limits: self.clone(),
                ip,
            },
            over,
        ))
    }

    /// Forgets the idle addresses of the request limiter.
    pub(crate) fn forget_idle(&self) {
        self.requests.forget_idle();
        self.warnings.forget_idle();
    }

    /// Counts and logs a refusal (at most one line per address and 10 s).
    fn refused(&self, ip: IpAddr, limit: &'static str, retry: Duration) {
        omni_telemetry::count!(
            "omni_http_limited_total",
            "HTTP requests and connections refused over a limit",
            &[("server", self.server), ("limit", limit)],
        );
        if self.warnings.check(&ip).is_ok() {
            warn!(server = self.server, peer = %ip, limit, retry_after_secs = retry_secs(retry), "address over its limit; refused");
        }
    }
}

/// A counted connection; dropping it (when the socket closes, after any
/// WebSocket on it) gives the slot back.
pub(crate) struct Slot {
    limits: Arc<AddressLimits>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut connections = self
            .limits
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = connections.get_mut(&self.ip) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                connections.remove(&self.ip);
            }
        }
    }
}

/// Marks the requests of a connection over its address's cap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverCap;

/// Refuses a request over its address's limits (see the module doc).
pub async fn middleware(
    State(limits): State<Arc<AddressLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<Client>()
        .map(|c| c.0)
        .or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        });
    let Some(client) = client else {
        return next.run(request).await;
    };
    let (limit, retry) = if request.extensions().get::<OverCap>().is_some() {
        ("connections", Duration::from_secs(1))
    } else {
        match limits.requests.check(&address(client)) {
            Ok(()) => return next.run(request).await,
            Err(retry) => ("requests", retry),
        }
    };
    limits.refused(address(client), limit, retry);
    refuse(request, limit, retry).await
}

fn retry_secs(retry: Duration) -> u64 {
    retry.as_secs() + u64::from(retry.subsec_nanos() > 0)
}

/// What is said to a refused client.
pub fn message(limit: &str, retry: Duration) -> String {
    format!(
        "too many {limit} from your address; retry in {} s",
        retry_secs(retry).max(1)
    )
}

async fn refuse(request: Request, limit: &'static str, retry: Duration) -> Response {
    let text = message(limit, retry);
    let is_upgrade = request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if is_upgrade {
        let (mut parts, _) = request.into_parts();
        if let Ok(ws) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            return ws.on_upgrade(move |mut socket| async move {
                let close = Message::Close(Some(CloseFrame {
                    code: CLOSE_POLICY,
                    reason: text.into(),
                }));
                let _ = socket.send(close).await;
            });
        }
    }
    let retry_after = HeaderValue::from(retry_secs(retry).max(1));
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after)],
        axum::Json(ErrorBody::new("rate_limited", text)),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address(a), address(b));
        assert_ne!(address(a), address(other));
        let v4: IpAddr = "192.0.2.7".parse().expect("ip");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(address(v4), v4);
        assert_eq!(address(mapped), v4);
    }
}
