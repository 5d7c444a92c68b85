//! A real `redis-server` on a free loopback port, with append-only-file
//! persistence (`appendfsync always`) in its own temporary directory, so a
//! test can kill or restart it and find every acknowledged write again.
//! [`RedisServer::start_tls`] also opens a TLS port with test certificates.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::tls::TestCerts;

/// The binary started, looked up on `PATH`.
const BINARY: &str = "redis-server";
/// How long a starting server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many free ports `start` tries when another process takes the first.
const PORT_ATTEMPTS: usize = 3;
/// How much of the log an error quotes.
const LOG_TAIL_BYTES: usize = 2_000;

/// A running `redis-server`, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    binary: String,
    port: u16,
    dir: TempDir,
    tls: Option<TlsPort>,
}

/// The TLS port of a server started with [`RedisServer::start_tls`].
#[derive(Debug)]
struct TlsPort {
    port: u16,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    require_client_cert: bool,
}

impl RedisServer {
    /// Starts `redis-server` on a free port with a new temporary data
    /// directory and waits until it answers `PING` (and `INFO` names its
    /// process, so a stranger holding the port is not mistaken for it).
    ///
    /// Fails when `redis-server` is not installed (the error says how to
    /// install it), or when it does not answer within 10 s (the error quotes
    /// the end of its log).
    pub fn start() -> io::Result<RedisServer> {
        Self::start_binary(BINARY)
    }

    /// Like [`RedisServer::start`], and also listens for TLS on
    /// [`RedisServer::tls_url`] with the server certificate of `certs`
    /// (which must outlive the server); with `require_client_cert` a TLS
    /// client must present a certificate signed by the test CA. The plain
    /// port stays open for the test's own set-up (`ACL SETUSER`, ...).
    pub fn start_tls(certs: &TestCerts, require_client_cert: bool) -> io::Result<RedisServer> {
        let tls = TlsPort {
            port: crate::free_port()?,
            ca: certs.ca(),
            cert: certs.server_cert(),
            key: certs.server_key(),
            require_client_cert,
        };
        Self::start_inner(BINARY, Some(tls))
    }

    fn start_binary(binary: &str) -> io::Result<RedisServer> {
        Self::start_inner(binary, None)
    }

    fn start_inner(binary: &str, tls: Option<TlsPort>) -> io::Result<RedisServer> {
        let dir = tempfile::Builder::new().prefix("omni-redis-").tempdir()?;
        let mut server = RedisServer {
            child: None,
            binary: binary.to_owned(),
            port: 0,
            dir,
            tls,
        };
        crate::start_on_a_free_port(PORT_ATTEMPTS, "redis-server", |port| {
            server.port = port;
            server.spawn()
        })?;
        Ok(server)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `rediss://127.0.0.1:<TLS port>` of a server started with
    /// [`RedisServer::start_tls`], else `None`.
    pub fn tls_url(&self) -> Option<String> {
        self.tls
            .as_ref()
            .map(|tls| format!("rediss://127.0.0.1:{}", tls.port))
    }

    /// The port it listens on, the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (append-only file and `redis.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server if it runs and starts it again on the same port and
    /// data directory; everything written before survives (AOF).
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill()?;
        self.spawn()
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it to
    /// exit. Killing a stopped server does nothing.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            match child.kill() {
                Ok(()) => {}
                // Already exited: reaping it below is all that is left.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
                Err(e) => return Err(e),
            }
            child.wait()?;
        }
        Ok(())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// Starts the process on `self.port` and waits until it answers.
    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut command = Command::new(&self.binary);
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--dir"])
            .arg(self.dir.path())
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", ""]);
        if let Some(tls) = &self.tls {
            command
                .arg("--tls-port")
                .arg(tls.port.to_string())
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca)
                .arg("--tls-auth-clients")
                .arg(if tls.require_client_cert { "yes" } else { "no" });
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!(
                            "{} not found: install it with `apt-get install redis-server` \
                             (scripts/test does)",
                            self.binary
                        ),
                    )
                } else {
                    io::Error::new(e.kind(), format!("cannot start {}: {e}", self.binary))
                }
            })?;
        self.child = Some(child);
        match self.wait_ready() {
            Ok(()) => Ok(()),
            Err(e) => {
                let tail = self.log_tail();
                // Best effort: the readiness error is what the caller needs.
                let _ = self.kill();
                Err(io::Error::new(
                    e.kind(),
                    format!(
                        "redis-server on port {} did not become ready: {e}; log tail:\n{tail}",
                        self.port
                    ),
                ))
            }
        }
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                return Err(io::Error::other(format!("it exited with {status}")));
            }
            match ping(addr) {
                // Another process may hold the port: the answer must be ours.
                Ok(reply) if reply.starts_with("+PONG") => match server_pid(addr) {
                    Ok(pid) if Some(pid) == self.child.as_ref().map(Child::id) => return Ok(()),
                    Ok(pid) => last = format!("port {} is answered by process {pid}", self.port),
                    Err(e) => last = e.to_string(),
                },
                // `-LOADING` while the append-only file is replayed.
                Ok(reply) => last = format!("PING answered {:?}", reply.trim_end()),
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no PONG within {READY_TIMEOUT:?} ({last})"),
        ))
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(self.log_path()) {
            let mut bytes = Vec::new();
            if file.read_to_end(&mut bytes).is_ok() {
                let start = bytes.len().saturating_sub(LOG_TAIL_BYTES);
                text = String::from_utf8_lossy(&bytes[start..]).into_owned();
            }
        }
        text
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Sends one `PING` and returns the first line of the reply.
fn ping(addr: SocketAddr) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The `process_id` that `INFO server` reports.
fn server_pid(addr: SocketAddr) -> io::Result<u32> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&reply);
        if let Some(rest) = text.split("process_id:").nth(1)
            && let Some((pid, _)) = rest.split_once("\r\n")
        {
            return pid
                .parse()
                .map_err(|e| io::Error::other(format!("bad process_id {pid:?}: {e}")));
        }
    }
    Err(io::Error::other("INFO server did not report a process_id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends one command in RESP and returns the raw reply.
    fn command(port: u16, args: &[&str]) -> io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes())?;
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[test]
    fn answers_on_its_url_and_keeps_data_across_a_restart() {
        let mut server = RedisServer::start().expect("start redis-server");
        assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
        assert_eq!(
            command(server.port(), &["SET", "greeting", "hello"]).expect("SET"),
            "+OK\r\n"
        );

        let port = server.port();
        server.restart().expect("restart");
        assert_eq!(server.port(), port, "a restart keeps the port");
        assert_eq!(
            command(port, &["GET", "greeting"]).expect("GET after restart"),
            "$5\r\nhello\r\n",
            "the append-only file must bring the key back"
        );
    }

    #[test]
    fn kill_stops_it_and_drop_stops_it() {
        let mut server = RedisServer::start().expect("start redis-server");
        let port = server.port();
        server.kill().expect("kill");
        assert!(
            command(port, &["PING"]).is_err(),
            "killed server still answers"
        );
        server.kill().expect("killing twice is fine");

        let server = RedisServer::start().expect("start redis-server");
        let port = server.port();
        let dir = server.dir().to_owned();
        drop(server);
        assert!(
            command(port, &["PING"]).is_err(),
            "dropped server still answers"
        );
        assert!(!dir.exists(), "the data directory is removed on drop");
    }

    #[test]
    fn a_missing_binary_says_how_to_install_it() {
        let err = RedisServer::start_binary("redis-server-that-does-not-exist")
            .expect_err("no such binary");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let message = err.to_string();
        assert!(
            message.contains("not found") && message.contains("apt-get install redis-server"),
            "{message}"
        );
    }

    #[test]
    fn a_server_that_cannot_start_reports_its_log() {
        let mut server = RedisServer::start().expect("start redis-server");
        let taken = server.port();
        // A second server on a port already taken exits at once.
        let mut other = RedisServer::start().expect("start second redis-server");
        other.kill().expect("kill second");
        other.port = taken;
        let err = other.spawn().expect_err("port in use");
        let message = err.to_string();
        assert!(message.contains("did not become ready"), "{message}");
        assert!(message.contains("log tail"), "{message}");
        assert!(
            message.to_lowercase().contains("address already in use"),
            "the log tail must explain the failure: {message}"
        );
        server.kill().expect("kill first");
    }
}
