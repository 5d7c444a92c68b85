//! A small HTTP/1.1 client for the providers' APIs, on the hyper and rustls
//! (ring provider) already in the tree: one connection per request, a
//! whole-exchange timeout, and a cap on the response body.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::http::{HeaderValue, Method, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// Largest response body read from a provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a request got no HTTP response. Always worth retrying later.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL cannot be requested.
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
    timeout: Duration,
}

impl HttpClient {
    /// A client trusting the system's root certificates.
    pub fn new(timeout: Duration) -> Result<Self, HttpError> {
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
            timeout,
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
        tokio::time::timeout(self.timeout, self.exchange(method, url, headers, body))
            .await
            .map_err(|_| HttpError::Timeout(shown.clone(), self.timeout))?
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(header::HeaderName, String)],
        body: Option<(&'static str, String)>,
    ) -> Result<HttpResponse, HttpError> {
        let shown = redact(url);
        let uri: Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| {
            HttpError::Url(shown.clone(), e.to_string())
        })?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(HttpError::Url(shown, "scheme must be http or https".into())),
        };
        let host = uri
            .host()
            .ok_or_else(|| HttpError::Url(shown.clone(), "no host".into()))?
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

        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            let value = HeaderValue::from_str(value)
                .map_err(|e| HttpError::Url(shown.clone(), format!("header {name}: {e}")))?;
            request = request.header(name, value);
        }
        request = request
            .header(header::HOST, authority)
            .header(header::USER_AGENT, "omniroute-sms");
        let payload = match body {
            Some((content_type, text)) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                Bytes::from(text)
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| HttpError::Url(shown.clone(), e.to_string()))?;

        let io_err = |e: &dyn std::fmt::Display| HttpError::Io(shown.clone(), e.to_string());
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| io_err(&e))?;
        let _ = tcp.set_nodelay(true);
        if https {
            let name = ServerName::try_from(host.clone()).map_err(|e| io_err(&e))?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| io_err(&e))?;
            exchange_on(tls, request, &shown).await
        } else {
            exchange_on(tcp, request, &shown).await
        }
    }
}

async fn exchange_on<S>(
    stream: S,
    request: Request<Full<Bytes>>,
    shown: &str,
) -> Result<HttpResponse, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io_err = |e: &dyn std::fmt::Display| HttpError::Io(shown.to_owned(), e.to_string());
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| io_err(&e))?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| io_err(&e));
    let result = match response {
        Ok(response) => {
            let status = response.status();
            Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map(|b| HttpResponse {
                    status,
                    body: b.to_bytes(),
                })
                .map_err(|e| io_err(&e))
        }
        Err(e) => Err(e),
    };
    driver.abort();
    result
}

/// The URL without its query string, which may carry credentials.
fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}
