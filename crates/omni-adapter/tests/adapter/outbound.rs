//! The outbound consumer over the embedded bus, with a scripted provider.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use omni_adapter::{Backoff, OutboundOptions, ProviderError, Quota};
use omni_bus::topology::SMS_OUTBOUND;
use omni_core::trace::TraceContext;
use omni_proto::common as pb;
use tokio_util::sync::CancellationToken;

use crate::support::*;

const TO: &str = "+14155552671";

fn options(max_attempts: u32) -> OutboundOptions {
    OutboundOptions {
        backoff: Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
            max_attempts,
        },
        ..OutboundOptions::default()
    }
}

fn start(
    provider: &Arc<Scripted>,
    bus: &Arc<dyn omni_bus::Bus>,
    options: OutboundOptions,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let (provider, bus, shutdown) = (provider.clone(), bus.clone(), shutdown.clone());
        async move {
            omni_adapter::outbound::run(provider, bus, &SMS_OUTBOUND, options, shutdown)
                .await
                .expect("consumer");
        }
    });
    (shutdown, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_message_is_reported_with_the_providers_id_on_the_same_trace() {
    let (bus, _dir) = bus();
    let provider = Arc::new(Scripted::default());
    let mut reports = Reports::open(bus.as_ref()).await;
    let _running = start(&provider, &bus, options(3));
    let trace = TraceContext::new_root();
    reply(bus.as_ref(), "m1", "c1", TO, "hello", trace).await;

    let (report, report_trace) = reports.next().await;
    assert_eq!(report.message_id, "m1");
    assert_eq!(report.conversation_id, "c1");
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    assert_eq!(report.provider_message_id, "p-1");
    assert_eq!(report.error, "");
    assert_eq!(report_trace.trace_id, trace.trace_id);
    let sent = provider.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].trace.trace_id, trace.trace_id,
        "the provider call continues the trace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_are_retried_with_backoff_until_the_provider_takes_it() {
    let (bus, _dir) = bus();
    let provider = Arc::new(Scripted::answering(vec![
        Err(ProviderError::retryable("503 from provider")),
        Err(ProviderError::retryable("timeout")),
    ]));
    let mut reports = Reports::open(bus.as_ref()).await;
    let _running = start(&provider, &bus, options(5));
    reply(
        bus.as_ref(),
        "m1",
        "c1",
        TO,
        "hello",
        TraceContext::new_root(),
    )
    .await;

    let (report, _) = reports.next().await;
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    let attempts: Vec<u32> = provider.sent().iter().map(|s| s.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_last_attempt_the_message_is_reported_failed_with_the_reason() {
    let (bus, _dir) = bus();
    let provider = Arc::new(Scripted::answering(vec![
        Err(ProviderError::retryable("503 from provider")),
        Err(ProviderError::retryable("503 from provider")),
        Err(ProviderError::retryable("503 from provider").with_code("E503")),
    ]));
    let mut reports = Reports::open(bus.as_ref()).await;
    let _running = start(&provider, &bus, options(3));
    reply(
        bus.as_ref(),
        "m1",
        "c1",
        TO,
        "hello",
        TraceContext::new_root(),
    )
    .await;
    reply(
        bus.as_ref(),
        "m2",
        "c1",
        TO,
        "next",
        TraceContext::new_root(),
    )
    .await;

    let (report, _) = reports.next().await;
    assert_eq!(report.message_id, "m1");
    assert_eq!(report.status, pb::DeliveryStatus::Failed as i32);
    assert_eq!(
        report.error,
        "gave up after 3 attempts: E503: 503 from provider"
    );
    let (report, _) = reports.next().await;
    assert_eq!(
        report.message_id, "m2",
        "the conversation's next message follows"
    );
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    assert_eq!(provider.sent().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_failed_reports_with_the_providers_reason_and_not_retried() {
    let (bus, _dir) = bus();
    let provider = Arc::new(Scripted {
        max_text_chars: Some(10),
        blocked: vec!["+14155550000".into()],
        ..Scripted::answering(vec![Err(ProviderError::refused("invalid To number")
            .with_code("21211")
            .with_provider_message_id("SM9"))])
    });
    let mut reports = Reports::open(bus.as_ref()).await;
    let _running = start(&provider, &bus, options(5));
    reply(
        bus.as_ref(),
        "refused",
        "c1",
        TO,
        "hello",
        TraceContext::new_root(),
    )
    .await;
    reply(
        bus.as_ref(),
        "long",
        "c2",
        TO,
        "eleven char",
        TraceContext::new_root(),
    )
    .await;
    reply(
        bus.as_ref(),
        "blocked",
        "c3",
        "+14155550000",
        "hi",
        TraceContext::new_root(),
    )
    .await;
    reply(
        bus.as_ref(),
        "fits",
        "c4",
        TO,
        "ten chars!",
        TraceContext::new_root(),
    )
    .await;

    let mut got = Vec::new();
    for _ in 0..4 {
        let (r, _) = reports.next().await;
        got.push((r.message_id, r.status, r.provider_message_id, r.error));
    }
    let failed = pb::DeliveryStatus::Failed as i32;
    assert_eq!(
        got,
        [
            (
                "refused".into(),
                failed,
                "SM9".into(),
                "21211: invalid To number".into()
            ),
            (
                "long".into(),
                failed,
                String::new(),
                "text of 11 characters exceeds the sms channel's maximum of 10".into()
            ),
            (
                "blocked".into(),
                failed,
                String::new(),
                "recipient opted out".into()
            ),
            (
                "fits".into(),
                pb::DeliveryStatus::Queued as i32,
                "p-2".into(),
                String::new()
            ),
        ]
    );
    let sent: Vec<String> = provider.sent().into_iter().map(|s| s.message_id).collect();
    assert_eq!(
        sent,
        ["refused", "fits"],
        "refused before sending: never sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_rate_limited_leaves_the_message_for_the_next_consumer() {
    let (bus, _dir) = bus();
    let provider = Arc::new(Scripted::default());
    let mut reports = Reports::open(bus.as_ref()).await;
    // One send, then the next only in an hour.
    let hourly = Quota::with_period(Duration::from_secs(3600))
        .expect("period")
        .allow_burst(NonZeroU32::MIN);
    let limited = OutboundOptions {
        rate: Some(hourly),
        ..options(3)
    };
    let (shutdown, task) = start(&provider, &bus, limited);
    reply(
        bus.as_ref(),
        "m1",
        "c1",
        TO,
        "first",
        TraceContext::new_root(),
    )
    .await;
    reply(
        bus.as_ref(),
        "m2",
        "c1",
        TO,
        "second",
        TraceContext::new_root(),
    )
    .await;
    let (report, _) = reports.next().await;
    assert_eq!(report.message_id, "m1");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the consumer stops instead of waiting an hour")
        .expect("consumer task");
    assert_eq!(
        provider.sent().len(),
        1,
        "the second waited for the rate limit"
    );

    let _next = start(&provider, &bus, options(3));
    let (report, _) = reports.next().await;
    assert_eq!(
        report.message_id, "m2",
        "nak'ed at shutdown, taken by the next consumer"
    );
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    assert_eq!(provider.sent().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_announces_the_channels_capabilities_on_start() {
    use futures_util::StreamExt;
    use prost::Message as _;

    let (bus, _dir) = bus();
    let mut announcements = bus
        .subscribe("omni.adapter.announce.sms")
        .await
        .expect("subscribe");
    let provider = Arc::new(Scripted {
        max_text_chars: Some(306),
        ..Scripted::default()
    });
    let _running = start(&provider, &bus, options(3));
    let message = tokio::time::timeout(Duration::from_secs(20), announcements.next())
        .await
        .expect("an announcement within 20 s")
        .expect("stream open");
    let announcement =
        omni_proto::adapter::Announcement::decode(message.payload.as_ref()).expect("decode");
    let capabilities = announcement.capabilities.expect("capabilities");
    assert_eq!(capabilities.channel, "sms");
    assert_eq!(capabilities.max_text_chars, 306);
    assert_eq!(capabilities.identity_kind, "phone");
    assert_eq!(announcement.adapter, "sms-adapter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_a_retry_wait_leaves_the_message_for_the_next_consumer() {
    let (bus, _dir) = bus();
    let provider = Arc::new(Scripted::answering(vec![Err(ProviderError::retryable(
        "503 from provider",
    ))]));
    let mut reports = Reports::open(bus.as_ref()).await;
    // The first failure waits an hour before the next attempt.
    let slow = OutboundOptions {
        backoff: Backoff {
            base: Duration::from_secs(3600),
            max: Duration::from_secs(3600),
            max_attempts: 5,
        },
        ..OutboundOptions::default()
    };
    let (shutdown, task) = start(&provider, &bus, slow);
    reply(
        bus.as_ref(),
        "m1",
        "c1",
        TO,
        "hello",
        TraceContext::new_root(),
    )
    .await;
    tokio::time::timeout(Duration::from_secs(20), async {
        while provider.sent().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first attempt within 20 s");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the consumer stops instead of waiting an hour")
        .expect("consumer task");

    let _next = start(&provider, &bus, options(3));
    let (report, _) = reports.next().await;
    assert_eq!(report.message_id, "m1");
    assert_eq!(report.status, pb::DeliveryStatus::Queued as i32);
    let attempts: Vec<u32> = provider.sent().iter().map(|s| s.attempt).collect();
    assert_eq!(
        attempts,
        [1, 1],
        "one failed attempt, then the next consumer's"
    );
}
