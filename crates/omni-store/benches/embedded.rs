//! Throughput of the embedded store: `cargo bench -p omni-store`.
//!
//! Prints ingests per second, one caller at a time and with many callers,
//! and history page reads per second. Every ingest is a durable commit, so
//! the figures mostly measure the disk's fsync. Last, what timing each call
//! ([`Timed`]) adds to the cheapest read.

use std::sync::Arc;
use std::time::Instant;

use omni_core::{Channel, Identity, InboundMessage, Provenance, QueueId};
use omni_store::{ContextStore, ContinuityPolicy, EmbeddedStore, Timed};

const POLICY: ContinuityPolicy = ContinuityPolicy {
    reopen_window_ms: 600_000,
};

fn message(customer: usize, n: usize) -> InboundMessage {
    InboundMessage {
        idempotency_key: format!("bench-{customer}-{n}"),
        channel: Channel::CHAT,
        from: Identity::ChatVisitor(format!("bench-{customer}")),
        text: format!("message {n} from customer {customer}"),
        received_at_ms: 1_700_000_000_000 + n as i64,
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = EmbeddedStore::open(&dir.path().join("store.redb"))?;
    let queue = QueueId::from("que_bench");

    let n = 1_000;
    let start = Instant::now();
    for i in 0..n {
        store.ingest(&message(0, i), &queue, POLICY).await?;
    }
    report("ingest, 1 caller", n, start);

    let callers = 16;
    let per_caller = 100;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 1..=callers {
        let store = Arc::clone(&store);
        let queue = queue.clone();
        tasks.spawn(async move {
            for i in 0..per_caller {
                store.ingest(&message(c, i), &queue, POLICY).await?;
            }
            Ok::<_, omni_store::StoreError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    report(
        &format!("ingest, {callers} callers"),
        callers * per_caller,
        start,
    );

    let conversation = store
        .ingest(&message(0, 0), &queue, POLICY)
        .await?
        .conversation
        .id;
    let reads = 2_000;
    let start = Instant::now();
    for i in 0..reads {
        let page = store.messages(&conversation, (i % 900) as u64, 100).await?;
        std::hint::black_box(page);
    }
    report("history page of 100", reads, start);

    // Merge and unmerge pairs of customers with a few conversations each:
    // what an agent's link or undo costs.
    let pairs = 200;
    let provenance = Provenance {
        at_ms: 1,
        by: "agt_bench".into(),
        evidence: "bench".into(),
    };
    let mut customers = Vec::with_capacity(pairs * 2);
    for p in 0..pairs * 2 {
        let first = store
            .ingest(&message(10_000 + p, 0), &queue, POLICY)
            .await?;
        customers.push(first.customer.id);
    }
    let start = Instant::now();
    let mut merges = Vec::with_capacity(pairs);
    for pair in customers.chunks(2) {
        merges.push(
            store
                .merge_customers(&pair[0], &pair[1], &provenance)
                .await?,
        );
    }
    report("merge customers", pairs, start);
    let start = Instant::now();
    for record in &merges {
        store.unmerge(&record.id, &provenance).await?;
    }
    report("unmerge customers", pairs, start);

    // What timing every call costs (`Timed`, omni_store_operation_seconds):
    // the cheapest call there is, a read of one conversation, straight and
    // through the wrapper, in alternating rounds; the median round of each.
    let timed = Timed::new(Arc::clone(&store), "embedded");
    let (rounds, per_round) = (9, 20_000);
    let (mut straight, mut wrapped) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..per_round {
            std::hint::black_box(store.conversation(&conversation).await?);
        }
        straight.push(start.elapsed().as_nanos() as f64 / per_round as f64);
        let start = Instant::now();
        for _ in 0..per_round {
            std::hint::black_box(timed.conversation(&conversation).await?);
        }
        wrapped.push(start.elapsed().as_nanos() as f64 / per_round as f64);
    }
    let (straight, wrapped) = (median(straight), median(wrapped));
    println!(
        "read one conversation    straight {straight:>7.0} ns, timed {wrapped:>7.0} ns ({:+.1}%, median of {rounds} rounds of {per_round})",
        (wrapped - straight) / straight * 100.0
    );
    // The wrapper's own work per call, without the store's hop to the
    // blocking pool (whose time swings with the machine's load): two clock
    // reads and one labelled observation.
    let seconds = omni_telemetry::metrics::histogram(
        omni_store::timed::METRIC,
        "store operation latency, by operation and backend",
        omni_store::timed::BUCKETS,
    );
    let per_round = 1_000_000;
    let mut observed = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..per_round {
            let call = Instant::now();
            seconds.observe(
                &[("operation", "conversation"), ("backend", "embedded")],
                std::hint::black_box(call.elapsed().as_secs_f64()),
            );
        }
        observed.push(start.elapsed().as_nanos() as f64 / per_round as f64);
    }
    println!(
        "timing one call          {:>7.0} ns (median of {rounds} rounds of {per_round})",
        median(observed)
    );
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(what: &str, ops: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what:<24} {ops:>6} ops in {secs:>6.2}s = {:>8.0} ops/s",
        ops as f64 / secs
    );
}
