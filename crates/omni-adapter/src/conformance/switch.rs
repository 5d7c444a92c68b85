//! A bus the kit can make unavailable: durable publishes fail as a NATS
//! outage would ([`BusError::Unavailable`]) while it is off; everything
//! else passes through.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use omni_bus::{
    Bus, BusError, BusStream, ConsumerSpec, Delivery, Message, MessageFilter, PublishAck,
};

/// Wraps a bus; see the module doc.
pub struct SwitchBus {
    inner: Arc<dyn Bus>,
    down: AtomicBool,
}

impl SwitchBus {
    /// `inner`, available.
    pub fn new(inner: Arc<dyn Bus>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            down: AtomicBool::new(false),
        })
    }

    /// Durable publishes fail from now on.
    pub fn take_down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    /// Durable publishes go through again.
    pub fn bring_up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[async_trait]
impl Bus for SwitchBus {
    async fn publish(
        &self,
        message: Message,
        msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::Unavailable(
                "made unavailable by the conformance kit".into(),
            ));
        }
        self.inner.publish(message, msg_id).await
    }

    async fn notify(&self, message: Message) -> Result<(), BusError> {
        self.inner.notify(message).await
    }

    async fn consume(&self, spec: &ConsumerSpec) -> Result<BusStream<Delivery>, BusError> {
        self.inner.consume(spec).await
    }

    async fn subscribe(&self, filter: &str) -> Result<BusStream<Message>, BusError> {
        self.inner.subscribe(filter).await
    }

    async fn purge(&self, stream: &str, matches: MessageFilter) -> Result<u64, BusError> {
        self.inner.purge(stream, matches).await
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}
