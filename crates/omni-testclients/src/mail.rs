//! The one Python mail client of the tests: Python's `smtplib` (a real,
//! widely used SMTP client), run by the Python 3 `omni_testservers::python`
//! finds.

use std::net::SocketAddr;
use std::process::Command;

/// Runs `script` with `python3 -c`, off the async runtime; returns its
/// standard output, or an error with its standard error when it fails.
pub async fn run_python(script: String) -> anyhow::Result<String> {
    let output = tokio::task::spawn_blocking(move || {
        let python = omni_testservers::python::python3_with("smtplib")?;
        Command::new(python).arg("-c").arg(script).output()
    })
    .await??;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "python3 failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

/// One SMTP session by `smtplib` to `server`: `code` is Python that defines
/// `msg` (an `email.message.Message` or bytes) and may change `sender`
/// (preset to `sender`) and `rcpts` (preset to `rcpts`). The `email`
/// package's message classes are imported for it. Returns what the script
/// printed: `OK <refused recipients>` when the server took the mail, or
/// `ERR <code> <text>` for each refusal.
pub async fn smtplib(
    server: SocketAddr,
    sender: &str,
    rcpts: &[&str],
    code: &str,
) -> anyhow::Result<String> {
    let script = format!(
        r#"
import smtplib, sys
from email import policy
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.header import Header
from email.utils import formataddr
sender = {sender}
rcpts = {rcpts}
{code}
data = msg if isinstance(msg, bytes) else msg.as_bytes(policy=msg.policy.clone(linesep='\r\n'))
with smtplib.SMTP({host}, {port}, local_hostname='client.test', timeout=20) as s:
    try:
        refused = s.sendmail(sender, rcpts, data)
        print('OK', refused)
    except smtplib.SMTPRecipientsRefused as e:
        for r, (c, m) in e.recipients.items():
            print('ERR', c, m.decode())
    except smtplib.SMTPResponseException as e:
        print('ERR', e.smtp_code, e.smtp_error.decode())
"#,
        sender = literal(sender),
        rcpts = serde_json::Value::from(rcpts.to_vec()),
        host = literal(&server.ip().to_string()),
        port = server.port(),
    );
    run_python(script).await
}

/// `text` as a Python string literal (a JSON string is one).
pub fn literal(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_reach_python_unchanged() -> anyhow::Result<()> {
        let tricky = "Jo \"O'Neil\" <jo@example.org>\\ \u{e9}\n";
        let out = run_python(format!("import sys; sys.stdout.write({})", literal(tricky))).await?;
        assert_eq!(out, tricky);
        Ok(())
    }
}
