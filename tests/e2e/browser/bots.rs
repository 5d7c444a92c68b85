//! What the pages show around a bot (`tests/browser/bots.mjs`): the chat
//! page's bot status, the bot's message with quick-reply buttons, and the
//! desk's handoff summary, collected attributes and the bot's turns marked
//! as the bot's. The bot is scripted on the bus (`omni_testkit::bot`).

use omni_proto::bot as bp;
use omni_testkit::TestApp;
use omni_testkit::app::test_config;
use omni_testkit::bot::{TestBot, keep_going, reply};

use super::Scenario;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_answers_and_the_desk_shows_its_handoff() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.routing.offer_timeout_secs = 60;
    config.bots.insert(
        "faq".into(),
        serde_json::from_value(serde_json::json!({ "deadline_secs": 60 }))?,
    );
    for queue in &mut config.queues {
        if queue.id == "sales" {
            queue.bot = Some("faq".into());
        }
    }
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let script = Box::new(|turn: &bp::BotTurn| {
        if turn.option == "Refunds" {
            let mut r = reply(
                turn,
                "A person will help you with the refund.",
                &[],
                bp::bot_reply::Action::Handoff(bp::Handoff {
                    queue: String::new(),
                    summary: "wants a refund for order 12345".into(),
                    intent: "refund".into(),
                    reason: "no_answer".into(),
                }),
            );
            r.attributes.insert("order_number".into(), "12345".into());
            Some(r)
        } else {
            Some(reply(
                turn,
                "Hello! What can I do for you?",
                &["Opening hours", "Refunds"],
                keep_going(),
            ))
        }
    });
    let bot = TestBot::start(app.bus(), "faq", script).await?;
    let result = Scenario::new("bots.mjs", &app)?.run().await;
    drop(bot);
    app.stop().await;
    result
}
