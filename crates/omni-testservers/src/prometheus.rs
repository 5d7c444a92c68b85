//! A real Prometheus server (Debian's `prometheus` package) on a free
//! loopback port, with the configuration a test gives it and its own
//! temporary TSDB, stopped on drop; [`Prometheus::query`] asks its HTTP API
//! (`/api/v1/query`). Also [`promtool`], the checker the package ships.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The server binary, looked up on `PATH`.
const BINARY: &str = "prometheus";
/// How long a starting server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many free ports `start` tries when another process takes the first.
const PORT_ATTEMPTS: usize = 3;
const POLL: Duration = Duration::from_millis(100);
/// How much of the log an error quotes.
const LOG_TAIL_LINES: usize = 20;
/// How long one HTTP exchange with the server may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// One sample of an instant vector: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Every label, `__name__` included when the result has one.
    pub labels: BTreeMap<String, String>,
    /// The value (`NaN` and infinities as Prometheus wrote them).
    pub value: f64,
}

/// A running `prometheus`, killed on drop.
#[derive(Debug)]
pub struct Prometheus {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl Prometheus {
    /// Writes `config` (YAML, or JSON, which is YAML) to `prometheus.yml`
    /// in a new temporary directory and starts `prometheus` on a free port
    /// with it and a TSDB in the same directory; returns once `/-/ready`
    /// answers 200. A rule file the configuration names relative to itself
    /// must be given by absolute path.
    ///
    /// Fails when `prometheus` is not installed (the error says how to
    /// install it), or when it does not become ready in 30 s (the error
    /// quotes the end of its log).
    pub fn start(config: &str) -> io::Result<Prometheus> {
        let dir = tempfile::Builder::new()
            .prefix("omni-prometheus-")
            .tempdir()?;
        std::fs::write(dir.path().join("prometheus.yml"), config)?;
        let mut server = Prometheus {
            child: None,
            port: 0,
            dir,
        };
        crate::start_on_a_free_port(PORT_ATTEMPTS, BINARY, |port| {
            server.port = port;
            server.spawn()
        })?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`: the web UI and the HTTP API.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The directory with `prometheus.yml`, the TSDB and `prometheus.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Evaluates `expr` now; the instant vector it returns (a scalar is one
    /// sample without labels). A query Prometheus refuses (bad PromQL) is
    /// an error quoting its message.
    pub fn query(&self, expr: &str) -> io::Result<Vec<Sample>> {
        let body = self.get(&format!("/api/v1/query?query={}", encode(expr)))?;
        let reply: Value = serde_json::from_str(&body)
            .map_err(|e| io::Error::other(format!("prometheus answered no JSON ({e}): {body}")))?;
        if reply["status"] != "success" {
            return Err(io::Error::other(format!(
                "prometheus refused {expr:?}: {} {}",
                reply["errorType"], reply["error"]
            )));
        }
        let data = &reply["data"];
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| sample(&s["metric"], &s["value"]))
                .collect(),
            Some("scalar") => Ok(vec![sample(&Value::Null, &data["result"])?]),
            other => Err(io::Error::other(format!(
                "{expr:?} gave a {other:?} result, not an instant vector"
            ))),
        }
    }

    /// Queries `expr` until `done` holds for the result, or `timeout` has
    /// passed (then an error with the last result): scrapes and rule
    /// evaluations happen on Prometheus' schedule, so a test waits for
    /// them rather than sleeping.
    pub fn query_until(
        &self,
        expr: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Sample]) -> bool,
    ) -> io::Result<Vec<Sample>> {
        let deadline = Instant::now() + timeout;
        loop {
            let samples = self.query(expr)?;
            if done(&samples) {
                return Ok(samples);
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{expr:?} after {timeout:?}: {samples:?}"),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The body of a 200 answer to `GET path`; any other status is an
    /// error with the body.
    fn get(&self, path: &str) -> io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
        stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
        // HTTP/1.0: the server closes after the body and never chunks it.
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        )?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| io::Error::other(format!("not an HTTP answer: {text}")))?;
        let status = head.split_whitespace().nth(1).unwrap_or_default();
        // The API answers 400/422 with a JSON error, which query() quotes.
        if status == "200" || (path.starts_with("/api/") && matches!(status, "400" | "422")) {
            Ok(body.to_owned())
        } else {
            Err(io::Error::other(format!("GET {path}: {head}\n{body}")))
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    /// Starts the process on `self.port` and waits until it is ready.
    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(BINARY)
            .arg(format!(
                "--config.file={}",
                self.dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| not_installed(BINARY, e))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if self.get("/-/ready").is_ok() {
                return Ok(());
            }
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                _ => None,
            };
            if exited.is_some() || Instant::now() > deadline {
                let tail = crate::log_tail(&self.log_path(), LOG_TAIL_LINES);
                self.kill();
                let why = exited.map_or_else(
                    || format!("not ready within {READY_TIMEOUT:?}"),
                    |status| format!("exited ({status})"),
                );
                // "address already in use" is worth another port.
                let kind = if tail.contains("address already in use") {
                    io::ErrorKind::AddrInUse
                } else {
                    io::ErrorKind::Other
                };
                return Err(io::Error::new(
                    kind,
                    format!("prometheus on port {} {why}; log tail:\n{tail}", self.port),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Best effort: it may have exited already.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `promtool ARGS` in `dir` (Debian's `prometheus` package ships it)
/// and returns what it did; a missing binary is an error that says how to
/// install it.
pub fn promtool(dir: &Path, args: &[&str]) -> io::Result<Output> {
    Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| not_installed("promtool", e))
}

fn not_installed(binary: &str, e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{binary} not found: install it with `apt-get install prometheus` (scripts/test does)"
            ),
        )
    } else {
        io::Error::new(e.kind(), format!("cannot start {binary}: {e}"))
    }
}

/// A sample from the API's `metric` object and `[time, "value"]` pair.
fn sample(metric: &Value, value: &Value) -> io::Result<Sample> {
    let labels = metric
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let text = value[1]
        .as_str()
        .ok_or_else(|| io::Error::other(format!("no value in {value}")))?;
    let value = match text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        number => number
            .parse()
            .map_err(|e| io::Error::other(format!("value {number:?}: {e}")))?,
    };
    Ok(Sample { labels, value })
}

/// Percent-encodes a query parameter (everything but RFC 3986's
/// unreserved characters).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            encode(r#"up{job="omniroute"} == 1"#),
            "up%7Bjob%3D%22omniroute%22%7D%20%3D%3D%201"
        );
    }

    #[test]
    fn api_samples_parse_with_labels_and_special_values() {
        let metric = serde_json::json!({"__name__": "up", "part": "router"});
        let s = sample(&metric, &serde_json::json!([1.5, "1"])).expect("sample");
        assert_eq!(s.labels["part"], "router");
        assert_eq!(s.value, 1.0);
        let nan = sample(&Value::Null, &serde_json::json!([1.5, "NaN"])).expect("NaN");
        assert!(nan.value.is_nan() && nan.labels.is_empty());
        assert!(sample(&Value::Null, &serde_json::json!([1.5, "x"])).is_err());
    }

    /// The real server: starts, evaluates a query, refuses bad PromQL with
    /// Prometheus' own message.
    #[test]
    fn a_real_prometheus_answers_queries() {
        let server = Prometheus::start("global: {scrape_interval: 1s}\nscrape_configs: []\n")
            .expect("prometheus starts (apt-get install prometheus)");
        let two = server.query("vector(1) + 1").expect("query");
        assert_eq!(two.len(), 1);
        assert_eq!(two[0].value, 2.0);
        let bad = server.query("sum(").expect_err("bad PromQL is refused");
        assert!(bad.to_string().contains("parse error"), "{bad}");
        let none = server.query("up").expect("no target, no series");
        assert!(none.is_empty(), "{none:?}");
    }
}
