//! The place in line a waiting chat customer sees
//! (`tests/browser/queuepos.mjs`): their number, moving up as the ones
//! ahead are answered, gone when an agent joins, and an estimate's text.

use omni_core::Channel;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test]
async fn queue_position_in_chromium() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    // Offers wait for the script's click; Bob takes one chat at a time, so
    // each answer moves the line by one.
    config.routing.offer_timeout_secs = 120;
    let bob = config
        .agents
        .iter_mut()
        .find(|a| a.id == "bob")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no bob"))?;
    bob.capacity.insert(Channel::CHAT, 1);
    let app = TestApp::start_with(data, config).await?;
    let result = async { Scenario::new("queuepos.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
