//! A reply pushed live is reported delivered on the reply's own trace.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::topology::subjects;
use omni_bus::{Bus, EmbeddedBus, Message, TRACEPARENT};
use omni_core::trace::TraceContext;
use omni_proto::common as pb;
use omni_proto::events as ev;
use prost::Message as _;

use crate::conformance::Chat;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_replys_delivered_receipt_continues_its_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
    let chat = Chat::start(bus.clone()).await;
    let mut reports = bus
        .subscribe("omni.delivery.chat")
        .await
        .expect("subscribe");
    let trace = TraceContext::new_root();
    let command = ev::OutboundMessage {
        attachments: Vec::new(),
        message: Some(pb::Message {
            id: "r1".into(),
            conversation_id: "c1".into(),
            direction: pb::Direction::Outbound as i32,
            channel: pb::Channel::Chat as i32,
            text: "hello".into(),
            delivery: pb::DeliveryStatus::Queued as i32,
            ..Default::default()
        }),
        to: Some(pb::Identity {
            kind: Some(pb::identity::Kind::ChatVisitor(chat.visitor.clone())),
        }),
        email: None,
    };
    let msg = Message::new(
        subjects::outbound("chat".parse().expect("chat")),
        command.encode_to_vec(),
    )
    .with_header(TRACEPARENT, trace.to_string());
    bus.publish(msg, Some("r1")).await.expect("publish");

    let delivered = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(message) = reports.next().await {
            let report = ev::DeliveryReport::decode(message.payload.as_ref()).expect("decode");
            if report.status == pb::DeliveryStatus::Delivered as i32 {
                return Some(message.trace_context());
            }
        }
        None
    })
    .await
    .expect("a delivered report within 20 s")
    .expect("stream open");
    assert_eq!(delivered.trace_id_hex(), trace.trace_id_hex());
}
