//! The conformance kit against a reference adapter built on this crate,
//! and against broken ones: the kit passes what keeps the contract and
//! names each rule a broken adapter breaks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use omni_adapter::conformance::{CustomerMessage, Kit, ProviderAnswer, Subject};
use omni_adapter::inbound::canonical;
use omni_adapter::{Capabilities, Inbound, OutboundOptions, idempotency_key};
use omni_bus::topology::SMS_OUTBOUND;
use omni_core::Identity;
use omni_core::trace::TraceContext;
use omni_proto::common as pb;
use tokio_util::sync::CancellationToken;

use crate::support::*;

const CUSTOMER: &str = "+14155552671";
const BLOCKED: &str = "+14155550000";

/// How an adapter breaks the contract.
#[derive(Default, Clone, Copy)]
pub(crate) struct Broken {
    /// Acknowledges the provider whether or not the bus stored the message.
    pub(crate) acknowledges_first: bool,
    /// Gives each delivery of a provider message a new key.
    pub(crate) fresh_keys: bool,
    /// Declares a maximum text length its provider does not enforce.
    pub(crate) unenforced_limit: bool,
}

pub(crate) struct Reference {
    inbound: Inbound,
    broken: Broken,
    deliveries: AtomicU32,
    _outbound: CancellationToken,
}

impl Reference {
    pub(crate) fn start(kit: &Kit, broken: Broken) -> Self {
        let bus = kit.bus();
        let provider = Arc::new(Scripted {
            max_text_chars: (!broken.unenforced_limit).then_some(20),
            blocked: vec![BLOCKED.into()],
            ..Scripted::default()
        });
        let shutdown = CancellationToken::new();
        tokio::spawn({
            let (bus, shutdown) = (bus.clone(), shutdown.clone());
            async move {
                let _ = omni_adapter::outbound::run(
                    provider,
                    bus,
                    &SMS_OUTBOUND,
                    OutboundOptions::default(),
                    shutdown,
                )
                .await;
            }
        });
        Self {
            inbound: Inbound::new(bus, sms()),
            broken,
            deliveries: AtomicU32::new(0),
            _outbound: shutdown,
        }
    }
}

#[async_trait]
impl Subject for Reference {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_text_chars: Some(20),
            ..Capabilities::new(sms(), "phone")
        }
    }

    fn customer(&self) -> (String, pb::Identity) {
        (
            CUSTOMER.into(),
            pb::Identity {
                kind: Some(pb::identity::Kind::Phone(CUSTOMER.into())),
            },
        )
    }

    async fn customer_writes(&self, message: &CustomerMessage) -> ProviderAnswer {
        let n = self.deliveries.fetch_add(1, Ordering::SeqCst);
        let id = if self.broken.fresh_keys {
            format!("{}-{n}", message.provider_message_id)
        } else {
            message.provider_message_id.clone()
        };
        let inbound = canonical(
            sms(),
            idempotency_key("fake", &id),
            Identity::Phone(message.from.clone()),
            message.text.clone(),
        );
        let trace = TraceContext::new_root();
        match self.inbound.accept(&inbound, &trace, |_| ()).await {
            Ok(()) => ProviderAnswer::Acknowledged,
            Err(_) if self.broken.acknowledges_first => ProviderAnswer::Acknowledged,
            Err(e) => ProviderAnswer::NotAcknowledged {
                retryable: e.retryable(),
                detail: format!("{} {e}", e.http_status()),
            },
        }
    }

    fn recipient(&self) -> pb::Identity {
        pb::Identity {
            kind: Some(pb::identity::Kind::Phone(CUSTOMER.into())),
        }
    }

    fn refused_recipient(&self) -> Option<(pb::Identity, String)> {
        Some((
            pb::Identity {
                kind: Some(pb::identity::Kind::Phone(BLOCKED.into())),
            },
            "opted out".into(),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_built_on_the_crate_passes_every_rule() {
    let (bus, _dir) = bus();
    let kit = Kit::new(bus);
    let adapter = Reference::start(&kit, Broken::default());
    let verdict = kit.check(&adapter).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(verdict.passed.len(), 8, "{verdict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_rule_is_named_with_what_was_expected_and_what_came() {
    let (bus, _dir) = bus();
    let kit = Kit::new(bus);
    let adapter = Reference::start(
        &kit,
        Broken {
            acknowledges_first: true,
            fresh_keys: true,
            unenforced_limit: true,
        },
    );
    let verdict = kit.check(&adapter).await.expect("kit runs");
    let failed: Vec<&str> = verdict.failed.iter().map(|v| v.rule).collect();
    assert_eq!(
        failed,
        [
            "idempotent_redelivery",
            "size_limits",
            "acknowledged_only_when_durable"
        ],
        "{verdict}"
    );
    let durable = verdict
        .violation("acknowledged_only_when_durable")
        .expect("named");
    assert_eq!(
        durable.expected,
        "no acknowledgement while the bus cannot store"
    );
    assert_eq!(durable.got, "acknowledged");
    let dup = verdict.violation("idempotent_redelivery").expect("named");
    assert_eq!(
        dup.got.matches("idempotent_redelivery 0").count(),
        2,
        "{dup:?}"
    );
    let size = verdict.violation("size_limits").expect("named");
    assert!(size.got.contains("QUEUED"), "{size:?}");
    let text = verdict.to_string();
    assert!(
        text.contains("FAIL size_limits: expected a text of 21 characters"),
        "{text}"
    );
}

/// The reference adapter seen from outside: what it declares, over the bus.
pub(crate) fn declared(limit: u32) -> omni_adapter::conformance::remote::Declared {
    omni_adapter::conformance::remote::Declared {
        capabilities: Capabilities {
            max_text_chars: Some(limit),
            ..Capabilities::new(sms(), "phone")
        },
        customer: (
            CUSTOMER.into(),
            pb::Identity {
                kind: Some(pb::identity::Kind::Phone(CUSTOMER.into())),
            },
        ),
        recipient: pb::Identity {
            kind: Some(pb::identity::Kind::Phone(CUSTOMER.into())),
        },
        hook: None,
        refused: Some((
            pb::Identity {
                kind: Some(pb::identity::Kind::Phone(BLOCKED.into())),
            },
            "opted out".into(),
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_process_the_reply_rules_run_over_the_bus_and_the_inbound_ones_are_skipped() {
    let (bus, _dir) = bus();
    let kit = Kit::new(bus);
    let _adapter = Reference::start(&kit, Broken::default());
    let verdict = kit.check(&declared(20)).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(
        verdict.passed,
        [
            "ordering_per_conversation",
            "outbound_delivery_status",
            "error_mapping",
            "size_limits",
            "trace_propagation"
        ],
        "{verdict}"
    );
    let skipped: Vec<&str> = verdict.skipped.iter().map(|(rule, _)| *rule).collect();
    assert_eq!(
        skipped,
        [
            "canonical_fields",
            "idempotent_redelivery",
            "acknowledged_only_when_durable"
        ]
    );

    // A declaration the adapter does not keep is caught over the bus too.
    let verdict = kit.check(&declared(30)).await.expect("kit runs");
    let failed: Vec<&str> = verdict.failed.iter().map(|v| v.rule).collect();
    assert_eq!(failed, ["size_limits"], "{verdict}");
}
