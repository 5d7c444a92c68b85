//! The webhook channel's API against outsiders: only the app, signing with
//! an active key and a fresh timestamp, can write as a customer, and a
//! replayed request is one message.

use std::time::Duration;

use omni_core::time::now_ms;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;
use omni_webhook::client::{Answer, AppClient};
use omni_webhook::signature;

const KEY: &str = "the-apps-current-key";
const RETIRED: &str = "the-apps-retired-key";

async fn post(url: &str, body: &str, key: &str, timestamp: i64) -> anyhow::Result<Answer> {
    let headers = signature::headers(key.as_bytes(), timestamp, body.as_bytes());
    Ok(AppClient::new(Duration::from_secs(10))
        .post_json(url, &headers, body.as_bytes().to_vec())
        .await?)
}

/// The app with the webhook channel on (signing with [`KEY`]), and the URL
/// of its `route`.
async fn app_with_webhook(route: &str) -> anyhow::Result<(TestApp, String)> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.webhook.enabled = true;
    config.webhook.key = KEY.into();
    // Nothing listens there: replies are not under test.
    config.webhook.outbound_url = "http://127.0.0.1:9/replies".into();
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let url = format!(
        "{}{route}",
        app.webhook_url()
            .ok_or_else(|| anyhow::anyhow!("webhook enabled"))?
    );
    Ok((app, url))
}

fn code(answer: &Answer) -> String {
    serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap_or_default()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_app_signing_now_with_an_active_key_writes_and_a_replay_is_one_message()
-> anyhow::Result<()> {
    let (app, url) = app_with_webhook("/webhook/v1/messages").await?;
    let body = r#"{"message_id":"m-1","customer_id":"mallory","text":"let me in"}"#;
    let now = now_ms() / 1000;

    let retired = post(&url, body, RETIRED, now).await?;
    assert_eq!(
        (retired.status.as_u16(), code(&retired).as_str()),
        (401, "invalid_signature")
    );
    let old = post(&url, body, KEY, now - 3600).await?;
    assert_eq!(
        (old.status.as_u16(), code(&old).as_str()),
        (401, "stale_timestamp")
    );
    let unsigned = AppClient::new(Duration::from_secs(10))
        .post_json(&url, &[], body.as_bytes().to_vec())
        .await?;
    assert_eq!(
        (unsigned.status.as_u16(), code(&unsigned).as_str()),
        (401, "missing_signature")
    );

    let first = post(&url, body, KEY, now).await?;
    let replayed = post(&url, body, KEY, now).await?;
    assert_eq!(
        (first.status.as_u16(), replayed.status.as_u16()),
        (202, 202)
    );
    assert!(
        String::from_utf8_lossy(&replayed.body).contains(r#""duplicate":true"#),
        "a replay inside the window is stored once: {}",
        String::from_utf8_lossy(&replayed.body)
    );
    app.stop().await;
    Ok(())
}

/// Every route the app calls is signed: a status report signed with a
/// retired key, or not signed at all, is refused, so nobody but the app can
/// mark an agent's reply delivered or failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_delivery_status_is_refused() -> anyhow::Result<()> {
    let (_app, url) = app_with_webhook("/webhook/v1/status").await?;
    let body = r#"{"message_id":"msg-1","conversation_id":"conv-1","status":"delivered"}"#;
    let now = now_ms() / 1000;

    let retired = post(&url, body, RETIRED, now).await?;
    assert_eq!(
        (retired.status.as_u16(), code(&retired).as_str()),
        (401, "invalid_signature")
    );
    let unsigned = AppClient::new(Duration::from_secs(10))
        .post_json(&url, &[], body.as_bytes().to_vec())
        .await?;
    assert_eq!(
        (unsigned.status.as_u16(), code(&unsigned).as_str()),
        (401, "missing_signature")
    );
    Ok(())
}
