//! A channel declared only in the configuration, in the desk
//! (`tests/browser/declared.mjs`): a message on `app` reaches the agent
//! with room there, the timeline and the offer mark it `app`; after the
//! customer writes on chat the reply picker offers `app` (from the
//! server's list), and the reply goes out on it.
//!
//! The test plays the adapters when the script asks: `inject` publishes an
//! inbound message on `omni.inbound.<channel>` (`app` unless named).

use anyhow::Context as _;
use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_core::{Channel, Identity};
use omni_proto::events as ev;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;
use prost::Message as _;
use serde_json::{Value, json};

use super::Scenario;

/// `app`: its customers are known by a chat visitor id (so the desk can
/// also answer them on web chat).
const DECLARED: &str = r#"
    [channels.app]
    identity = "chat_visitor"
    [[queues]]
    id = "unused"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_channel_in_chromium() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.routing.offer_timeout_secs = 120;
    config.channels = Config::parse(DECLARED)
        .map_err(anyhow::Error::msg)?
        .channels;
    let app_channel = Channel::parse("app")?;
    config
        .context
        .default_queue
        .insert(app_channel, "sales".into());
    for agent in &mut config.agents {
        agent.capacity.clear();
        if agent.id == "bob" {
            agent.capacity.insert(app_channel, 1);
        }
    }
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let result = drive(&app).await;
    app.stop().await;
    result
}

async fn drive(app: &TestApp) -> anyhow::Result<()> {
    let mut sent = 0;
    Scenario::new("declared.mjs", app)?
        .run_with(async |ask: Value| -> anyhow::Result<Value> {
            anyhow::ensure!(ask["action"] == "inject", "unknown request {ask}");
            sent += 1;
            let key = format!("app:msg-{sent}");
            let channel = Channel::known(ask["channel"].as_str().unwrap_or("app"))?;
            let (channel_enum, channel_name) = omni_proto::convert::channel_to_pb(channel);
            let message = ev::InboundMessage {
                idempotency_key: key.clone(),
                channel: channel_enum,
                channel_name,
                from: Some((&Identity::ChatVisitor("v-app-customer-0001".into())).into()),
                text: ask["text"].as_str().context("text")?.to_owned(),
                received_at_ms: now_ms(),
                ..Default::default()
            };
            app.bus()
                .publish(
                    omni_bus::Message::new(
                        format!("omni.inbound.{channel}"),
                        message.encode_to_vec(),
                    ),
                    Some(&key),
                )
                .await?;
            Ok(json!({}))
        })
        .await
}
