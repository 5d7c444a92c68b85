//! Every part in one process, over the embedded bus and store in
//! `data_dir`. This is the default way to run Omniroute.

use std::sync::Arc;

use anyhow::Context as _;
use omni_bus::EmbeddedBus;
use omni_core::config::Config;
use omni_store::{EmbeddedStore, Timed};

use crate::parts::{self, Backends, Listeners, Part, Running};

/// How often the embedded bus deletes messages past `[retention]
/// stream_max_age_days` that no consumer took.
const EXPIRE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Opens the embedded bus and store in `config.data_dir` and starts every
/// part ([`Part::embedded`]: the core parts and the enabled adapters). Returns once all servers accept connections.
pub async fn start(config: Config, listeners: Listeners) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let store = EmbeddedStore::open(&config.data_dir.join("store.redb")).with_context(|| {
        format!(
            "cannot open the store in {} (is another omni using it?)",
            config.data_dir.display()
        )
    })?;
    let bus = EmbeddedBus::open(&config.data_dir.join("bus.redb")).with_context(|| {
        format!(
            "cannot open the bus in {} (is another omni using it?)",
            config.data_dir.display()
        )
    })?;
    if let Some(max_age) = config.retention.stream_max_age() {
        // Ends when the bus closes.
        drop(bus.expire_every(max_age, EXPIRE_EVERY));
    }
    // Every store call timed (`omni_store_operation_seconds`).
    let store = Timed::new(store, "embedded");
    let backends = Backends {
        bus: Some(bus),
        context_store: Some(store.clone()),
        router_store: Some(store.clone()),
        account_store: Some(store),
    };
    let parts = Part::embedded(&config);
    parts::start(Arc::new(config), &parts, backends, listeners).await
}
