//! The app under test.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use omni::{Listeners, Part, Running, embedded};
use omni_core::config::Config;

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
    crate::grpc::add_accounts(&mut config);
    config.validate()?;
    Ok(config)
}

/// The embedded app on free ports, with a temporary data directory that
/// outlives restarts and is removed on drop.
pub struct TestApp {
    data: tempfile::TempDir,
    config: Config,
    running: Option<Running>,
}

impl TestApp {
    /// Starts the app with the test configuration.
    pub async fn start() -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let config = test_config(data.path())?;
        Self::start_with(data, config).await
    }

    /// Starts the app with `config` (its `data_dir` should be inside `data`).
    pub async fn start_with(data: tempfile::TempDir, config: Config) -> anyhow::Result<Self> {
        let running = launch(&config).await?;
        Ok(Self {
            data,
            config,
            running: Some(running),
        })
    }

    fn running(&self) -> &Running {
        // Only `restart` takes it out, and puts it back before returning.
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

    /// WebSocket URL of the desk's events, for a session token.
    pub fn desk_events_url(&self, token: &str) -> String {
        format!("ws://{}/api/events?token={token}", self.desk_addr())
    }

    /// Where inbound SMTP listens, when the email adapter is enabled.
    pub fn smtp_addr(&self) -> Option<std::net::SocketAddr> {
        self.running().smtp
    }

    /// Base URL of the SMS webhooks, when the SMS adapter is enabled.
    pub fn sms_url(&self) -> Option<String> {
        self.running().sms.map(|a| format!("http://{a}"))
    }

    /// URL of the gRPC server.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.running().grpc)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// Stops gracefully and starts again on the same data (new ports).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        self.running = Some(launch(&self.config).await?);
        Ok(())
    }

    /// Stops gracefully.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
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
    fn desk_events_url(&self, token: &str) -> String {
        TestApp::desk_events_url(self, token)
    }
}
