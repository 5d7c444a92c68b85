//! The app's messages and statuses: signed, fresh, within size, JSON; 202
//! only once durable; the same message id twice is one message.

use std::time::Duration;

use omni_core::DeliveryStatus;
use omni_proto::common as pb;
use omni_proto::events as ev;

use crate::support::*;

#[tokio::test]
async fn a_signed_message_is_accepted_once_durable_with_the_customers_identity() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut inbox = Inbox::inbound(&app.bus).await;

    let answer = app
        .customer_writes("m-1", "  user-42 ", "hello from the app")
        .await;
    assert_eq!(answer.status.as_u16(), 202, "{:?}", answer.body);

    let (got, msg) = inbox.next::<ev::InboundMessage>().await;
    assert_eq!(msg.subject, "omni.inbound.app");
    assert_eq!(got.channel_name, "app");
    assert_eq!(got.idempotency_key, "webhook:app:m-1");
    assert_eq!(got.text, "hello from the app");
    assert_eq!(got.display_name, "Ada");
    assert_eq!(
        got.from.and_then(|i| i.kind),
        Some(pb::identity::Kind::Declared(pb::DeclaredIdentity {
            kind: "app".into(),
            value: "user-42".into(),
        })),
        "opaque normalization trims the id"
    );
}

#[tokio::test]
async fn the_same_message_id_posted_twice_is_one_message() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut inbox = Inbox::inbound(&app.bus).await;

    let first = app.customer_writes("m-2", CUSTOMER, "once").await;
    let again = app.customer_writes("m-2", CUSTOMER, "once").await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (202, 202));
    assert!(String::from_utf8_lossy(&again.body).contains(r#""duplicate":true"#));
    let (got, _) = inbox.next::<ev::InboundMessage>().await;
    assert_eq!(got.idempotency_key, "webhook:app:m-2");
    assert!(
        inbox.is_quiet(Duration::from_millis(300)).await,
        "stored twice"
    );
}

#[tokio::test]
async fn the_previous_key_verifies_during_a_rotation() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut inbox = Inbox::inbound(&app.bus).await;
    let body = message("m-3", CUSTOMER, "signed with the old key");
    let answer = app
        .post_signed("/webhook/v1/messages", &body, PREVIOUS_KEY, now_secs())
        .await;
    assert_eq!(answer.status.as_u16(), 202);
    let (got, _) = inbox.next::<ev::InboundMessage>().await;
    assert_eq!(got.text, "signed with the old key");
}

#[tokio::test]
async fn bad_requests_get_precise_json_errors_and_store_nothing() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut inbox = Inbox::inbound(&app.bus).await;
    let good = message("m-4", CUSTOMER, "hi");
    // An hour off either way: far outside the tolerance however long the
    // requests below take on a loaded machine (the boundary is unit-tested
    // in omni_adapter::http::signature).
    let now = now_secs();

    let forged = app
        .post_signed(
            "/webhook/v1/messages",
            &good,
            "some-other-key-entirely",
            now,
        )
        .await;
    assert_eq!(
        (forged.status.as_u16(), error_code(&forged).as_str()),
        (401, "invalid_signature")
    );

    let tampered_body = message("m-4", CUSTOMER, "hi!");
    let ts = now.to_string();
    let signature = omni_webhook::signature::sign(KEY.as_bytes(), &ts, good.as_bytes());
    let tampered = app
        .post(
            "/webhook/v1/messages",
            &tampered_body,
            &[
                (omni_webhook::signature::TIMESTAMP, ts.clone()),
                (omni_webhook::signature::SIGNATURE, signature),
            ],
        )
        .await;
    assert_eq!(
        (tampered.status.as_u16(), error_code(&tampered).as_str()),
        (401, "invalid_signature")
    );

    let unsigned = app.post("/webhook/v1/messages", &good, &[]).await;
    assert_eq!(
        (unsigned.status.as_u16(), error_code(&unsigned).as_str()),
        (401, "missing_signature")
    );

    let stale = app
        .post_signed("/webhook/v1/messages", &good, KEY, now - 3600)
        .await;
    assert_eq!(
        (stale.status.as_u16(), error_code(&stale).as_str()),
        (401, "stale_timestamp")
    );
    let future = app
        .post_signed("/webhook/v1/messages", &good, KEY, now + 3600)
        .await;
    assert_eq!(
        (future.status.as_u16(), error_code(&future).as_str()),
        (401, "stale_timestamp")
    );

    let huge = message("m-5", CUSTOMER, &"x".repeat(5000));
    let oversize = app
        .post_signed("/webhook/v1/messages", &huge, KEY, now)
        .await;
    assert_eq!(
        (oversize.status.as_u16(), error_code(&oversize).as_str()),
        (413, "too_large")
    );

    let long = message("m-6", CUSTOMER, &"y".repeat(201));
    let too_long = app
        .post_signed("/webhook/v1/messages", &long, KEY, now)
        .await;
    assert_eq!(
        (too_long.status.as_u16(), error_code(&too_long).as_str()),
        (413, "too_large")
    );
    assert!(String::from_utf8_lossy(&too_long.body).contains("maximum of 200"));

    let not_json = app
        .post_signed("/webhook/v1/messages", "{not json", KEY, now)
        .await;
    assert_eq!(
        (not_json.status.as_u16(), error_code(&not_json).as_str()),
        (400, "invalid_json")
    );
    let unknown_field = app
        .post_signed(
            "/webhook/v1/messages",
            r#"{"message_id":"m","customer_id":"c","text":"t","extra":1}"#,
            KEY,
            now,
        )
        .await;
    assert_eq!(error_code(&unknown_field), "invalid_json");

    let blank_customer = app
        .post_signed(
            "/webhook/v1/messages",
            &message("m-7", "   ", "hi"),
            KEY,
            now,
        )
        .await;
    assert_eq!(
        (
            blank_customer.status.as_u16(),
            error_code(&blank_customer).as_str()
        ),
        (400, "invalid_customer_id")
    );

    assert!(
        inbox.is_quiet(Duration::from_millis(300)).await,
        "a refused request was stored"
    );
}

#[tokio::test]
async fn the_apps_delivery_status_becomes_a_delivery_report() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    let body = serde_json::json!({
        "message_id": "r-1",
        "conversation_id": "conv-r-1",
        "status": "delivered",
        "app_message_id": "app-9",
    })
    .to_string();
    let answer = app
        .post_signed("/webhook/v1/status", &body, KEY, now_secs())
        .await;
    assert_eq!(answer.status.as_u16(), 202);
    let (report, msg) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(msg.subject, "omni.delivery.app");
    assert_eq!(
        (
            report.message_id.as_str(),
            report.provider_message_id.as_str()
        ),
        ("r-1", "app-9")
    );
    assert_eq!(
        report.status,
        pb::DeliveryStatus::from(DeliveryStatus::Delivered) as i32
    );

    let forged = app
        .post_signed(
            "/webhook/v1/status",
            &body,
            "not-the-app-key-at-all",
            now_secs(),
        )
        .await;
    assert_eq!(
        (forged.status.as_u16(), error_code(&forged).as_str()),
        (401, "invalid_signature")
    );
    let unknown = body.replace("delivered", "teleported");
    let bad = app
        .post_signed("/webhook/v1/status", &unknown, KEY, now_secs())
        .await;
    assert_eq!(
        (bad.status.as_u16(), error_code(&bad).as_str()),
        (400, "invalid_status")
    );
    assert!(reports.is_quiet(Duration::from_millis(300)).await);
}
