//! What the customer chat page tells the customer on its own
//! (`tests/browser/chatpage.mjs`): the configured topics and a note for an
//! unknown one, the over-limit counter, the automatic resend of a message
//! the server could not take, the conversation's status (waiting, the
//! agent who joined, resolved), read receipts, and the question before a
//! new conversation.

use omni_testkit::TestApp;

use super::Scenario;

#[tokio::test]
async fn chat_page_in_chromium() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let result = async { Scenario::new("chatpage.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
