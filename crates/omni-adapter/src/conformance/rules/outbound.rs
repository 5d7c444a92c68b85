//! The rules about replies: delivery status, error mapping, size limits,
//! ordering, and the trace on both sides.

use omni_core::trace::TraceContext;
use omni_proto::common as pb;

use super::{Checked, Held, Rule, Run, status_name, violation};
use crate::conformance::observe::Report;

impl Run<'_> {
    pub(super) async fn ordering(&self) -> Checked {
        let rule = Rule::OrderingPerConversation;
        const N: usize = 5;
        if self.subject.drives_inbound() {
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

    pub(super) async fn outbound_delivery_status(&self) -> Checked {
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
        if crate::channel_of(report.channel, &report.channel_name) != Some(self.caps.channel) {
            return Err(violation(
                rule,
                format!("channel {}", self.caps.channel),
                format!("channel {} ({:?})", report.channel, report.channel_name),
            ));
        }
        Ok(Held::Yes)
    }

    pub(super) async fn error_mapping(&self) -> Checked {
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

    pub(super) async fn size_limits(&self) -> Checked {
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

    pub(super) async fn trace_propagation(&self) -> Checked {
        let rule = Rule::TracePropagation;
        if self.subject.drives_inbound() {
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
}
