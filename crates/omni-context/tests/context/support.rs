//! A context service on a temporary embedded bus and store.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::topology::ConsumerSpec;
use omni_bus::{Bus, BusStream, Delivery, EmbeddedBus};
use omni_bus_nats::NatsBus;
use omni_context::{ContextService, ContextSettings};
use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_core::{Channel, Identity, InboundMessage};
use omni_store::{AccountStore, ContextStore, EmbeddedStore};
use omni_store_redis::RedisStore;
use omni_testservers::nats::NatsServer;
use omni_testservers::redis::RedisServer;
use tokio_util::sync::CancellationToken;

const CONFIG: &str = r#"
    [context]
    default_queue = { chat = "support", email = "support", sms = "support" }
    reply_domain = "reply.test"
    default_region = "US"

    [[queues]]
    id = "support"
"#;

/// One context service with its consumers running.
pub struct Harness {
    _dir: tempfile::TempDir,
    /// The real servers of the distributed mode, stopped on drop.
    _servers: Option<(NatsServer, RedisServer)>,
    pub bus: Arc<dyn Bus>,
    pub service: Arc<ContextService>,
    /// The audit log the service appends to.
    pub audit: Arc<dyn AccountStore>,
    shutdown: CancellationToken,
}

impl Harness {
    /// Starts a service whose configuration `tweak` may change.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::parse(CONFIG).expect("config");
        tweak(&mut config);
        config.validate().expect("valid config");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
        let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("store");
        Self::with(dir, None, bus, (store.clone(), store), config)
    }

    /// The distributed mode: a real nats-server and redis-server.
    pub async fn start_distributed() -> Self {
        Self::start_distributed_with(|_| {}).await
    }

    /// The distributed mode with a configuration `tweak` may change.
    pub async fn start_distributed_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::parse(CONFIG).expect("config");
        tweak(&mut config);
        config.validate().expect("valid config");
        let nats = NatsServer::start().expect("start nats-server");
        let redis = RedisServer::start().expect("start redis-server");
        let bus: Arc<dyn Bus> = NatsBus::connect(&nats.url()).await.expect("nats");
        let store = RedisStore::connect(&redis.url(), "omni")
            .await
            .expect("redis");
        Self::with(
            dir,
            Some((nats, redis)),
            bus,
            (store.clone(), store),
            config,
        )
    }

    fn with(
        dir: tempfile::TempDir,
        servers: Option<(NatsServer, RedisServer)>,
        bus: Arc<dyn Bus>,
        (store, audit): (Arc<dyn ContextStore>, Arc<dyn AccountStore>),
        config: Config,
    ) -> Self {
        let service = Arc::new(
            ContextService::new(store, bus.clone(), ContextSettings::new(Arc::new(config)))
                .with_audit(Some(audit.clone())),
        );
        let shutdown = CancellationToken::new();
        tokio::spawn(omni_context::intake::run_inbound(
            service.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(omni_context::intake::run_deliveries(
            service.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(omni_context::deadletters::run(
            service.clone(),
            shutdown.clone(),
        ));
        Self {
            _dir: dir,
            _servers: servers,
            bus,
            service,
            audit,
            shutdown,
        }
    }

    /// A consumer of `spec`, for what the service publishes.
    pub async fn consume(&self, spec: &ConsumerSpec) -> BusStream<Delivery> {
        self.bus.consume(spec).await.expect("consume")
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The next delivery, acked, or a failed test after 10 s.
pub async fn next(stream: &mut BusStream<Delivery>) -> omni_bus::Message {
    let delivery = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a delivery within 10 s")
        .expect("stream open");
    let message = delivery.message.clone();
    delivery.ack().await.expect("ack");
    message
}

/// Polls `check` until it returns `Some`, for up to 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A customer message as an adapter would publish it.
pub fn inbound(from: Identity, key: &str, text: &str) -> InboundMessage {
    InboundMessage {
        idempotency_key: key.to_owned(),
        channel: from.channel().unwrap_or(Channel::CHAT),
        from,
        text: text.to_owned(),
        received_at_ms: now_ms(),
        topic: None,
        display_name: None,
        email: None,
        sms: None,
    }
}
