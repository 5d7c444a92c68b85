//! The HTTP/1.1 client that POSTs signed replies to the app's webhook:
//! hyper's pooled client (kept-alive connections), a whole-exchange
//! timeout and a cap on the answer's body. Plain `http://` only; an app
//! reached over HTTPS sits behind a TLS proxy of the operator's.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest answer body read, in bytes; the rest is not read.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Why no answer came.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The URL or a header is unusable.
    #[error("invalid request to {0}: {1}")]
    Request(String, String),
    /// The connection or the exchange failed.
    #[error("cannot reach {0}: {1}")]
    Io(String, String),
    /// No whole answer within the timeout.
    #[error("no answer from {0} within {1:?}")]
    Timeout(String, Duration),
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its body, at most 16 KiB.
    pub body: Bytes,
}

/// The client.
#[derive(Clone)]
pub struct AppClient {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl AppClient {
    /// A client giving each exchange `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    /// POSTs `body` as JSON to `url` with `headers`.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, ClientError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(hyper::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Request(url.to_owned(), e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| ClientError::Io(url.to_owned(), e.to_string()))?;
            let status = response.status();
            // An answer longer than the cap is cut: only its start is a reason.
            let body = match Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            Ok(Answer { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(url.to_owned(), self.timeout))?
    }
}
