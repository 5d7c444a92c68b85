//! A bot's message with quick-reply options on the chat page
//! (`tests/browser/botoptions.mjs`): the test plays the context service
//! and publishes the bot's outbound message on the bus, so the page is
//! tested apart from how a bot's turn is run.

use anyhow::Context as _;
use omni_bus::Message;
use omni_bus::topology::subjects;
use omni_core::Channel;
use omni_proto::common as pb;
use omni_proto::events::OutboundMessage;
use omni_testkit::TestApp;
use prost::Message as _;
use serde_json::{Value, json};

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_shows_a_bots_options() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let bus = app.bus();
    let mut sent = 0;
    let result = Scenario::new("botoptions.mjs", &app)?
        .run_with(async |ask: Value| -> anyhow::Result<Value> {
            anyhow::ensure!(ask["action"] == "bot_message", "unexpected ask {ask}");
            let visitor = ask["visitor"].as_str().context("visitor")?;
            let (text, options) = match ask["lang"].as_str() {
                Some("es") => ("¿En qué te ayudo?", ["Horario", "Hablar con una persona"]),
                _ => (
                    "What can I help with?",
                    ["Opening hours", "Talk to a person"],
                ),
            };
            sent += 1;
            let id = format!("m_bot_{sent}");
            let outbound = OutboundMessage {
                message: Some(pb::Message {
                    id: id.clone(),
                    conversation_id: format!("k_bot_{sent}"),
                    direction: pb::Direction::Outbound as i32,
                    channel: pb::Channel::Chat as i32,
                    text: text.into(),
                    bot: "faq".into(),
                    options: options.iter().map(|o| (*o).to_owned()).collect(),
                    ..pb::Message::default()
                }),
                to: Some(pb::Identity {
                    kind: Some(pb::identity::Kind::ChatVisitor(visitor.to_owned())),
                }),
                ..OutboundMessage::default()
            };
            bus.publish(
                Message::new(subjects::outbound(Channel::CHAT), outbound.encode_to_vec()),
                Some(&id),
            )
            .await?;
            Ok(json!({}))
        })
        .await;
    app.stop().await;
    result
}
