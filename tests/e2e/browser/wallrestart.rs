//! The supervisor's wall across a restart of the desk
//! (`tests/browser/wallrestart.mjs`): the open page says "reconnecting"
//! while the desk is down and is live again, not reloaded, with the
//! numbers restored, once it is back on the same port. Support has
//! business hours and is closed (today, "Christmas Day", and tomorrow are
//! holidays in Madrid): the wall names the holiday and says when it opens,
//! before and after the restart.
//!
//! The test stops and starts the app (the desk with the rest of the
//! embedded app) when the script asks: `stop`, then `start`.

use std::collections::BTreeMap;

use omni_core::config::{HolidayConfig, HoursConfig};
use omni_core::time::now_ms;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;
use serde_json::{Value, json};

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wall_recovers_after_a_restart() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    // Nobody takes Sales' contacts: the waiting count is the script's to
    // watch.
    config.routing.offer_timeout_secs = 120;
    let (hours, shown) = closed_in_madrid()?;
    config
        .queues
        .iter_mut()
        .find(|q| q.id == "support")
        .ok_or_else(|| anyhow::anyhow!("the sample configuration has no support queue"))?
        .hours = Some(hours);
    config.validate()?;
    let mut app = TestApp::start_with(data, config).await?;
    let scenario = Scenario::new("wallrestart.mjs", &app)?.env("SUPPORT_HOURS", &shown);
    let result = scenario
        .run_with(async |ask: Value| -> anyhow::Result<Value> {
            match ask["action"].as_str() {
                Some("stop") => app.stop_for_now().await?,
                Some("start") => app.start_again().await?,
                _ => anyhow::bail!("unknown request {ask}"),
            }
            Ok(json!({}))
        })
        .await;
    app.stop().await;
    result
}

/// Hours open every day 09:00-18:00 in Madrid, today ("Christmas Day")
/// and tomorrow being holidays; and what the wall should say of them:
/// closed for the named holiday, opening the day after at 09:00.
fn closed_in_madrid() -> anyhow::Result<(HoursConfig, String)> {
    let today = jiff::Timestamp::from_millisecond(now_ms())?
        .in_tz("Europe/Madrid")?
        .date();
    let tomorrow = today.tomorrow()?;
    let opening = tomorrow.tomorrow()?.at(9, 0, 0, 0).in_tz("Europe/Madrid")?;
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let hours = HoursConfig {
        zone: "Europe/Madrid".into(),
        weekly: days
            .iter()
            .map(|d| ((*d).to_owned(), vec!["09:00-18:00".to_owned()]))
            .collect(),
        holidays: vec![
            HolidayConfig {
                date: today.to_string(),
                name: Some("Christmas Day".into()),
            },
            HolidayConfig {
                date: tomorrow.to_string(),
                name: None,
            },
        ],
        closed_overflow: None,
        closed_bot: None,
        closed_reply: BTreeMap::new(),
    };
    let shown = format!(
        "closed: Christmas Day, opens {} 09:00 Europe/Madrid",
        opening.strftime("%a")
    );
    Ok((hours, shown))
}
