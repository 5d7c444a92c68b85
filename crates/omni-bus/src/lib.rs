//! Omniroute's message bus.
//!
//! Parts talk through a [`Bus`]: durable streams with shared, explicitly
//! acknowledged consumers (JetStream semantics) for work that must not be
//! lost, and fan-out subscriptions for live notifications.
//!
//! # Layout
//! - [`topology`]: every subject, stream and durable consumer, declared once.
//! - `drain`: handing a consumer's deliveries to a handler, one at a time
//!   ([`drain_until`]) or in keyed lanes ([`drain_keyed`]), each kept alive
//!   while it is handled.
//! - [`subject`]: NATS-style subject matching (`*`, `>`).
//! - `request`: request/reply over any bus's fan-out ([`request()`],
//!   [`reply`]), with a deadline.
//! - [`embedded`]: the in-process implementation, durable on local disk.
//! - `conformance` (feature `conformance`): the suite every implementation
//!   must pass, for their tests; production builds leave it out.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use omni_core::trace::TraceContext;

#[cfg(feature = "conformance")]
pub mod conformance;
mod drain;
pub mod embedded;
mod request;
pub mod subject;
pub mod topology;

pub use drain::{drain_keyed, drain_until, key_hash};

pub use embedded::EmbeddedBus;
pub use request::{REPLY_TO, RequestError, reply, request};
pub use topology::ConsumerSpec;

/// `omni_bus_consumer_redelivered_total{consumer}`: deliveries that were not
/// a message's first (after a nak, a lapsed ack wait or a receiver gone),
/// counted by every backend as it hands them out.
pub fn redelivered() -> &'static omni_telemetry::metrics::Counters {
    static FAMILY: std::sync::OnceLock<omni_telemetry::metrics::Counters> =
        std::sync::OnceLock::new();
    FAMILY.get_or_init(|| {
        omni_telemetry::metrics::counter(
            "omni_bus_consumer_redelivered_total",
            "deliveries that were not a message's first, by consumer",
        )
    })
}

/// `omni_bus_consumer_pending{consumer}`: messages stored for a durable
/// consumer and not yet acknowledged (waiting, delayed after a nak, or being
/// handled), as its backend last read them: the embedded bus on every turn
/// of the consumer's dispatcher, NATS from the server's consumer info every
/// few seconds. The handle for `consumer`, shared by every caller; read at
/// scrape time.
pub fn pending(consumer: &str) -> Arc<std::sync::atomic::AtomicU64> {
    type Pending = std::sync::Mutex<BTreeMap<String, Arc<std::sync::atomic::AtomicU64>>>;
    static PENDING: std::sync::OnceLock<Arc<Pending>> = std::sync::OnceLock::new();
    let map = PENDING.get_or_init(|| {
        let map: Arc<Pending> = Arc::default();
        let read = Arc::clone(&map);
        omni_telemetry::metrics::gauges("bus-consumers", move |out| {
            let map = read.lock().unwrap_or_else(|p| p.into_inner());
            for (consumer, pending) in map.iter() {
                out.push(omni_telemetry::metrics::Sample {
                    name: "omni_bus_consumer_pending",
                    labels: vec![("consumer", consumer.clone())],
                    value: pending.load(std::sync::atomic::Ordering::Relaxed) as f64,
                });
            }
        });
        map
    });
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    Arc::clone(map.entry(consumer.to_owned()).or_default())
}

/// Header carrying the W3C trace context of the publisher.
pub const TRACEPARENT: &str = "traceparent";

/// A message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Where it was published, e.g. `omni.inbound.chat`.
    pub subject: String,
    /// Headers, e.g. [`TRACEPARENT`].
    pub headers: BTreeMap<String, String>,
    /// Protobuf-encoded payload.
    pub payload: Bytes,
}

impl Message {
    /// A message with no headers.
    pub fn new(subject: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Self {
            subject: subject.into(),
            headers: BTreeMap::new(),
            payload: payload.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Payload plus headers, as NATS counts a message against its limit
    /// (and as every implementation counts it against
    /// [`embedded::MAX_MESSAGE_BYTES`]).
    pub fn size(&self) -> usize {
        self.payload.len()
            + self
                .headers
                .iter()
                .map(|(name, value)| name.len() + value.len() + 4)
                .sum::<usize>()
    }

    /// The W3C trace context in the [`TRACEPARENT`] header, or a new root
    /// when the header is missing or malformed.
    pub fn trace_context(&self) -> TraceContext {
        self.headers
            .get(TRACEPARENT)
            .and_then(|h| TraceContext::parse(h))
            .unwrap_or_else(TraceContext::new_root)
    }
}

/// What the bus said about a durable publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishAck {
    /// The message id was seen within the deduplication window; nothing new was stored.
    pub duplicate: bool,
}

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus cannot be reached or cannot store now; retry later.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// No stream captures this subject.
    #[error("no stream captures subject {0:?}")]
    NoStream(String),
    /// The consumer is not declared in the topology.
    #[error("unknown consumer {0:?}")]
    UnknownConsumer(String),
    /// The message is larger than the bus accepts.
    #[error("message of {size} bytes exceeds the bus limit of {limit} bytes")]
    TooLarge {
        /// The message size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bus was closed.
    #[error("bus closed")]
    Closed,
}

/// Decides which stored messages [`Bus::purge`] deletes.
pub type MessageFilter = Arc<dyn Fn(&Message) -> bool + Send + Sync>;

/// A stream of items from the bus; ends when the bus closes.
pub type BusStream<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// Settles one delivery. Implementations are bus-specific.
#[async_trait]
pub trait Acker: Send + Sync {
    /// The effect is durable: never deliver again.
    async fn ack(&self) -> Result<(), BusError>;
    /// Not processed: deliver again after `delay`.
    async fn nak(&self, delay: Duration) -> Result<(), BusError>;
    /// Still working: extend the ack deadline.
    async fn in_progress(&self) -> Result<(), BusError>;
}

/// A message delivered to a durable consumer, to be acked once its effect is durable.
pub struct Delivery {
    /// The message.
    pub message: Message,
    /// 1 for the first delivery, more for redeliveries.
    pub attempt: u32,
    acker: Arc<dyn Acker>,
    ack_wait: Option<Duration>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("message", &self.message)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    /// Wraps a message and the acker that settles it.
    pub fn new(message: Message, attempt: u32, acker: Box<dyn Acker>) -> Self {
        Self {
            message,
            attempt,
            acker: Arc::from(acker),
            ack_wait: None,
        }
    }

    /// The consumer's ack wait, which paces [`Delivery::keep_alive`]; every
    /// implementation sets it.
    pub fn with_ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = Some(ack_wait);
        self
    }

    /// Signals progress ([`Delivery::in_progress`]) every third of the
    /// consumer's ack wait until the returned guard is dropped, so a
    /// consumer that is alive but slow keeps its delivery while one that
    /// crashed lets it go after one ack wait. [`drain_until`] and
    /// [`drain_keyed`] keep every delivery alive from the moment they take
    /// it until it is handled. Without an ack wait (see
    /// [`Delivery::with_ack_wait`]) the guard does nothing.
    pub fn keep_alive(&self) -> KeepAlive {
        let Some(ack_wait) = self.ack_wait else {
            return KeepAlive(None);
        };
        let every = (ack_wait / 3).max(MIN_PROGRESS_INTERVAL);
        let acker = Arc::clone(&self.acker);
        let subject = self.message.subject.clone();
        KeepAlive(Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                ticks.tick().await;
                match acker.in_progress().await {
                    Ok(()) => {}
                    Err(BusError::Closed) => break,
                    Err(e) => {
                        tracing::debug!(%subject, error = %e, "progress not signalled; retrying at the next tick");
                    }
                }
            }
        })))
    }

    /// The effect is durable: never deliver again.
    pub async fn ack(self) -> Result<(), BusError> {
        self.acker.ack().await
    }

    /// Not processed: deliver again after `delay`.
    pub async fn nak(self, delay: Duration) -> Result<(), BusError> {
        self.acker.nak(delay).await
    }

    /// Still working: extend the ack deadline.
    pub async fn in_progress(&self) -> Result<(), BusError> {
        self.acker.in_progress().await
    }

    /// The trace context the publisher sent (see [`Message::trace_context`]).
    pub fn trace_context(&self) -> TraceContext {
        self.message.trace_context()
    }

    /// Acks after a handled delivery; naks one whose handling failed, to
    /// come again after [`retry_delay`]. A failure to settle is logged: the
    /// bus redelivers after the ack wait.
    pub async fn settle<E>(self, handled: Result<(), E>) {
        let subject = self.message.subject.clone();
        let outcome = match handled {
            Ok(()) => self.ack().await,
            Err(_) => {
                let delay = retry_delay(self.attempt);
                self.nak(delay).await
            }
        };
        if let Err(e) = outcome {
            tracing::warn!(%subject, error = %e, "could not settle delivery; the bus will redeliver it");
        }
    }
}

/// Signals progress for a delivery until dropped: see [`Delivery::keep_alive`].
#[derive(Debug)]
pub struct KeepAlive(Option<tokio::task::JoinHandle<()>>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Progress is signalled at most this often, whatever the ack wait.
const MIN_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// How long a failed delivery waits before it comes again: 250 ms doubling
/// with each attempt, at most 16 s.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(6))
}

/// The message bus every part talks through.
///
/// Durable messages go to the stream that captures their subject (see
/// [`topology::STREAMS`]); each declared consumer gets every message of its
/// filter once, shared among all processes that consume it by the same name,
/// and redelivered until acked. Every published message, durable or not, is
/// also seen by fan-out subscribers whose filter matches.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Stores `message` durably, then returns. With `msg_id`, a second
    /// publish of the same id within the deduplication window (two minutes)
    /// stores nothing and reports `duplicate`.
    async fn publish(&self, message: Message, msg_id: Option<&str>)
    -> Result<PublishAck, BusError>;

    /// Fan-out only, not stored: subscribers connected now see it.
    async fn notify(&self, message: Message) -> Result<(), BusError>;

    /// Receives from the durable consumer `spec`. Several receivers of the
    /// same consumer share its messages (each message goes to one of them).
    async fn consume(&self, spec: &ConsumerSpec) -> Result<BusStream<Delivery>, BusError>;

    /// Receives every message, durable or not, whose subject matches
    /// `filter` from now on. A subscriber too slow to keep up loses messages
    /// (logged), as with NATS core subscriptions.
    async fn subscribe(&self, filter: &str) -> Result<BusStream<Message>, BusError>;

    /// Deletes from the durable stream named `stream` every stored message
    /// for which `matches` is true, and returns how many. It scans the
    /// stream once, from its first stored message to the last one stored
    /// when the purge began (so its cost is bounded by what the stream holds,
    /// which its max age bounds); a deleted message is never delivered
    /// again, to any consumer. Messages published during the purge may be
    /// left: purge again to be sure. `NoStream` for an unknown stream.
    async fn purge(&self, stream: &str, matches: MessageFilter) -> Result<u64, BusError>;

    /// Stops delivering, flushes, and releases resources; streams end.
    async fn close(&self);
}
