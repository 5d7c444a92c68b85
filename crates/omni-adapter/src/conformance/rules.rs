//! The kit's rules, one function each (those about the inbound side in
//! `inbound`, the rest in `outbound`), and what they share. Every message a run writes is
//! tagged with the run and the rule (in its text or its id), so a rule
//! reads back only its own messages, whatever earlier rules left behind.

use std::sync::Arc;
use std::time::Duration;

use omni_bus::topology::subjects;
use omni_bus::{Bus, BusError, Message, TRACEPARENT};
use omni_core::time::now_ms;
use omni_core::trace::TraceContext;
use omni_proto::common as pb;
use omni_proto::events as ev;
use prost::Message as _;
use rand::Rng;

mod inbound;
mod outbound;

use super::observe::{Inbound, Observer, Report, Seen};
use super::{CustomerMessage, ProviderAnswer, Subject, SwitchBus, Violation};
use crate::Capabilities;

/// A rule of the kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The canonical inbound message.
    CanonicalFields,
    /// The same provider message twice is one message.
    IdempotentRedelivery,
    /// Order per customer and per conversation.
    OrderingPerConversation,
    /// A reply is reported.
    OutboundDeliveryStatus,
    /// A refusal is a failed report with the provider's reason.
    ErrorMapping,
    /// The declared maximum text length holds.
    SizeLimits,
    /// `traceparent` in and out.
    TracePropagation,
    /// No acknowledgement before the durable publish.
    AcknowledgedOnlyWhenDurable,
}

impl Rule {
    /// Every rule, in the order a run checks them.
    pub const ALL: &'static [Rule] = &[
        Rule::CanonicalFields,
        Rule::IdempotentRedelivery,
        Rule::OrderingPerConversation,
        Rule::OutboundDeliveryStatus,
        Rule::ErrorMapping,
        Rule::SizeLimits,
        Rule::TracePropagation,
        Rule::AcknowledgedOnlyWhenDurable,
    ];

    /// The rule's name in verdicts.
    pub fn name(self) -> &'static str {
        match self {
            Rule::CanonicalFields => "canonical_fields",
            Rule::IdempotentRedelivery => "idempotent_redelivery",
            Rule::OrderingPerConversation => "ordering_per_conversation",
            Rule::OutboundDeliveryStatus => "outbound_delivery_status",
            Rule::ErrorMapping => "error_mapping",
            Rule::SizeLimits => "size_limits",
            Rule::TracePropagation => "trace_propagation",
            Rule::AcknowledgedOnlyWhenDurable => "acknowledged_only_when_durable",
        }
    }
}

/// A rule that was not broken.
pub(super) enum Held {
    Yes,
    NotApplicable(String),
}

pub(super) type Checked = Result<Held, Violation>;

/// One run of the kit against one subject.
pub(super) struct Run<'a> {
    pub(super) subject: &'a dyn Subject,
    pub(super) bus: &'a Arc<SwitchBus>,
    pub(super) observer: Observer,
    pub(super) caps: Capabilities,
    pub(super) tag: String,
    pub(super) wait: Duration,
}

pub(super) fn violation(
    rule: Rule,
    expected: impl Into<String>,
    got: impl Into<String>,
) -> Violation {
    Violation {
        rule: rule.name(),
        expected: expected.into(),
        got: got.into(),
    }
}

pub(super) fn status_name(status: i32) -> &'static str {
    pb::DeliveryStatus::try_from(status).map_or("an unknown status", |s| s.as_str_name())
}

impl<'a> Run<'a> {
    pub(super) async fn start(
        subject: &'a dyn Subject,
        bus: &'a Arc<SwitchBus>,
        wait: Duration,
    ) -> Result<Self, BusError> {
        let observer = Observer::open(
            bus.as_ref(),
            subject.capabilities().channel,
            subject.drives_inbound(),
        )
        .await?;
        let tag = format!("{:08x}", rand::rng().random::<u32>());
        Ok(Self {
            caps: subject.capabilities(),
            subject,
            bus,
            observer,
            tag,
            wait,
        })
    }

    pub(super) async fn check(&self, rule: Rule) -> Checked {
        let inbound_only = matches!(
            rule,
            Rule::CanonicalFields | Rule::IdempotentRedelivery | Rule::AcknowledgedOnlyWhenDurable
        );
        if inbound_only && !self.subject.drives_inbound() {
            return Ok(Held::NotApplicable(
                "the kit does not drive this adapter's provider".into(),
            ));
        }
        match rule {
            Rule::CanonicalFields => self.canonical_fields().await,
            Rule::IdempotentRedelivery => self.idempotent_redelivery().await,
            Rule::OrderingPerConversation => self.ordering().await,
            Rule::OutboundDeliveryStatus => self.outbound_delivery_status().await,
            Rule::ErrorMapping => self.error_mapping().await,
            Rule::SizeLimits => self.size_limits().await,
            Rule::TracePropagation => self.trace_propagation().await,
            Rule::AcknowledgedOnlyWhenDurable => self.acknowledged_only_when_durable().await,
        }
    }

    // ---- writing and reading ----

    pub(super) fn text(&self, rule: Rule, n: usize) -> String {
        format!("conformance {} {n} {}", rule.name(), self.tag)
    }

    pub(super) fn customer_message(&self, rule: Rule, n: usize) -> CustomerMessage {
        CustomerMessage {
            provider_message_id: format!("kit-{}-{}-{n}", self.tag, rule.name()),
            from: self.subject.customer().0,
            text: self.text(rule, n),
        }
    }

    /// Has the customer write message `n` of `rule`; a violation unless
    /// the provider is acknowledged.
    pub(super) async fn write(&self, rule: Rule, n: usize) -> Result<(), Violation> {
        match self
            .subject
            .customer_writes(&self.customer_message(rule, n))
            .await
        {
            ProviderAnswer::Acknowledged => Ok(()),
            ProviderAnswer::NotAcknowledged { detail, .. } => Err(violation(
                rule,
                format!("the provider acknowledged for message {n}"),
                format!("no acknowledgement: {detail}"),
            )),
        }
    }

    /// `rule`'s inbound messages up to message `last`.
    pub(super) async fn inbound_until(
        &self,
        rule: Rule,
        last: usize,
    ) -> (Vec<Seen<Inbound>>, bool) {
        let prefix = format!("conformance {} ", rule.name());
        let last = self.text(rule, last);
        let tag = self.tag.clone();
        let Some(inbound) = &self.observer.inbound else {
            return (Vec::new(), false);
        };
        inbound
            .until(
                self.wait,
                |m: &Inbound| m.text.starts_with(&prefix) && m.text.ends_with(&tag),
                |m: &Inbound| m.text == last,
            )
            .await
    }

    pub(super) fn message_id(&self, rule: Rule, n: usize) -> String {
        format!("kit-{}-{}-{n}", self.tag, rule.name())
    }

    /// Publishes reply `n` of `rule` to `to` as the context service would.
    pub(super) async fn reply(
        &self,
        rule: Rule,
        n: usize,
        to: pb::Identity,
        text: String,
        trace: TraceContext,
    ) -> Result<String, Violation> {
        let id = self.message_id(rule, n);
        let (channel, channel_name) = crate::wire_channel(self.caps.channel);
        let command = ev::OutboundMessage {
            attachments: Vec::new(),
            message: Some(pb::Message {
                id: id.clone(),
                conversation_id: format!("kit-{}-{}", self.tag, rule.name()),
                direction: pb::Direction::Outbound as i32,
                channel,
                channel_name,
                agent_id: "kit-agent".into(),
                text,
                at_ms: now_ms(),
                ..Default::default()
            }),
            to: Some(to),
            email: None,
        };
        let msg = Message::new(
            subjects::outbound(self.caps.channel),
            command.encode_to_vec(),
        )
        .with_header(TRACEPARENT, trace.to_string());
        self.bus
            .publish(msg, Some(&id))
            .await
            .map_err(|e| violation(rule, "the kit's reply stored on the bus", e.to_string()))?;
        Ok(id)
    }

    /// The first report on message `id`.
    pub(super) async fn report(&self, rule: Rule, id: &str) -> Result<Seen<Report>, Violation> {
        let (mut seen, came) = self
            .observer
            .reports
            .until(self.wait, |r: &Report| r.message_id == id, |_| true)
            .await;
        match seen.pop() {
            Some(report) if came => Ok(report),
            _ => Err(violation(
                rule,
                format!(
                    "a delivery report for {id} on omni.delivery.{}",
                    self.caps.channel
                ),
                format!("none within {:?}", self.wait),
            )),
        }
    }
}
