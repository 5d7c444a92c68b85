//! The chat page and the agent desk in a real Chromium (Debian's), driven
//! by playwright-core scripts in `tests/browser` (what they share is in
//! `tests/browser/harness.mjs`). `scripts/test` installs Chromium, Node.js
//! and playwright-core; without them these tests fail, they do not skip.
//!
//! A script prints one `step: …` line per step and `browser scenario
//! passed` at the end, and exits non-zero with the failing step. When it
//! needs the world outside the browser (a customer's mail client or phone,
//! Twilio), it prints `ask: {json}` and waits for one JSON line on its
//! stdin: the test does what was asked and answers, or answers `{"error":
//! …}`, which fails the script at that step.
//!
//! # Layout
//! - [`accounts`]: sign-in with a password, a wrong one, sign-out, expiry,
//!   and what each role sees.
//! - [`botoptions`]: a bot's message on the chat page: its name, its
//!   quick-reply options as buttons, one picked with the keyboard.
//! - [`chat`]: a chat conversation from the customer's page to resolve.
//! - [`chatlimits`]: what the chat page says when the chat's bound on new
//!   conversations per address refuses a message.
//! - [`chatpage`]: what the chat page tells the customer: topics, the
//!   over-limit counter, automatic resend, the conversation's status, read
//!   receipts, the question before a new conversation.
//! - [`declared`]: a channel declared only in the configuration (`app`):
//!   routed to the agent with room on it, marked in the timeline, the
//!   reply picker from the server's list, the reply out on it.
//! - [`customer`]: the desk's customer screens: identities, the timeline
//!   across chat, SMS and email, an email reply (Enter is a new line), a
//!   reply by SMS with its delivery status, merge and unmerge.
//! - [`deskflow`]: an agent's shift: three conversations on two channels,
//!   unread markers, drafts while switching, typing both ways and "Read".
//! - [`desk`]: a service down named and retried, drafts per conversation,
//!   a reopened conversation's first message, two windows on one offer.
//! - [`desktools`]: a canned response, an internal note the customer never
//!   sees, a transfer with a note, a resolve with a wrap-up code, an away
//!   reason with the time in state.
//! - [`offers`]: an offer's card (customer, time waited, countdown), its
//!   tone and desktop notification, the keyboard shortcuts, and an offer
//!   left to run out going to the next agent.
//! - [`queuefull`]: a full queue's automatic answer on the chat page, as a
//!   system line.
//! - [`queuepos`]: a waiting customer's place in line, moving up as the
//!   ones ahead are answered, gone when an agent joins.
//! - [`screenshots`]: the README's screenshots, by `scripts/screenshots`.
//! - [`surveyview`]: a resolved chat's survey on the conversation in the
//!   desk: sent, then the customer's score and comment, live.
//! - [`wall`]: the supervisor's wall: counts rising and falling live, a
//!   move, a presence change, a conversation read and why it was routed.
//! - [`wallrestart`]: the wall says "reconnecting" while the desk is down
//!   and is live again, not reloaded, once it is back.
//! - [`unverified`]: a stranger's mail into a conversation's thread: shown,
//!   listed as not verified (with Confirm), never the reply target.
//! - [`widget`]: the chat widget on another website: embedded, keyboard
//!   only, a file each way of the type check, translated, on a phone,
//!   refused elsewhere; the accessibility check.

mod accounts;
mod botoptions;
mod bots;
mod chat;
mod chatlimits;
mod chatpage;
mod customer;
mod declared;
mod desk;
mod deskcx;
mod deskflow;
mod desktools;
mod offers;
mod queuefull;
mod queuepos;
mod screenshots;
mod surveyview;
mod unverified;
mod wall;
mod wallrestart;
mod widget;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use omni_testkit::TestApp;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// How long one scenario may take, answers to its requests included.
const TIMEOUT: Duration = Duration::from_secs(180);

/// One script of `tests/browser`, run by node against an app.
pub struct Scenario {
    script: &'static str,
    command: tokio::process::Command,
}

impl Scenario {
    /// The script `script` with `CHAT_URL`, `DESK_URL` and `CHROMIUM_PATH`
    /// set; fails if playwright-core or Chromium is missing.
    pub fn new(script: &'static str, app: &TestApp) -> anyhow::Result<Self> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
        anyhow::ensure!(
            dir.join("node_modules/playwright-core").is_dir(),
            "playwright-core is not installed: run scripts/test (or `npm ci` in tests/browser)"
        );
        let chromium: PathBuf = std::env::var_os("CHROMIUM_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| "/usr/bin/chromium".into());
        anyhow::ensure!(
            chromium.exists(),
            "Chromium not found at {}: run scripts/test (it installs Debian's chromium) or set CHROMIUM_PATH",
            chromium.display()
        );
        let mut command = tokio::process::Command::new("node");
        command
            .arg(script)
            .current_dir(&dir)
            .env("CHAT_URL", app.chat_url())
            .env("DESK_URL", app.desk_url())
            .env("DESK_PASSWORD", omni_testkit::actors::TEST_PASSWORD)
            .env("CHROMIUM_PATH", &chromium)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Ok(Self { script, command })
    }

    /// One more variable for the script.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Runs a script that asks for nothing; fails unless it passes.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_with(async |ask: Value| -> anyhow::Result<Value> {
            anyhow::bail!("this test answers no requests, got {ask}")
        })
        .await
    }

    /// Runs the script, answering each of its requests with `answer`;
    /// fails unless it passes, with everything it printed.
    pub async fn run_with(
        mut self,
        mut answer: impl AsyncFnMut(Value) -> anyhow::Result<Value>,
    ) -> anyhow::Result<()> {
        let mut child = self
            .command
            .spawn()
            .with_context(|| format!("starting node {}", self.script))?;
        let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            anyhow::bail!("node's standard streams are not piped");
        };
        let errors = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        let mut transcript = String::new();
        let drive = async {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(line) = lines.next_line().await? {
                transcript.push_str(&line);
                transcript.push('\n');
                let Some(request) = line.strip_prefix("ask: ") else {
                    continue;
                };
                let reply = match serde_json::from_str(request) {
                    Ok(ask) => answer(ask)
                        .await
                        .unwrap_or_else(|e| json!({ "error": format!("{e:#}") })),
                    Err(e) => json!({ "error": format!("unreadable request: {e}") }),
                };
                stdin.write_all(format!("{reply}\n").as_bytes()).await?;
                stdin.flush().await?;
            }
            anyhow::Ok(child.wait().await?)
        };
        let outcome = tokio::time::timeout(TIMEOUT, drive).await;
        if outcome.is_err() {
            let _ = child.kill().await;
        }
        let errors = errors.await.unwrap_or_default();
        let failed = |why: String| {
            anyhow::anyhow!(
                "browser scenario {} {why}:\n{transcript}\n{errors}",
                self.script
            )
        };
        match outcome {
            Err(_) => Err(failed(format!("did not finish in {TIMEOUT:?}"))),
            Ok(Err(e)) => Err(failed(format!("could not be driven: {e:#}"))),
            Ok(Ok(status)) if !status.success() => Err(failed(format!("failed ({status})"))),
            Ok(Ok(_)) if !transcript.contains("browser scenario passed") => {
                Err(failed("exited without passing".into()))
            }
            Ok(Ok(_)) => Ok(()),
        }
    }
}
