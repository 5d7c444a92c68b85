//! A small HTTP/1.1 client toward providers (Twilio, Kannel, an app's
//! webhook), on the hyper and rustls (ring provider) already in the tree:
//! `https://` verified against the system's root certificates, kept-alive
//! connections reused per host (a TLS handshake per message would dominate
//! the cost of sending), a whole-exchange timeout, and a cap on the
//! response body. Through an HTTP proxy when the [`Proxy`] settings say so:
//! `https://` in a `CONNECT` tunnel, `http://` by the absolute URI.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::http::{HeaderValue, Method, StatusCode, Uri, header};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Intercept;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tower::ServiceExt;

use super::Proxy;

/// Largest response body read from a provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Kept-alive connections per host, for the next requests.
const MAX_IDLE_PER_HOST: usize = 4;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Why a request got no HTTP response. Always worth retrying later.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// The URL cannot be requested (or, naming the variable, a proxy
    /// setting cannot be used).
    #[error("invalid URL {0:?}: {1}")]
    Url(String, String),
    /// Connecting, TLS, or the exchange failed.
    #[error("request to {0} failed: {1}")]
    Io(String, String),
    /// No complete response in time.
    #[error("request to {0} timed out after {1:?}")]
    Timeout(String, Duration),
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

/// The client.
#[derive(Clone)]
pub struct HttpClient {
    tls: TlsConnector,
    user_agent: &'static str,
    timeout: Duration,
    proxy: Proxy,
    idle: Arc<Mutex<HashMap<String, Vec<Sender>>>>,
}

impl HttpClient {
    /// A client trusting the system's root certificates, naming itself
    /// `user_agent` (e.g. `omniroute-sms`), through the proxy the process's
    /// environment names ([`Proxy::from_env`]).
    pub fn new(timeout: Duration, user_agent: &'static str) -> Result<Self, HttpError> {
        Self::with_proxy(timeout, user_agent, Proxy::from_env()?)
    }

    /// As [`HttpClient::new`], through `proxy` rather than the environment's.
    pub fn with_proxy(
        timeout: Duration,
        user_agent: &'static str,
        proxy: Proxy,
    ) -> Result<Self, HttpError> {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // A certificate the store cannot use is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Io("tls".into(), e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            user_agent,
            timeout,
            proxy,
            idle: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Sends one request and reads the whole response.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(header::HeaderName, String)],
        body: Option<(&'static str, String)>,
    ) -> Result<HttpResponse, HttpError> {
        let shown = redact(url);
        let (target, request) = build_request(
            method,
            url,
            headers,
            body,
            &shown,
            self.user_agent,
            &self.proxy,
        )?;
        tokio::time::timeout(self.timeout, self.exchange(&target, request, &shown))
            .await
            .map_err(|_| HttpError::Timeout(shown.clone(), self.timeout))?
    }

    /// Sends a built request on a kept-alive or a new connection to `target`.
    async fn exchange(
        &self,
        target: &Target,
        mut request: Request<Full<Bytes>>,
        shown: &str,
    ) -> Result<HttpResponse, HttpError> {
        let Target {
            host,
            port,
            https,
            via,
        } = target;
        let key = format!("{}://{host}:{port}", if *https { "https" } else { "http" });
        // A kept-alive connection first; a request it could not even start
        // (the server closed it meanwhile) goes on a new one.
        while let Some(mut sender) = self.idle(&key) {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return self.read(&key, sender, response, shown).await,
                Err(mut e) => match e.take_message() {
                    Some(unsent) => request = unsent,
                    None => {
                        return Err(HttpError::Io(shown.to_owned(), e.into_error().to_string()));
                    }
                },
            }
        }
        let io_err = |e: &dyn std::fmt::Display| HttpError::Io(shown.to_owned(), e.to_string());
        let tcp = match via {
            None => TcpStream::connect((host.as_str(), *port)).await,
            Some(proxy) if *https => tunnel(proxy, host, *port).await,
            Some(proxy) => connect_to(proxy.uri()).await,
        }
        .map_err(|e| io_err(&e))?;
        let _ = tcp.set_nodelay(true);
        let mut sender = if *https {
            let name = ServerName::try_from(host.clone()).map_err(|e| io_err(&e))?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| io_err(&e))?;
            handshake(tls).await
        } else {
            handshake(tcp).await
        }
        .map_err(|e| io_err(&e))?;
        let response = sender.send_request(request).await.map_err(|e| io_err(&e))?;
        self.read(&key, sender, response, shown).await
    }

    /// Reads the whole body, then keeps the connection for the next request.
    async fn read(
        &self,
        key: &str,
        sender: Sender,
        response: hyper::Response<hyper::body::Incoming>,
        shown: &str,
    ) -> Result<HttpResponse, HttpError> {
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| HttpError::Io(shown.to_owned(), e.to_string()))?
            .to_bytes();
        if !sender.is_closed() {
            let mut idle = self.lock();
            let list = idle.entry(key.to_owned()).or_default();
            if list.len() < MAX_IDLE_PER_HOST {
                list.push(sender);
            }
        }
        Ok(HttpResponse { status, body })
    }

    fn idle(&self, key: &str) -> Option<Sender> {
        let mut idle = self.lock();
        let list = idle.get_mut(key)?;
        while let Some(sender) = list.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Sender>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens an HTTP/1.1 connection on `stream`; its driver runs until the
/// connection closes or its last sender is dropped.
async fn handshake<S>(stream: S) -> Result<Sender, hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "provider connection ended");
        }
    });
    Ok(sender)
}

/// The URL without its query string, which may carry credentials.
fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// Opens a TCP connection to the proxy at `proxy`.
async fn connect_to(proxy: &Uri) -> std::io::Result<TcpStream> {
    let host = proxy.host().unwrap_or_default();
    TcpStream::connect((host, proxy.port_u16().unwrap_or(80))).await
}

/// Opens a `CONNECT` tunnel to `host:port` through `proxy`, with its
/// credentials if any.
async fn tunnel(proxy: &Intercept, host: &str, port: u16) -> std::io::Result<TcpStream> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let mut tunnel = Tunnel::new(proxy.uri().clone(), connector);
    if let Some(auth) = proxy.basic_auth() {
        tunnel = tunnel.with_auth(auth.clone());
    }
    let dst = Uri::builder()
        .scheme("https")
        .authority(format!("{host}:{port}"))
        .path_and_query("/")
        .build()
        .map_err(std::io::Error::other)?;
    let io = tunnel.oneshot(dst).await.map_err(|e| {
        // The tunnel's error names the step; its source says why.
        let cause = std::error::Error::source(&e).map(|s| format!(": {s}"));
        std::io::Error::other(format!(
            "proxy {}: {e}{}",
            proxy.uri().authority().map_or("", |a| a.as_str()),
            cause.unwrap_or_default()
        ))
    })?;
    Ok(io.into_inner())
}

/// Where a request goes, and through which proxy.
struct Target {
    host: String,
    port: u16,
    https: bool,
    via: Option<Intercept>,
}

/// Parses `url` and builds the request for it; `shown` names the URL in errors.
fn build_request(
    method: Method,
    url: &str,
    headers: &[(header::HeaderName, String)],
    body: Option<(&'static str, String)>,
    shown: &str,
    user_agent: &'static str,
    proxy: &Proxy,
) -> Result<(Target, Request<Full<Bytes>>), HttpError> {
    let bad_url = |reason: String| HttpError::Url(shown.to_owned(), reason);
    let uri: Uri = url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| bad_url(e.to_string()))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad_url("scheme must be http or https".into())),
    };
    let host = uri
        .host()
        .ok_or_else(|| bad_url("no host".into()))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_else(|| host.clone());
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let via = proxy.intercept(&uri);

    // Through a proxy, plain HTTP names the whole URL (absolute form);
    // HTTPS goes in a tunnel, where the host sees the path as usual.
    let target = match &via {
        Some(_) if !https => format!("http://{authority}{path}"),
        _ => path,
    };
    let mut request = Request::builder().method(method).uri(target);
    if let Some(auth) = via.as_ref().filter(|_| !https).and_then(|v| v.basic_auth()) {
        request = request.header(header::PROXY_AUTHORIZATION, auth.clone());
    }
    for (name, value) in headers {
        let value =
            HeaderValue::from_str(value).map_err(|e| bad_url(format!("header {name}: {e}")))?;
        request = request.header(name, value);
    }
    request = request
        .header(header::HOST, authority)
        .header(header::USER_AGENT, user_agent);
    let payload = match body {
        Some((content_type, text)) => {
            request = request.header(header::CONTENT_TYPE, content_type);
            Bytes::from(text)
        }
        None => Bytes::new(),
    };
    let request = request
        .body(Full::new(payload))
        .map_err(|e| bad_url(e.to_string()))?;
    Ok((
        Target {
            host,
            port,
            https,
            via,
        },
        request,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::routing::get;
    use axum::serve::ListenerExt;

    use super::*;

    /// A server counting the connections it accepted; with `close`, it ends
    /// each connection after one response.
    async fn server(close: bool) -> (String, Arc<AtomicUsize>) {
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let app = Router::new().route(
            "/",
            get(move || async move {
                if close {
                    ([(header::CONNECTION, "close")], "bye")
                } else {
                    ([(header::CONNECTION, "keep-alive")], "hi")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let listener = listener.tap_io(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, accepted)
    }

    #[tokio::test]
    async fn connections_are_kept_alive_and_replaced_when_closed() {
        let client = HttpClient::new(Duration::from_secs(5), "omniroute-test").unwrap();
        let (base, accepted) = server(false).await;
        for _ in 0..3 {
            let response = client.send(Method::GET, &base, &[], None).await.unwrap();
            assert_eq!(
                (response.status, &response.body[..]),
                (StatusCode::OK, &b"hi"[..])
            );
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one connection for three requests"
        );

        let (base, accepted) = server(true).await;
        for _ in 0..3 {
            let response = client.send(Method::GET, &base, &[], None).await.unwrap();
            assert_eq!(&response.body[..], b"bye");
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            3,
            "a closed connection is not reused"
        );
    }

    #[tokio::test]
    async fn an_https_url_is_spoken_to_in_tls() {
        // A listener that records the first bytes it gets: a TLS client
        // opens with a handshake record (0x16) of TLS 1.x (0x03).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/replies", listener.local_addr().unwrap());
        let first = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 2];
            socket.read_exact(&mut head).await.unwrap();
            head
        });
        let client = HttpClient::new(Duration::from_secs(2), "omniroute-test").unwrap();
        let sent = client.send(Method::POST, &url, &[], None).await;
        assert!(sent.is_err(), "no TLS server answered: {sent:?}");
        assert_eq!(first.await.unwrap(), [0x16, 0x03]);
    }

    #[tokio::test]
    async fn unreachable_and_malformed_urls_are_errors() {
        let client = HttpClient::new(Duration::from_secs(5), "omniroute-test").unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = client
            .send(
                Method::GET,
                &format!("http://127.0.0.1:{port}/x?password=secret"),
                &[],
                None,
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("secret"),
            "query strings are not logged: {err}"
        );
        assert!(matches!(
            client
                .send(Method::GET, "ftp://example.com/", &[], None)
                .await,
            Err(HttpError::Url(..))
        ));
    }
}
