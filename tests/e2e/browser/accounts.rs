//! Accounts in the desk page (`tests/browser/accounts.mjs`): sign-in with a
//! password, a wrong password, sign-out, what an agent, a supervisor and
//! an admin see (the accounts, and a reply the app's webhook never took
//! as a dead letter), and an expired session.

use omni_bus::Message;
use omni_proto::adapter::DeadLetter;
use omni_proto::context::ListDeadLettersRequest;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_testkit::app::test_config;
use omni_testkit::{TestApp, grpc};
use prost::Message as _;

use super::Scenario;

#[tokio::test]
async fn accounts_and_roles_in_chromium() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    // What the webhook adapter publishes after its last attempt.
    let letter = DeadLetter {
        message_id: "msg_browser_dead".into(),
        conversation_id: "con_browser_dead".into(),
        channel: "app".into(),
        destination: "https://app.example/replies".into(),
        attempts: 30,
        reason: "app answered 503: down for maintenance".into(),
        at_ms: omni_core::time::now_ms(),
        text: "Your parcel left the depot".into(),
    };
    app.bus()
        .publish(
            Message::new("omni.deadletter.app", letter.encode_to_vec()),
            None,
        )
        .await?;
    // Kept by the context service before the admin's page asks.
    let mut context = ContextServiceClient::new(grpc::admin_channel(&app.grpc_url())?);
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let kept = context
                .list_dead_letters(ListDeadLettersRequest::default())
                .await?
                .into_inner();
            if !kept.dead_letters.is_empty() {
                return Ok::<_, tonic::Status>(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await??;
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
