//! The desk's customer-experience view in Chromium
//! (`tests/browser/deskcx.mjs`): an angry message about a refund shows the
//! intent from a rule, the language and a negative sentiment with the
//! trend over the conversation, in the head and in "My conversations";
//! a resolve with a "check in on" date shows the scheduled follow-up.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_shows_intent_sentiment_and_the_followup() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.routing.offer_timeout_secs = 60;
    // The check-in stays on the chosen day, whatever the zones.
    config.context.sending_hours = "00:00-24:00".into();
    config.enrichment.intents = vec![serde_json::from_value(serde_json::json!({
        "name": "refund",
        "keywords": ["refund", "money back"],
    }))?];
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let result = Scenario::new("deskcx.mjs", &app)?.run().await;
    app.stop().await;
    result
}
