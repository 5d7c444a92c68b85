//! The supervisor's wall polls the router once per desk, not once per open
//! wall: two walls open share one poller, both get its readings (an
//! agent's new presence shows on both), the poller stops once the last
//! wall has left, and the next wall starts a new one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use omni_accounts::Accounts;
use omni_desk::Desk;
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{Presence, SetPresenceRequest};
use omni_store::EmbeddedStore;
use omni_testkit::actors::TEST_PASSWORD;
use omni_testkit::app::{seed_accounts, test_config};
use omni_testkit::{HttpClient, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Longest wait for something the desk does within a second or two.
const PATIENCE: Duration = Duration::from_secs(20);

/// An open `GET /api/wall/events` stream, read as text.
struct Wall {
    socket: TcpStream,
    text: String,
}

impl Wall {
    async fn open(addr: &str, cookie: &str) -> anyhow::Result<Self> {
        let mut socket = TcpStream::connect(addr).await?;
        let request = format!(
            "GET /api/wall/events HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await?;
        Ok(Self {
            socket,
            text: String::new(),
        })
    }

    /// Reads until the stream holds `needle`.
    async fn until(&mut self, needle: &str) -> anyhow::Result<()> {
        let wait = async {
            let mut buf = vec![0u8; 16 * 1024];
            while !self.text.contains(needle) {
                let n = self.socket.read(&mut buf).await?;
                anyhow::ensure!(n > 0, "stream closed before {needle:?}: {}", self.text);
                self.text.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            Ok(())
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .map_err(|_| anyhow::anyhow!("no {needle:?} in {}", self.text))?
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_open_walls_share_one_poller_that_stops_after_the_last() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let dir = tempfile::tempdir()?;
    let config = test_config(dir.path())?;
    seed_accounts(&config).await?;
    let store = EmbeddedStore::open(&config.data_dir.join("store.redb"))?;
    let accounts = Arc::new(Accounts::new(store, &config.auth)?);
    let channel =
        || omni_testkit::grpc::channel(&app.grpc_url(), omni_testkit::grpc::SERVICE_TOKEN);
    let desk = Arc::new(Desk::new(channel()?, channel()?, HashMap::new(), accounts));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    let stop = CancellationToken::new();
    tokio::spawn(omni_desk::serve(
        listener,
        desk.clone(),
        omni_core::config::LimitsConfig::default(),
        stop.clone(),
    ));
    let (r, signed) = HttpClient::new(format!("http://{addr}"))
        .sign_in("supervisor", TEST_PASSWORD)
        .await?;
    let cookie = signed
        .and_then(|c| c.session().map(|s| s.cookie()))
        .ok_or_else(|| anyhow::anyhow!("signed in: {}", r.body))?;
    let feed = desk.wall_feed();
    assert!(!feed.polling(), "no wall open, no poller");

    let mut one = Wall::open(&addr, &cookie).await?;
    one.until("event: wall").await?;
    let mut two = Wall::open(&addr, &cookie).await?;
    two.until("event: wall").await?;
    assert!(feed.polling());
    assert_eq!(
        feed.pollers_started(),
        1,
        "the second wall joined the first's poller"
    );

    // A change shows on both walls, from the one poller.
    let mut router = RouterServiceClient::new(omni_testkit::grpc::channel(
        &app.grpc_url(),
        omni_testkit::grpc::ADMIN_TOKEN,
    )?);
    router
        .set_presence(SetPresenceRequest {
            agent_id: "alice".into(),
            presence: Presence::Available as i32,
            reason: String::new(),
        })
        .await?;
    one.until("\"presence\":\"available\"").await?;
    two.until("\"presence\":\"available\"").await?;
    assert_eq!(feed.pollers_started(), 1, "still one poller");
    let polls = feed.polls();
    assert!(polls >= 2, "the poller read the router: {polls}");

    // The last wall gone, the poller stops; the next wall starts another.
    drop((one, two));
    let stopped = async {
        while feed.polling() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(PATIENCE, stopped)
        .await
        .map_err(|_| anyhow::anyhow!("the poller did not stop after the last wall left"))?;
    let mut three = Wall::open(&addr, &cookie).await?;
    three.until("\"presence\":\"available\"").await?;
    assert_eq!(feed.pollers_started(), 2);
    drop(three);

    stop.cancel();
    app.stop().await;
    Ok(())
}
