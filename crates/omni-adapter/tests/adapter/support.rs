//! A scripted provider and bus helpers for the adapter tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use omni_adapter::{Capabilities, Outbound, Provider, ProviderError, ProviderReceipt};
use omni_bus::topology::{CONTEXT_DELIVERY, subjects};
use omni_bus::{Bus, BusStream, Delivery, EmbeddedBus, Message, TRACEPARENT};
use omni_core::trace::TraceContext;
use omni_core::{Channel, DeliveryStatus};
use omni_proto::common as pb;
use omni_proto::events as ev;
use prost::Message as _;

pub fn sms() -> Channel {
    "sms".parse().expect("sms")
}

/// What the provider was asked to send.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message_id: String,
    pub attempt: u32,
    pub trace: TraceContext,
}

/// A provider that answers from a script, then takes everything.
#[derive(Default)]
pub struct Scripted {
    pub max_text_chars: Option<u32>,
    pub script: Mutex<VecDeque<Result<ProviderReceipt, ProviderError>>>,
    pub sent: Mutex<Vec<Sent>>,
    /// Recipients refused by `check`.
    pub blocked: Vec<String>,
}

impl Scripted {
    pub fn answering(answers: Vec<Result<ProviderReceipt, ProviderError>>) -> Self {
        Self {
            script: Mutex::new(answers.into()),
            ..Self::default()
        }
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Provider for Scripted {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_text_chars: self.max_text_chars,
            ..Capabilities::new(sms(), "phone")
        }
    }

    fn check(&self, outbound: &Outbound) -> Result<(), ProviderError> {
        match outbound.to.as_ref().and_then(|to| to.kind.clone()) {
            Some(pb::identity::Kind::Phone(number)) if self.blocked.contains(&number) => {
                Err(ProviderError::refused("recipient opted out"))
            }
            _ => Ok(()),
        }
    }

    async fn send(&self, outbound: &Outbound) -> Result<ProviderReceipt, ProviderError> {
        let n = {
            let mut sent = self.sent.lock().expect("lock");
            sent.push(Sent {
                message_id: outbound.message.id.clone(),
                attempt: outbound.attempt,
                trace: outbound.trace,
            });
            sent.len()
        };
        let next = self.script.lock().expect("lock").pop_front();
        next.unwrap_or(Ok(ProviderReceipt {
            provider_message_id: format!("p-{n}"),
            status: DeliveryStatus::Queued,
        }))
    }
}

pub fn bus() -> (Arc<dyn Bus>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("bus");
    (bus, dir)
}

/// Publishes a reply `id` of conversation `conv` to `to`, with `trace`.
pub async fn reply(bus: &dyn Bus, id: &str, conv: &str, to: &str, text: &str, trace: TraceContext) {
    let command = ev::OutboundMessage {
        attachments: Vec::new(),
        message: Some(pb::Message {
            id: id.into(),
            conversation_id: conv.into(),
            text: text.into(),
            ..Default::default()
        }),
        to: Some(pb::Identity {
            kind: Some(pb::identity::Kind::Phone(to.into())),
        }),
        email: None,
    };
    let msg = Message::new(subjects::outbound(sms()), command.encode_to_vec())
        .with_header(TRACEPARENT, trace.to_string());
    bus.publish(msg, Some(id)).await.expect("publish outbound");
}

/// Delivery reports, in the order they were stored.
pub struct Reports(BusStream<Delivery>);

impl Reports {
    pub async fn open(bus: &dyn Bus) -> Self {
        Self(bus.consume(&CONTEXT_DELIVERY).await.expect("consume"))
    }

    /// The next report and its trace.
    pub async fn next(&mut self) -> (ev::DeliveryReport, TraceContext) {
        let delivery = tokio::time::timeout(Duration::from_secs(20), self.0.next())
            .await
            .expect("a report within 20 s")
            .expect("stream open");
        let report = ev::DeliveryReport::decode(delivery.message.payload.as_ref()).expect("decode");
        let trace = delivery.trace_context();
        delivery.ack().await.expect("ack");
        (report, trace)
    }
}
