//! Omniroute in distributed mode for tests: a real `nats-server` (JetStream)
//! and `redis-server` (AOF) on free ports, and every part (the core four,
//! and the email and sms adapters when asked for) as its own `omni` OS
//! process configured the way an operator would (the sample config file
//! plus `OMNI_*` environment variables, shared and per part), each on its
//! own free ports.
//!
//! Parts can be stopped gracefully (SIGTERM), killed (SIGKILL) and started
//! again on the same ports. Each part's output goes to `<part>.log` in the
//! cluster's temporary directory, quoted when a part does not come up.
//! Everything is killed and removed on drop.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use omni::Part;
use omni_testservers::free_port;
use omni_testservers::nats::NatsServer;
use omni_testservers::redis::RedisServer;

use crate::Endpoints;

/// How long a part may take to print that it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a part may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(25);
const LOG_TAIL_LINES: usize = 30;
/// Starts of a part on fresh ports when the ones picked were taken.
const PORT_ATTEMPTS: usize = 3;
/// How the OS names a port someone else holds, in a part's start-up error.
const PORT_TAKEN: &str = "Address already in use";

/// The ports of one part's process.
#[derive(Debug, Clone, Copy)]
pub struct PartPorts {
    /// gRPC (its API if any, health, reflection).
    pub grpc: u16,
    /// Web chat (used by the chat part).
    pub chat: u16,
    /// Desk (used by the desk part).
    pub desk: u16,
    /// `/metrics` (every part).
    pub metrics: u16,
    /// Inbound SMTP (used by the email part).
    pub smtp: u16,
    /// SMS webhooks (used by the sms part).
    pub sms: u16,
}

impl PartPorts {
    /// A set of ports free right now (see [`free_port`]'s race).
    fn free() -> std::io::Result<Self> {
        Ok(Self {
            grpc: free_port()?,
            chat: free_port()?,
            desk: free_port()?,
            metrics: free_port()?,
            smtp: free_port()?,
            sms: free_port()?,
        })
    }
}

/// nats-server, redis-server and one `omni` process per part.
pub struct Cluster {
    /// The NATS server, restartable on its port and store.
    pub nats: NatsServer,
    /// The Redis server, restartable on its port and data.
    pub redis: RedisServer,
    dir: tempfile::TempDir,
    binary: PathBuf,
    config: PathBuf,
    ports: HashMap<Part, PartPorts>,
    processes: HashMap<Part, Child>,
    env: Vec<(String, String)>,
    part_env: Vec<(Part, String, String)>,
}

impl Cluster {
    /// Starts NATS, Redis and every part (context, router, chat, desk) from
    /// `binary` (the `omni` executable) with the sample configuration, offer
    /// timeout 2 s and decline cooldown 1 s; returns once every part is ready.
    pub fn start(binary: &Path) -> anyhow::Result<Self> {
        Self::start_with(
            binary,
            &crate::app::sample_config_path(),
            &[
                ("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "2"),
                ("OMNI_ROUTING_DECLINE_COOLDOWN_SECS", "1"),
            ],
        )
    }

    /// Starts every part with the configuration file `config` and extra
    /// `OMNI_*` variables `env` for every part.
    pub fn start_with(binary: &Path, config: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_parts(binary, config, &Part::CORE, env, &[])
    }

    /// Starts `parts`, in order, with the configuration file `config`, the
    /// `OMNI_*` variables `env` for every part, and each part's own from
    /// `part_env` (as a Deployment adds its own to a shared ConfigMap: an
    /// adapter's switch and secrets reach that adapter only).
    pub fn start_parts(
        binary: &Path,
        config: &Path,
        parts: &[Part],
        env: &[(&str, &str)],
        part_env: &[(Part, &str, &str)],
    ) -> anyhow::Result<Self> {
        let nats = NatsServer::start().context("starting nats-server")?;
        let redis = RedisServer::start().context("starting redis-server")?;
        let dir = tempfile::tempdir()?;
        let mut ports = HashMap::new();
        for &part in parts {
            ports.insert(part, PartPorts::free()?);
        }
        let mut cluster = Self {
            nats,
            redis,
            binary: binary.to_owned(),
            config: config.to_owned(),
            ports,
            processes: HashMap::new(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            part_env: part_env
                .iter()
                .map(|(p, k, v)| (*p, (*k).to_owned(), (*v).to_owned()))
                .collect(),
            dir,
        };
        if parts.contains(&Part::Desk) {
            cluster.seed_accounts()?;
        }
        for &part in parts {
            cluster.start_first(part)?;
        }
        Ok(cluster)
    }

    /// Starts `part` for the first time. A port picked by [`free_port`] may
    /// be taken by another test's server before the part binds it (the part
    /// then exits naming the address in use): the part gets fresh ports and
    /// is started again, a few times. Parts start in order, so a part that
    /// connects to this one starts later, with its final ports.
    fn start_first(&mut self, part: Part) -> anyhow::Result<()> {
        let mut attempt = 1;
        loop {
            match self.start_part(part) {
                Err(e) if attempt < PORT_ATTEMPTS && e.to_string().contains(PORT_TAKEN) => {
                    attempt += 1;
                    self.ports.insert(part, PartPorts::free()?);
                }
                other => return other,
            }
        }
    }

    /// Makes the test accounts ([`crate::app::test_accounts`], password
    /// [`omni_testclients::actors::TEST_PASSWORD`]) in Redis with `omni
    /// user`, as an operator would before the first sign-in.
    fn seed_accounts(&self) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(&self.config)
            .with_context(|| format!("reading {}", self.config.display()))?;
        let config = omni_core::config::Config::parse(&text).map_err(anyhow::Error::msg)?;
        for (id, role) in crate::app::test_accounts(&config) {
            self.omni_user(&["add", &id, "--role", role.as_str()], None)?;
            self.omni_user(
                &["set-password", &id, "--password-stdin"],
                Some(omni_testclients::actors::TEST_PASSWORD),
            )?;
        }
        Ok(())
    }

    /// Runs `omni user --store redis ARGS` with the desk's environment,
    /// writing `stdin` to it; fails unless it exits 0.
    pub fn omni_user(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        use std::io::Write as _;
        let mut command = Command::new(&self.binary);
        command
            .args(["user", "--store", "redis"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OMNI_")) {
            command.env_remove(k);
        }
        command.envs(self.part_env(Part::Desk));
        let mut child = command.spawn().context("spawning omni user")?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(format!("{}\n", stdin.unwrap_or_default()).as_bytes())?;
        }
        let out = child.wait_with_output()?;
        anyhow::ensure!(
            out.status.success(),
            "omni user {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The ports of `part`'s process (a part the cluster was started with).
    pub fn ports(&self, part: Part) -> PartPorts {
        self.ports[&part]
    }

    /// Where the email part's SMTP server listens.
    pub fn smtp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports(Part::Email).smtp))
    }

    /// Base URL of the sms part's webhooks.
    pub fn sms_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports(Part::Sms).sms)
    }

    /// The gRPC URL of `part`'s process.
    pub fn grpc_url(&self, part: Part) -> String {
        format!("http://127.0.0.1:{}", self.ports(part).grpc)
    }

    /// Where `part`'s output goes.
    pub fn log_path(&self, part: Part) -> PathBuf {
        self.dir.path().join(format!("{}.log", part.name()))
    }

    /// The environment of `part`'s process.
    fn part_env(&self, part: Part) -> Vec<(String, String)> {
        let p = self.ports(part);
        let mut env = vec![
            ("OMNI_CONFIG", self.config.display().to_string()),
            (
                "OMNI_DATA_DIR",
                self.dir.path().join("data").display().to_string(),
            ),
            ("OMNI_LISTEN_GRPC", format!("127.0.0.1:{}", p.grpc)),
            ("OMNI_LISTEN_CHAT", format!("127.0.0.1:{}", p.chat)),
            ("OMNI_LISTEN_DESK", format!("127.0.0.1:{}", p.desk)),
            ("OMNI_LISTEN_METRICS", format!("127.0.0.1:{}", p.metrics)),
            ("OMNI_LISTEN_SMTP", format!("127.0.0.1:{}", p.smtp)),
            ("OMNI_LISTEN_SMS", format!("127.0.0.1:{}", p.sms)),
            ("OMNI_NATS_URL", self.nats.url()),
            ("OMNI_REDIS_URL", self.redis.url()),
            ("OMNI_CONNECT_CONTEXT", self.grpc_url(Part::Context)),
            ("OMNI_CONNECT_ROUTER", self.grpc_url(Part::Router)),
            ("OMNI_GRPC_TOKEN", crate::grpc::SERVICE_TOKEN.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<Vec<_>>();
        env.extend(self.env.iter().cloned());
        env.extend(
            self.part_env
                .iter()
                .filter(|(p, _, _)| *p == part)
                .map(|(_, k, v)| (k.clone(), v.clone())),
        );
        env
    }

    /// Starts `part`'s process (again, on the same ports) and waits until it
    /// prints that it is ready.
    pub fn start_part(&mut self, part: Part) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.processes.contains_key(&part),
            "{} is already running",
            part.name()
        );
        let log_path = self.log_path(part);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let offset = log.metadata()?.len();
        let mut command = Command::new(&self.binary);
        command
            .arg(part.name())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OMNI_")) {
            command.env_remove(k);
        }
        command.envs(self.part_env(part));
        let mut child = command
            .spawn()
            .with_context(|| format!("spawning {} {}", self.binary.display(), part.name()))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let text = std::fs::read(&log_path).unwrap_or_default();
            let new = String::from_utf8_lossy(text.get(offset as usize..).unwrap_or_default());
            if new.lines().any(is_ready_banner) {
                break;
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "omni {} exited ({status}) before it was ready:\n{}",
                    part.name(),
                    tail(&new)
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!(
                    "omni {} not ready within {READY_TIMEOUT:?}:\n{}",
                    part.name(),
                    tail(&new)
                );
            }
            std::thread::sleep(POLL);
        }
        self.processes.insert(part, child);
        Ok(())
    }

    /// SIGKILL: the part dies at once, mid-work.
    pub fn kill(&mut self, part: Part) -> anyhow::Result<()> {
        let mut child = self
            .processes
            .remove(&part)
            .with_context(|| format!("{} is not running", part.name()))?;
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for a graceful exit; returns its exit status code.
    pub fn stop(&mut self, part: Part) -> anyhow::Result<Option<i32>> {
        let mut child = self
            .processes
            .remove(&part)
            .with_context(|| format!("{} is not running", part.name()))?;
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed: {status}");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status.code());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!("{} did not stop within {STOP_TIMEOUT:?}", part.name());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether `part`'s process is still alive.
    pub fn is_running(&mut self, part: Part) -> bool {
        match self.processes.get_mut(&part) {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The tail of `part`'s log, for assertion messages.
    pub fn log_tail(&self, part: Part) -> String {
        tail(&std::fs::read_to_string(self.log_path(part)).unwrap_or_default())
    }
}

impl Endpoints for Cluster {
    fn chat_ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.ports(Part::Chat).chat)
    }
    fn desk_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports(Part::Desk).desk)
    }
    fn desk_events_url(&self) -> String {
        format!("ws://127.0.0.1:{}/api/events", self.ports(Part::Desk).desk)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let parts: Vec<(Part, Child)> = self.processes.drain().collect();
        for (part, mut child) in parts {
            // A part that died while the cluster counted it running explains
            // a failure a test sees only as a refused connection: say so,
            // with its log (the test runner shows it for a failed test).
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read(self.log_path(part)).unwrap_or_default();
                eprintln!(
                    "omni {} had exited ({status}) while the cluster ran; its log ends:\n{}",
                    part.name(),
                    tail(&String::from_utf8_lossy(&text))
                );
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The banner a part prints once it serves: `omniroute ready in ...`
/// (embedded) or `omniroute <part> ready in ...`. Matched as a line start, so
/// an error that mentions an address "already in use" is not taken for it.
fn is_ready_banner(line: &str) -> bool {
    line.strip_prefix("omniroute ")
        .is_some_and(|rest| rest.starts_with("ready in ") || rest.contains(" ready in "))
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::is_ready_banner;

    #[test]
    fn only_the_banner_is_taken_for_ready() {
        assert!(is_ready_banner(
            "omniroute ready in 12 ms (embedded mode, data in /tmp/x)"
        ));
        assert!(is_ready_banner(
            "omniroute desk ready in 40 ms (distributed mode: context and router over gRPC)"
        ));
        assert!(!is_ready_banner(
            "omni: cannot listen for metrics on 127.0.0.1:40903 (is another process using it?): Address already in use (os error 98)"
        ));
        assert!(!is_ready_banner("  web chat    http://127.0.0.1:1/"));
    }
}
