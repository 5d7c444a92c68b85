//! The supervisor's wall (`tests/browser/wall.mjs`): the waiting count
//! rising and falling live as customers write and agents answer, a waiting
//! conversation moved to another agent, an agent's presence changed with a
//! reason, a conversation read with its trace id, and why it went to its
//! agent; nobody signed in sent to sign in, an agent refused; a survey
//! answered on the chat page shown in the wall's survey section.

use omni_core::Channel;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test]
async fn wall_in_chromium() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    // Offers wait for the script's click; Bob takes one chat at a time, so
    // Bea waits while he holds Ann.
    config.routing.offer_timeout_secs = 120;
    let bob = config
        .agents
        .iter_mut()
        .find(|a| a.id == "bob")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no bob"))?;
    bob.capacity.insert(Channel::CHAT, 1);
    // Sales surveys its chats (CSAT), at any hour.
    config.context.sending_hours = "00:00-24:00".into();
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no sales"))?;
    sales.survey = Some(omni_core::config::SurveyConfig {
        kind: omni_core::config::SurveyKind::Csat,
        comment: false,
        prompt: Default::default(),
        thanks: Default::default(),
        min_days_between: 30,
    });
    let app = TestApp::start_with(data, config).await?;
    let result = async { Scenario::new("wall.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}
