//! The app under test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use omni::{Listeners, Part, Running, embedded};
use omni_accounts::password;
use omni_core::access::Role;
use omni_core::config::Config;
use omni_store::{Account, AccountStore, EmbeddedStore};
use omni_testclients::actors::TEST_PASSWORD;
use secrecy::SecretString;
use tokio::net::TcpListener;

/// The sample configuration shipped in the repository.
pub fn sample_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/omniroute.toml")
}

/// The sample configuration with `data_dir` set; offer timeouts and
/// cooldowns shortened so tests do not wait long; the gRPC test accounts
/// of [`crate::grpc`].
pub fn test_config(data_dir: &Path) -> anyhow::Result<Config> {
    let path = sample_config_path();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut config = Config::parse(&text).map_err(anyhow::Error::msg)?;
    config.data_dir = data_dir.to_owned();
    config.routing.offer_timeout_secs = 2;
    config.routing.decline_cooldown_secs = 1;
    // Tests sign in often from one address; the limits have their own tests.
    config.auth.sign_in_per_account_per_minute = 1000;
    config.auth.sign_in_per_address_per_minute = 10_000;
    crate::grpc::add_accounts(&mut config);
    config.validate()?;
    Ok(config)
}

/// The accounts the harnesses make before the app starts, all with the
/// password [`TEST_PASSWORD`]: one per configured agent (role agent), plus
/// `supervisor` and `admin`.
pub fn test_accounts(config: &Config) -> Vec<(String, Role)> {
    let mut accounts: Vec<(String, Role)> = config
        .agents
        .iter()
        .map(|a| (a.id.clone(), Role::Agent))
        .collect();
    for (id, role) in [("supervisor", Role::Supervisor), ("admin", Role::Admin)] {
        if !accounts.iter().any(|(a, _)| a == id) {
            accounts.push((id.to_owned(), role));
        }
    }
    accounts
}

/// Makes [`test_accounts`] in the embedded store of `config.data_dir`
/// (before the app opens it); existing ones are left as they are.
pub async fn seed_accounts(config: &Config) -> anyhow::Result<()> {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = HASH
        .get_or_try_init(|| password::hash(SecretString::from(TEST_PASSWORD)))
        .await?
        .clone();
    let store = EmbeddedStore::open(&config.data_dir.join("store.redb"))?;
    let now = omni_core::time::now_ms();
    for (id, role) in test_accounts(config) {
        let account = Account {
            display_name: config
                .agents
                .iter()
                .find(|a| a.id == id)
                .and_then(|a| a.name.clone())
                .unwrap_or_else(|| id.clone()),
            id,
            role,
            password_hash: Some(hash.clone()),
            disabled: false,
            credentials_version: 1,
            created_at_ms: now,
            updated_at_ms: now,
        };
        match store.create_account(&account).await {
            Ok(()) | Err(omni_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The embedded app on free ports, with a temporary data directory that
/// outlives restarts and is removed on drop.
pub struct TestApp {
    data: tempfile::TempDir,
    config: Config,
    running: Option<Running>,
    /// Where the app listened, while stopped by [`TestApp::stop_for_now`].
    stopped: Option<Addresses>,
}

impl TestApp {
    /// Starts the app with the test configuration.
    pub async fn start() -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let config = test_config(data.path())?;
        Self::start_with(data, config).await
    }

    /// Starts the app with `config` (its `data_dir` should be inside
    /// `data`), after making [`test_accounts`].
    pub async fn start_with(data: tempfile::TempDir, config: Config) -> anyhow::Result<Self> {
        seed_accounts(&config).await?;
        let running = launch(&config).await?;
        Ok(Self {
            data,
            config,
            running: Some(running),
            stopped: None,
        })
    }

    fn running(&self) -> &Running {
        // Only `restart` and `stop_for_now` take it out (the one puts it
        // back before returning, the other is undone by `start_again`).
        self.running.as_ref().expect("app is running")
    }

    fn chat_addr(&self) -> std::net::SocketAddr {
        // The embedded app always runs the chat part.
        self.running()
            .chat
            .expect("embedded app serves the web chat")
    }

    fn desk_addr(&self) -> std::net::SocketAddr {
        // The embedded app always runs the desk part.
        self.running().desk.expect("embedded app serves the desk")
    }

    /// Moves the embedded router's clock `by_ms` forward: what falls due
    /// (offers expiring, a queue's opening) happens at once, without
    /// waiting for the wall clock.
    pub fn advance_router_clock(&self, by_ms: i64) {
        if let Some(router) = self.running().router() {
            router.advance_clock(by_ms);
        }
    }

    /// Base URL of the web chat, e.g. `http://127.0.0.1:41234`.
    pub fn chat_url(&self) -> String {
        format!("http://{}", self.chat_addr())
    }

    /// WebSocket URL of the web chat.
    pub fn chat_ws_url(&self) -> String {
        format!("ws://{}/ws", self.chat_addr())
    }

    /// Base URL of the agent desk.
    pub fn desk_url(&self) -> String {
        format!("http://{}", self.desk_addr())
    }

    /// WebSocket URL of the desk's events (the session goes in the cookie).
    pub fn desk_events_url(&self) -> String {
        format!("ws://{}/api/events", self.desk_addr())
    }

    /// Where inbound SMTP listens, when the email adapter is enabled.
    pub fn smtp_addr(&self) -> Option<std::net::SocketAddr> {
        self.running().smtp
    }

    /// Base URL of the SMS webhooks, when the SMS adapter is enabled.
    pub fn sms_url(&self) -> Option<String> {
        self.running().sms.map(|a| format!("http://{a}"))
    }

    /// Base URL of the app webhook API, when the webhook channel is enabled.
    pub fn webhook_url(&self) -> Option<String> {
        self.running().webhook.map(|a| format!("http://{a}"))
    }

    /// Base URL of `/metrics` and `/healthz` (the metrics listener, never
    /// the desk's port).
    pub fn metrics_url(&self) -> String {
        let running = self.running();
        // Every process binds the metrics port.
        let addr = running.metrics.expect("every process serves metrics");
        format!("http://{addr}")
    }

    /// URL of the gRPC server.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.running().grpc)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The embedded bus the app runs over: a test publishes there what an
    /// out-of-process adapter would.
    pub fn bus(&self) -> Arc<dyn omni_bus::Bus> {
        // The embedded app always runs over its embedded bus.
        self.running().bus().expect("embedded app has a bus")
    }

    /// Stops gracefully and starts again on the same data (new ports).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        self.running = Some(launch(&self.config).await?);
        Ok(())
    }

    /// Stops gracefully but keeps the ports in mind, for a test that
    /// watches what a page shows while the app (its desk among it) is
    /// down; [`TestApp::start_again`] starts it on the same ports, so an
    /// open page reconnects by itself.
    pub async fn stop_for_now(&mut self) -> anyhow::Result<()> {
        let running = self.running.take().context("the app is not running")?;
        self.stopped = Some(Addresses::of(&running));
        running.shutdown().await;
        Ok(())
    }

    /// Starts the app stopped by [`TestApp::stop_for_now`] again on the same
    /// data and ports.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        let addresses = self
            .stopped
            .take()
            .context("the app was not stopped for now")?;
        let listeners = addresses.bind().await?;
        self.running = Some(embedded::start(self.config.clone(), listeners).await?);
        Ok(())
    }

    /// Stops gracefully.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// Where a stopped app listened, to listen there again.
struct Addresses {
    grpc: SocketAddr,
    others: [Option<SocketAddr>; 6],
}

impl Addresses {
    fn of(r: &Running) -> Self {
        Self {
            grpc: r.grpc,
            others: [r.chat, r.desk, r.sms, r.smtp, r.webhook, r.metrics],
        }
    }

    async fn bind(&self) -> anyhow::Result<Listeners> {
        async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening again on {addr}"))
        }
        let mut others = Vec::with_capacity(self.others.len());
        for addr in self.others {
            others.push(match addr {
                Some(addr) => Some(bind(addr).await?),
                None => None,
            });
        }
        let [chat, desk, sms, smtp, webhook, metrics]: [Option<TcpListener>; 6] = others
            .try_into()
            .map_err(|_| anyhow::anyhow!("six listeners"))?;
        Ok(Listeners {
            grpc: bind(self.grpc).await?,
            chat,
            desk,
            sms,
            smtp,
            webhook,
            metrics,
        })
    }
}

async fn launch(config: &Config) -> anyhow::Result<Running> {
    let listeners = Listeners::loopback(&Part::embedded(config)).await?;
    embedded::start(config.clone(), listeners).await
}

impl crate::Endpoints for TestApp {
    fn chat_ws_url(&self) -> String {
        TestApp::chat_ws_url(self)
    }
    fn desk_url(&self) -> String {
        TestApp::desk_url(self)
    }
    fn desk_events_url(&self) -> String {
        TestApp::desk_events_url(self)
    }
}
