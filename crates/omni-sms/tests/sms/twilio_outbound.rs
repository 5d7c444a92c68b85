//! Replies through a Twilio-compatible Messages API: a fake that follows
//! Twilio's documented request (form, basic auth) and responses (201 message
//! resource; 4xx/5xx error body `{code, message, more_info, status}`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use bytes::Bytes;
use omni_core::config::SmsProvider;
use omni_proto::common as pb;
use omni_proto::events as ev;
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::*;

/// A recipient the fake refuses with Twilio's error 21211.
const INVALID_TO: &str = "+14155550199";

#[derive(Default)]
struct FakeState {
    requests: Vec<Vec<(String, String)>>,
    fail_next: usize,
}

#[derive(Clone)]
struct Fake(Arc<Mutex<FakeState>>);

impl Fake {
    async fn start() -> (Fake, String) {
        let fake = Fake(Arc::new(Mutex::new(FakeState::default())));
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create_message),
            )
            .with_state(fake.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, base)
    }

    fn requests(&self) -> Vec<Vec<(String, String)>> {
        self.0.lock().unwrap().requests.clone()
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
    State(fake): State<Fake>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"))
    );
    let authorized = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if account != ACCOUNT || !authorized {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes())
        != Some(b"application/x-www-form-urlencoded")
    {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Expected a form body");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut state = fake.0.lock().unwrap();
    state.requests.push(form.clone());
    if state.fail_next > 0 {
        state.fail_next -= 1;
        return twilio_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error",
        );
    }
    if get("To") == INVALID_TO {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {INVALID_TO} is not a valid phone number."),
        );
    }
    let sid = format!("SM{:032x}", state.requests.len());
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "account_sid": ACCOUNT,
            "api_version": "2010-04-01",
            "body": get("Body"),
            "date_created": "Tue, 24 Nov 2026 18:00:00 +0000",
            "date_sent": null,
            "date_updated": "Tue, 24 Nov 2026 18:00:00 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": get("From"),
            "messaging_service_sid": null,
            "num_media": "0",
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": { "media": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}/Media.json") },
            "to": get("To"),
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json"),
        })
        .to_string(),
    )
        .into_response()
}

async fn app_with_fake(max_segments: u32) -> (App, Fake) {
    let (fake, base) = Fake::start().await;
    let mut config = config(SmsProvider::Twilio);
    config.sms.twilio.api_base = base;
    config.sms.max_segments = max_segments;
    (App::start(config).await, fake)
}

fn field(form: &[(String, String)], name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_submitted_and_its_status_callback_reports_delivery() {
    let (app, fake) = app_with_fake(10).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    app.send_reply("msg-a", CUSTOMER, "Thanks, we are on it")
        .await;

    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    assert_eq!(report.message_id, "msg-a");
    assert_eq!(report.conversation_id, "conv-msg-a");
    assert_eq!(report.provider_message_id, format!("SM{:032x}", 1));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let form = &requests[0];
    assert_eq!(field(form, "To"), CUSTOMER);
    assert_eq!(field(form, "From"), OUR_NUMBER);
    assert_eq!(field(form, "Body"), "Thanks, we are on it");
    let callback = field(form, "StatusCallback");
    assert_eq!(
        callback,
        format!(
            "{}/twilio/status?message_id=msg-a&conversation_id=conv-msg-a",
            app.base
        )
    );

    // Twilio calls the callback URL as given, signed over it.
    let path = callback.strip_prefix(&app.base).expect("our URL");
    let sid = report.provider_message_id.clone();
    let response = app
        .post_twilio(
            path,
            &[
                ("MessageSid", &sid),
                ("MessageStatus", "delivered"),
                ("AccountSid", ACCOUNT),
            ],
            Signature::Valid,
        )
        .await;
    assert_eq!(response.status, 204);
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Delivered as i32);
    assert_eq!(report.message_id, "msg-a");
    assert_eq!(report.provider_message_id, sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_from_twilio_is_a_permanent_failure_and_5xx_is_retried() {
    let (app, fake) = app_with_fake(10).await;
    let mut reports = Inbox::delivery(&app.bus).await;

    app.send_reply("msg-bad", INVALID_TO, "hello").await;
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Failed as i32);
    assert!(report.error.contains("21211"), "{}", report.error);
    assert_eq!(fake.requests().len(), 1, "not retried");

    fake.0.lock().unwrap().fail_next = 2;
    app.send_reply("msg-retry", CUSTOMER, "hello again").await;
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.message_id, "msg-retry");
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    assert_eq!(fake.requests().len(), 4, "two 500s, then accepted");
    assert!(reports.is_quiet(Duration::from_millis(300)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opted_out_numbers_and_oversized_texts_are_not_sent() {
    let (app, fake) = app_with_fake(2).await;
    let mut reports = Inbox::delivery(&app.bus).await;

    let stop = incoming("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", CUSTOMER, "STOP");
    assert_eq!(
        app.post_twilio("/twilio/sms", &stop, Signature::Valid)
            .await
            .status,
        200
    );
    app.send_reply("msg-stopped", CUSTOMER, "are you still there?")
        .await;
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Failed as i32);
    assert_eq!(report.error, "recipient opted out");

    // 307 GSM-7 septets need 3 segments; the maximum is 2.
    app.send_reply("msg-long", "+14155552672", &"x".repeat(307))
        .await;
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Failed as i32);
    assert!(report.error.contains("3 segments"), "{}", report.error);
    assert!(report.error.contains("maximum of 2"), "{}", report.error);

    // 306 fit in 2.
    app.send_reply("msg-fits", "+14155552672", &"x".repeat(306))
        .await;
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    assert_eq!(
        fake.requests().len(),
        1,
        "only the message that fits was sent"
    );
}
