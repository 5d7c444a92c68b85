//! What the kit reads back from the bus: the adapter's inbound messages
//! and its delivery reports, through the durable consumers the context
//! service would use, each read acknowledged.

use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::topology::{CONTEXT_DELIVERY, CONTEXT_INBOUND};
use omni_bus::{Bus, BusError, BusStream, Delivery};
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

/// A durable consumer's stream, read one payload at a time.
pub struct Reader {
    deliveries: Mutex<BusStream<Delivery>>,
}

impl Reader {
    async fn open(bus: &dyn Bus, spec: &omni_bus::ConsumerSpec) -> Result<Self, BusError> {
        Ok(Self {
            deliveries: Mutex::new(bus.consume(spec).await?),
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
        let mut deliveries = self.deliveries.lock().await;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, deliveries.next()).await;
            let Ok(Some(delivery)) = next else {
                return (seen, false);
            };
            let decoded = T::decode(delivery.message.payload.as_ref());
            let subject = delivery.message.subject.clone();
            let trace = delivery
                .message
                .headers
                .get(omni_bus::TRACEPARENT)
                .and_then(|h| TraceContext::parse(h));
            if let Err(e) = delivery.ack().await {
                tracing::debug!(error = %e, "conformance kit could not ack a read message");
            }
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
    /// `omni.inbound.>` through `context-inbound`.
    pub inbound: Reader,
    /// `omni.delivery.>` through `context-delivery`.
    pub reports: Reader,
}

impl Observer {
    /// Starts reading `bus`.
    pub async fn open(bus: &dyn Bus) -> Result<Self, BusError> {
        Ok(Self {
            inbound: Reader::open(bus, &CONTEXT_INBOUND).await?,
            reports: Reader::open(bus, &CONTEXT_DELIVERY).await?,
        })
    }
}

/// An inbound payload, for [`Reader::until`].
pub type Inbound = ev::InboundMessage;
/// A delivery report, for [`Reader::until`].
pub type Report = ev::DeliveryReport;
