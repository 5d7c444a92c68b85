//! A fake of Twilio's Messages API: the one third-party SaaS the tests do
//! not run for real, so it follows Twilio's documented wire format.
//!
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, with HTTP basic
//! auth (account SID and auth token) and a form body (`To`, `From`, `Body`,
//! optional `StatusCallback`), answers `201 Created` with the message
//! resource in JSON, `status` `queued`. Wrong credentials or another
//! account get `401` (error 20003), a body that is not a form `400`, and a
//! missing `To`, `From` or `Body` `400` (21604, 21603, 21602), each with
//! Twilio's error body `{code, message, more_info, status}`. A test can
//! also have it answer `500` (20500) for a while, or refuse a recipient as
//! an invalid number (`400`, 21211).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;
use tokio::task::JoinHandle;

/// A Twilio account as the tests configure the SMS adapter with it.
#[derive(Debug, Clone)]
pub struct TwilioAccount {
    /// Account SID (`AC` and 32 hex digits).
    pub sid: String,
    /// Auth token: signs webhooks, authenticates API calls.
    pub auth_token: String,
}

/// One message the fake took: the sid it answered with and the form
/// fields of the request, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message SID the API gave it (`SM` and 32 hex digits).
    pub sid: String,
    /// The form fields.
    pub form: Vec<(String, String)>,
}

impl SentMessage {
    /// The value of form field `name`, if sent.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Log {
    sent: Vec<SentMessage>,
    refused: Vec<String>,
    /// Every authenticated, well-formed request, answered 201 or not.
    attempts: Vec<SentMessage>,
    /// Requests still to answer with a 500 (error 20500).
    fail_next: usize,
    /// Recipients refused as invalid numbers (error 21211).
    invalid_to: Vec<String>,
}

#[derive(Clone)]
struct Api {
    account: TwilioAccount,
    log: Arc<Mutex<Log>>,
}

impl Api {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The fake Messages API on a free loopback port; stops on drop.
pub struct FakeTwilio {
    api_base: String,
    api: Api,
    server: JoinHandle<()>,
}

impl FakeTwilio {
    /// Serves the Messages API of `account`.
    pub async fn start(account: &TwilioAccount) -> anyhow::Result<Self> {
        let api = Api {
            account: account.clone(),
            log: Arc::default(),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api_base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            api_base,
            api,
            server,
        })
    }

    /// The base URL to configure as `sms.twilio.api_base`.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The messages taken so far.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.api.log().sent.clone()
    }

    /// Every authenticated, well-formed request so far, including those
    /// answered with an error by [`FakeTwilio::fail_next`] or
    /// [`FakeTwilio::invalid_to`] (their `sid` is empty).
    pub fn attempts(&self) -> Vec<SentMessage> {
        self.api.log().attempts.clone()
    }

    /// Answers the next `n` requests with Twilio's `500` (error 20500), as
    /// during an outage of theirs.
    pub fn fail_next(&self, n: usize) {
        self.api.log().fail_next = n;
    }

    /// Refuses messages to `number` with Twilio's `400` (error 21211, not a
    /// valid phone number).
    pub fn invalid_to(&self, number: &str) {
        self.api.log().invalid_to.push(number.to_owned());
    }

    /// Waits until `n` messages were taken; fails after `timeout`, naming
    /// the requests refused meanwhile.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<SentMessage>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let log = self.api.log();
                if log.sent.len() >= n {
                    return Ok(log.sent.clone());
                }
                anyhow::ensure!(
                    tokio::time::Instant::now() < deadline,
                    "the Twilio API took {} of {n} messages within {timeout:?}; refused: {:?}",
                    log.sent.len(),
                    log.refused
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })
        .to_string(),
    )
        .into_response()
}

async fn create_message(
    State(api): State<Api>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse = |status: StatusCode, code: u32, message: &str| {
        api.log()
            .refused
            .push(format!("{status} {code}: {message}"));
        twilio_error(status, code, message)
    };
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", api.account.sid, api.account.auth_token))
    );
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if account != api.account.sid || !authorized {
        return refuse(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return refuse(StatusCode::BAD_REQUEST, 20001, "Expected a form body");
    }
    let mut message = SentMessage {
        sid: String::new(),
        form: form_urlencoded::parse(&body).into_owned().collect(),
    };
    for (name, code, text) in [
        ("To", 21604, "A 'To' phone number is required."),
        ("From", 21603, "A 'From' phone number is required."),
        ("Body", 21602, "Message body is required."),
    ] {
        if message.field(name).is_none_or(str::is_empty) {
            return refuse(StatusCode::BAD_REQUEST, code, text);
        }
    }
    let field = |name: &str| message.field(name).unwrap_or_default().to_owned();
    let (to, from, text) = (field("To"), field("From"), field("Body"));
    {
        let mut log = api.log();
        log.attempts.push(message.clone());
        if log.fail_next > 0 {
            log.fail_next -= 1;
            drop(log);
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                20500,
                "Internal Server Error",
            );
        }
        if log.invalid_to.contains(&to) {
            drop(log);
            return refuse(
                StatusCode::BAD_REQUEST,
                21211,
                &format!("The 'To' number {to} is not a valid phone number."),
            );
        }
    }
    let sid = {
        let mut log = api.log();
        message.sid = format!("SM{:032x}", log.sent.len() + 1);
        let sid = message.sid.clone();
        log.sent.push(message);
        sid
    };
    let sid_account = &api.account.sid;
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "account_sid": sid_account,
            "api_version": "2010-04-01",
            "body": text,
            "date_created": "Tue, 24 Nov 2026 18:00:00 +0000",
            "date_sent": null,
            "date_updated": "Tue, 24 Nov 2026 18:00:00 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": from,
            "messaging_service_sid": null,
            "num_media": "0",
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": format!("/2010-04-01/Accounts/{sid_account}/Messages/{sid}/Media.json")
            },
            "to": to,
            "uri": format!("/2010-04-01/Accounts/{sid_account}/Messages/{sid}.json"),
        })
        .to_string(),
    )
        .into_response()
}

/// The status callback Twilio makes for a message it was sent: a signed
/// form to the message's `StatusCallback` URL (which must be under
/// `public_url`, the adapter's `sms.public_url`), delivered to the adapter
/// at `sms_url`; fails unless the adapter answers 204.
pub async fn status_callback(
    sms_url: &str,
    public_url: &str,
    account: &TwilioAccount,
    sent: &SentMessage,
    status: &str,
) -> anyhow::Result<()> {
    let callback = sent.field("StatusCallback").unwrap_or_default();
    let path = callback
        .strip_prefix(public_url)
        .ok_or_else(|| anyhow::anyhow!("status callback {callback:?} is not under {public_url}"))?;
    let field = |name: &str| sent.field(name).unwrap_or_default();
    let params: Vec<(String, String)> = [
        ("AccountSid", account.sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("From", field("From")),
        ("MessageSid", sent.sid.as_str()),
        ("MessageStatus", status),
        ("SmsSid", sent.sid.as_str()),
        ("SmsStatus", status),
        ("To", field("To")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signature = signature(&account.auth_token, callback, &params);
    let r = crate::HttpClient::new(sms_url)
        .post_form(path, &params, &[("x-twilio-signature", signature)])
        .await?;
    anyhow::ensure!(
        r.status == 204,
        "status callback {status} for {}: {} {}",
        sent.sid,
        r.status,
        r.body
    );
    Ok(())
}

/// The `X-Twilio-Signature` Twilio sends with a request to `url` carrying
/// form `params`, as Twilio documents it: the URL followed by every
/// parameter's name and value, sorted by name, signed with HMAC-SHA1 keyed
/// by the auth token, in base64. Written here from Twilio's documentation,
/// apart from the adapter's check, so the two can catch each other.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.as_bytes(),
    );
    base64::engine::general_purpose::STANDARD
        .encode(ring::hmac::sign(&key, data.as_bytes()).as_ref())
}
