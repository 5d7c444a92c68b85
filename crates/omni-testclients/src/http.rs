//! A small JSON-over-HTTP/1.1 client for the desk API.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A JSON client, optionally with a bearer token.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
}

/// A response: status, JSON body (or `Value::String` of the raw text if it is not JSON).
#[derive(Debug, Clone)]
pub struct JsonResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: Value,
}

impl HttpClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8081`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.into(),
            token: None,
        }
    }

    /// The same client, sending `Authorization: Bearer <token>`.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The bearer token it sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Sends a request with an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<JsonResponse> {
        self.send_raw(
            method,
            path,
            body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        )
        .await
    }

    /// Sends a request with a raw body (for malformed-input tests).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<JsonResponse> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.finish(request, body.into()).await
    }

    /// `POST path` with a form-encoded body and extra headers, as a
    /// provider's webhook would send it.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(String, String)],
        headers: &[(&str, String)],
    ) -> anyhow::Result<JsonResponse> {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{}", self.base, path))
            .header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.finish(request, body.into()).await
    }

    /// Sends `request` with `body` and reads the answer: JSON, or the text
    /// as a JSON string when it is not JSON.
    async fn finish(
        &self,
        request: hyper::http::request::Builder,
        body: Bytes,
    ) -> anyhow::Result<JsonResponse> {
        let response = self.client.request(request.body(Full::new(body))?).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(JsonResponse { status, body })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<JsonResponse> {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<JsonResponse> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> anyhow::Result<JsonResponse> {
        self.send(Method::PUT, path, Some(body)).await
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
