//! The agent desk with several conversations and windows
//! (`tests/browser/desk.mjs`): a service down named and retried, drafts per
//! conversation, a reopened conversation's first message in the open
//! view, and two windows accepting one offer.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_in_chromium() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    // Two windows act on one offer: it must outlast both clicks.
    config.routing.offer_timeout_secs = 60;
    let app = TestApp::start_with(data, config).await?;
    let result = async { Scenario::new("desk.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
