//! Omniroute's bus on NATS JetStream: [`NatsBus`] implements
//! [`omni_bus::Bus`] for the distributed mode and passes the same
//! conformance suite as the embedded bus.
//!
//! - `publish` is a JetStream publish that returns once the server's PubAck
//!   arrived (the message is stored); a message id travels as
//!   `Nats-Msg-Id` and the stream's two-minute duplicate window drops a
//!   second publish of it.
//! - `consume` reads a durable pull consumer; receivers of the same
//!   consumer, in one process or many, share its messages.
//! - `notify` and `subscribe` are core NATS: not stored, fan-out.
//!
//! The client reconnects by itself after a NATS restart. While it knows the
//! server is away, publishes fail at once with [`BusError::Unavailable`];
//! consumers resume pulling after the reconnect. Nothing unacknowledged is
//! lost: the server redelivers it after the ack wait.
//!
//! A publish whose PubAck does not come in time also fails with
//! `Unavailable`, but the message may still have been stored (the ack, not
//! the message, may be what was lost). Publishers retry with the same
//! message id, and the duplicate window makes the retry harmless.
//!
//! # Layout
//! - [`declare`]: the streams and consumers of [`omni_bus::topology`] as
//!   JetStream configurations, declared on connect.
//! - `deliveries`: a consumer's message stream and the acker of each delivery.
//! - `purge`: deleting a stream's messages by content, one scan.
//! - `convert`: messages and headers between the bus and NATS, size limits.
//! - `credentials`: user and password (or token) taken out of the URL, so
//!   neither the client's logs nor ours print them.
//! - [`link`]: TLS files and NKey / `.creds` authentication ([`NatsLink`]).

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::{Client, ConnectOptions, Event, jetstream};
use async_trait::async_trait;
use futures_util::StreamExt;
use omni_bus::topology;
use omni_bus::{
    Bus, BusError, BusStream, ConsumerSpec, Delivery, Message, MessageFilter, PublishAck,
};
use tokio::sync::watch;

mod convert;
mod credentials;
pub mod declare;
mod deliveries;
pub mod link;
mod purge;

pub use convert::MAX_MESSAGE_BYTES;
pub use declare::StreamLimits;
pub use link::NatsLink;

/// How long connecting to NATS may take before `connect` gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a JetStream API call or a PubAck may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `close` waits for buffered publishes and acks to reach the server.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a consumer's pending count is read from the server.
const PENDING_EVERY: Duration = Duration::from_secs(5);

/// The bus on a NATS JetStream server.
#[derive(Debug)]
pub struct NatsBus {
    /// The server URL with any credentials replaced, for messages.
    url: String,
    client: Client,
    js: jetstream::Context,
    /// Set once by `close`; acks of live deliveries check it.
    closed_flag: Arc<AtomicBool>,
    /// Ends every stream handed out when it turns `true`.
    closed: watch::Sender<bool>,
    /// The consumers whose pending count a task of this bus reads.
    watched: std::sync::Mutex<std::collections::BTreeSet<&'static str>>,
}

impl NatsBus {
    /// Connects to NATS at `url` (e.g. `nats://127.0.0.1:4222`) and declares
    /// the topology (see [`declare::declare_topology`]).
    ///
    /// Fails with [`BusError::Unavailable`] naming `url` when the server
    /// cannot be reached within a few seconds or has no JetStream.
    pub async fn connect(url: &str) -> Result<Arc<NatsBus>, BusError> {
        Self::connect_with(url, &NatsLink::default()).await
    }

    /// Like [`NatsBus::connect`], with the TLS files and NKey or `.creds`
    /// authentication of `link`. A file that cannot be read, a handshake
    /// the server refuses and a credential it rejects are
    /// [`BusError::Unavailable`] naming the URL without its credentials.
    pub async fn connect_with(url: &str, link: &NatsLink) -> Result<Arc<NatsBus>, BusError> {
        Self::connect_with_limits(url, link, &StreamLimits::default()).await
    }

    /// Like [`NatsBus::connect_with`], declaring the streams with `limits`
    /// (their max age, from `[retention] stream_max_age_days`); streams that
    /// exist are updated to them.
    pub async fn connect_with_limits(
        url: &str,
        link: &NatsLink,
        limits: &StreamLimits,
    ) -> Result<Arc<NatsBus>, BusError> {
        let server = credentials::Server::parse(url);
        let url = server.shown.as_str();
        let unreachable =
            |reason: String| BusError::Unavailable(format!("cannot reach NATS at {url}: {reason}"));
        let options = server.authenticate(
            ConnectOptions::new()
                .name("omniroute")
                .connection_timeout(CONNECT_TIMEOUT)
                .request_timeout(Some(REQUEST_TIMEOUT))
                .event_callback(|event| async move { log_event(&event) }),
        );
        let options = link.apply(options).await.map_err(unreachable)?;
        let client = tokio::time::timeout(CONNECT_TIMEOUT, options.connect(server.dial.as_str()))
            .await
            .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| unreachable(e.to_string()))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        declare::declare_topology(&js, limits)
            .await
            .map_err(|e| BusError::Unavailable(format!("NATS at {url}: {e}")))?;
        tracing::info!(%url, "connected to nats");
        let (closed, _) = watch::channel(false);
        Ok(Arc::new(NatsBus {
            url: url.to_owned(),
            client,
            js,
            closed_flag: Arc::new(AtomicBool::new(false)),
            closed,
            watched: std::sync::Mutex::default(),
        }))
    }

    /// The URL this bus connected to, with any credentials replaced.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The NATS client, on the same link (TLS, credentials), for what the
    /// [`Bus`] trait does not cover (request/reply to an adapter's hook).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The JetStream context (the conformance kit pauses a stream with it).
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    fn check_open(&self) -> Result<(), BusError> {
        if self.closed_flag.load(Ordering::Acquire) {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    }

    /// Reads `consumer`'s pending count from the server every
    /// [`PENDING_EVERY`] into [`omni_bus::pending`], until the bus closes;
    /// once per consumer however many receivers it has.
    fn watch_pending(&self, name: &'static str, consumer: &jetstream::consumer::PullConsumer) {
        let first = self
            .watched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name);
        if !first {
            return;
        }
        let gauge = omni_bus::pending(name);
        let consumer = consumer.clone();
        let mut closed = self.closed.subscribe();
        tokio::spawn(async move {
            loop {
                match consumer.get_info().await {
                    Ok(info) => gauge.store(
                        info.num_pending + info.num_ack_pending as u64,
                        Ordering::Relaxed,
                    ),
                    Err(e) => {
                        tracing::debug!(consumer = name, error = %e, "cannot read the consumer's pending count")
                    }
                }
                tokio::select! {
                    () = until_closed(&mut closed) => return,
                    () = tokio::time::sleep(PENDING_EVERY) => {}
                }
            }
        });
    }

    /// Ends `stream` when the bus closes.
    fn until_close<T: Send + 'static>(
        &self,
        stream: impl futures_util::Stream<Item = T> + Send + 'static,
    ) -> BusStream<T> {
        let mut closed = self.closed.subscribe();
        Box::pin(stream.take_until(async move { until_closed(&mut closed).await }))
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(
        &self,
        message: Message,
        msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError> {
        self.check_open()?;
        if !omni_bus::subject::publishable(&message.subject)
            || topology::stream_for(&message.subject).is_none()
        {
            return Err(BusError::NoStream(message.subject));
        }
        let size = message.size();
        if size > MAX_MESSAGE_BYTES {
            return Err(BusError::TooLarge {
                size,
                limit: MAX_MESSAGE_BYTES,
            });
        }
        // While the client knows the server is away, fail at once rather than
        // buffer the message for a PubAck that times out.
        if self.client.connection_state() != State::Connected {
            return Err(BusError::Unavailable(format!(
                "not connected to NATS at {}",
                self.url
            )));
        }
        let mut publish = PublishMessage::build().headers(convert::to_header_map(&message)?);
        if let Some(id) = msg_id {
            convert::header_value("Nats-Msg-Id", id)?;
            publish = publish.message_id(id);
        }
        let subject = message.subject;
        let publish = publish.payload(message.payload);
        let unconfirmed = |e: async_nats::jetstream::context::PublishError| match e.kind() {
            PublishErrorKind::MaxPayloadExceeded => BusError::TooLarge {
                size,
                limit: self.client.server_info().max_payload,
            },
            _ => BusError::Unavailable(format!("publish to {subject} not confirmed: {e}")),
        };
        let ack = self
            .js
            .send_publish(subject.clone(), publish)
            .await
            .map_err(unconfirmed)?
            .await
            .map_err(unconfirmed)?;
        tracing::trace!(%subject, stream = %ack.stream, sequence = ack.sequence, duplicate = ack.duplicate, "published");
        Ok(PublishAck {
            duplicate: ack.duplicate,
        })
    }

    async fn notify(&self, message: Message) -> Result<(), BusError> {
        self.check_open()?;
        let headers = convert::to_header_map(&message)?;
        self.client
            .publish_with_headers(message.subject.clone(), headers, message.payload)
            .await
            .map_err(|e| {
                BusError::Unavailable(format!("notify on {} not sent: {e}", message.subject))
            })
    }

    async fn consume(&self, spec: &ConsumerSpec) -> Result<BusStream<Delivery>, BusError> {
        self.check_open()?;
        let consumer = declare::declare_consumer(&self.js, spec).await?;
        self.watch_pending(spec.name, &consumer);
        let deliveries = deliveries::deliveries(
            self.js.clone(),
            *spec,
            consumer,
            self.closed.subscribe(),
            Arc::clone(&self.closed_flag),
        )
        .await?;
        tracing::debug!(consumer = spec.name, "consuming");
        Ok(self.until_close(deliveries))
    }

    async fn subscribe(&self, filter: &str) -> Result<BusStream<Message>, BusError> {
        self.check_open()?;
        let subscriber = self
            .client
            .subscribe(filter.to_owned())
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot subscribe to {filter}: {e}")))?;
        Ok(self.until_close(subscriber.map(convert::from_nats)))
    }

    async fn purge(&self, stream: &str, matches: MessageFilter) -> Result<u64, BusError> {
        self.check_open()?;
        purge::purge(&self.js, stream, matches).await
    }

    async fn close(&self) {
        if self.closed_flag.swap(true, Ordering::AcqRel) {
            return;
        }
        self.closed.send_replace(true);
        // Naks and progress signals are fire-and-forget: send what is buffered.
        match tokio::time::timeout(FLUSH_TIMEOUT, self.client.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(url = %self.url, error = %e, "flushing nats failed"),
            Err(_) => tracing::warn!(url = %self.url, "flushing nats timed out"),
        }
        if let Err(e) = self.client.drain().await {
            tracing::warn!(url = %self.url, error = %e, "draining nats failed");
        }
        tracing::info!(url = %self.url, "nats bus closed");
    }
}

/// Resolves once `closed` turns `true`; never if its sender is gone
/// without closing (the streams then end with the connection).
pub(crate) async fn until_closed(closed: &mut watch::Receiver<bool>) {
    if closed.wait_for(|closed| *closed).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Logs connection events of the client.
fn log_event(event: &Event) {
    match event {
        Event::Connected => tracing::info!("nats connected"),
        Event::Disconnected => tracing::warn!("nats disconnected; reconnecting"),
        Event::LameDuckMode => tracing::warn!("nats server entering lame duck mode"),
        Event::Draining => tracing::debug!("nats connection draining"),
        Event::Closed => tracing::debug!("nats connection closed"),
        Event::SlowConsumer(sid) => {
            tracing::warn!(subscription = sid, "slow nats subscriber lost messages")
        }
        Event::ServerError(e) => tracing::warn!(error = %e, "nats server error"),
        Event::ClientError(e) => tracing::warn!(error = %e, "nats client error"),
    }
}
