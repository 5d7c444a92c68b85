//! The kit driving an adapter through its conformance hook
//! (`remote::Declared` with a `Hook`), as `omni adapter-check` drives one
//! out of process: every rule runs, a hook that refuses the token is
//! named in the verdict, and a broken adapter is caught through the hook.
//! The hook here hands the request to the reference adapter in process;
//! over NATS it is `crates/omni/src/adapter_check/nats_hook.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use omni_adapter::conformance::remote::{Declared, Hook, hook_subject};
use omni_adapter::conformance::{CustomerMessage, Kit, ProviderAnswer, Subject};
use omni_proto::adapter::{ConformanceAnswer, ConformanceCustomerMessage};
use prost::Message as _;

use crate::kit::{Broken, Reference, declared};
use crate::support::*;

/// The reference adapter's hook, accepting `token` only.
struct InProcessHook {
    adapter: Reference,
    token: &'static str,
    given: &'static str,
}

#[async_trait]
impl Hook for InProcessHook {
    async fn request(&self, subject: String, payload: Vec<u8>) -> Result<Vec<u8>, String> {
        assert_eq!(subject, hook_subject(sms(), "customer_writes"));
        let answer = if self.given != self.token {
            ConformanceAnswer {
                refused: "missing or wrong conformance token".into(),
                ..ConformanceAnswer::default()
            }
        } else {
            let m = ConformanceCustomerMessage::decode(payload.as_slice())
                .map_err(|e| e.to_string())?;
            let message = CustomerMessage {
                provider_message_id: m.provider_message_id,
                from: m.from,
                text: m.text,
            };
            match self.adapter.customer_writes(&message).await {
                ProviderAnswer::Acknowledged => ConformanceAnswer {
                    acknowledged: true,
                    ..ConformanceAnswer::default()
                },
                ProviderAnswer::NotAcknowledged { retryable, detail } => ConformanceAnswer {
                    retryable,
                    detail,
                    ..ConformanceAnswer::default()
                },
            }
        };
        Ok(answer.encode_to_vec())
    }

    async fn set_storing(&self, _storing: bool) -> Result<(), String> {
        // The reference adapter is on the kit's bus, which the kit switches.
        Ok(())
    }
}

fn through_hook(kit: &Kit, broken: Broken, given: &'static str) -> Declared {
    let hook = InProcessHook {
        adapter: Reference::start(kit, broken),
        token: "right",
        given,
    };
    Declared {
        hook: Some(Arc::new(hook)),
        ..declared(20)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_hook_every_rule_runs() {
    let (bus, _dir) = bus();
    let kit = Kit::new(bus);
    let subject = through_hook(&kit, Broken::default(), "right");
    let verdict = kit.check(&subject).await.expect("kit runs");
    assert!(verdict.is_pass(), "{verdict}");
    assert_eq!(verdict.passed.len(), 8, "{verdict}");
    assert!(verdict.skipped.is_empty(), "{verdict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_refuses_the_token_is_named_in_the_verdict() {
    let (bus, _dir) = bus();
    let kit = Kit::new(bus);
    let subject = through_hook(&kit, Broken::default(), "wrong");
    let verdict = kit.check(&subject).await.expect("kit runs");
    let v = verdict.violation("canonical_fields").expect("named");
    assert_eq!(
        v.got,
        "no acknowledgement: the conformance hook refused the request: missing or wrong conformance token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_that_acknowledges_first_is_caught_through_the_hook() {
    let (bus, _dir) = bus();
    let kit = Kit::new(bus);
    let broken = Broken {
        acknowledges_first: true,
        ..Broken::default()
    };
    let subject = through_hook(&kit, broken, "right");
    let verdict = kit.check(&subject).await.expect("kit runs");
    let failed: Vec<&str> = verdict.failed.iter().map(|v| v.rule).collect();
    assert_eq!(failed, ["acknowledged_only_when_durable"], "{verdict}");
}
