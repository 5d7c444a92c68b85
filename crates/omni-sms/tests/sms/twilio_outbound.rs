//! Replies through a Twilio-compatible Messages API: a fake that follows
//! Twilio's documented request (form, basic auth) and responses (201 message
//! resource; 4xx/5xx error body `{code, message, more_info, status}`).

use std::time::Duration;

use omni_core::config::SmsProvider;
use omni_proto::common as pb;
use omni_proto::events as ev;
use omni_testclients::twilio::{FakeTwilio, TwilioAccount};

use crate::support::*;

/// A recipient the fake refuses with Twilio's error 21211.
const INVALID_TO: &str = "+14155550199";

async fn app_with_fake(max_segments: u32) -> (App, FakeTwilio) {
    let fake = FakeTwilio::start(&TwilioAccount {
        sid: ACCOUNT.into(),
        auth_token: TOKEN.into(),
    })
    .await
    .expect("fake Twilio API");
    fake.invalid_to(INVALID_TO);
    let mut config = config(SmsProvider::Twilio);
    config.sms.twilio.api_base = fake.api_base().to_owned();
    config.sms.max_segments = max_segments;
    (App::start(config).await, fake)
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

    let requests = fake.attempts();
    assert_eq!(requests.len(), 1);
    let form = &requests[0];
    assert_eq!(form.field("To"), Some(CUSTOMER));
    assert_eq!(form.field("From"), Some(OUR_NUMBER));
    assert_eq!(form.field("Body"), Some("Thanks, we are on it"));
    let callback = form.field("StatusCallback").unwrap_or_default();
    let prefix = format!(
        "{}/twilio/status?message_id=msg-a&conversation_id=conv-msg-a&traceparent=00-{REPLY_TRACE_ID}-",
        app.base
    );
    assert!(
        callback.starts_with(&prefix),
        "the callback carries the delivery's trace: {callback}"
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
    let (report, message): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Delivered as i32);
    assert_eq!(report.message_id, "msg-a");
    assert_eq!(report.provider_message_id, sid);
    assert_eq!(
        trace_id(&message),
        REPLY_TRACE_ID,
        "the provider's report continues the reply's trace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_from_twilio_is_a_permanent_failure_and_5xx_is_retried() {
    let (app, fake) = app_with_fake(10).await;
    let mut reports = Inbox::delivery(&app.bus).await;

    app.send_reply("msg-bad", INVALID_TO, "hello").await;
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Failed as i32);
    assert!(report.error.contains("21211"), "{}", report.error);
    assert_eq!(fake.attempts().len(), 1, "not retried");

    fake.fail_next(2);
    app.send_reply("msg-retry", CUSTOMER, "hello again").await;
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.message_id, "msg-retry");
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    assert_eq!(fake.attempts().len(), 4, "two 500s, then accepted");
    assert!(reports.is_quiet(Duration::from_millis(300)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opted_out_numbers_and_oversized_texts_are_not_sent() {
    let (app, fake) = app_with_fake(2).await;
    let mut reports = Inbox::delivery(&app.bus).await;

    let stop = incoming("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", CUSTOMER, "STOP");
    assert_eq!(app.post_sms(&stop).await.status, 200);
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
        fake.attempts().len(),
        1,
        "only the message that fits was sent"
    );
}
