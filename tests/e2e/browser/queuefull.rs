//! What the chat page shows a customer whose queue is full
//! (`tests/browser/queuefull.mjs`): their message sent, and the automatic
//! answer as a system line, also after a reload.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test]
async fn chat_page_shows_the_full_queue_answer() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.limits.max_waiting_per_queue = 1;
    // No overflow: the second customer meets a full queue whatever the
    // topic.
    for queue in &mut config.queues {
        queue.steps.retain(|s| s.overflow.is_none());
    }
    config.limits.queue_full_answer =
        "Every line is busy: please write again in a few minutes.".into();
    let app = TestApp::start_with(data, config).await?;
    let result = async { Scenario::new("queuefull.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
