//! The rules about customers' messages: the canonical form, idempotent
//! redelivery, and no acknowledgement before the durable publish.

use omni_bus::topology::subjects;
use omni_core::time::now_ms;

use super::{Checked, Held, Rule, Run, violation};
use crate::conformance::ProviderAnswer;

impl Run<'_> {
    pub(super) async fn canonical_fields(&self) -> Checked {
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
        let (_, identity) = self.subject.customer();
        let checks = [
            (
                m.subject == expected_subject,
                format!("subject {expected_subject}"),
                format!("subject {}", m.subject),
            ),
            (
                crate::channel_of(inbound.channel, &inbound.channel_name)
                    == Some(self.caps.channel),
                format!("channel {}", self.caps.channel),
                format!("channel {} ({:?})", inbound.channel, inbound.channel_name),
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

    pub(super) async fn idempotent_redelivery(&self) -> Checked {
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

    pub(super) async fn acknowledged_only_when_durable(&self) -> Checked {
        let rule = Rule::AcknowledgedOnlyWhenDurable;
        self.bus.take_down();
        if let Err(e) = self.subject.set_storing(false).await {
            self.bus.bring_up();
            return Err(violation(
                rule,
                "the kit able to make the bus refuse the adapter's messages",
                e,
            ));
        }
        let answer = self
            .subject
            .customer_writes(&self.customer_message(rule, 0))
            .await;
        self.bus.bring_up();
        if let Err(e) = self.subject.set_storing(true).await {
            return Err(violation(
                rule,
                "the kit able to let the bus store the adapter's messages again",
                e,
            ));
        }
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
