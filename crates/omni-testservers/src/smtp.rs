//! A real SMTP sink: `aiosmtpd` (Debian's `python3-aiosmtpd`) on a free
//! loopback port, writing every message it accepts into a Maildir-style
//! directory that tests read back.
//!
//! It replies like Postfix, `250 2.0.0 Ok: queued as <ID>`, so a client can
//! record the queue id. Recipients whose local part starts with `reject`
//! are refused with `550 5.1.1`, and with `tempfail` with `451 4.3.0`, so
//! tests can drive a client through permanent and transient failures. With
//! [`SmtpSink::start_with_auth`] it requires `AUTH PLAIN`/`LOGIN` (allowed
//! without TLS, for tests) before MAIL; with [`SinkOptions::tls`] it requires
//! STARTTLS before MAIL (and AUTH).

use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the sink may take to greet, or a wait for messages at most.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);
const SINK_SCRIPT: &str = r#"
import asyncio, os, secrets, sys
from aiosmtpd.smtp import SMTP, AuthResult

port, maildir, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cert, key = sys.argv[5], sys.argv[6]
tls = None
if cert:
    import ssl
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@')[0].lower()
        if local.startswith('reject'):
            return '550 5.1.1 <%s>: recipient rejected' % address
        if local.startswith('tempfail'):
            return '451 4.3.0 <%s>: temporarily unavailable' % address
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 Ok'

    async def handle_DATA(self, server, session, envelope):
        queue_id = secrets.token_hex(5).upper()
        head = 'X-Sink-Mail-From: %s\r\nX-Sink-Rcpt-To: %s\r\nX-Sink-Auth: %s\r\n' % (
            envelope.mail_from, ','.join(envelope.rcpt_tos),
            'yes' if session.authenticated else 'no')
        tmp = os.path.join(maildir, 'tmp', queue_id)
        with open(tmp, 'wb') as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(tmp, os.path.join(maildir, 'new', queue_id))
        return '250 2.0.0 Ok: queued as %s' % queue_id

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == user.encode() and auth_data.password == password.encode()
    # handled=False: aiosmtpd then answers 535 5.7.8 itself.
    return AuthResult(success=ok, handled=False)

def factory():
    options = dict(hostname='sink.test', decode_data=False, enable_SMTPUTF8=True)
    if user:
        options.update(authenticator=authenticate, auth_required=True,
                       auth_require_tls=bool(tls))
    if tls:
        options.update(tls_context=tls, require_starttls=True)
    return SMTP(Handler(), **options)

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
server = loop.run_until_complete(loop.create_server(factory, '127.0.0.1', port))
loop.run_forever()
"#;

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SunkMail {
    /// The queue id the sink replied with.
    pub queue_id: String,
    /// MAIL FROM.
    pub mail_from: String,
    /// RCPT TO, in order.
    pub rcpt_to: Vec<String>,
    /// Whether the client authenticated.
    pub authenticated: bool,
    /// The message as received (headers and body).
    pub raw: Vec<u8>,
}

impl SunkMail {
    /// The first value of header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.raw);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push(' ');
                    v.push_str(line.trim());
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }
}

/// How a sink is set up.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Require AUTH with this user and password.
    pub auth: Option<(String, String)>,
    /// Offer and require STARTTLS with this PEM certificate chain and key.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// A running aiosmtpd sink, killed on drop.
#[derive(Debug)]
pub struct SmtpSink {
    dir: tempfile::TempDir,
    port: u16,
    options: SinkOptions,
    child: Option<Child>,
}

impl SmtpSink {
    /// Starts a sink that accepts mail without authentication.
    pub fn start() -> io::Result<SmtpSink> {
        Self::start_with(SinkOptions::default())
    }

    /// Starts a sink that requires AUTH with `user` and `password`.
    pub fn start_with_auth(user: &str, password: &str) -> io::Result<SmtpSink> {
        Self::start_with(SinkOptions {
            auth: Some((user.to_owned(), password.to_owned())),
            tls: None,
        })
    }

    /// Starts a sink set up as `options` says. With TLS, MAIL is refused
    /// until the client has done STARTTLS, and AUTH is offered only inside TLS.
    pub fn start_with(options: SinkOptions) -> io::Result<SmtpSink> {
        let dir = tempfile::Builder::new().prefix("omni-smtp-").tempdir()?;
        for sub in ["tmp", "new"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        let mut sink = SmtpSink {
            dir,
            port: 0,
            options,
            child: None,
        };
        crate::start_on_a_free_port(3, "smtp sink", |port| {
            sink.port = port;
            sink.spawn()
        })?;
        Ok(sink)
    }

    /// The relay URL, `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Maildir the sink writes to (`new/<queue id>`).
    pub fn maildir(&self) -> &Path {
        self.dir.path()
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> io::Result<Vec<SunkMail>> {
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> =
            std::fs::read_dir(self.dir.path().join("new"))?
                .filter_map(Result::ok)
                .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                .collect();
        entries.sort();
        entries
            .into_iter()
            .map(|(_, path)| parse_sunk(&path))
            .collect()
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> io::Result<Vec<SunkMail>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages()?;
            if messages.len() >= n {
                return Ok(messages);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} of {n} messages within {timeout:?}", messages.len()),
                ));
            }
            std::thread::sleep(POLL * 5);
        }
    }

    /// Stops the sink (its port refuses connections); messages stay.
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the sink again on the same port.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.spawn()
    }

    fn spawn(&mut self) -> io::Result<()> {
        let python = crate::python::python3_with("aiosmtpd")?;
        let (user, password) = self.options.auth.clone().unwrap_or_default();
        let (cert, key) = self.options.tls.clone().unwrap_or_default();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("sink.log"))?;
        let mut child = Command::new(python)
            .arg("-c")
            .arg(SINK_SCRIPT)
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .arg(user)
            .arg(password)
            .arg(cert)
            .arg(key)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                let log =
                    std::fs::read_to_string(self.dir.path().join("sink.log")).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "smtp sink on port {} exited at start-up ({status}):\n{log}",
                    self.port
                )));
            }
            if greets(addr) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!(
                    "smtp sink on port {} did not greet within {READY_TIMEOUT:?}",
                    self.port
                )));
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Best effort: nothing to report to in a drop.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether an SMTP server greets at `addr` with 220.
fn greets(addr: SocketAddr) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, POLL * 5) else {
        return false;
    };
    if stream.set_read_timeout(Some(POLL * 25)).is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).is_ok() && line.starts_with("220")
}

fn parse_sunk(path: &Path) -> io::Result<SunkMail> {
    let bytes = std::fs::read(path)?;
    let mut mail = SunkMail {
        queue_id: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        authenticated: false,
        raw: Vec::new(),
    };
    let mut rest = &bytes[..];
    for _ in 0..3 {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| io::Error::other("sink file without its envelope lines"))?;
        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 2..];
        if let Some(v) = line.strip_prefix("X-Sink-Mail-From: ") {
            mail.mail_from = v.to_owned();
        } else if let Some(v) = line.strip_prefix("X-Sink-Rcpt-To: ") {
            mail.rcpt_to = v.split(',').map(str::to_owned).collect();
        } else if let Some(v) = line.strip_prefix("X-Sink-Auth: ") {
            mail.authenticated = v == "yes";
        }
    }
    mail.raw = rest.to_vec();
    Ok(mail)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A minimal SMTP dialogue over a raw socket; returns every reply line.
    fn dialogue(port: u16, commands: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut replies = String::new();
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut read_reply = |replies: &mut String| loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("reply");
            replies.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        };
        read_reply(&mut replies);
        for command in commands {
            stream
                .write_all(format!("{command}\r\n").as_bytes())
                .expect("send");
            read_reply(&mut replies);
        }
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        replies
    }

    #[test]
    fn accepts_and_stores_mail_with_a_queue_id() {
        let sink = SmtpSink::start().expect("start sink");
        let replies = dialogue(
            sink.port(),
            &[
                "EHLO client.test",
                "MAIL FROM:<a@client.test>",
                "RCPT TO:<ann@example.com>",
                "RCPT TO:<reject-me@example.com>",
                "RCPT TO:<tempfail@example.com>",
                "DATA",
                "Subject: hi\r\nMessage-ID: <x1@client.test>\r\n\r\nhello\r\n.",
                "QUIT",
            ],
        );
        assert!(replies.contains("550 5.1.1"), "{replies}");
        assert!(replies.contains("451 4.3.0"), "{replies}");
        let queue_id = replies
            .split("queued as ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("queue id")
            .to_owned();
        let mails = sink.wait_for(1, READY_TIMEOUT).expect("stored");
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].queue_id, queue_id);
        assert_eq!(mails[0].mail_from, "a@client.test");
        assert_eq!(mails[0].rcpt_to, ["ann@example.com"]);
        assert_eq!(
            mails[0].header("message-id").as_deref(),
            Some("<x1@client.test>")
        );
        assert!(!mails[0].authenticated);
    }

    #[test]
    fn requires_auth_when_configured_and_stops_and_restarts() {
        let mut sink = SmtpSink::start_with_auth("omni", "secret").expect("start sink");
        let replies = dialogue(
            sink.port(),
            &["EHLO client.test", "MAIL FROM:<a@client.test>", "QUIT"],
        );
        assert!(replies.contains("AUTH"), "{replies}");
        assert!(replies.contains("530"), "{replies}");
        let port = sink.port();
        sink.stop().expect("stop");
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        sink.restart().expect("restart");
        assert!(greets(SocketAddr::from(([127, 0, 0, 1], port))));
    }
}
