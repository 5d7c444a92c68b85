//! The adapter conformance kit: one suite of behavior-named rules that any
//! adapter runs against itself over a real bus, the way
//! `omni_bus::bus_conformance_tests!` holds every bus to one behavior.
//!
//! The adapter under test is built on [`Kit::bus`] (the real bus, which
//! the kit can make unavailable) and described by a [`Subject`]: its
//! declared capabilities, and how to make its provider deliver a
//! customer's message. [`Kit::check`] then plays customer and contact
//! center and returns a [`Verdict`] naming each broken rule with what was
//! expected and what came:
//!
//! | rule | what is checked |
//! |---|---|
//! | `canonical_fields` | a customer's message arrives once on `omni.inbound.<channel>` with the channel, a key, the sender's identity, the text, a receive time |
//! | `idempotent_redelivery` | the provider delivering the same message twice is acknowledged twice and stored once |
//! | `ordering_per_conversation` | one customer's messages arrive in the order written; one conversation's replies are reported in the order sent |
//! | `outbound_delivery_status` | a reply is reported (queued, sent or delivered) for its message and conversation |
//! | `error_mapping` | a reply the provider refuses is reported failed with the provider's reason |
//! | `size_limits` | a reply one character over the declared maximum is reported failed; one at it is not |
//! | `trace_propagation` | inbound messages carry a `traceparent`; a reply's report continues the reply's trace |
//! | `acknowledged_only_when_durable` | with the bus unable to store, the provider gets no acknowledgement (a retryable answer) and nothing is stored; once it can, the retry is stored |
//!
//! # Layout
//! - this file: [`Kit`], [`Subject`], [`Verdict`].
//! - `rules`: the rules, one function each.
//! - [`switch`]: the bus the kit can take down.
//! - [`observe`]: reading inbound messages and reports back.
//! - [`remote`]: an adapter out of process, known by its declaration and
//!   driven through its conformance hook (`omni adapter-check`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use omni_bus::{Bus, BusError};
use omni_proto::common as pb;

use crate::Capabilities;

pub mod observe;
pub mod remote;
mod rules;
pub mod switch;

pub use rules::Rule;
pub use switch::SwitchBus;

/// A customer's message, for the subject's provider to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerMessage {
    /// The provider's id for it; the same id means the same message.
    pub provider_message_id: String,
    /// The customer's address as the provider gives it.
    pub from: String,
    /// The text.
    pub text: String,
}

/// What the provider got back from the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAnswer {
    /// Acknowledged (HTTP 2xx, SMTP 250, a socket ack): the provider is done.
    Acknowledged,
    /// Not acknowledged; `retryable` when the answer tells the provider to
    /// try again (HTTP 503, SMTP 4xx).
    NotAcknowledged {
        /// Whether the provider will try again.
        retryable: bool,
        /// What it got (status, body), for the verdict.
        detail: String,
    },
}

/// The adapter under test, as the kit sees it.
#[async_trait]
pub trait Subject: Send + Sync {
    /// What the adapter declares; the size rule is checked against it.
    fn capabilities(&self) -> Capabilities;

    /// A customer: the address the provider gives, and the identity the
    /// canonical message must carry for it.
    fn customer(&self) -> (String, pb::Identity);

    /// Makes the provider deliver `message` to the adapter, as the
    /// provider would, and says what it got back.
    async fn customer_writes(&self, message: &CustomerMessage) -> ProviderAnswer;

    /// A recipient the provider takes replies for.
    fn recipient(&self) -> pb::Identity;

    /// A recipient the provider refuses, and (part of) the reason it
    /// gives; `None` skips `error_mapping`.
    fn refused_recipient(&self) -> Option<(pb::Identity, String)>;

    /// Whether the kit can make the provider deliver customers' messages
    /// ([`Subject::customer_writes`]); without it, the rules about the
    /// inbound side are skipped (an adapter out of process, checked over
    /// the bus alone).
    fn drives_inbound(&self) -> bool {
        true
    }

    /// Makes the bus unable (`false`) or able again (`true`) to store the
    /// adapter's inbound messages, for an adapter not built on
    /// [`Kit::bus`] (out of process); the kit switches its own bus either
    /// way, so the default does nothing more.
    async fn set_storing(&self, storing: bool) -> Result<(), String> {
        let _ = storing;
        Ok(())
    }
}

/// A rule broken: which, what was expected, what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's name.
    pub rule: &'static str,
    /// What the contract asks for.
    pub expected: String,
    /// What the adapter did.
    pub got: String,
}

/// The outcome of a run of the kit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The channel checked.
    pub channel: String,
    /// Rules that held.
    pub passed: Vec<&'static str>,
    /// Rules that did not apply, and why.
    pub skipped: Vec<(&'static str, String)>,
    /// Rules that were broken.
    pub failed: Vec<Violation>,
}

impl Verdict {
    /// Whether no rule was broken.
    pub fn is_pass(&self) -> bool {
        self.failed.is_empty()
    }

    /// The broken rule named `rule`, if it was.
    pub fn violation(&self, rule: &str) -> Option<&Violation> {
        self.failed.iter().find(|v| v.rule == rule)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "adapter conformance ({}): {} passed, {} failed, {} skipped",
            self.channel,
            self.passed.len(),
            self.failed.len(),
            self.skipped.len()
        )?;
        for rule in &self.passed {
            writeln!(f, "  ok   {rule}")?;
        }
        for (rule, why) in &self.skipped {
            writeln!(f, "  skip {rule}: {why}")?;
        }
        for v in &self.failed {
            writeln!(
                f,
                "  FAIL {}: expected {}; got {}",
                v.rule, v.expected, v.got
            )?;
        }
        Ok(())
    }
}

/// The kit, over one bus.
pub struct Kit {
    bus: Arc<SwitchBus>,
    wait: Duration,
}

impl Kit {
    /// A kit over `bus`; build the adapter under test on [`Kit::bus`].
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        Self {
            bus: SwitchBus::new(bus),
            wait: Duration::from_secs(10),
        }
    }

    /// How long to wait for each expected message (10 s by default).
    pub fn waiting(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The bus to build the adapter under test on.
    pub fn bus(&self) -> Arc<dyn Bus> {
        self.bus.clone()
    }

    /// Runs every rule against `subject`.
    pub async fn check(&self, subject: &dyn Subject) -> Result<Verdict, BusError> {
        self.check_only(subject, Rule::ALL).await
    }

    /// Runs `rules` against `subject`, in the order given.
    pub async fn check_only(
        &self,
        subject: &dyn Subject,
        rules: &[Rule],
    ) -> Result<Verdict, BusError> {
        let run = rules::Run::start(subject, &self.bus, self.wait).await?;
        let mut verdict = Verdict {
            channel: subject.capabilities().channel.to_string(),
            ..Verdict::default()
        };
        for rule in rules {
            match run.check(*rule).await {
                Ok(rules::Held::Yes) => verdict.passed.push(rule.name()),
                Ok(rules::Held::NotApplicable(why)) => verdict.skipped.push((rule.name(), why)),
                Err(violation) => verdict.failed.push(violation),
            }
        }
        self.bus.bring_up();
        Ok(verdict)
    }
}
