//! The bus conformance suite against the embedded bus, one test per check.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use omni_bus::conformance::{self, BusFactory};
use omni_bus::{Bus, EmbeddedBus};

struct Factory {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Factory {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bus.redb");
        Self { _dir: dir, path }
    }
}

#[async_trait]
impl BusFactory for Factory {
    async fn open(&self) -> Arc<dyn Bus> {
        EmbeddedBus::open(&self.path).expect("open embedded bus")
    }
}

macro_rules! check {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            conformance::$name(&Factory::new()).await;
        }
    };
}

check!(publish_then_consume_round_trips);
check!(duplicate_message_id_is_stored_once);
check!(nak_redelivers);
check!(unacked_delivery_is_redelivered_after_ack_wait);
check!(receivers_of_one_consumer_share_messages);
check!(deliveries_keep_publish_order);
check!(unacked_messages_survive_restart);
check!(subscribers_see_durable_and_notified_messages);
check!(subject_without_stream_is_refused);

#[tokio::test]
async fn all_checks_share_one_bus() {
    conformance::run_all(&Factory::new()).await;
}

#[tokio::test]
async fn a_second_handle_on_the_same_file_is_refused() {
    let factory = Factory::new();
    let _bus = EmbeddedBus::open(&factory.path).expect("open");
    let err = EmbeddedBus::open(&factory.path)
        .err()
        .expect("second open fails");
    assert!(err.to_string().contains("bus.redb"), "{err}");
}
