//! The inbound SMTP server (RFC 5321): one task per connection, each a
//! small state machine over command lines.
//!
//! | state | accepted commands |
//! |---|---|
//! | connected | EHLO, HELO, STARTTLS (when `email.tls_cert` is set) |
//! | greeted | MAIL, STARTTLS |
//! | in a transaction | RCPT (then DATA once a recipient is accepted) |
//! | anywhere | RSET, NOOP, VRFY, HELP, QUIT |
//!
//! After STARTTLS the session starts over inside TLS (RFC 3207); whatever
//! the client pipelined behind the command in plain text is discarded.
//!
//! Replies: `250` to a message only once it is durably on the bus; `451
//! 4.3.0` when the bus cannot take it now; `550 5.7.1` for recipients
//! outside `email.domains` (never an open relay); `552 5.3.4` for size
//! (the rest of an oversize DATA is read and discarded, so the session
//! stays in step); `503 5.5.1` for commands out of sequence; `501` for
//! syntax; `500`/`502` for unknown/unimplemented commands; `421` on idle
//! timeout, at the end of the session lifetime (`email.max_session_secs`),
//! after `email.max_errors` errors, when too many clients are connected
//! (from anywhere, or `email.max_sessions_per_address` from one address),
//! on MAIL past the address's `email.max_messages_per_minute` (see
//! [`crate::limits`]), and on shutdown; each 421 closes the connection. Only `<CRLF>.<CRLF>` ends DATA (a bare-LF
//! dot line is content), which closes the door to SMTP smuggling.
//! PIPELINING works because replies are written in command order from a
//! buffered reader. Every rejection is logged with its reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::EmailAdapter;
use crate::adapter::Envelope;
use crate::command::{self, Command, Rejected};
use crate::limits::PeerLimits;
use crate::line::{Line, read_line};

/// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;
/// Longest line of message text, CRLF included (RFC 5321 §4.5.3.1.6).
pub const MAX_TEXT_LINE: usize = 1000;
/// Clients served at once; more are turned away with 421.
pub const MAX_SESSIONS: usize = 256;

/// Serves SMTP on an already bound `listener` until `shutdown`. Sessions
/// waiting for a command are closed with `421`; a message being published
/// is finished first.
pub async fn serve(
    listener: TcpListener,
    adapter: Arc<EmailAdapter>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let tls = crate::tls::acceptor(&adapter.config().email)?;
    let sessions = TaskTracker::new();
    let slots = Arc::new(Semaphore::new(MAX_SESSIONS));
    let email = &adapter.config().email;
    let limits = PeerLimits::new(
        email.max_sessions_per_address,
        email.max_messages_per_minute,
    );
    info!(addr = %listener.local_addr()?, starttls = tls.is_some(), "smtp server listening");
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    warn!(error = %e, "smtp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            warn!(error = %e, "cannot set TCP_NODELAY");
        }
        let adapter = adapter.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        // The address's own cap first, so one address never holds more
        // than its share of the server's slots.
        let Some(slot) = limits.open(peer.ip()) else {
            warn!(%peer, limit = adapter.config().email.max_sessions_per_address, "smtp connection refused: too many sessions from this address");
            sessions.spawn(async move {
                let mut stream = stream;
                let _ = stream
                    .write_all(
                        b"421 4.7.0 too many connections from your address, try again later\r\n",
                    )
                    .await;
            });
            continue;
        };
        let permit = slots.clone().try_acquire_owned();
        let limits = limits.clone();
        sessions.spawn(async move {
            let _slot = slot;
            match permit {
                Ok(_permit) => {
                    let session = Session::new(adapter, peer, shutdown, tls, limits);
                    if let Err(e) = session.run(stream).await {
                        debug!(%peer, error = %e, "smtp session ended with an i/o error");
                    }
                }
                Err(_) => {
                    warn!(%peer, limit = MAX_SESSIONS, "smtp connection refused: too many sessions");
                    let mut stream = stream;
                    let _ = stream
                        .write_all(b"421 4.3.2 too many connections, try again later\r\n")
                        .await;
                }
            }
        });
    }
    sessions.close();
    sessions.wait().await;
    info!("smtp server stopped");
    Ok(())
}

/// What a command does to the session.
enum Next {
    Continue,
    Close,
    StartTls,
}

struct Session {
    adapter: Arc<EmailAdapter>,
    peer: SocketAddr,
    shutdown: CancellationToken,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    errors: u32,
    tls: Option<TlsAcceptor>,
    secure: bool,
    limits: Arc<PeerLimits>,
    /// When the session lifetime is over.
    deadline: Instant,
}

impl Session {
    fn new(
        adapter: Arc<EmailAdapter>,
        peer: SocketAddr,
        shutdown: CancellationToken,
        tls: Option<TlsAcceptor>,
        limits: Arc<PeerLimits>,
    ) -> Self {
        let lifetime = Duration::from_secs(adapter.config().email.max_session_secs);
        Self {
            limits,
            deadline: Instant::now() + lifetime,
            tls,
            secure: false,
            adapter,
            peer,
            shutdown,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            errors: 0,
        }
    }

    fn hostname(&self) -> &str {
        &self.adapter.config().email.hostname
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.adapter.config().email.idle_timeout_secs)
    }

    /// How long the next read may wait: the idle timeout, or less when the
    /// session lifetime ends sooner.
    fn read_timeout(&self) -> Duration {
        self.idle_timeout()
            .min(self.deadline.saturating_duration_since(Instant::now()))
    }

    /// A read timed out: logs why and gives the 421 to close with.
    fn timed_out(&self, during: &'static str) -> &'static str {
        if Instant::now() >= self.deadline {
            info!(peer = %self.peer, during, "smtp session closed: session lifetime over");
            "421 4.4.2 session lifetime over, closing connection"
        } else {
            info!(peer = %self.peer, during, "smtp session closed: idle timeout");
            "421 4.4.2 idle timeout, closing connection"
        }
    }

    async fn run(mut self, stream: TcpStream) -> std::io::Result<()> {
        debug!(peer = %self.peer, "smtp session opened");
        let (read, mut write) = tokio::io::split(stream);
        reply(
            &mut write,
            &format!("220 {} ESMTP Omniroute", self.hostname()),
        )
        .await?;
        let mut reader = BufReader::new(read);
        if let Next::Close = self.commands(&mut reader, &mut write).await? {
            return Ok(());
        }
        // STARTTLS was answered 220. Whatever the client sent after it in
        // plain text is dropped with the buffer, never read as commands
        // (the STARTTLS command injection class of bugs).
        let Some(acceptor) = self.tls.clone() else {
            return Ok(());
        };
        let stream = reader.into_inner().unsplit(write);
        let tls = match tokio::time::timeout(self.idle_timeout(), acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                warn!(peer = %self.peer, error = %e, "smtp TLS handshake failed");
                return Ok(());
            }
            Err(_) => {
                warn!(peer = %self.peer, "smtp TLS handshake timed out");
                return Ok(());
            }
        };
        // RFC 3207: forget everything from before the handshake.
        self.secure = true;
        self.helo = None;
        self.reset();
        debug!(peer = %self.peer, "smtp session upgraded to TLS");
        let (read, mut write) = tokio::io::split(tls);
        let mut reader = BufReader::new(read);
        self.commands(&mut reader, &mut write).await.map(drop)
    }

    /// Serves commands until the session ends ([`Next::Close`]) or STARTTLS
    /// is accepted ([`Next::StartTls`]).
    async fn commands<R, W>(&mut self, reader: &mut R, write: &mut W) -> std::io::Result<Next>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut line = Vec::with_capacity(MAX_COMMAND_LINE);
        loop {
            let read = tokio::select! {
                _ = self.shutdown.cancelled() => {
                    reply(write, &format!("421 4.3.2 {} shutting down", self.hostname())).await?;
                    return Ok(Next::Close);
                }
                read = tokio::time::timeout(self.read_timeout(), read_line(reader, MAX_COMMAND_LINE, &mut line)) => read,
            };
            let text = match read {
                Err(_) => {
                    reply(write, self.timed_out("commands")).await?;
                    return Ok(Next::Close);
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Line::Closed)) => return Ok(Next::Close),
                Ok(Ok(Line::TooLong)) => {
                    if self.reject(write, "500 5.5.2 line too long").await? {
                        return Ok(Next::Close);
                    }
                    continue;
                }
                Ok(Ok(Line::Complete { .. })) => match std::str::from_utf8(&line) {
                    Ok(text) => text.to_owned(),
                    Err(_) => {
                        if self
                            .reject(write, "500 5.5.2 command is not valid UTF-8")
                            .await?
                        {
                            return Ok(Next::Close);
                        }
                        continue;
                    }
                },
            };
            let next = match command::parse(&text) {
                Ok(command) => self.execute(command, reader, write).await?,
                Err(Rejected(r)) => {
                    if self.reject(write, &r).await? {
                        Next::Close
                    } else {
                        Next::Continue
                    }
                }
            };
            if let Next::Close | Next::StartTls = next {
                return Ok(next);
            }
        }
    }

    /// Sends an error reply, logs it, and counts it; returns whether the
    /// session is over (too many errors).
    async fn reject<W: AsyncWrite + Unpin>(
        &mut self,
        write: &mut W,
        response: &str,
    ) -> std::io::Result<bool> {
        warn!(peer = %self.peer, reply = %response, "smtp command rejected");
        reply(write, response).await?;
        self.errors += 1;
        if self.errors >= self.adapter.config().email.max_errors {
            warn!(peer = %self.peer, errors = self.errors, "smtp session closed: too many errors");
            reply(write, "421 4.7.0 too many errors, closing connection").await?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn execute<R, W>(
        &mut self,
        command: Command,
        reader: &mut R,
        write: &mut W,
    ) -> std::io::Result<Next>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let adapter = self.adapter.clone();
        let email = &adapter.config().email;
        let response = match command {
            Command::Ehlo(name) => {
                self.reset();
                let mut lines = vec![
                    format!("250-{} greets {name}", self.hostname()),
                    format!("250-SIZE {}", email.max_message_bytes),
                    "250-8BITMIME".to_owned(),
                    "250-PIPELINING".to_owned(),
                    "250-SMTPUTF8".to_owned(),
                ];
                if self.tls.is_some() && !self.secure {
                    lines.push("250-STARTTLS".to_owned());
                }
                lines.push("250 ENHANCEDSTATUSCODES".to_owned());
                self.helo = Some(name);
                return reply(write, &lines.join("\r\n"))
                    .await
                    .map(|()| Next::Continue);
            }
            Command::Helo(name) => {
                self.reset();
                let r = format!("250 {}", self.hostname());
                self.helo = Some(name);
                r
            }
            Command::Mail { .. } if self.helo.is_none() => {
                return self
                    .sequence(write, "503 5.5.1 send EHLO or HELO first")
                    .await;
            }
            Command::Mail { .. } if self.mail_from.is_some() => {
                return self.sequence(write, "503 5.5.1 nested MAIL command").await;
            }
            Command::Mail {
                size: Some(size), ..
            } if size > email.max_message_bytes as u64 => {
                let r = format!(
                    "552 5.3.4 message size {size} exceeds the limit of {} bytes",
                    email.max_message_bytes
                );
                return self.sequence(write, &r).await;
            }
            Command::Mail { .. } if !self.limits.message(self.peer.ip()) => {
                warn!(peer = %self.peer, limit = email.max_messages_per_minute, "smtp session closed: too many messages from this address");
                reply(
                    write,
                    "421 4.7.0 too many messages from your address, try again later",
                )
                .await?;
                return Ok(Next::Close);
            }
            Command::Mail { from, .. } => {
                self.mail_from = Some(from);
                "250 2.1.0 sender ok".to_owned()
            }
            Command::Rcpt { .. } if self.mail_from.is_none() => {
                return self.sequence(write, "503 5.5.1 send MAIL first").await;
            }
            Command::Rcpt { to } if !email.accepts(&to) => {
                let r = format!("550 5.7.1 relaying denied for <{to}>");
                return self.sequence(write, &r).await;
            }
            Command::Rcpt { .. } if self.rcpt_to.len() >= email.max_recipients => {
                warn!(peer = %self.peer, limit = email.max_recipients, "smtp recipient refused: too many recipients");
                "452 4.5.3 too many recipients".to_owned()
            }
            Command::Rcpt { to } => {
                if !self.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(&to)) {
                    self.rcpt_to.push(to);
                }
                "250 2.1.5 recipient ok".to_owned()
            }
            Command::Data if self.mail_from.is_none() => {
                return self.sequence(write, "503 5.5.1 send MAIL first").await;
            }
            Command::Data if self.rcpt_to.is_empty() => {
                return self.sequence(write, "503 5.5.1 no valid recipients").await;
            }
            Command::Data => return self.data(reader, write).await,
            Command::Rset => {
                self.reset();
                "250 2.0.0 ok".to_owned()
            }
            Command::Noop => "250 2.0.0 ok".to_owned(),
            Command::Quit => {
                reply(
                    write,
                    &format!("221 2.0.0 {} closing connection", self.hostname()),
                )
                .await?;
                return Ok(Next::Close);
            }
            Command::Vrfy => {
                "252 2.5.0 cannot VRFY user, but will accept message and attempt delivery"
                    .to_owned()
            }
            Command::Help => {
                "214 2.0.0 commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT".to_owned()
            }
            Command::StartTls if self.secure => {
                return self.sequence(write, "503 5.5.1 TLS already active").await;
            }
            Command::StartTls if self.tls.is_some() => {
                self.reset();
                reply(write, "220 2.0.0 ready to start TLS").await?;
                return Ok(Next::StartTls);
            }
            Command::StartTls => {
                return self
                    .sequence(write, "502 5.5.1 STARTTLS not available")
                    .await;
            }
            Command::NotImplemented(verb) => {
                let r = format!("502 5.5.1 {verb} not implemented");
                return self.sequence(write, &r).await;
            }
        };
        reply(write, &response).await?;
        Ok(Next::Continue)
    }

    /// A rejected command: reply, log, count.
    async fn sequence<W: AsyncWrite + Unpin>(
        &mut self,
        write: &mut W,
        response: &str,
    ) -> std::io::Result<Next> {
        Ok(if self.reject(write, response).await? {
            Next::Close
        } else {
            Next::Continue
        })
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    /// DATA: reads the message to the final dot, then publishes it.
    async fn data<R, W>(&mut self, reader: &mut R, write: &mut W) -> std::io::Result<Next>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let max = self.adapter.config().email.max_message_bytes;
        reply(write, "354 end data with <CR><LF>.<CR><LF>").await?;
        let mut raw = Vec::new();
        let mut line = Vec::with_capacity(MAX_TEXT_LINE);
        let mut oversize = false;
        let mut long_line = false;
        loop {
            let read = tokio::time::timeout(
                self.read_timeout(),
                read_line(reader, MAX_TEXT_LINE, &mut line),
            )
            .await;
            match read {
                Err(_) => {
                    reply(write, self.timed_out("data")).await?;
                    return Ok(Next::Close);
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Line::Closed)) => {
                    info!(peer = %self.peer, "smtp client closed the connection in DATA; message discarded");
                    return Ok(Next::Close);
                }
                Ok(Ok(Line::TooLong)) => {
                    long_line = true;
                    continue;
                }
                Ok(Ok(Line::Complete { crlf })) => {
                    // Only <CRLF>.<CRLF> ends the data: a dot line ended by a
                    // bare LF is content, so text smuggled behind
                    // `<LF>.<LF>` by a lenient upstream server cannot be
                    // read as new commands (SMTP smuggling).
                    if line == b"." && crlf {
                        break;
                    }
                }
            }
            // Dot-unstuffing (RFC 5321 §4.5.2).
            let content = line.strip_prefix(b".").unwrap_or(&line);
            if !oversize {
                if raw.len() + content.len() + 2 > max {
                    oversize = true;
                    raw = Vec::new();
                } else {
                    raw.extend_from_slice(content);
                    raw.extend_from_slice(b"\r\n");
                }
            }
        }
        let envelope = Envelope {
            peer: self.peer,
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
        };
        if oversize {
            count("too_large");
            warn!(peer = %self.peer, limit = max, "smtp message rejected: too large");
            reply(
                write,
                &format!("552 5.3.4 message exceeds the limit of {max} bytes"),
            )
            .await?;
            return Ok(Next::Continue);
        }
        if long_line {
            count("rejected");
            warn!(peer = %self.peer, "smtp message rejected: line longer than 1000 octets");
            reply(
                write,
                "500 5.5.2 message has a line longer than 1000 octets (RFC 5321 4.5.3.1.6)",
            )
            .await?;
            return Ok(Next::Continue);
        }
        match self.adapter.accept(&envelope, raw).await {
            Ok(accepted) => {
                count(if accepted.duplicate {
                    "duplicate"
                } else {
                    "accepted"
                });
                reply(write, &format!("250 2.0.0 ok <{}>", accepted.key)).await?;
                Ok(Next::Continue)
            }
            Err(e) => {
                let response = e.reply();
                count(match response.as_bytes().first() {
                    Some(b'4') => "deferred",
                    _ => "rejected",
                });
                warn!(peer = %self.peer, reply = %response, error = %e, "smtp message not accepted");
                reply(write, &response).await?;
                Ok(if response.starts_with("421") {
                    Next::Close
                } else {
                    Next::Continue
                })
            }
        }
    }
}

/// Counts a message that reached the end of DATA, by outcome.
fn count(result: &str) {
    omni_telemetry::count!(
        "omni_email_messages_total",
        "SMTP transactions by result",
        &[("result", result)]
    );
}

/// Writes one reply (lines separated by CRLF) and flushes it.
async fn reply<W: AsyncWrite + Unpin>(write: &mut W, text: &str) -> std::io::Result<()> {
    write.write_all(text.as_bytes()).await?;
    write.write_all(b"\r\n").await?;
    write.flush().await
}
