//! Agents' replies to the app's webhook: signed, retried on 5xx, failed
//! with the app's reason on 4xx, dead-lettered after the last retry.

use std::time::Duration;

use omni_core::DeliveryStatus;
use omni_proto::adapter as adapter_pb;
use omni_proto::common as pb;
use omni_proto::events as ev;

use crate::support::*;

fn status(s: DeliveryStatus) -> i32 {
    pb::DeliveryStatus::from(s) as i32
}

#[tokio::test]
async fn a_reply_is_posted_signed_and_reported_sent() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    app.send_reply("out-1", CUSTOMER, "an agent's answer").await;

    let (report, _) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(report.message_id, "out-1");
    assert_eq!(report.status, status(DeliveryStatus::Sent), "{report:?}");
    assert_eq!(report.provider_message_id, "app-1");
    let received = peer.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].signed,
        "the reply is signed with the current key"
    );
    assert_eq!(received[0].reply.customer_id, CUSTOMER);
    assert_eq!(received[0].reply.conversation_id, "conv-out-1");
    assert_eq!(received[0].reply.text, "an agent's answer");
}

#[tokio::test]
async fn a_5xx_is_retried_until_the_app_takes_it() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    peer.answer(&[(503, "busy"), (500, "")]);
    app.send_reply("out-2", CUSTOMER, "try again").await;

    let (report, _) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(report.status, status(DeliveryStatus::Sent), "{report:?}");
    let attempts: Vec<u32> = peer.received().iter().map(|r| r.reply.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
}

#[tokio::test]
async fn a_4xx_is_a_failed_delivery_with_the_apps_reason_and_no_retry() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    let mut dead = Inbox::of(&app.bus, &DEAD_LETTERS).await;
    peer.answer(&[(
        422,
        r#"{"error":"user_blocked","message":"user blocked the support bot"}"#,
    )]);
    app.send_reply("out-3", CUSTOMER, "hello?").await;

    let (report, _) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(report.status, status(DeliveryStatus::Failed));
    assert!(report.error.contains("user_blocked"), "{}", report.error);
    assert!(
        report.error.contains("user blocked the support bot"),
        "{}",
        report.error
    );
    assert_eq!(peer.received().len(), 1, "a refusal is not retried");
    assert!(
        dead.is_quiet(Duration::from_millis(300)).await,
        "a refusal is no dead letter"
    );
}

#[tokio::test]
async fn after_the_last_retry_a_dead_letter_is_kept_and_the_reply_fails() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    let mut dead = Inbox::of(&app.bus, &DEAD_LETTERS).await;
    peer.answer(&[(502, "down"), (503, "down"), (500, "still down")]);
    app.send_reply("out-4", CUSTOMER, "are you there").await;

    let (report, _) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(report.status, status(DeliveryStatus::Failed));
    assert!(
        report.error.contains("gave up after 3 attempts"),
        "{}",
        report.error
    );
    let (letter, msg) = dead.next::<adapter_pb::DeadLetter>().await;
    assert_eq!(msg.subject, "omni.deadletter.app");
    assert_eq!(letter.message_id, "out-4");
    assert_eq!(letter.conversation_id, "conv-out-4");
    assert_eq!(letter.attempts, 3);
    assert_eq!(letter.text, "are you there");
    assert_eq!(letter.destination, peer.url);
    assert!(letter.reason.contains("500"), "{}", letter.reason);
    assert_eq!(peer.received().len(), 3);
}

#[tokio::test]
async fn an_app_that_cannot_be_reached_is_retried_then_dead_lettered() {
    // A port nobody listens on: bind, note it, close it.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/replies", closed.local_addr().expect("addr"));
    drop(closed);
    let dir = tempfile::tempdir().expect("dir");
    let bus: std::sync::Arc<dyn omni_bus::Bus> =
        omni_bus::EmbeddedBus::open(&dir.path().join("bus")).expect("bus");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = App::serve(listener, bus, config(&url)).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    let mut dead = Inbox::of(&app.bus, &DEAD_LETTERS).await;
    app.send_reply("out-5", CUSTOMER, "anyone?").await;
    let (report, _) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(report.status, status(DeliveryStatus::Failed));
    let (letter, _) = dead.next::<adapter_pb::DeadLetter>().await;
    assert_eq!(letter.message_id, "out-5");
    assert!(letter.reason.contains("cannot reach"), "{}", letter.reason);
}

#[tokio::test]
async fn the_declared_limit_counts_characters_not_bytes() {
    let peer = Peer::start().await;
    let app = App::start(&peer).await;
    let mut reports = Inbox::delivery(&app.bus).await;
    // 200 characters, 400 bytes: at the channel's max_text_chars of 200.
    app.send_reply("out-6", CUSTOMER, &"é".repeat(200)).await;
    let (report, _) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(
        (report.message_id.as_str(), report.status),
        ("out-6", status(DeliveryStatus::Sent)),
        "{report:?}"
    );
    app.send_reply("out-7", CUSTOMER, &"é".repeat(201)).await;
    let (report, _) = reports.next::<ev::DeliveryReport>().await;
    assert_eq!(report.status, status(DeliveryStatus::Failed));
    assert!(
        report
            .error
            .contains("text of 201 characters exceeds the app channel's maximum of 200"),
        "{}",
        report.error
    );
    assert_eq!(peer.received().len(), 1, "the long one was sent anyway");
}

#[tokio::test]
async fn a_reply_to_an_https_app_is_sent_in_tls() {
    // The app's address, recording the first bytes a connection opens
    // with: a TLS client starts with a handshake record (0x16) of TLS 1.x.
    let app_side = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}/replies", app_side.local_addr().expect("addr"));
    let first = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut socket, _) = app_side.accept().await.expect("accept");
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).await.expect("read");
        head
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: std::sync::Arc<dyn omni_bus::Bus> =
        omni_bus::EmbeddedBus::open(&dir.path().join("bus")).expect("open bus");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = App::serve(listener, bus, config(&url)).await;
    app.send_reply("out-tls", CUSTOMER, "over tls").await;
    assert_eq!(first.await.expect("app side"), [0x16, 0x03]);
}
