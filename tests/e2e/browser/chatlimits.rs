//! What the chat page tells a customer refused by the chat's bound on new
//! conversations per address (`tests/browser/chatlimits.mjs`): the message
//! is marked not sent and the page shows the reason and when to retry.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test]
async fn chat_page_shows_a_refused_conversation() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.limits.conversations_per_address = 1;
    let app = TestApp::start_with(data, config).await?;
    let result = async { Scenario::new("chatlimits.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
