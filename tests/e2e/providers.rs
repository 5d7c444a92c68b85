//! The far side of email and SMS, shared by the tests that need it: the
//! app's configuration with both adapters on, a customer's mail client
//! (Python's smtplib over real SMTP), Twilio's signed webhooks (inbound
//! texts and status callbacks), and a fake Twilio Messages API that follows
//! Twilio's documented wire format.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use base64::Engine as _;
use omni_core::config::{Config, SmsProvider};
use omni_testkit::HttpClient;
use omni_testkit::app::test_config;
use omni_testservers::smtp::SmtpSink;
use serde_json::{Value, json};

/// The support domain, also the domain of conversations' reply addresses.
pub const DOMAIN: &str = "support.example.com";
pub const TWILIO_ACCOUNT: &str = "AC00000000000000000000000000000001";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";
/// Where Twilio reaches the SMS webhooks; what the signatures are over.
pub const SMS_PUBLIC_URL: &str = "http://sms.omniroute.test";
/// The contact center's number: texts go to it and replies come from it.
pub const OUR_NUMBER: &str = "+15005550006";

/// The test configuration with the email adapter (replies through `relay`)
/// and the SMS adapter (Twilio, its API at `twilio_api`) on.
pub fn email_and_sms_config(
    data: &std::path::Path,
    relay: &SmtpSink,
    twilio_api: &str,
) -> anyhow::Result<Config> {
    let mut config = test_config(data)?;
    config.context.reply_domain = DOMAIN.into();
    config.context.default_region = Some("US".into());
    config.email.enabled = true;
    config.email.domains = vec![DOMAIN.into()];
    config.email.relay = relay.url();
    config.email.from = format!("support@{DOMAIN}");
    config.sms.enabled = true;
    config.sms.provider = SmsProvider::Twilio;
    config.sms.from = OUR_NUMBER.into();
    config.sms.public_url = SMS_PUBLIC_URL.into();
    config.sms.twilio.account_sid = TWILIO_ACCOUNT.into();
    config.sms.twilio.auth_token = TWILIO_TOKEN.into();
    config.sms.twilio.api_base = twilio_api.into();
    config.validate()?;
    Ok(config)
}

/// Sends one email with Python's smtplib, as a customer's mail client would.
pub async fn send_email(
    smtp: std::net::SocketAddr,
    from: &str,
    to: &str,
    message_id: &str,
    subject: &str,
    body: &str,
) -> anyhow::Result<()> {
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let script = r#"
import smtplib, sys
from email.message import EmailMessage
host, port, sender, to, mid, subject, body = sys.argv[1:8]
m = EmailMessage()
m["From"] = sender
m["To"] = to
m["Subject"] = subject
m["Message-ID"] = mid
m.set_content(body)
with smtplib.SMTP(host, int(port), timeout=10) as s:
    s.send_message(m)
"#;
    let out = tokio::process::Command::new(python)
        .args([
            "-c",
            script,
            &smtp.ip().to_string(),
            &smtp.port().to_string(),
            from,
            to,
            message_id,
            subject,
            body,
        ])
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "smtplib: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Twilio's side of the SMS webhooks: requests signed as Twilio signs them,
/// over the public URL.
pub struct TwilioWebhooks {
    sms: HttpClient,
}

impl TwilioWebhooks {
    /// Webhooks to the SMS adapter at `sms_url` (where it listens).
    pub fn new(sms_url: String) -> Self {
        Self {
            sms: HttpClient::new(sms_url),
        }
    }

    /// A text from `from` to our number (`POST /twilio/sms`); fails unless 200.
    pub async fn text(&self, from: &str, sid: &str, body: &str) -> anyhow::Result<()> {
        let params = [
            ("AccountSid", TWILIO_ACCOUNT),
            ("Body", body),
            ("From", from),
            ("MessageSid", sid),
            ("NumMedia", "0"),
            ("NumSegments", "1"),
            ("To", OUR_NUMBER),
        ];
        let status = self.post("/twilio/sms", &params).await?;
        anyhow::ensure!(status == 200, "text webhook answered {status}");
        Ok(())
    }

    /// The status callback Twilio makes for a message it was sent: to the
    /// message's `StatusCallback` URL as given; fails unless 204.
    pub async fn status(&self, sent: &SentSms, status: &str) -> anyhow::Result<()> {
        let callback = sent.field("StatusCallback");
        let path = callback.strip_prefix(SMS_PUBLIC_URL).ok_or_else(|| {
            anyhow::anyhow!("status callback {callback:?} is not under {SMS_PUBLIC_URL}")
        })?;
        let params = [
            ("AccountSid", TWILIO_ACCOUNT),
            ("ApiVersion", "2010-04-01"),
            ("From", sent.field("From")),
            ("MessageSid", sent.sid.as_str()),
            ("MessageStatus", status),
            ("SmsSid", sent.sid.as_str()),
            ("SmsStatus", status),
            ("To", sent.field("To")),
        ];
        let answer = self.post(path, &params).await?;
        anyhow::ensure!(answer == 204, "status callback answered {answer}");
        Ok(())
    }

    async fn post(&self, path: &str, params: &[(&str, &str)]) -> anyhow::Result<u16> {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let signature =
            omni_sms::signature::sign(TWILIO_TOKEN, &format!("{SMS_PUBLIC_URL}{path}"), &params);
        let r = self
            .sms
            .post_form(path, &params, &[("x-twilio-signature", signature)])
            .await?;
        anyhow::ensure!(
            r.status.is_success(),
            "POST {path}: {} {}",
            r.status,
            r.body
        );
        Ok(r.status.as_u16())
    }
}

/// One message the fake Twilio API accepted: its sid and the form it got.
#[derive(Debug, Clone)]
pub struct SentSms {
    pub sid: String,
    pub form: Vec<(String, String)>,
}

impl SentSms {
    /// A form field (`To`, `From`, `Body`, `StatusCallback`), or "".
    pub fn field(&self, name: &str) -> &str {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

type Sent = Arc<Mutex<Vec<SentSms>>>;

/// A Twilio-compatible Messages API on a free port: `POST
/// /2010-04-01/Accounts/{AccountSid}/Messages.json` with basic auth
/// `AccountSid:AuthToken` and a form body answers 201 with a message
/// resource; a wrong account or credentials get Twilio's 401 error 20003.
pub struct FakeTwilio {
    url: String,
    sent: Sent,
}

impl FakeTwilio {
    pub async fn start() -> anyhow::Result<Self> {
        let sent: Sent = Arc::default();
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .with_state(sent.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, sent })
    }

    /// The API base (`sms.twilio.api_base`).
    pub fn api_base(&self) -> &str {
        &self.url
    }

    /// The messages accepted so far.
    pub fn sent(&self) -> Vec<SentSms> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits up to `timeout` until `n` messages were accepted; fails with
    /// what was sent if they were not.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<SentSms>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let sent = self.sent();
            if sent.len() >= n {
                return Ok(sent);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the Twilio API was sent {} messages in {timeout:?}, not {n}: {sent:?}",
                sent.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn create_message(
    State(sent): State<Sent>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{TWILIO_ACCOUNT}:{TWILIO_TOKEN}"))
    );
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if account != TWILIO_ACCOUNT || !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "code": 20003,
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            })),
        );
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let message = {
        let mut sent = sent.lock().unwrap_or_else(|p| p.into_inner());
        let message = SentSms {
            sid: format!("SM{:032x}", sent.len() + 1),
            form,
        };
        sent.push(message.clone());
        message
    };
    let sid = &message.sid;
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "account_sid": TWILIO_ACCOUNT,
            "api_version": "2010-04-01",
            "body": message.field("Body"),
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": message.field("From"),
            "num_media": "0",
            "num_segments": "1",
            "sid": sid,
            "status": "queued",
            "to": message.field("To"),
            "uri": format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages/{sid}.json"),
        })),
    )
}
