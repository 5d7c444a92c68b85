//! Against a real Kannel: smsbox's get-url into the adapter, the adapter's
//! replies through sendsms to the fake SMSC, and Kannel's DLRs back.

use std::sync::Arc;
use std::time::Duration;

use omni_bus::{Bus, EmbeddedBus};
use omni_core::config::SmsProvider;
use omni_proto::common as pb;
use omni_proto::events as ev;
use omni_testservers::kannel::{KannelServer, MoMessage};
use tokio::net::TcpListener;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_flow_both_ways_through_kannel() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("bus");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let get_url = format!(
        "http://127.0.0.1:{port}/kannel/inbound?secret={KANNEL_SECRET}&from=%p&to=%P&text=%a&id=%I&coding=%c&charset=%C"
    );
    let kannel = tokio::task::spawn_blocking(move || {
        KannelServer::start(
            &get_url,
            &[
                MoMessage {
                    from: CUSTOMER.into(),
                    to: "12345".into(),
                    text: "hello from my phone".into(),
                },
                MoMessage {
                    from: "+14155552672".into(),
                    to: "12345".into(),
                    text: "Привет".into(),
                },
            ],
        )
    })
    .await
    .expect("join")
    .expect("start kannel");

    let mut config = config(SmsProvider::Kannel);
    config.sms.kannel.sendsms_url = kannel.sendsms_url();
    let app = App::serve(listener, bus.clone(), config).await;
    let mut inbox = Inbox::inbound(&bus).await;
    let mut reports = Inbox::delivery(&bus).await;

    let mut got = Vec::new();
    for _ in 0..2 {
        let (message, _): (ev::InboundMessage, _) = inbox.next().await;
        got.push(message);
    }
    got.sort_by(|a, b| a.text.cmp(&b.text));
    let latin = &got[0];
    assert_eq!(latin.text, "hello from my phone");
    assert!(
        latin.idempotency_key.starts_with("kannel:"),
        "{}",
        latin.idempotency_key
    );
    assert_eq!(
        latin.from.clone().and_then(|i| i.kind),
        Some(pb::identity::Kind::Phone(CUSTOMER.into()))
    );
    let sms = latin.sms.clone().expect("sms details");
    assert_eq!(sms.provider, "kannel");
    assert_eq!(sms.to, "12345", "a short code stays as given");
    assert_eq!(
        format!("kannel:{}", sms.provider_message_id),
        latin.idempotency_key
    );
    assert_eq!(
        got[1].text, "Привет",
        "UCS-2 from the network arrives as UTF-8"
    );

    // A reply goes out through sendsms and reaches the network.
    app.send_reply("msg-k", CUSTOMER, "Hi! How can we help? {ref: 42}")
        .await;
    let mut statuses = Vec::new();
    while statuses.len() < 3 {
        let (report, message): (ev::DeliveryReport, _) = reports.next().await;
        assert_eq!(report.message_id, "msg-k");
        assert_eq!(report.conversation_id, "conv-msg-k");
        assert_eq!(
            trace_id(&message),
            REPLY_TRACE_ID,
            "Kannel's DLRs continue the reply's trace: {report:?}"
        );
        statuses.push(report.status);
    }
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            pb::DeliveryStatus::Queued as i32,
            pb::DeliveryStatus::Sent as i32,
            pb::DeliveryStatus::Delivered as i32,
        ],
        "submit, SMSC accepted (DLR 8), delivered (DLR 1)"
    );
    let delivered = kannel
        .wait_delivered(1, Duration::from_secs(10))
        .expect("fakesmsc output");
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].from, OUR_NUMBER);
    assert_eq!(delivered[0].to, CUSTOMER);
    assert_eq!(delivered[0].data, "Hi! How can we help? {ref: 42}");

    // Without the shared secret, Kannel's routes refuse.
    let response = app
        .get("/kannel/inbound?secret=wrong&from=%2B14155552671&to=12345&text=x&id=1")
        .await;
    assert_eq!(response.status, 403);
    assert_eq!(error_code(&response), "invalid_secret");
    let response = app.get("/kannel/dlr?message_id=msg-k&type=1").await;
    assert_eq!(response.status, 403);
    // A sender the phone library rejects is kept, unverified: Kannel does
    // not retry a refused text, so refusing it would lose it.
    let response = app
        .get(&format!(
            "/kannel/inbound?secret={KANNEL_SECRET}&from=%2B15551234567&to=12345&id=2&text=still+there%3F"
        ))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    let (message, _): (ev::InboundMessage, _) = inbox.next().await;
    assert_eq!(message.idempotency_key, "kannel:2");
    assert_eq!(
        message.from.and_then(|i| i.kind),
        Some(pb::identity::Kind::SmsSender("+15551234567".into()))
    );
    assert_eq!(message.text, "still there?");
    let response = app
        .get(&format!(
            "/kannel/dlr?secret={KANNEL_SECRET}&message_id=msg-k&type=3"
        ))
        .await;
    assert_eq!(response.status, 400);
    assert!(inbox.is_quiet(Duration::from_millis(300)).await);
    drop(kannel);
}
