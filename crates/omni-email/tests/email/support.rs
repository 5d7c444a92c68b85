//! Test harness: the adapter's SMTP server on a free port over a bus, a
//! Python smtplib client, a raw SMTP client, and bus readers.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use omni_bus::topology::{CONTEXT_DELIVERY, CONTEXT_INBOUND};
use omni_bus::{Bus, EmbeddedBus};
use omni_core::config::Config;
use omni_email::EmailAdapter;
use omni_proto::events as ev;
use prost::Message as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;

/// The domain the test adapter accepts mail for.
pub const DOMAIN: &str = "support.test";

/// A test configuration: one queue, `support.test`, small limits.
pub fn config() -> Config {
    let mut config = Config::parse(
        r#"
        [context]
        topics = { sales = "sales" }
        [[queues]]
        id = "support"
        [[queues]]
        id = "sales"
        [email]
        domains = ["support.test", "help.support.test"]
        hostname = "mx.support.test"
        max_message_bytes = 65536
        max_recipients = 3
        max_errors = 5
        topics = { "sales@support.test" = "sales" }
        from = "support@support.test"
        from_name = "Example Support"
        "#,
    )
    .expect("test config parses");
    config.data_dir = std::env::temp_dir();
    config.validate().expect("test config is valid");
    config
}

/// The adapter's SMTP server on a free port.
pub struct Server {
    pub port: u16,
    pub bus: Arc<dyn Bus>,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Over a fresh embedded bus.
    pub async fn start() -> Server {
        Self::start_with(config()).await
    }

    /// Over a fresh embedded bus, with `config`.
    pub async fn start_with(config: Config) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus.redb")).expect("bus");
        let mut server = Self::start_on(bus, config).await;
        server._dir = Some(dir);
        server
    }

    /// Over `bus`.
    pub async fn start_on(bus: Arc<dyn Bus>, config: Config) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let adapter = EmailAdapter::new(bus.clone(), Arc::new(config));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(omni_email::serve(listener, adapter, shutdown.clone()));
        Server {
            port,
            bus,
            shutdown,
            task,
            _dir: None,
        }
    }
}

/// Runs the test clients' Python smtplib client from `ann@example.com` to
/// `help@support.test`: `code` defines `msg` (an `email.message.Message` or
/// bytes), and may set `sender` and `rcpts`. Prints `OK <refused>` or
/// `ERR <code> <text>`; returns stdout.
pub async fn smtplib(port: u16, code: &str) -> String {
    let server = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let rcpt = format!("help@{DOMAIN}");
    omni_testclients::mail::smtplib(server, "ann@example.com", &[rcpt.as_str()], code)
        .await
        .expect("python smtplib runs")
}

/// A mail built by Python's `email` package as `msg`: an `EmailMessage` from
/// `ann@example.com` to `help@support.test` (unless set otherwise) with a
/// subject and a Message-ID; `body` is Python run after the headers (the
/// content, attachments).
#[derive(Clone, Copy)]
pub struct Mail {
    from: &'static str,
    to: &'static str,
    subject: &'static str,
    message_id: &'static str,
    body: &'static str,
}

impl Mail {
    /// A mail with `subject` and `<message_id>` whose content `body` sets.
    pub const fn new(subject: &'static str, message_id: &'static str, body: &'static str) -> Mail {
        Mail {
            from: "ann@example.com",
            to: "help@support.test",
            subject,
            message_id,
            body,
        }
    }

    /// The same mail with another From header.
    pub const fn from(self, from: &'static str) -> Mail {
        Mail { from, ..self }
    }

    /// The same mail with another To header.
    pub const fn to(self, to: &'static str) -> Mail {
        Mail { to, ..self }
    }

    /// The Python code that builds `msg`.
    pub fn python(&self) -> String {
        let Mail {
            from,
            to,
            subject,
            message_id,
            body,
        } = self;
        format!(
            "\nmsg = EmailMessage()\nmsg['From'] = '{from}'\nmsg['To'] = '{to}'\n\
             msg['Subject'] = '{subject}'\nmsg['Message-ID'] = '<{message_id}>'\n{body}"
        )
    }

    /// Sends the mail with [`smtplib`]; returns its stdout.
    pub async fn send(&self, port: u16) -> String {
        smtplib(port, &self.python()).await
    }
}

/// The idempotency key of mail from `m`'s sender with `message_id`: the
/// Message-ID scoped by channel and sender.
pub fn key(m: &ev::InboundMessage, message_id: &str) -> String {
    match m.from.as_ref().and_then(|f| f.kind.clone()) {
        Some(omni_proto::common::identity::Kind::Email(e)) => format!("email:{e}:{message_id}"),
        other => panic!("from is not an email: {other:?}"),
    }
}

/// The next `n` inbound messages on the bus (acked), in order.
pub async fn inbound(bus: &Arc<dyn Bus>, n: usize) -> Vec<ev::InboundMessage> {
    let mut deliveries = bus.consume(&CONTEXT_INBOUND).await.expect("consume");
    let mut out = Vec::new();
    while out.len() < n {
        let delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .expect("an inbound message within 10 s")
            .expect("stream open");
        assert_eq!(delivery.message.subject, "omni.inbound.email");
        assert!(
            delivery.message.headers.contains_key("traceparent"),
            "traceparent header"
        );
        out.push(ev::InboundMessage::decode(delivery.message.payload.as_ref()).expect("decodes"));
        delivery.ack().await.expect("ack");
    }
    out
}

/// Whether another inbound message arrives within `wait`.
pub async fn no_more_inbound(bus: &Arc<dyn Bus>, wait: Duration) -> bool {
    let mut deliveries = bus.consume(&CONTEXT_INBOUND).await.expect("consume");
    tokio::time::timeout(wait, deliveries.next()).await.is_err()
}

/// The next `n` delivery reports on the bus (acked), in order.
pub async fn delivery_reports(bus: &Arc<dyn Bus>, n: usize) -> Vec<ev::DeliveryReport> {
    let mut deliveries = bus.consume(&CONTEXT_DELIVERY).await.expect("consume");
    let mut out = Vec::new();
    while out.len() < n {
        let delivery = tokio::time::timeout(Duration::from_secs(20), deliveries.next())
            .await
            .expect("a delivery report within 20 s")
            .expect("stream open");
        assert_eq!(delivery.message.subject, "omni.delivery.email");
        out.push(ev::DeliveryReport::decode(delivery.message.payload.as_ref()).expect("decodes"));
        delivery.ack().await.expect("ack");
    }
    out
}

/// A raw SMTP client: sends lines, reads whole (multi-line) replies.
pub struct Raw {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Raw {
    /// Connects and returns the greeting too.
    pub async fn connect(port: u16) -> (Raw, String) {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (read, writer) = stream.into_split();
        let mut raw = Raw {
            reader: BufReader::new(read),
            writer,
        };
        let greeting = raw.reply().await;
        (raw, greeting)
    }

    /// Sends `line` with CRLF and returns the reply.
    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(line).await;
        self.reply().await
    }

    /// Sends `text` with CRLF, without reading.
    pub async fn send(&mut self, text: &str) {
        self.send_bytes(format!("{text}\r\n").as_bytes()).await;
    }

    /// Sends raw bytes.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// Reads one reply (all its lines); empty when the server closed.
    pub async fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
                .await
                .expect("a reply within 10 s")
                .expect("read");
            if n == 0 {
                return reply;
            }
            reply.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return reply;
            }
        }
    }

    /// Whether the server closed the connection.
    pub async fn closed(&mut self) -> bool {
        let mut line = String::new();
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.reader.read_line(&mut line)).await,
            Ok(Ok(0))
        )
    }

    /// EHLO, MAIL FROM, RCPT TO a valid address.
    pub async fn start_transaction(&mut self) {
        assert!(self.cmd("EHLO client.test").await.starts_with("250"));
        assert!(
            self.cmd("MAIL FROM:<ann@example.com>")
                .await
                .starts_with("250")
        );
        assert!(
            self.cmd(&format!("RCPT TO:<help@{DOMAIN}>"))
                .await
                .starts_with("250")
        );
    }
}

/// A test CA and a certificate it signed for `127.0.0.1` (openssl), as PEM
/// files in `dir`: `(ca, leaf cert, leaf key)`.
pub fn ca_and_leaf(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    omni_testservers::tls::TestCerts::create()
        .and_then(|certs| certs.server_files_in(dir))
        .expect("test certificates")
}
