//! Buses and bots for the tests.

use std::path::Path;
use std::sync::Arc;

use omni_bot::FaqBot;
use omni_bus::{Bus, EmbeddedBus};
use omni_bus_nats::NatsBus;
use omni_testservers::nats::NatsServer;

/// An embedded bus in a fresh directory (kept with the bus).
pub struct Embedded {
    pub bus: Arc<dyn Bus>,
    _dir: tempfile::TempDir,
}

pub fn embedded() -> Embedded {
    let dir = tempfile::tempdir().expect("dir");
    let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
    Embedded { bus, _dir: dir }
}

/// A NATS bus on a nats-server of its own (stopped when dropped).
pub struct Nats {
    pub bus: Arc<dyn Bus>,
    _server: NatsServer,
}

pub async fn nats() -> Nats {
    let server = NatsServer::start().expect("nats-server");
    let bus: Arc<dyn Bus> = NatsBus::connect(&server.url()).await.expect("nats");
    Nats {
        bus,
        _server: server,
    }
}

/// The FAQ bot answering from the repository's sample file.
pub fn sample_faq_bot() -> FaqBot {
    FaqBot::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/faq.toml"))
        .expect("config/faq.toml")
}
