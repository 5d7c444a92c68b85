//! The README's screenshots (`tests/browser/screenshots.mjs`): the desk with
//! several conversations, the chat widget on a website (desktop and
//! phone), the chat page and the supervisor's wall, each a PNG. Written to
//! `OMNI_SCREENSHOTS_DIR` when set (`scripts/screenshots` sets it to
//! `docs/screenshots`), else to a temporary directory; `OMNI_SCREENSHOTS`
//! (comma-separated) picks the entries.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;
use super::widget::{acme_site, host_port};

#[tokio::test]
async fn screenshots_in_chromium() -> anyhow::Result<()> {
    let host_port = host_port()?;
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config
        .chat
        .sites
        .insert("acme".into(), acme_site(host_port));
    config.validate()?;
    let scratch = tempfile::tempdir()?;
    let out = std::env::var_os("OMNI_SCREENSHOTS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&out)?;
    let pages = std::env::var("OMNI_SCREENSHOTS")
        .unwrap_or_else(|_| "desk,widget-desktop,widget-phone,chat,wall".into());
    let app = TestApp::start_with(data, config).await?;
    let result = async {
        Scenario::new("screenshots.mjs", &app)?
            .env("HOST_PORT", &host_port.to_string())
            .env("SCREENSHOTS", &out.to_string_lossy())
            .env("PAGES", &pages)
            .run()
            .await
    }
    .await;
    app.stop().await;
    result?;
    // Every entry asked for is a PNG, but the wall where this build has none.
    for page in pages.split(',').map(str::trim).filter(|p| *p != "wall") {
        let path = out.join(format!("{page}.png"));
        let bytes = std::fs::read(&path)
            .map_err(|e| anyhow::anyhow!("{} was not written: {e}", path.display()))?;
        anyhow::ensure!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
            "{} is not a screenshot ({} bytes)",
            path.display(),
            bytes.len()
        );
    }
    Ok(())
}
