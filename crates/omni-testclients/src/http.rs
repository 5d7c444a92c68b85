//! A small JSON-over-HTTP/1.1 client for the desk API.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A JSON client, optionally signed in to the desk (its session cookie and
/// CSRF token, as the desk page sends them).
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    session: Option<DeskSession>,
    headers: Vec<(String, String)>,
}

/// A desk session: the cookie's token and the CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskSession {
    /// The `omni_session` cookie's value.
    pub token: String,
    /// The CSRF token (`X-CSRF-Token`).
    pub csrf: String,
}

impl DeskSession {
    /// The session a sign-in answer set: the cookie from `Set-Cookie`, the
    /// CSRF token from the body.
    pub fn from_sign_in(r: &JsonResponse) -> Option<Self> {
        let token = r
            .headers
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("omni_session="))
            .and_then(|v| v.split(';').next())
            .filter(|v| !v.is_empty())?
            .to_owned();
        let csrf = r.body["csrf_token"].as_str()?.to_owned();
        Some(Self { token, csrf })
    }

    /// The `Cookie` header value.
    pub fn cookie(&self) -> String {
        format!("omni_session={}", self.token)
    }
}

/// A response: status, headers, JSON body (or `Value::String` of the raw
/// text if it is not JSON).
#[derive(Debug, Clone)]
pub struct JsonResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: hyper::HeaderMap,
    /// Body.
    pub body: Value,
}

impl HttpClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8081`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.into(),
            session: None,
            headers: Vec::new(),
        }
    }

    /// The same client, signed in: it sends the session cookie and the
    /// CSRF token with every request.
    pub fn with_session(&self, session: DeskSession) -> Self {
        Self {
            session: Some(session),
            ..self.clone()
        }
    }

    /// The same client, sending one more header with every request.
    pub fn with_header(&self, name: &str, value: &str) -> Self {
        let mut headers = self.headers.clone();
        headers.push((name.to_owned(), value.to_owned()));
        Self {
            headers,
            ..self.clone()
        }
    }

    /// The session this client sends, if any.
    pub fn session(&self) -> Option<&DeskSession> {
        self.session.as_ref()
    }

    /// `POST /api/session` with `user` and `password`; on 200 also the
    /// client signed in with the session it set.
    pub async fn sign_in(
        &self,
        user: &str,
        password: &str,
    ) -> anyhow::Result<(JsonResponse, Option<HttpClient>)> {
        let r = self
            .post(
                "/api/session",
                &serde_json::json!({ "user": user, "password": password }),
            )
            .await?;
        let signed = match (r.status.is_success(), DeskSession::from_sign_in(&r)) {
            (true, Some(session)) => Some(self.with_session(session)),
            _ => None,
        };
        Ok((r, signed))
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
        if let Some(session) = &self.session {
            request = request
                .header("cookie", session.cookie())
                .header("x-csrf-token", &session.csrf);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
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
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await?.to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(JsonResponse {
            status,
            headers,
            body,
        })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<JsonResponse> {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<JsonResponse> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> anyhow::Result<JsonResponse> {
        self.send(Method::DELETE, path, None).await
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
