//! Offers on the desk (`tests/browser/offers.mjs`): the card names the
//! customer and how long they have waited and counts down; a new offer
//! plays a tone and shows a desktop notification; the first agent lets the
//! countdown run out and the offer goes to the next agent, who accepts with
//! the keyboard; a declined-by-keyboard offer goes on too.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_alert_count_down_and_move_on_in_chromium() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    // Long enough for the page to be looked at, short enough to run out.
    config.routing.offer_timeout_secs = 8;
    let app = TestApp::start_with(data, config).await?;
    let result = async { Scenario::new("offers.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
