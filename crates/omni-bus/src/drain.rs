//! Handing a durable consumer's deliveries to a handler: one at a time
//! ([`drain_until`]) or in keyed lanes that keep each key's order
//! ([`drain_keyed`]). Either keeps every delivery alive while it waits for
//! and goes through its handler.

use futures_util::StreamExt;

use crate::{BusStream, Delivery, KeepAlive};

/// Hands each delivery to `handle`, one at a time, until `shutdown`
/// resolves or the stream ends. A delivery being handled when shutdown
/// comes is finished first. While `handle` runs, the delivery is kept alive
/// ([`Delivery::keep_alive`]): a slow handler keeps it, and a process that
/// dies lets it go after one ack wait.
pub async fn drain_until<F, Fut>(
    mut deliveries: BusStream<Delivery>,
    shutdown: impl Future<Output = ()>,
    mut handle: F,
) where
    F: FnMut(Delivery) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut shutdown = std::pin::pin!(shutdown);
    while let Some(delivery) = next_before(&mut deliveries, shutdown.as_mut()).await {
        let alive = delivery.keep_alive();
        handle(delivery).await;
        drop(alive);
    }
}

/// Like [`drain_until`], with up to `lanes` deliveries handled at once:
/// `key` reads each delivery once, giving its lane key and what it read
/// (typically the decoded payload, so nothing is decoded twice); the
/// delivery goes to lane `key % lanes`, and a lane handles its deliveries
/// one at a time, in the order the bus gave them. Deliveries with the same
/// key (the same customer, the same conversation) therefore keep their
/// order, while different keys proceed in parallel, so a store round trip
/// per message no longer caps throughput at one per round trip.
///
/// At shutdown the lanes finish the deliveries they hold; one waiting to be
/// handed to a busy lane is left unsettled, for the bus to redeliver.
///
/// Like [`drain_until`], every delivery is kept alive
/// ([`Delivery::keep_alive`]) from when it is taken off the stream until
/// it is handled.
pub async fn drain_keyed<T, K, F, Fut>(
    mut deliveries: BusStream<Delivery>,
    shutdown: impl Future<Output = ()>,
    lanes: usize,
    key: K,
    handle: F,
) where
    T: Send + 'static,
    K: Fn(&Delivery) -> (u64, T),
    F: Fn(Delivery, T) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if lanes <= 1 {
        return drain_until(deliveries, shutdown, |delivery| {
            let (_, read) = key(&delivery);
            handle(delivery, read)
        })
        .await;
    }
    let mut workers = tokio::task::JoinSet::new();
    let senders: Vec<tokio::sync::mpsc::Sender<(Delivery, T, KeepAlive)>> = (0..lanes)
        .map(|_| {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<(Delivery, T, KeepAlive)>(1);
            let handle = handle.clone();
            workers.spawn(async move {
                while let Some((delivery, read, alive)) = rx.recv().await {
                    handle(delivery, read).await;
                    drop(alive);
                }
            });
            tx
        })
        .collect();
    let mut shutdown = std::pin::pin!(shutdown);
    while let Some(delivery) = next_before(&mut deliveries, shutdown.as_mut()).await {
        // Alive from now: waiting for a busy lane uses no ack wait.
        let alive = delivery.keep_alive();
        let (k, read) = key(&delivery);
        let lane = usize::try_from(k % lanes as u64).unwrap_or(0);
        tokio::select! {
            _ = &mut shutdown => break,
            sent = senders[lane].send((delivery, read, alive)) => if sent.is_err() { break },
        }
    }
    drop(senders);
    while workers.join_next().await.is_some() {}
}

/// The stream's next delivery, or `None` once `shutdown` resolves or the
/// stream ends.
async fn next_before(
    deliveries: &mut BusStream<Delivery>,
    shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<Delivery> {
    tokio::select! {
        _ = shutdown => None,
        next = deliveries.next() => next,
    }
}

/// A stable 64-bit hash of `bytes` (FNV-1a), for [`drain_keyed`] keys.
pub fn key_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
