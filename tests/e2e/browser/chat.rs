//! A chat conversation in the customer's page and the agent's desk
//! (`tests/browser/scenario.mjs`): customer writes, agent goes available,
//! accepts the offer, reads, replies (the reply appears in the customer's
//! page), and resolves.

use omni_testkit::TestApp;

use super::Scenario;

#[tokio::test]
async fn chat_page_and_desk_in_chromium() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let result = async { Scenario::new("scenario.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
