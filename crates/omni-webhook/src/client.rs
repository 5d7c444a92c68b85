//! The client that POSTs signed replies to the app's webhook: the adapters'
//! shared client ([`omni_adapter::http::HttpClient`]: `https://` verified
//! against the system's root certificates, kept-alive connections, a
//! whole-exchange timeout), with the answer's body cut to 16 KiB.

use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use hyper::http::{HeaderName, Method};
use omni_adapter::http::{HttpClient, HttpError};

/// Largest answer body kept, in bytes; only its start is a reason.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Why no answer came.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The URL or a header is unusable.
    #[error("invalid request to {0}: {1}")]
    Request(String, String),
    /// The connection, its TLS, or the exchange failed.
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
    /// The client, or why TLS could not be set up (every POST then fails
    /// with that reason).
    http: Result<HttpClient, String>,
}

impl AppClient {
    /// A client giving each exchange `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            http: HttpClient::new(timeout, "omniroute-webhook").map_err(|e| e.to_string()),
        }
    }

    /// POSTs `body` as JSON to `url`, signed with `key` now
    /// ([`crate::signature::headers`]), with `extra` headers too.
    pub async fn post_signed(
        &self,
        url: &str,
        key: &[u8],
        body: Vec<u8>,
        extra: &[(&str, String)],
    ) -> Result<Answer, ClientError> {
        let now = omni_core::time::now_ms() / 1000;
        let mut headers = crate::signature::headers(key, now, &body).to_vec();
        headers.extend(extra.iter().cloned());
        self.post_json(url, &headers, body).await
    }

    /// POSTs `body` as JSON to `url` with `headers`.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, ClientError> {
        let http = self
            .http
            .as_ref()
            .map_err(|e| ClientError::Request(url.to_owned(), e.clone()))?;
        let headers = headers
            .iter()
            .map(|(name, value)| {
                HeaderName::from_bytes(name.as_bytes())
                    .map(|name| (name, value.clone()))
                    .map_err(|e| ClientError::Request(url.to_owned(), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let body = String::from_utf8(body)
            .map_err(|e| ClientError::Request(url.to_owned(), e.to_string()))?;
        let response = http
            .send(
                Method::POST,
                url,
                &headers,
                Some(("application/json", body)),
            )
            .await
            .map_err(|e| match e {
                HttpError::Url(url, reason) => ClientError::Request(url, reason),
                HttpError::Io(url, reason) => ClientError::Io(url, reason),
                HttpError::Timeout(url, after) => ClientError::Timeout(url, after),
            })?;
        let mut body = response.body;
        body.truncate(MAX_ANSWER_BYTES);
        Ok(Answer {
            status: response.status,
            body,
        })
    }
}
