//! Deliveries of a durable pull consumer: the message stream, and the acker
//! that settles each delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::consumer::pull::{MessagesErrorKind, Stream as PullStream};
use async_nats::jetstream::{AckKind, Context};
use async_trait::async_trait;
use futures_util::StreamExt;
use omni_bus::{Acker, BusError, BusStream, ConsumerSpec, Delivery};
use tokio::sync::watch;

use crate::convert::from_nats;
use crate::declare::declare_consumer;

/// Messages a receiver pulls ahead of its handler, at most. The server
/// starts the ack wait when it sends a message, so a message waiting in this
/// buffer uses up its ack wait: the buffer stays small.
const PREFETCH: usize = 16;
/// A pull request waits this long for messages before it is renewed.
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// The server sends a heartbeat this often while a pull request waits, so a
/// dead connection is noticed.
const PULL_HEARTBEAT: Duration = Duration::from_secs(5);
/// Pause after a stream error before polling again, and between attempts
/// to declare a deleted consumer again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Starts pulling from `consumer` and returns its deliveries as a stream
/// that ends when the bus closes.
pub async fn deliveries(
    js: Context,
    spec: ConsumerSpec,
    consumer: PullConsumer,
    closed: watch::Receiver<bool>,
    closed_flag: Arc<AtomicBool>,
) -> Result<BusStream<Delivery>, BusError> {
    let messages = pull(&consumer, &spec).await?;
    let state = Receiver {
        js,
        spec,
        messages,
        closed,
        closed_flag,
    };
    Ok(Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move { state.next().await.map(|delivery| (delivery, state)) },
    )))
}

/// One receiver's state: the pull stream it reads, and what it needs to
/// start over when the consumer has to be declared again.
struct Receiver {
    js: Context,
    spec: ConsumerSpec,
    messages: PullStream,
    closed: watch::Receiver<bool>,
    closed_flag: Arc<AtomicBool>,
}

impl Receiver {
    /// The next delivery; `None` once the bus is closed or the connection is gone.
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            if *self.closed.borrow() {
                return None;
            }
            let next = tokio::select! {
                () = crate::until_closed(&mut self.closed) => return None,
                next = self.messages.next() => next,
            };
            match next {
                Some(Ok(message)) => {
                    if let Some(delivery) = self.delivery(message) {
                        return Some(delivery);
                    }
                }
                Some(Err(e)) if e.kind() == MessagesErrorKind::ConsumerDeleted => {
                    tracing::warn!(
                        consumer = self.spec.name,
                        "consumer deleted on the server; declaring it again"
                    );
                    self.messages = self.redeclare().await?;
                }
                Some(Err(e)) => {
                    // Missed heartbeats and failed pull requests: the client
                    // reconnects and pulls again by itself.
                    tracing::warn!(consumer = self.spec.name, error = %e, "pulling messages failed; retrying");
                    tokio::time::sleep(RETRY_AFTER).await;
                }
                None if *self.closed.borrow() => return None,
                None => {
                    tracing::warn!(
                        consumer = self.spec.name,
                        "message stream ended; unacked messages will be redelivered to other receivers"
                    );
                    return None;
                }
            }
        }
    }

    /// Wraps a JetStream message; `None` (logged) for one without delivery info.
    fn delivery(&self, message: async_nats::jetstream::Message) -> Option<Delivery> {
        let attempt = match message.info() {
            Ok(info) => u32::try_from(info.delivered.max(1)).unwrap_or(u32::MAX),
            Err(e) => {
                tracing::warn!(consumer = self.spec.name, subject = %message.subject, error = %e, "skipping a message without delivery info");
                return None;
            }
        };
        if attempt > 1 {
            omni_bus::redelivered().inc(&[("consumer", self.spec.name)]);
        }
        let (message, acker) = message.split();
        Some(
            Delivery::new(
                from_nats(message),
                attempt,
                Box::new(NatsAcker {
                    acker,
                    closed: Arc::clone(&self.closed_flag),
                }),
            )
            .with_ack_wait(self.spec.ack_wait),
        )
    }

    /// Declares the consumer again until it works or the bus closes.
    async fn redeclare(&mut self) -> Option<PullStream> {
        loop {
            let attempt = async {
                let consumer = declare_consumer(&self.js, &self.spec).await?;
                pull(&consumer, &self.spec).await
            };
            match attempt.await {
                Ok(messages) => return Some(messages),
                Err(e) => {
                    tracing::warn!(consumer = self.spec.name, error = %e, "cannot declare the consumer again; retrying");
                }
            }
            tokio::select! {
                () = crate::until_closed(&mut self.closed) => return None,
                () = tokio::time::sleep(RETRY_AFTER) => {}
            }
        }
    }
}

/// Opens the pull stream of `consumer`.
async fn pull(consumer: &PullConsumer, spec: &ConsumerSpec) -> Result<PullStream, BusError> {
    consumer
        .stream()
        .max_messages_per_batch(PREFETCH.min(spec.max_ack_pending.max(1)))
        .expires(PULL_EXPIRES)
        .heartbeat(PULL_HEARTBEAT)
        .messages()
        .await
        .map_err(|e| BusError::Unavailable(format!("cannot pull from consumer {}: {e}", spec.name)))
}

/// Settles one JetStream delivery.
///
/// `ack` is a double ack: it returns once the server confirmed it, so an
/// `Ok` means the message will not come again. `nak` and `in_progress` are
/// fire-and-forget: if one is lost, the ack wait runs out and the message
/// comes again, which at-least-once consumers handle anyway.
struct NatsAcker {
    acker: async_nats::jetstream::message::Acker,
    closed: Arc<AtomicBool>,
}

impl NatsAcker {
    fn check_open(&self) -> Result<(), BusError> {
        if self.closed.load(Ordering::Acquire) {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Acker for NatsAcker {
    async fn ack(&self) -> Result<(), BusError> {
        self.check_open()?;
        self.acker
            .double_ack()
            .await
            .map_err(|e| BusError::Unavailable(format!("ack not confirmed: {e}")))
    }

    async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        self.check_open()?;
        self.acker
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| BusError::Unavailable(format!("nak not sent: {e}")))
    }

    async fn in_progress(&self) -> Result<(), BusError> {
        self.check_open()?;
        self.acker
            .ack_with(AckKind::Progress)
            .await
            .map_err(|e| BusError::Unavailable(format!("progress not sent: {e}")))
    }
}
