//! The agent's tools in Chromium (`tests/browser/desktools.mjs`): a canned
//! response with its placeholders filled, an internal note the customer's
//! page never shows, a transfer with a note the receiving agent reads, a
//! resolve with the queue's wrap-up code (then counted in the metrics), and
//! an away reason with the time in state.

use omni_testkit::actors::TEST_PASSWORD;
use omni_testkit::app::test_config;
use omni_testkit::{HttpClient, TestApp};
use serde_json::json;

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_tools_in_chromium() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.routing.offer_timeout_secs = 60;
    for q in config.queues.iter_mut().filter(|q| q.id == "sales") {
        q.wrapup_codes = vec!["sold".into(), "no_sale".into()];
    }
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let result = async {
        let (r, supervisor) = HttpClient::new(app.desk_url())
            .sign_in("supervisor", TEST_PASSWORD)
            .await?;
        let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
        let r = supervisor
            .post(
                "/api/canned",
                &json!({
                    "shortcut": "greet",
                    "title": "Greeting",
                    "text": "Hello {customer.name}, this is {agent.name} about {conversation.id} in {queue}.",
                    "shared": true,
                }),
            )
            .await?;
        anyhow::ensure!(r.status == 200, "canned: {}", r.body);
        Scenario::new("desktools.mjs", &app)?.run().await?;
        let metrics = HttpClient::new(app.metrics_url()).get("/metrics").await?;
        let text = metrics.body.as_str().unwrap_or_default().to_owned();
        anyhow::ensure!(
            text.lines().any(|l| l.starts_with("omni_wrapups_total{")
                && l.contains("queue=\"sales\"")
                && l.contains("code=\"sold\"")
                && l.ends_with(" 1")),
            "the resolve's wrap-up code is counted:\n{text}"
        );
        anyhow::Ok(())
    }
    .await;
    app.stop().await;
    result
}
