//! What the kit reads back from the bus: the adapter's inbound messages
//! through the durable consumer the context service would use (each read
//! acknowledged), so a duplicate the bus stored would show; and its
//! delivery reports through a fan-out subscription, which takes nothing
//! from the context service when the kit runs against a live bus.

use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::topology::{CONTEXT_INBOUND, subjects};
use omni_bus::{Bus, BusError, BusStream, Message};
use omni_core::Channel;
use omni_core::trace::TraceContext;
use omni_proto::events as ev;
use tokio::sync::Mutex;

/// One message read back, with the headers' trace and its subject.
#[derive(Debug, Clone)]
pub struct Seen<T> {
    /// The decoded payload.
    pub payload: T,
    /// The subject it was published on.
    pub subject: String,
    /// The `traceparent` header, parsed; `None` when missing or malformed.
    pub trace: Option<TraceContext>,
}

/// A stream of messages, read one payload at a time.
pub struct Reader {
    messages: Mutex<BusStream<Message>>,
}

impl Reader {
    /// Every message of the durable consumer `spec`, acknowledged as read.
    async fn consume(bus: &dyn Bus, spec: &omni_bus::ConsumerSpec) -> Result<Self, BusError> {
        let deliveries = bus.consume(spec).await?;
        let messages = deliveries.then(|delivery| async move {
            let message = delivery.message.clone();
            if let Err(e) = delivery.ack().await {
                tracing::debug!(error = %e, "conformance kit could not ack a read message");
            }
            message
        });
        Ok(Self {
            messages: Mutex::new(Box::pin(messages)),
        })
    }

    /// Every message on `filter` from now on.
    async fn subscribe(bus: &dyn Bus, filter: &str) -> Result<Self, BusError> {
        Ok(Self {
            messages: Mutex::new(bus.subscribe(filter).await?),
        })
    }

    /// Reads until `last` matches a payload, or `wait` passes without one;
    /// returns what matched `mine` on the way (`last` included), in order,
    /// and whether `last` came.
    pub async fn until<T: prost::Message + Default>(
        &self,
        wait: Duration,
        mine: impl Fn(&T) -> bool,
        last: impl Fn(&T) -> bool,
    ) -> (Vec<Seen<T>>, bool) {
        let mut seen = Vec::new();
        let mut messages = self.messages.lock().await;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, messages.next()).await;
            let Ok(Some(message)) = next else {
                return (seen, false);
            };
            let decoded = T::decode(message.payload.as_ref());
            let trace = message
                .headers
                .get(omni_bus::TRACEPARENT)
                .and_then(|h| TraceContext::parse(h));
            let subject = message.subject;
            let Ok(payload) = decoded else { continue };
            if !mine(&payload) {
                continue;
            }
            let done = last(&payload);
            seen.push(Seen {
                payload,
                subject,
                trace,
            });
            if done {
                return (seen, true);
            }
        }
    }
}

/// The two readers the rules share.
pub struct Observer {
    /// `omni.inbound.>` through `context-inbound`; `None` when the kit
    /// does not drive the adapter's inbound side.
    pub inbound: Option<Reader>,
    /// `omni.delivery.<channel>`, fan-out.
    pub reports: Reader,
}

impl Observer {
    /// Starts reading `bus` for `channel`; the inbound side only `with_inbound`.
    pub async fn open(
        bus: &dyn Bus,
        channel: Channel,
        with_inbound: bool,
    ) -> Result<Self, BusError> {
        let reports = Reader::subscribe(bus, &subjects::delivery(channel)).await?;
        let inbound = if with_inbound {
            Some(Reader::consume(bus, &CONTEXT_INBOUND).await?)
        } else {
            None
        };
        Ok(Self { inbound, reports })
    }
}

/// An inbound payload, for [`Reader::until`].
pub type Inbound = ev::InboundMessage;
/// A delivery report, for [`Reader::until`].
pub type Report = ev::DeliveryReport;
