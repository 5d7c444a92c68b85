//! Queue positions on the bus: the router publishes each waiting
//! conversation's place when it changes (and only then), and every
//! waiting conversation's again after a restart.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::embedded::EmbeddedBus;
use omni_bus::topology::subjects;
use omni_bus::{Bus, BusStream, Message};
use omni_core::config::Config;
use omni_core::{ConversationId, QueueId};
use omni_proto::events as ev;
use omni_router::RouterShell;
use omni_store::EmbeddedStore;
use prost::Message as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{CONFIG, contact};

/// Longest wait for a position the router publishes within a second or two.
const PATIENCE: Duration = Duration::from_secs(30);

struct Running {
    shell: Arc<RouterShell>,
    positions: BusStream<Message>,
    stop: CancellationToken,
    timer: JoinHandle<()>,
}

async fn start(dir: &Path) -> Running {
    let config = Config::parse(CONFIG).expect("config parses");
    let store = EmbeddedStore::open(&dir.join("store.redb")).expect("store opens");
    let bus = EmbeddedBus::open(&dir.join("bus.redb")).expect("bus opens");
    let positions = bus
        .subscribe(subjects::QUEUE_POSITIONS)
        .await
        .expect("subscribed");
    let shell = RouterShell::start(&config, store, bus)
        .await
        .expect("router starts");
    let stop = CancellationToken::new();
    let timer = tokio::spawn(shell.clone().run_timer(stop.clone()));
    Running {
        shell,
        positions,
        stop,
        timer,
    }
}

impl Running {
    /// The next `n` positions published, as (conversation, position).
    async fn next(&mut self, n: usize) -> Vec<(String, u32)> {
        let mut got = Vec::new();
        while got.len() < n {
            let message = tokio::time::timeout(PATIENCE, self.positions.next())
                .await
                .unwrap_or_else(|_| panic!("no position within {PATIENCE:?}; got {got:?}"))
                .expect("bus stream open");
            let p = ev::QueuePosition::decode(message.payload.as_ref()).expect("decodes");
            assert_eq!(
                message.subject,
                subjects::queue_position(&p.conversation_id)
            );
            assert_eq!(p.queue, "support");
            assert_eq!(p.expected_wait_ms, 0, "no answers yet: no estimate");
            got.push((p.conversation_id, p.position));
        }
        got.sort();
        got
    }

    async fn stop(self) {
        self.stop.cancel();
        self.timer.await.expect("timer stops");
    }
}

fn expect(list: &[(&str, u32)]) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = list.iter().map(|(c, p)| (c.to_string(), *p)).collect();
    v.sort();
    v
}

#[tokio::test]
async fn positions_are_published_when_they_change_and_again_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = start(dir.path()).await;
    for id in ["k1", "k2", "k3"] {
        router
            .shell
            .arrive(contact(id, "support"))
            .await
            .expect("arrives");
        // Distinct queued times: the line is in arrival order.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        router.next(3).await,
        expect(&[("k1", 1), ("k2", 2), ("k3", 3)])
    );

    // k1 leaves the line: only k2 and k3 moved.
    router
        .shell
        .release(&ConversationId::from("k1"))
        .await
        .expect("released");
    assert_eq!(router.next(2).await, expect(&[("k2", 1), ("k3", 2)]));

    // k4 joins behind: only k4 is told, then k5 only (nobody else was
    // published in between).
    for (id, at) in [("k4", 3), ("k5", 4)] {
        tokio::time::sleep(Duration::from_millis(2)).await;
        router
            .shell
            .arrive(contact(id, "support"))
            .await
            .expect("arrives");
        assert_eq!(router.next(1).await, expect(&[(id, at)]));
    }
    router.stop().await;

    let mut router = start(dir.path()).await;
    assert_eq!(
        router.next(4).await,
        expect(&[("k2", 1), ("k3", 2), ("k4", 3), ("k5", 4)]),
        "after a restart every waiting conversation hears its place again"
    );
    let waiting = router
        .shell
        .with_engine(|e| e.queues(0))
        .into_iter()
        .find(|q| q.id == QueueId::from("support"))
        .map(|q| q.waiting);
    assert_eq!(waiting, Some(4));
    router.stop().await;
}
