//! A channel declared only in the configuration (`app`, no adapter of its
//! own): a message published on `omni.inbound.app`, as an out-of-process
//! adapter would, reaches the one agent with capacity on it; the desk lists
//! the channel at sign-in, shows the conversation on it and sends the
//! agent's reply out on it; metrics label it by name.

use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_core::{Channel, Identity};
use omni_proto::events as ev;
use omni_testkit::HttpClient;
use omni_testkit::TestApp;
use omni_testkit::actors::{Agent, TEST_PASSWORD};
use omni_testkit::app::test_config;
use prost::Message as _;

const DECLARED: &str = r#"
    [channels.app]
    identity = "app"
    max_text_bytes = 2000
    can_start = true

    [identities.app]
    normalize = "opaque"

    [[queues]]
    id = "unused"
"#;

#[tokio::test]
async fn a_message_on_a_declared_channel_reaches_an_agent_with_capacity_there() -> anyhow::Result<()>
{
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    let declared = Config::parse(DECLARED).map_err(anyhow::Error::msg)?;
    config.channels = declared.channels;
    config.identities = declared.identities;
    let app_channel = Channel::parse("app")?;
    config
        .context
        .default_queue
        .insert(app_channel, "sales".into());
    // Only bob has room on `app`, and only there.
    for agent in &mut config.agents {
        agent.capacity.clear();
        if agent.id == "bob" {
            agent.capacity.insert(app_channel, 1);
        }
    }
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;

    // The desk lists the declared channel, with its limit, at sign-in.
    let (signed_in, _) = HttpClient::new(app.desk_url())
        .sign_in("bob", TEST_PASSWORD)
        .await?;
    let listed = signed_in.body["channels"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["channel"] == "app").cloned());
    let listed = listed.ok_or_else(|| anyhow::anyhow!("app not listed: {}", signed_in.body))?;
    assert_eq!(listed["max_bytes"], 2000, "{listed}");
    assert_eq!(
        listed["identity_kinds"],
        serde_json::json!(["app"]),
        "{listed}"
    );

    let mut bob = Agent::sign_in(&app, "bob").await?;
    let message = ev::InboundMessage {
        idempotency_key: "app:msg-1".into(),
        // A channel that is not built in: the enum is unspecified.
        channel: 0,
        channel_name: "app".into(),
        from: Some(
            (&Identity::Declared {
                kind: "app".into(),
                value: "user-42".into(),
            })
                .into(),
        ),
        text: "hello from the app".into(),
        received_at_ms: now_ms(),
        ..Default::default()
    };
    app.bus()
        .publish(
            omni_bus::Message::new("omni.inbound.app", message.encode_to_vec()),
            Some("app:msg-1"),
        )
        .await?;

    let conversation = bob.take_next_offer().await?;

    // Metrics label the declared channel by its name.
    let metrics = HttpClient::new(app.metrics_url()).get("/metrics").await?;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    for line in [
        "omni_inbound_messages_total{channel=\"app\",result=\"stored\"} 1",
        "omni_agent_capacity{channel=\"app\"} 1",
        "omni_agent_load{channel=\"app\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    let timeline = bob.timeline(&conversation).await?;
    assert_eq!(
        timeline,
        [(
            "app".to_owned(),
            "inbound".to_owned(),
            "hello from the app".to_owned()
        )]
    );
    bob.reply(&conversation, "hi, app user", "reply-1").await?;
    let timeline = bob.timeline_of(&conversation, 2).await?;
    assert_eq!(timeline[1].0, "app", "{timeline:?}");
    assert_eq!(timeline[1].2, "hi, app user", "{timeline:?}");
    app.stop().await;
    Ok(())
}
