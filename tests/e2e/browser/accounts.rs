//! Accounts in the desk page (`tests/browser/accounts.mjs`): sign-in with a
//! password, a wrong password, sign-out, what an agent, a supervisor and
//! an admin see, and an expired session.

use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

#[tokio::test]
async fn accounts_and_roles_in_chromium() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let result = async { Scenario::new("accounts.mjs", &app)?.run().await }.await;
    app.stop().await;
    result
}

#[tokio::test]
async fn an_expired_session_returns_to_sign_in_in_chromium() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.auth.session_max_secs = 3;
    let app = TestApp::start_with(data, config).await?;
    let result = async {
        Scenario::new("accounts.mjs", &app)?
            .env("SESSION_EXPIRES", "3")
            .run()
            .await
    }
    .await;
    app.stop().await;
    result
}
