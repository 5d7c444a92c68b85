//! A real Kannel SMS gateway on free loopback ports: `bearerbox` with a
//! fake SMSC, `smsbox` (the `sendsms` HTTP interface and `get-url`
//! forwarding), and Kannel's own `fakesmsc` playing the mobile network.
//!
//! The configuration is generated into a temporary directory with the
//! `get-url` the test gives. Mobile-originated messages given at start are
//! sent in order by one short `fakesmsc` run each once everything is up;
//! then a last `fakesmsc` stays connected, and messages Kannel delivers to
//! the network are read back from its output
//! ([`KannelServer::delivered`]). The fake SMSC acknowledges every message
//! it takes, so DLRs of type 8 (SMSC accepted) and 1 (delivered) follow.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the boxes may take to come up, or to exit when stopped.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(50);
/// Log lines quoted in a start-up error.
const LOG_TAIL_LINES: usize = 20;

const BEARERBOX: &[&str] = &["/usr/sbin/bearerbox", "/usr/bin/bearerbox"];
const SMSBOX: &[&str] = &["/usr/sbin/smsbox", "/usr/bin/smsbox"];
const FAKESMSC: &[&str] = &[
    "/usr/lib/kannel/test/fakesmsc",
    "/usr/libexec/kannel/test/fakesmsc",
];

/// The `sendsms-user` the generated configuration declares.
pub const SENDSMS_USER: &str = "omni";
/// Its password.
pub const SENDSMS_PASSWORD: &str = "omni-sendsms-pw";

/// A message from a phone to the gateway (mobile originated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoMessage {
    /// The sender's number, e.g. `+14155552671`.
    pub from: String,
    /// The number it is sent to, e.g. our short code.
    pub to: String,
    /// The text (UTF-8; sent to the gateway as UCS-2 when not ASCII).
    pub text: String,
}

/// A message the gateway delivered to the fake network (mobile terminated),
/// as `fakesmsc` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtMessage {
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// `text`, `ucs2`, `data`, ...: how `fakesmsc` shows the payload.
    pub kind: String,
    /// The payload as shown (plain for `text`, URL-encoded otherwise).
    pub data: String,
}

/// A running Kannel (bearerbox, smsbox, fakesmsc), stopped on drop.
#[derive(Debug)]
pub struct KannelServer {
    dir: tempfile::TempDir,
    sendsms_port: u16,
    children: Vec<Child>,
}

impl KannelServer {
    /// Starts Kannel forwarding every incoming message to `get_url` (Kannel
    /// escapes such as `%p`, `%P`, `%a`, `%I` are expanded), then has
    /// `fakesmsc` send `mo`, in order.
    pub fn start(get_url: &str, mo: &[MoMessage]) -> io::Result<KannelServer> {
        let bearerbox = find(BEARERBOX, "bearerbox")?;
        let smsbox = find(SMSBOX, "smsbox")?;
        let fakesmsc = find(FAKESMSC, "fakesmsc (package kannel-extras)")?;
        let dir = tempfile::Builder::new().prefix("omni-kannel-").tempdir()?;
        let admin = crate::free_port()?;
        let box_port = crate::free_port()?;
        let smsc_port = crate::free_port()?;
        let sendsms_port = crate::free_port()?;
        let conf = dir.path().join("kannel.conf");
        File::create(&conf)?.write_all(
            config(
                dir.path(),
                get_url,
                admin,
                box_port,
                smsc_port,
                sendsms_port,
            )
            .as_bytes(),
        )?;
        let mut server = KannelServer {
            dir,
            sendsms_port,
            children: Vec::new(),
        };

        let bb = spawn(
            &bearerbox,
            &[conf.as_os_str()],
            &server.log("bearerbox.out"),
        )?;
        server.children.push(bb);
        server.wait_port(smsc_port, "bearerbox", "bearerbox.log")?;
        let sb = spawn(&smsbox, &[conf.as_os_str()], &server.log("smsbox.out"))?;
        server.children.push(sb);
        server.wait_port(sendsms_port, "smsbox", "smsbox.log")?;

        // fakesmsc picks among its messages at random: one run per message,
        // in order, each ended once it has sent its one.
        for (n, message) in mo.iter().enumerate() {
            let log = server.log(&format!("fakesmsc-mo-{n}.out"));
            let args = fakesmsc_args(smsc_port, 1, &fakesmsc_line(message));
            let mut child = spawn(&fakesmsc, &args, &log)?;
            let sent = wait_for_line(&mut child, &log, "sent message 1");
            // Best effort: it has sent its message, or we report why not.
            let _ = child.kill();
            let _ = child.wait();
            sent.map_err(|reason| {
                server.failure("fakesmsc", &reason, &format!("fakesmsc-mo-{n}.out"))
            })?;
        }
        // The last one stays connected, sends nothing and prints what the
        // gateway delivers.
        let args = fakesmsc_args(smsc_port, 0, "0 0 text nothing");
        let fs = spawn(&fakesmsc, &args, &server.log("fakesmsc.out"))?;
        server.children.push(fs);
        server.wait_smsc_online(admin)?;
        Ok(server)
    }

    /// smsbox's `sendsms` URL, `http://127.0.0.1:PORT/cgi-bin/sendsms`.
    pub fn sendsms_url(&self) -> String {
        format!("http://127.0.0.1:{}/cgi-bin/sendsms", self.sendsms_port)
    }

    /// The directory with the configuration and every log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Messages delivered to the fake network so far.
    pub fn delivered(&self) -> io::Result<Vec<MtMessage>> {
        let mut text = String::new();
        File::open(self.log("fakesmsc.out"))?.read_to_string(&mut text)?;
        // `INFO: Got message N: <from to kind data>`
        Ok(text
            .lines()
            .filter_map(|line| {
                let start = line.find("Got message ")?;
                let rest = &line[start..];
                let body = rest.get(rest.find('<')? + 1..rest.rfind('>')?)?;
                let mut parts = body.splitn(4, ' ');
                Some(MtMessage {
                    from: parts.next()?.to_owned(),
                    to: parts.next()?.to_owned(),
                    kind: parts.next()?.to_owned(),
                    data: parts.next().unwrap_or("").to_owned(),
                })
            })
            .collect())
    }

    /// Waits up to `timeout` until at least `n` messages were delivered.
    pub fn wait_delivered(&self, n: usize, timeout: Duration) -> io::Result<Vec<MtMessage>> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.delivered()?;
            if got.len() >= n || Instant::now() >= deadline {
                return Ok(got);
            }
            std::thread::sleep(POLL);
        }
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn wait_port(&mut self, port: u16, what: &str, log: &str) -> io::Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            for child in &mut self.children {
                if let Some(status) = child.try_wait()? {
                    return Err(self.failure(what, &format!("exited at start-up ({status})"), log));
                }
            }
            if TcpStream::connect_timeout(&addr, POLL * 4).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.failure(what, &format!("did not listen on {port}"), log));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until bearerbox reports the fake SMSC connection online.
    fn wait_smsc_online(&mut self, admin: u16) -> io::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let status = http_get(admin, "/status.txt?password=omni-admin").unwrap_or_default();
            if status.contains("online") && status.contains("fake") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.failure(
                    "fakesmsc",
                    &format!("was not online in bearerbox's status:\n{status}"),
                    "bearerbox.log",
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    fn failure(&self, what: &str, reason: &str, log: &str) -> io::Error {
        io::Error::other(format!(
            "kannel {what} {reason}; log {}:\n{}",
            self.log(log).display(),
            crate::log_tail(&self.log(log), LOG_TAIL_LINES)
        ))
    }
}

impl Drop for KannelServer {
    fn drop(&mut self) {
        // fakesmsc and smsbox first, bearerbox last; best effort in a drop.
        while let Some(mut child) = self.children.pop() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn config(
    dir: &Path,
    get_url: &str,
    admin: u16,
    box_port: u16,
    smsc_port: u16,
    sendsms_port: u16,
) -> String {
    let d = dir.display();
    format!(
        r#"group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = omni-admin
status-password = omni-admin
smsbox-port = {box_port}
dlr-storage = internal
log-file = "{d}/bearerbox.log"
log-level = 0
access-log = "{d}/access.log"

group = smsc
smsc = fake
smsc-id = fake
port = {smsc_port}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{d}/smsbox.log"
log-level = 0
http-request-retry = 3
http-queue-delay = 1

group = sendsms-user
username = {SENDSMS_USER}
password = {SENDSMS_PASSWORD}
concatenation = true
max-messages = 10

group = sms-service
keyword = default
catch-all = true
get-url = "{get_url}"
max-messages = 0
omit-empty = true
"#
    )
}

fn fakesmsc_args(smsc_port: u16, max: usize, line: &str) -> Vec<std::ffi::OsString> {
    [
        "-H",
        "127.0.0.1",
        "-r",
        &smsc_port.to_string(),
        "-i",
        "0.1",
        "-m",
        &max.to_string(),
        line,
    ]
    .iter()
    .map(std::ffi::OsString::from)
    .collect()
}

/// Waits until `log` has a line containing `needle`, or says why not.
fn wait_for_line(child: &mut Child, log: &Path, needle: &str) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if std::fs::read_to_string(log).is_ok_and(|text| text.contains(needle)) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status}) before {needle:?}"));
        }
        if Instant::now() >= deadline {
            return Err(format!("did not log {needle:?} in time"));
        }
        std::thread::sleep(POLL);
    }
}

/// One `fakesmsc` message argument: `from to kind data`.
fn fakesmsc_line(m: &MoMessage) -> String {
    if m.text.is_ascii() && !m.text.contains('%') {
        format!("{} {} text {}", m.from, m.to, m.text)
    } else {
        // ucs2: URL-encoded UTF-16BE.
        let mut data = String::new();
        for unit in m.text.encode_utf16() {
            for byte in unit.to_be_bytes() {
                data.push_str(&format!("%{byte:02X}"));
            }
        }
        format!("{} {} ucs2 {data}", m.from, m.to)
    }
}

fn spawn<A: AsRef<std::ffi::OsStr>>(binary: &Path, args: &[A], log: &Path) -> io::Result<Child> {
    let out = File::create(log)?;
    Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
}

fn find(candidates: &[&str], name: &str) -> io::Result<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{name} not found: install it with `apt-get install kannel kannel-extras` (scripts/test does)"),
            )
        })
}

/// A plain HTTP/1.0 GET on loopback; the body, or `None`.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), POLL * 4).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucs2_lines_are_utf16_be_url_encoded() {
        let line = fakesmsc_line(&MoMessage {
            from: "1".into(),
            to: "2".into(),
            text: "é😀".into(),
        });
        assert_eq!(line, "1 2 ucs2 %00%E9%D8%3D%DE%00");
        let plain = fakesmsc_line(&MoMessage {
            from: "1".into(),
            to: "2".into(),
            text: "hello world".into(),
        });
        assert_eq!(plain, "1 2 text hello world");
    }
}
