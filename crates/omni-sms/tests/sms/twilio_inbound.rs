//! Twilio's incoming-message webhook and status callbacks.

use std::sync::Arc;
use std::time::Duration;

use omni_bus::{Bus, TRACEPARENT};
use omni_bus_nats::NatsBus;
use omni_core::config::SmsProvider;
use omni_proto::common as pb;
use omni_proto::events as ev;
use omni_testservers::nats::NatsServer;
use tokio::net::TcpListener;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_message_is_published_and_answered_with_empty_twiml() {
    let app = App::start(config(SmsProvider::Twilio)).await;
    let mut inbox = Inbox::inbound(&app.bus).await;
    let response = app
        .post_twilio(
            "/twilio/sms",
            &incoming(
                "SM11111111111111111111111111111111",
                "(415) 555-2671",
                "Hello, I need help",
            ),
            Signature::Valid,
        )
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert!(String::from_utf8_lossy(&response.body).contains("<Response/>"));

    let (message, raw): (ev::InboundMessage, _) = inbox.next().await;
    assert_eq!(
        message.idempotency_key,
        "twilio:SM11111111111111111111111111111111"
    );
    assert_eq!(message.channel, pb::Channel::Sms as i32);
    assert_eq!(
        message.from.and_then(|i| i.kind),
        Some(pb::identity::Kind::Phone(CUSTOMER.into())),
        "national format resolved in the default region"
    );
    assert_eq!(message.text, "Hello, I need help");
    let sms = message.sms.expect("sms details");
    assert_eq!(sms.provider, "twilio");
    assert_eq!(
        sms.provider_message_id,
        "SM11111111111111111111111111111111"
    );
    assert_eq!(sms.to, OUR_NUMBER);
    assert_eq!(sms.segments, 1);
    assert_eq!(sms.opt, ev::OptChange::Unspecified as i32);
    assert!(raw.headers.contains_key(TRACEPARENT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unsigned_and_foreign_requests_are_refused_with_403() {
    let app = App::start(config(SmsProvider::Twilio)).await;
    let mut inbox = Inbox::inbound(&app.bus).await;
    let params = incoming("SM22222222222222222222222222222222", CUSTOMER, "hi");

    let forged = app
        .post_twilio("/twilio/sms", &params, Signature::Forged)
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(error_code(&forged), "invalid_signature");

    let unsigned = app
        .post_twilio("/twilio/sms", &params, Signature::None)
        .await;
    assert_eq!(unsigned.status, 403);
    assert_eq!(error_code(&unsigned), "missing_signature");

    // The query string is signed with the rest: a signed request to a URL
    // with one is accepted.
    let elsewhere = app
        .post_twilio("/twilio/sms?extra=1", &params, Signature::Valid)
        .await;
    assert_eq!(elsewhere.status, 200, "{:?}", elsewhere.body);
    let (_, _): (ev::InboundMessage, _) = inbox.next().await;

    let mut foreign = params.clone();
    for p in foreign.iter_mut() {
        if p.0 == "AccountSid" {
            p.1 = "ACffffffffffffffffffffffffffffffff";
        }
    }
    let wrong_account = app.post_sms(&foreign).await;
    assert_eq!(wrong_account.status, 403);
    assert_eq!(error_code(&wrong_account), "wrong_account");
    assert!(
        inbox.is_quiet(Duration::from_millis(300)).await,
        "nothing refused was published"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_the_phone_library_rejects_is_kept_unverified_not_refused() {
    let app = App::start(config(SmsProvider::Twilio)).await;
    let mut inbox = Inbox::inbound(&app.bus).await;
    // A fictional-range number, a short code and an alphanumeric sender:
    // real gateways deliver all three.
    for (sid, sender) in [
        ("SM41111111111111111111111111111111", "+15551234567"),
        ("SM42222222222222222222222222222222", "72345"),
        ("SM43333333333333333333333333333333", "MyShop"),
    ] {
        let response = app
            .post_twilio(
                "/twilio/sms",
                &incoming(sid, sender, "is my order ready?"),
                Signature::Valid,
            )
            .await;
        assert_eq!(response.status, 200, "{sender}: {:?}", response.body);
        let (message, _): (ev::InboundMessage, _) = inbox.next().await;
        assert_eq!(message.idempotency_key, format!("twilio:{sid}"));
        assert_eq!(
            message.from.and_then(|i| i.kind),
            Some(pb::identity::Kind::SmsSender(sender.into())),
            "stored as given, unverified"
        );
        assert_eq!(message.text, "is my order ready?");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_400() {
    let app = App::start(config(SmsProvider::Twilio)).await;
    let mut inbox = Inbox::inbound(&app.bus).await;

    let mut no_sid = incoming("SM3", CUSTOMER, "hi");
    no_sid.retain(|(k, _)| *k != "MessageSid");
    let response = app.post_sms(&no_sid).await;
    assert_eq!(response.status, 400);
    assert_eq!(error_code(&response), "missing_parameter");

    let bad_segments: Vec<_> = incoming("SM5", CUSTOMER, "hi")
        .into_iter()
        .map(|(k, v)| {
            if k == "NumSegments" {
                (k, "many")
            } else {
                (k, v)
            }
        })
        .collect();
    let response = app.post_sms(&bad_segments).await;
    assert_eq!(response.status, 400);

    // Not a form at all.
    let url = format!("{}/twilio/sms", app.base);
    let response = app
        .http
        .send(
            hyper::http::Method::POST,
            &url,
            &[],
            Some(("application/json", "{\"Body\":\"hi\"}".into())),
        )
        .await
        .expect("request");
    assert_eq!(response.status, 400);
    assert_eq!(error_code(&response), "malformed_body");
    assert!(inbox.is_quiet(Duration::from_millis(300)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_message_sid_is_published_once_and_stop_is_an_opt_out() {
    let app = App::start(config(SmsProvider::Twilio)).await;
    let mut inbox = Inbox::inbound(&app.bus).await;
    let params = incoming("SM66666666666666666666666666666666", CUSTOMER, " stop ");
    for _ in 0..3 {
        let response = app.post_sms(&params).await;
        assert_eq!(response.status, 200, "every retry is answered 2xx");
    }
    let (message, _): (ev::InboundMessage, _) = inbox.next().await;
    assert_eq!(message.sms.expect("sms").opt, ev::OptChange::Out as i32);
    assert!(
        inbox.is_quiet(Duration::from_millis(500)).await,
        "published once"
    );
    assert!(app.adapter.is_opted_out(CUSTOMER));

    let start = incoming("SM77777777777777777777777777777777", CUSTOMER, "START");
    assert_eq!(app.post_sms(&start).await.status, 200);
    let (message, _): (ev::InboundMessage, _) = inbox.next().await;
    assert_eq!(message.sms.expect("sms").opt, ev::OptChange::In as i32);
    assert!(!app.adapter.is_opted_out(CUSTOMER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_callbacks_become_delivery_reports() {
    let app = App::start(config(SmsProvider::Twilio)).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    let path = "/twilio/status?message_id=msg-1&conversation_id=conv-1";
    let delivered = [
        ("MessageSid", "SM88888888888888888888888888888888"),
        ("MessageStatus", "delivered"),
        ("AccountSid", ACCOUNT),
        ("To", CUSTOMER),
        ("From", OUR_NUMBER),
        ("ApiVersion", "2010-04-01"),
    ];
    let response = app.post_twilio(path, &delivered, Signature::Valid).await;
    assert_eq!(response.status, 204);
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.message_id, "msg-1");
    assert_eq!(report.conversation_id, "conv-1");
    assert_eq!(report.status, pb::DeliveryStatus::Delivered as i32);
    assert_eq!(
        report.provider_message_id,
        "SM88888888888888888888888888888888"
    );
    assert_eq!(report.channel, pb::Channel::Sms as i32);

    let undelivered = [
        ("MessageSid", "SM99999999999999999999999999999999"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("AccountSid", ACCOUNT),
    ];
    let path = "/twilio/status?message_id=msg-2&conversation_id=conv-2";
    assert_eq!(
        app.post_twilio(path, &undelivered, Signature::Valid)
            .await
            .status,
        204
    );
    let (report, _): (ev::DeliveryReport, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Failed as i32);
    assert!(report.error.contains("30003"), "{}", report.error);

    // The signature covers the query string: a changed message id is forged.
    let signed_for = format!("{}/twilio/status?message_id=msg-1", app.base);
    let owned: Vec<(String, String)> = delivered
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = omni_sms::signature::sign(TOKEN, &signed_for, &owned);
    let response = app
        .http
        .send(
            hyper::http::Method::POST,
            &format!("{}/twilio/status?message_id=msg-X", app.base),
            &[(
                hyper::http::header::HeaderName::from_static("x-twilio-signature"),
                signature,
            )],
            Some(("application/x-www-form-urlencoded", form(&delivered))),
        )
        .await
        .expect("request");
    assert_eq!(response.status, 403);
    assert!(reports.is_quiet(Duration::from_millis(300)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_down_is_503_and_the_providers_retry_is_accepted_once() {
    let mut nats = NatsServer::start().expect("start nats-server");
    let bus: Arc<dyn Bus> = NatsBus::connect(&nats.url()).await.expect("connect");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let app = App::serve(listener, bus.clone(), config(SmsProvider::Twilio)).await;
    let params = incoming(
        "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        CUSTOMER,
        "are you there?",
    );

    nats.stop().expect("stop nats-server");
    let response = app.post_sms(&params).await;
    assert_eq!(
        response.status,
        503,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(error_code(&response), "unavailable");

    nats.restart().expect("restart nats-server");
    // Twilio retries; the client reconnects in the background meanwhile.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let response = app.post_sms(&params).await;
        if response.status == 200 {
            break;
        }
        assert_eq!(response.status, 503);
        assert!(
            tokio::time::Instant::now() < deadline,
            "never accepted after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // One more retry after success is a duplicate.
    assert_eq!(app.post_sms(&params).await.status, 200);
    let mut inbox = Inbox::inbound(&bus).await;
    let (message, _): (ev::InboundMessage, _) = inbox.next().await;
    assert_eq!(message.text, "are you there?");
    assert!(
        inbox.is_quiet(Duration::from_millis(500)).await,
        "accepted once"
    );
}
