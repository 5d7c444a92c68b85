//! A conversation's survey on the conversation in the desk
//! (`tests/browser/surveyview.mjs`): a resolved chat's CSAT survey shows
//! as sent, then, once the customer picks a score and adds a comment, as
//! "Survey: CSAT 4/5 · “Quick and kind”" on the agent's open desk, live;
//! the desk passes the accessibility check with it shown.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_shows_the_survey_answer_on_the_conversation() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.routing.offer_timeout_secs = 60;
    // Sales surveys its chats (CSAT, with a comment), at any hour.
    config.context.sending_hours = "00:00-24:00".into();
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no sales"))?;
    sales.survey = Some(omni_core::config::SurveyConfig {
        kind: omni_core::config::SurveyKind::Csat,
        comment: true,
        prompt: Default::default(),
        thanks: Default::default(),
        min_days_between: 30,
    });
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let result = Scenario::new("surveyview.mjs", &app)?.run().await;
    app.stop().await;
    result
}
