//! The kit's rules, one function each. Every message a run writes is
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

type Checked = Result<Held, Violation>;

/// One run of the kit against one subject.
pub(super) struct Run<'a> {
    subject: &'a dyn Subject,
    bus: &'a Arc<SwitchBus>,
    observer: Observer,
    caps: Capabilities,
    tag: String,
    wait: Duration,
}

fn violation(rule: Rule, expected: impl Into<String>, got: impl Into<String>) -> Violation {
    Violation {
        rule: rule.name(),
        expected: expected.into(),
        got: got.into(),
    }
}

fn status_name(status: i32) -> &'static str {
    pb::DeliveryStatus::try_from(status).map_or("an unknown status", |s| s.as_str_name())
}

impl<'a> Run<'a> {
    pub(super) async fn start(
        subject: &'a dyn Subject,
        bus: &'a Arc<SwitchBus>,
        wait: Duration,
    ) -> Result<Self, BusError> {
        let observer = Observer::open(bus.as_ref()).await?;
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

    fn text(&self, rule: Rule, n: usize) -> String {
        format!("conformance {} {n} {}", rule.name(), self.tag)
    }

    fn customer_message(&self, rule: Rule, n: usize) -> CustomerMessage {
        CustomerMessage {
            provider_message_id: format!("kit-{}-{}-{n}", self.tag, rule.name()),
            from: self.subject.customer().0,
            text: self.text(rule, n),
        }
    }

    /// Has the customer write message `n` of `rule`; a violation unless
    /// the provider is acknowledged.
    async fn write(&self, rule: Rule, n: usize) -> Result<(), Violation> {
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
    async fn inbound_until(&self, rule: Rule, last: usize) -> (Vec<Seen<Inbound>>, bool) {
        let prefix = format!("conformance {} ", rule.name());
        let last = self.text(rule, last);
        let tag = self.tag.clone();
        self.observer
            .inbound
            .until(
                self.wait,
                |m: &Inbound| m.text.starts_with(&prefix) && m.text.ends_with(&tag),
                |m: &Inbound| m.text == last,
            )
            .await
    }

    fn message_id(&self, rule: Rule, n: usize) -> String {
        format!("kit-{}-{}-{n}", self.tag, rule.name())
    }

    /// Publishes reply `n` of `rule` to `to` as the context service would.
    async fn reply(
        &self,
        rule: Rule,
        n: usize,
        to: pb::Identity,
        text: String,
        trace: TraceContext,
    ) -> Result<String, Violation> {
        let id = self.message_id(rule, n);
        let command = ev::OutboundMessage {
            message: Some(pb::Message {
                id: id.clone(),
                conversation_id: format!("kit-{}-{}", self.tag, rule.name()),
                direction: pb::Direction::Outbound as i32,
                channel: pb::Channel::from(self.caps.channel) as i32,
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
    async fn report(&self, rule: Rule, id: &str) -> Result<Seen<Report>, Violation> {
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

    // ---- the rules ----

    async fn canonical_fields(&self) -> Checked {
        let rule = Rule::CanonicalFields;
        let before = now_ms();
        self.write(rule, 0).await?;
        let after = now_ms();
        let (seen, came) = self.inbound_until(rule, 0).await;
        let Some(m) = seen.first().filter(|_| came) else {
            return Err(violation(
                rule,
                format!("the message on omni.inbound.{}", self.caps.channel),
                format!("nothing within {:?}", self.wait),
            ));
        };
        let inbound = &m.payload;
        let expected_subject = subjects::inbound(self.caps.channel);
        let channel = pb::Channel::from(self.caps.channel) as i32;
        let (_, identity) = self.subject.customer();
        let checks = [
            (
                m.subject == expected_subject,
                format!("subject {expected_subject}"),
                format!("subject {}", m.subject),
            ),
            (
                inbound.channel == channel,
                format!("channel {}", self.caps.channel),
                format!("channel value {}", inbound.channel),
            ),
            (
                !inbound.idempotency_key.trim().is_empty(),
                "an idempotency key".into(),
                "an empty key".into(),
            ),
            (
                inbound.from.as_ref() == Some(&identity),
                format!("from {identity:?}"),
                format!("from {:?}", inbound.from),
            ),
            (
                inbound.text == self.text(rule, 0),
                format!("text {:?}", self.text(rule, 0)),
                format!("text {:?}", inbound.text),
            ),
            (
                (before - 1000..=after + 1000).contains(&inbound.received_at_ms),
                format!("received_at_ms within [{before}, {after}]"),
                format!("received_at_ms {}", inbound.received_at_ms),
            ),
        ];
        match checks.into_iter().find(|(held, _, _)| !held) {
            Some((_, expected, got)) => Err(violation(rule, expected, got)),
            None => Ok(Held::Yes),
        }
    }

    async fn idempotent_redelivery(&self) -> Checked {
        let rule = Rule::IdempotentRedelivery;
        self.write(rule, 0).await?;
        // The provider's retry of the same message is acknowledged too.
        self.write(rule, 0).await?;
        self.write(rule, 1).await?;
        let (seen, came) = self.inbound_until(rule, 1).await;
        let texts: Vec<&str> = seen.iter().map(|m| m.payload.text.as_str()).collect();
        let expected = [self.text(rule, 0), self.text(rule, 1)];
        if came && texts == expected {
            Ok(Held::Yes)
        } else {
            Err(violation(
                rule,
                format!("exactly {expected:?}"),
                format!("{texts:?}"),
            ))
        }
    }

    async fn ordering(&self) -> Checked {
        let rule = Rule::OrderingPerConversation;
        const N: usize = 5;
        for n in 0..N {
            self.write(rule, n).await?;
        }
        let (seen, _) = self.inbound_until(rule, N - 1).await;
        let got: Vec<&str> = seen.iter().map(|m| m.payload.text.as_str()).collect();
        let expected: Vec<String> = (0..N).map(|n| self.text(rule, n)).collect();
        if got != expected {
            return Err(violation(
                rule,
                format!("inbound in order {expected:?}"),
                format!("{got:?}"),
            ));
        }
        let mut ids = Vec::new();
        for n in 0..3 {
            let text = format!("reply {n}");
            ids.push(
                self.reply(
                    rule,
                    n,
                    self.subject.recipient(),
                    text,
                    TraceContext::new_root(),
                )
                .await?,
            );
        }
        let last = ids[ids.len() - 1].clone();
        let prefix = format!("kit-{}-{}-", self.tag, rule.name());
        let (reports, _) = self
            .observer
            .reports
            .until(
                self.wait,
                |r: &Report| r.message_id.starts_with(&prefix),
                |r| r.message_id == last,
            )
            .await;
        let mut first_seen: Vec<String> = Vec::new();
        for r in &reports {
            if !first_seen.contains(&r.payload.message_id) {
                first_seen.push(r.payload.message_id.clone());
            }
        }
        if first_seen == ids {
            Ok(Held::Yes)
        } else {
            Err(violation(
                rule,
                format!("reports first in order {ids:?}"),
                format!("{first_seen:?}"),
            ))
        }
    }

    async fn outbound_delivery_status(&self) -> Checked {
        let rule = Rule::OutboundDeliveryStatus;
        let id = self
            .reply(
                rule,
                0,
                self.subject.recipient(),
                "hello from the kit".into(),
                TraceContext::new_root(),
            )
            .await?;
        let report = self.report(rule, &id).await?.payload;
        let forward = [
            pb::DeliveryStatus::Queued,
            pb::DeliveryStatus::Sent,
            pb::DeliveryStatus::Delivered,
        ]
        .map(|s| s as i32);
        let conversation = format!("kit-{}-{}", self.tag, rule.name());
        if !forward.contains(&report.status) {
            return Err(violation(
                rule,
                "QUEUED, SENT or DELIVERED",
                format!("{} ({})", status_name(report.status), report.error),
            ));
        }
        if report.conversation_id != conversation {
            return Err(violation(
                rule,
                format!("conversation {conversation}"),
                format!("conversation {}", report.conversation_id),
            ));
        }
        let channel = pb::Channel::from(self.caps.channel) as i32;
        if report.channel != channel {
            return Err(violation(
                rule,
                format!("channel {}", self.caps.channel),
                format!("channel value {}", report.channel),
            ));
        }
        Ok(Held::Yes)
    }

    async fn error_mapping(&self) -> Checked {
        let rule = Rule::ErrorMapping;
        let Some((to, reason)) = self.subject.refused_recipient() else {
            return Ok(Held::NotApplicable(
                "the subject names no refused recipient".into(),
            ));
        };
        let id = self
            .reply(
                rule,
                0,
                to,
                "refused by the provider".into(),
                TraceContext::new_root(),
            )
            .await?;
        let report = self.report(rule, &id).await?.payload;
        if report.status == pb::DeliveryStatus::Failed as i32 && report.error.contains(&reason) {
            Ok(Held::Yes)
        } else {
            Err(violation(
                rule,
                format!("FAILED with an error containing {reason:?}"),
                format!(
                    "{} with error {:?}",
                    status_name(report.status),
                    report.error
                ),
            ))
        }
    }

    async fn size_limits(&self) -> Checked {
        let rule = Rule::SizeLimits;
        let Some(max) = self.caps.max_text_chars else {
            return Ok(Held::NotApplicable(
                "no maximum text length declared".into(),
            ));
        };
        let max = max as usize;
        let over = self
            .reply(
                rule,
                0,
                self.subject.recipient(),
                "x".repeat(max + 1),
                TraceContext::new_root(),
            )
            .await?;
        let report = self.report(rule, &over).await?.payload;
        if report.status != pb::DeliveryStatus::Failed as i32 || report.error.is_empty() {
            return Err(violation(
                rule,
                format!(
                    "a text of {} characters (declared maximum {max}) FAILED with a reason",
                    max + 1
                ),
                format!(
                    "{} with error {:?}",
                    status_name(report.status),
                    report.error
                ),
            ));
        }
        let at = self
            .reply(
                rule,
                1,
                self.subject.recipient(),
                "x".repeat(max),
                TraceContext::new_root(),
            )
            .await?;
        let report = self.report(rule, &at).await?.payload;
        if report.status == pb::DeliveryStatus::Failed as i32 {
            return Err(violation(
                rule,
                format!("a text of exactly {max} characters (the declared maximum) sent"),
                format!("FAILED with error {:?}", report.error),
            ));
        }
        Ok(Held::Yes)
    }

    async fn trace_propagation(&self) -> Checked {
        let rule = Rule::TracePropagation;
        self.write(rule, 0).await?;
        let (seen, came) = self.inbound_until(rule, 0).await;
        match seen.first() {
            Some(m) if came && m.trace.is_some() => {}
            Some(_) => {
                return Err(violation(
                    rule,
                    "a valid traceparent header on the inbound message",
                    "none or malformed",
                ));
            }
            None => {
                return Err(violation(
                    rule,
                    "the inbound message",
                    format!("nothing within {:?}", self.wait),
                ));
            }
        }
        let trace = TraceContext::new_root();
        let id = self
            .reply(
                rule,
                1,
                self.subject.recipient(),
                "traced reply".into(),
                trace,
            )
            .await?;
        let report = self.report(rule, &id).await?;
        match report.trace {
            Some(t) if t.trace_id == trace.trace_id => Ok(Held::Yes),
            got => Err(violation(
                rule,
                format!("the report on trace {}", trace.trace_id_hex()),
                got.map_or("no traceparent".into(), |t| {
                    format!("trace {}", t.trace_id_hex())
                }),
            )),
        }
    }

    async fn acknowledged_only_when_durable(&self) -> Checked {
        let rule = Rule::AcknowledgedOnlyWhenDurable;
        self.bus.take_down();
        let answer = self
            .subject
            .customer_writes(&self.customer_message(rule, 0))
            .await;
        self.bus.bring_up();
        match answer {
            ProviderAnswer::NotAcknowledged {
                retryable: true, ..
            } => {}
            ProviderAnswer::NotAcknowledged {
                retryable: false,
                detail,
            } => {
                return Err(violation(
                    rule,
                    "an answer that makes the provider retry",
                    format!("a final refusal: {detail}"),
                ));
            }
            ProviderAnswer::Acknowledged => {
                return Err(violation(
                    rule,
                    "no acknowledgement while the bus cannot store",
                    "acknowledged",
                ));
            }
        }
        // The provider's retry, once the bus is back, is stored; the
        // refused attempt is not there before it.
        self.write(rule, 0).await?;
        self.write(rule, 1).await?;
        let (seen, came) = self.inbound_until(rule, 1).await;
        let texts: Vec<&str> = seen.iter().map(|m| m.payload.text.as_str()).collect();
        let expected = [self.text(rule, 0), self.text(rule, 1)];
        if came && texts == expected {
            Ok(Held::Yes)
        } else {
            Err(violation(
                rule,
                format!("after the retry exactly {expected:?}"),
                format!("{texts:?}"),
            ))
        }
    }
}
