//! A JSON WebSocket client with receive timeouts, for the chat page
//! protocol and the desk's events.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a receive waits by default.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected JSON WebSocket.
pub struct JsonSocket {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Why a socket stopped: the close code and reason the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// Close code (1000, 1009, ...); 1005 when none was given.
    pub code: u16,
    /// Reason text.
    pub reason: String,
}

impl JsonSocket {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        // disable_nagle: small frames go out at once, as in a browser.
        let (inner, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        Ok(Self { inner })
    }

    /// Connects to `url` sending `headers` with the handshake (the desk's
    /// session cookie and `Origin`, as a browser would).
    pub async fn connect_with(url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Self> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let mut request = url
            .into_client_request()
            .with_context(|| format!("invalid WebSocket URL {url}"))?;
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())?,
                value.parse()?,
            );
        }
        let (inner, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        Ok(Self { inner })
    }

    /// Sends a JSON text frame.
    pub async fn send(&mut self, value: &Value) -> anyhow::Result<()> {
        self.inner
            .send(Message::Text(value.to_string().into()))
            .await?;
        Ok(())
    }

    /// Sends a raw frame (for malformed-input tests).
    pub async fn send_raw(&mut self, message: Message) -> anyhow::Result<()> {
        self.inner.send(message).await?;
        Ok(())
    }

    /// The next JSON text frame, or an error on timeout, close or a non-JSON frame.
    pub async fn recv(&mut self) -> anyhow::Result<Value> {
        match self.next_frame(RECV_TIMEOUT).await? {
            Ok(value) => Ok(value),
            Err(closed) => bail!("socket closed: {} {}", closed.code, closed.reason),
        }
    }

    /// The next frame whose `type` is `kind`, skipping others.
    pub async fn recv_type(&mut self, kind: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await? {
                Ok(v) if v["type"] == kind => return Ok(v),
                Ok(_) => {}
                Err(closed) => bail!(
                    "socket closed waiting for {kind}: {} {}",
                    closed.code,
                    closed.reason
                ),
            }
        }
    }

    /// The next frame matching `pred`, skipping others.
    pub async fn recv_until(
        &mut self,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await? {
                Ok(v) if pred(&v) => return Ok(v),
                Ok(_) => {}
                Err(closed) => bail!(
                    "socket closed waiting for {what}: {} {}",
                    closed.code,
                    closed.reason
                ),
            }
        }
    }

    /// Waits for the server to close; returns its close frame.
    pub async fn closed(&mut self) -> anyhow::Result<Closed> {
        loop {
            match self.next_frame(RECV_TIMEOUT).await? {
                Ok(_) => {}
                Err(closed) => return Ok(closed),
            }
        }
    }

    async fn next_frame(&mut self, wait: Duration) -> anyhow::Result<Result<Value, Closed>> {
        loop {
            let next = tokio::time::timeout(wait, self.inner.next())
                .await
                .context("timed out waiting for a websocket frame")?;
            match next {
                None => {
                    return Ok(Err(Closed {
                        code: 1006,
                        reason: "connection dropped".into(),
                    }));
                }
                Some(Err(e)) => {
                    return Ok(Err(Closed {
                        code: 1006,
                        reason: e.to_string(),
                    }));
                }
                Some(Ok(Message::Text(text))) => {
                    return Ok(Ok(
                        serde_json::from_str(text.as_str()).context("non-JSON text frame")?
                    ));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Ok(Err(frame
                        .map(|f| Closed {
                            code: f.code.into(),
                            reason: f.reason.to_string(),
                        })
                        .unwrap_or(Closed {
                            code: 1005,
                            reason: String::new(),
                        })));
                }
                Some(Ok(_)) => {}
            }
        }
    }
}
