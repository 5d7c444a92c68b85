//! The one way the HTTP servers (chat, desk, SMS webhooks) serve a router:
//! an accept loop over hyper's HTTP/1 connection with a timer, so a client
//! that is slow to send its headers is closed after
//! `limits.header_read_timeout_ms` (axum's own `serve` has no timer, and
//! slow-header connections pile up), with TCP_NODELAY, WebSocket upgrades,
//! per-address limits ([`crate::limit`]) on the client's address
//! ([`crate::client`]: forwarded only by a trusted proxy), the security headers
//! ([`crate::headers`]) on every answer, and a graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;
use tracing::{debug, warn};

use omni_core::config::LimitsConfig;

use crate::client::{Client, client_address, is_trusted};
use crate::limit::{AddressLimits, OverCap, Slot};
use omni_core::config::Cidr;

/// How often the limiters forget the addresses they no longer need.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Serves `app` on an already bound `listener` until `shutdown`, as the
/// server `name` (`chat`, `desk`, `sms`) for logs and metrics; then stops
/// accepting, lets requests in flight finish, and returns when every HTTP
/// connection has closed (WebSockets are the app's to close on `shutdown`).
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    app: Router,
    limits: &LimitsConfig,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let address_limits = Arc::new(AddressLimits::new(name, limits));
    let trusted: Arc<[Cidr]> = limits.proxies().into();
    let app = app.layer(axum::middleware::from_fn_with_state(
        name,
        crate::measure::middleware,
    ));
    let app = crate::headers::apply(app.layer(axum::middleware::from_fn_with_state(
        address_limits.clone(),
        crate::limit::middleware,
    )));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    let mut refusing = builder.clone();
    refusing.keep_alive(false);
    let connections = TaskTracker::new();
    let mut forget = tokio::time::interval(FORGET_EVERY);
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = forget.tick() => {
                address_limits.forget_idle();
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before
                    // accept: wait a little rather than spin.
                    warn!(server = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // A trusted proxy carries many clients' connections: its own are
        // not capped; its clients are limited by their forwarded address.
        let (slot, over) = if is_trusted(peer.ip(), &trusted) {
            (None, false)
        } else {
            match address_limits.connect(crate::limit::address(peer.ip())) {
                Some((slot, over)) => (Some(slot), over),
                None => continue,
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            warn!(server = name, error = %e, "cannot set TCP_NODELAY");
        }
        let (app, trusted) = (app.clone(), trusted.clone());
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut request: axum::http::Request<Incoming>| {
                let client = client_address(peer.ip(), request.headers(), &trusted);
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(Client(client));
                if over {
                    request.extensions_mut().insert(OverCap);
                }
                app.clone().oneshot(request)
            },
        ));
        let io = TokioIo::new(Counted {
            stream,
            _slot: slot,
        });
        let connection = if over { &refusing } else { &builder }
            .serve_connection(io, service)
            .with_upgrades();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let done = tokio::select! {
                done = connection.as_mut() => done,
                _ = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = done {
                debug!(server = name, peer = %peer, error = %e, "http connection ended");
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

/// The peer's address, as the servers put it on every request.
pub type Peer = ConnectInfo<SocketAddr>;

/// A connection's socket holding its address's slot, so an upgraded
/// WebSocket keeps counting until it closes.
struct Counted {
    stream: TcpStream,
    _slot: Option<Slot>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
