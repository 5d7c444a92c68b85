//! The chat page and the agent desk in a real Chromium (Debian's), driven
//! by playwright-core (`tests/browser/scenario.mjs`). `scripts/test`
//! installs Chromium, Node.js and playwright-core; without them this test
//! fails, it does not skip.

use std::path::Path;
use std::process::Stdio;

use omni_testkit::TestApp;

#[tokio::test]
async fn chat_page_and_desk_in_chromium() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    anyhow::ensure!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run scripts/test (or `npm ci` in tests/browser)"
    );
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    anyhow::ensure!(
        Path::new(&chromium).exists(),
        "Chromium not found at {chromium}: run scripts/test (it installs Debian's chromium) or set CHROMIUM_PATH"
    );
    let app = TestApp::start().await?;
    let mut command = tokio::process::Command::new("node");
    command
        .arg("scenario.mjs")
        .current_dir(&dir)
        .env("CHAT_URL", app.chat_url())
        .env("DESK_URL", app.desk_url())
        .env("CHROMIUM_PATH", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output =
        tokio::time::timeout(std::time::Duration::from_secs(120), command.output()).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    app.stop().await;
    assert!(
        output.status.success(),
        "browser scenario failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("browser scenario passed"),
        "{stdout}\n{stderr}"
    );
    Ok(())
}
