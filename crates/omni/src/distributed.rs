//! One part per process over NATS JetStream and Redis: `omni context`,
//! `omni router`, `omni chat`, `omni desk`, `omni email`, `omni sms`.
//!
//! At start a part connects to what it needs (NATS for every part but the
//! desk; Redis for context, router and desk) and exits with a message naming the
//! server and the setting when one is unreachable. Once running, the
//! clients reconnect by themselves: while NATS is away, publishes fail
//! (adapters answer "try again") and consumers resume after the
//! reconnect; while Redis is away, store calls fail and the bus redelivers
//! what was not acknowledged.

use std::sync::Arc;

use anyhow::Context as _;
use omni_bus::Bus;
use omni_bus_nats::{NatsBus, NatsLink, StreamLimits};
use omni_core::config::Config;
use omni_store::Timed;
use omni_store_redis::RedisStore;
use secrecy::ExposeSecret;

use crate::parts::{self, Backends, Listeners, Part, Running};

/// Connects to what `part` needs ([`Part::needs_bus`]: NATS;
/// [`Part::needs_store`]: Redis; the desk keeps accounts and sessions
/// there, so its replicas share them) and starts it.
pub async fn start(config: Config, part: Part, listeners: Listeners) -> anyhow::Result<Running> {
    let link = NatsLink::from(&config.nats);
    let limits = StreamLimits {
        max_age: config.retention.stream_max_age(),
    };
    let bus: Option<Arc<dyn Bus>> = match part.needs_bus() {
        true => Some(NatsBus::connect_with_limits(config.nats.url.expose_secret(), &link, &limits).await.with_context(|| {
            format!(
                "omni {}: cannot reach NATS at {} (is nats-server running with JetStream? set nats.url or OMNI_NATS_URL)",
                part.name(),
                config.nats.display_url()
            )
        })?),
        false => None,
    };
    let store = match part.needs_store() {
        true => Some(
            RedisStore::connect_with(
                config.redis.url.expose_secret(),
                &config.redis.prefix,
                &config.redis.tls(),
            )
                .await
                .with_context(|| {
                    format!(
                        "omni {}: cannot reach Redis at {} (is redis-server running? set redis.url or OMNI_REDIS_URL)",
                        part.name(),
                        config.redis.display_url()
                    )
                })?,
        ),
        false => None,
    };
    // Every store call timed (`omni_store_operation_seconds`).
    let store = store.map(|s| Timed::new(s, "redis"));
    let backends = Backends {
        bus,
        context_store: store.clone().map(|s| s as _),
        router_store: store.clone().map(|s| s as _),
        account_store: store.map(|s| s as _),
    };
    parts::start(Arc::new(config), &[part], backends, listeners).await
}
