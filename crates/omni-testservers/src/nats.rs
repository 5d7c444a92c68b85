//! A real `nats-server` with JetStream on a free loopback port.
//!
//! The server keeps its JetStream store in a temporary directory that lives
//! as long as the [`NatsServer`], so [`NatsServer::restart`] brings back the
//! same streams, consumers and messages on the same port, as a production
//! restart would. Its output goes to `nats-server.log` in that directory and
//! the tail of the log is quoted when the server does not come up.
//! [`NatsServer::start_tls`] starts one that speaks only TLS, with test
//! certificates, optionally requiring client certificates or an NKey user.

use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tls::TestCerts;

/// How long the server may take to accept connections, or to exit when stopped.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(20);
/// Attempts at [`NatsServer::start`] when the free port was taken in between.
const START_ATTEMPTS: usize = 3;
/// Log lines quoted in a start-up error.
const LOG_TAIL_LINES: usize = 20;
/// Where Debian installs the binary, for a `PATH` without `/usr/sbin`.
const FALLBACK_PATHS: &[&str] = &["/usr/sbin/nats-server", "/usr/local/bin/nats-server"];

/// A running `nats-server -js`, killed on drop.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// User and password clients must give, when set.
    user: Option<(String, String)>,
    /// TLS files and whether client certificates are verified.
    tls: Option<Tls>,
    /// The public NKey (`U...`) of the only user allowed, when set.
    nkey: Option<String>,
}

#[derive(Debug)]
struct Tls {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    verify_clients: bool,
}

impl NatsServer {
    /// Starts `nats-server` with JetStream on a free port and a fresh store,
    /// and waits until it accepts TCP connections.
    pub fn start() -> io::Result<NatsServer> {
        Self::start_inner(None)
    }

    /// Like [`NatsServer::start`], but clients must authenticate as `user`
    /// with `password`.
    pub fn start_with_user(user: &str, password: &str) -> io::Result<NatsServer> {
        Self::start_inner(Some((user.to_owned(), password.to_owned())))
    }

    /// Like [`NatsServer::start`], but clients must speak TLS: the server
    /// presents the server certificate of `certs` (which must outlive it);
    /// with `verify_clients` a client must present a certificate signed by
    /// the test CA, and with `nkey` (a public user NKey, `U...`) it must
    /// sign the server's nonce with that key's seed.
    pub fn start_tls(
        certs: &TestCerts,
        verify_clients: bool,
        nkey: Option<&str>,
    ) -> io::Result<NatsServer> {
        let tls = Tls {
            ca: certs.ca(),
            cert: certs.server_cert(),
            key: certs.server_key(),
            verify_clients,
        };
        Self::start_full(None, Some(tls), nkey.map(str::to_owned))
    }

    fn start_inner(user: Option<(String, String)>) -> io::Result<NatsServer> {
        Self::start_full(user, None, None)
    }

    fn start_full(
        user: Option<(String, String)>,
        tls: Option<Tls>,
        nkey: Option<String>,
    ) -> io::Result<NatsServer> {
        let binary = find_binary()?;
        let dir = tempfile::Builder::new().prefix("omni-nats-").tempdir()?;
        let mut server = NatsServer {
            binary,
            dir,
            port: 0,
            child: None,
            user,
            tls,
            nkey,
        };
        crate::start_on_a_free_port(START_ATTEMPTS, "nats-server", |port| {
            server.port = port;
            server.spawn()
        })?;
        Ok(server)
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `tls://127.0.0.1:PORT`, for a server started with
    /// [`NatsServer::start_tls`].
    pub fn tls_url(&self) -> String {
        format!("tls://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (kept across restarts).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }

    /// The server's log file (appended to across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) | None => false,
        }
    }

    /// Stops the server gracefully (SIGTERM) and waits for it to exit; the
    /// store stays. Killed if it does not exit in time. Harmless when stopped.
    pub fn stop(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        let signalled = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if signalled.is_ok_and(|status| status.success()) {
            let deadline = Instant::now() + READY_TIMEOUT;
            while Instant::now() < deadline {
                if child.try_wait()?.is_some() {
                    return Ok(());
                }
                std::thread::sleep(POLL);
            }
        }
        child.kill()?;
        child.wait().map(drop)
    }

    /// Kills the server at once (SIGKILL), as a crash would; the store stays.
    /// Harmless when stopped.
    pub fn kill(&mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait()?.is_none() {
            child.kill()?;
        }
        child.wait().map(drop)
    }

    /// Stops the server if it runs, then starts it again on the same port
    /// with the same store, and waits until it accepts TCP connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.spawn()
    }

    /// Starts the process on `self.port` and waits until it is ready.
    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let store = self.store_dir();
        let port = self.port.to_string();
        let mut command = Command::new(&self.binary);
        command
            .arg("-js")
            .arg("-sd")
            .arg(&store)
            .args(["-a", "127.0.0.1", "-p", &port]);
        if let Some((user, password)) = &self.user {
            command.args(["--user", user, "--pass", password]);
        }
        if let Some(tls) = &self.tls {
            command
                .arg("--tls")
                .arg("--tlscert")
                .arg(&tls.cert)
                .arg("--tlskey")
                .arg(&tls.key)
                .arg("--tlscacert")
                .arg(&tls.ca);
            if tls.verify_clients {
                command.arg("--tlsverify");
            }
        }
        if let Some(nkey) = &self.nkey {
            let config = self.dir.path().join("nats.conf");
            std::fs::write(
                &config,
                format!("authorization {{ users = [ {{ nkey: \"{nkey}\" }} ] }}\n"),
            )?;
            command.arg("-c").arg(&config);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        match wait_ready(&mut child, self.port) {
            Ok(()) => {
                self.child = Some(child);
                Ok(())
            }
            Err(reason) => {
                // Best effort: the process may already be gone.
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!(
                    "nats-server on port {} {reason}; log {}:\n{}",
                    self.port,
                    self.log_path().display(),
                    crate::log_tail(&self.log_path(), LOG_TAIL_LINES)
                )))
            }
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Best effort: nothing to report to in a drop.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `nats-server` on `PATH`, or where Debian installs it.
fn find_binary() -> io::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nats-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(FALLBACK_PATHS.iter().map(PathBuf::from))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "nats-server not found: install it with `apt-get install nats-server` (scripts/test does)",
            )
        })
}

/// Waits until a NATS server greets on `port`; says why not otherwise.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Err(format!("exited at start-up ({status})")),
            Ok(None) => {}
            Err(e) => return Err(format!("could not be watched: {e}")),
        }
        if greets(addr) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "did not accept connections within {READY_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// Whether a NATS server answers at `addr`: it sends `INFO` first. (A bare
/// TCP accept could come from another process holding the port.)
fn greets(addr: SocketAddr) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, POLL * 5) else {
        return false;
    };
    if stream.set_read_timeout(Some(POLL * 25)).is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).is_ok() && line.starts_with("INFO ")
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Write;

    use super::*;

    /// Reads the server's `INFO` greeting over a raw TCP connection.
    fn greeting(port: u16) -> String {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .expect("read INFO");
        line
    }

    #[test]
    fn starts_with_jetstream_and_greets_clients() {
        let server = NatsServer::start().expect("start nats-server");
        assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
        let info = greeting(server.port());
        assert!(info.starts_with("INFO "), "{info}");
        assert!(info.contains("\"jetstream\":true"), "{info}");
    }

    #[test]
    fn restart_keeps_port_and_store() {
        let mut server = NatsServer::start().expect("start nats-server");
        let port = server.port();
        // A marker in the store dir survives, as JetStream data does.
        let marker = server.store_dir().join("marker");
        let mut file = File::create(&marker).expect("marker");
        file.write_all(b"kept").expect("write marker");

        server.restart().expect("restart");
        assert_eq!(server.port(), port);
        assert!(server.is_running());
        assert!(greeting(port).starts_with("INFO "));
        assert_eq!(std::fs::read(&marker).expect("marker kept"), b"kept");
    }

    #[test]
    fn stop_and_kill_close_the_port_and_restart_reopens_it() {
        let mut server = NatsServer::start().expect("start nats-server");
        let port = server.port();
        server.stop().expect("stop");
        assert!(!server.is_running());
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        server.stop().expect("a second stop is harmless");

        server.restart().expect("start again");
        assert!(greeting(port).starts_with("INFO "));
        server.kill().expect("kill");
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        server.restart().expect("start after a kill");
        assert!(greeting(port).starts_with("INFO "));
    }

    #[test]
    fn a_taken_port_is_reported_with_the_log() {
        let mut server = NatsServer::start().expect("start nats-server");
        let port = server.port();
        server.stop().expect("stop");
        let _squatter = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
        let err = server.restart().expect_err("port taken");
        let message = err.to_string();
        assert!(message.contains(&port.to_string()), "{message}");
        assert!(message.contains("nats-server.log"), "{message}");
    }
}
