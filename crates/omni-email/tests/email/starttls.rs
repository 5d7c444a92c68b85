//! STARTTLS (RFC 3207) with a real client: Python's smtplib verifying the
//! server's certificate.

use std::process::Command;

use crate::support::{self, Mail, Raw, Server, inbound};

/// A self-signed certificate for `mx.support.test` (openssl), as PEM files.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=mx.support.test"])
        .args(["-addext", "subjectAltName=DNS:mx.support.test,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    (cert, key)
}

#[tokio::test]
async fn mail_is_accepted_over_starttls_and_the_session_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = certificate(dir.path());
    let mut config = support::config();
    config.email.tls_cert = Some(cert.clone());
    config.email.tls_key = Some(key);
    let server = Server::start_with(config).await;

    let (mut c, _) = Raw::connect(server.port).await;
    assert!(c.cmd("EHLO client.test").await.contains("250-STARTTLS"));
    assert!(c.cmd("STARTTLS now").await.starts_with("501"));

    let msg = Mail::new(
        "over TLS",
        "tls@mail.example.com",
        "msg.set_content('Sent encrypted.')",
    )
    .python();
    let script = format!(
        r#"
import smtplib, ssl
from email.message import EmailMessage
ctx = ssl.create_default_context(cafile={cert:?})
{msg}
# Plain text pipelined behind STARTTLS must not be executed after the
# handshake: were the injected MAIL run, the MAIL below would be "nested".
import socket
sock = socket.create_connection(('127.0.0.1', {port}), timeout=20)
f = sock.makefile('rb')
f.readline()
sock.sendall(b'EHLO client.test\r\n')
while not f.readline().startswith(b'250 '):
    pass
sock.sendall(b'STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n')
print('starttls', f.readline().decode().strip())
tls = ctx.wrap_socket(sock, server_hostname='mx.support.test')
tf = tls.makefile('rb')
tls.sendall(b'EHLO client.test\r\n')
while not tf.readline().startswith(b'250 '):
    pass
tls.sendall(b'MAIL FROM:<ann@example.com>\r\n')
print('after', tf.readline().decode().strip())
tls.close()

with smtplib.SMTP('127.0.0.1', {port}, local_hostname='client.test', timeout=20) as s:
    s.ehlo()
    assert s.has_extn('starttls')
    s.starttls(context=ctx)
    s.ehlo()
    assert not s.has_extn('starttls'), 'STARTTLS offered twice'
    code, text = s.docmd('STARTTLS')
    print('again', code)
    s.send_message(msg)
    print('OK', s.sock.version())
"#,
        cert = cert.display().to_string(),
        port = server.port
    );
    let stdout = omni_testclients::mail::run_python(script)
        .await
        .expect("python smtplib runs");
    assert!(stdout.contains("starttls 220 2.0.0"), "{stdout}");
    assert!(stdout.contains("after 250 2.1.0"), "{stdout}");
    assert!(stdout.contains("again 503"), "{stdout}");
    assert!(stdout.contains("OK TLSv1.3"), "{stdout}");
    let got = inbound(&server.bus, 1).await;
    assert_eq!(
        got[0].idempotency_key,
        support::key(&got[0], "tls@mail.example.com")
    );
    assert_eq!(got[0].text, "Sent encrypted.");
}

#[tokio::test]
async fn starttls_without_a_certificate_is_not_offered() {
    let server = Server::start().await;
    let (mut c, _) = Raw::connect(server.port).await;
    assert!(!c.cmd("EHLO client.test").await.contains("STARTTLS"));
    assert!(c.cmd("STARTTLS").await.starts_with("502 5.5.1"));
}

#[tokio::test]
async fn an_unreadable_certificate_stops_the_server_with_a_clear_error() {
    let mut config = support::config();
    config.email.tls_cert = Some("/nonexistent/cert.pem".into());
    config.email.tls_key = Some("/nonexistent/key.pem".into());
    let server = Server::start_with(config).await;
    let err = server.task.await.expect("join").expect_err("fails");
    assert!(
        err.to_string()
            .contains("email.tls_cert /nonexistent/cert.pem"),
        "{err}"
    );
}
