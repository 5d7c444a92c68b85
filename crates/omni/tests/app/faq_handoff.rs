//! The built-in FAQ bot in front of a queue, through the whole app: a chat
//! customer is greeted with options, picks one and gets its answer, asks
//! for a person, is asked for the order number the queue declares, and is
//! handed off; the agent is offered the conversation at its original age
//! and sees the bot's turns, the summary and the collected attributes.
//! Embedded (the FAQ bot in process) and distributed (`omni bot faq` as
//! its own process beside the six parts).

use std::process::{Child, Stdio};

use omni_core::config::{BotFieldConfig, Config};
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::app::{TestApp, sample_config_path, test_config};
use omni_testkit::{Cluster, Endpoints};
use serde_json::Value;

use crate::support::{binary, blocking, config_file, omni};

/// The order number the Sales queue asks the bot to collect.
fn order_field() -> BotFieldConfig {
    BotFieldConfig {
        name: "order_number".into(),
        prompts: [("en".to_owned(), "What is your order number?".to_owned())].into(),
        pattern: Some("^[0-9]{6}$".into()),
    }
}

/// `config` with the FAQ bot (the sample FAQ file) in front of Sales.
fn with_faq_bot(mut config: Config) -> anyhow::Result<Config> {
    let bot = Config::parse(&format!(
        "[bots.faq]\nfaq_file = {:?}\ndeadline_secs = 60\n",
        config_file("faq.toml").display().to_string()
    ))
    .map_err(anyhow::Error::msg)?;
    config.bots.extend(bot.bots);
    for queue in &mut config.queues {
        if queue.id == "sales" {
            queue.bot = Some("faq".into());
            queue.bot_fields = vec![order_field()];
        }
    }
    config.validate()?;
    Ok(config)
}

/// The next message for the customer.
async fn answer(customer: &mut Customer) -> anyhow::Result<Value> {
    let frame = customer
        .socket
        .recv_until("the bot's answer", |f| {
            f["type"] == "message" && f["message"]["direction"] == "outbound"
        })
        .await?;
    Ok(frame["message"].clone())
}

async fn the_faq_bot_answers_collects_and_hands_off(app: &impl Endpoints) -> anyhow::Result<()> {
    let mut bob = Agent::sign_in(app, "bob").await?;
    let (mut jo, _) = Customer::open(app, None, "sales").await?;

    jo.say("Hi").await?;
    let greeting = answer(&mut jo).await?;
    assert_eq!(greeting["bot"], "faq", "{greeting}");
    let options: Vec<&str> = greeting["options"]
        .as_array()
        .map(|o| o.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        options.contains(&"Track my order") && options.contains(&"Talk to a person"),
        "the greeting offers the file's options and a person: {greeting}"
    );

    jo.say("Track my order").await?;
    let tracked = answer(&mut jo).await?;
    assert!(
        tracked["text"]
            .as_str()
            .is_some_and(|t| t.contains("acme.example/orders")),
        "the entry's answer: {tracked}"
    );

    jo.say("Talk to a person").await?;
    let asked = answer(&mut jo).await?;
    assert_eq!(asked["text"], "What is your order number?", "{asked}");
    jo.say("It is 4821").await?;
    let again = answer(&mut jo).await?;
    assert!(
        again["text"].as_str().is_some_and(
            |t| t.ends_with("What is your order number?") && t != "What is your order number?"
        ),
        "an answer that does not fit is asked again, saying so: {again}"
    );
    jo.say("482133").await?;
    answer(&mut jo).await?;

    let conversation = bob.take_next_offer().await?;
    let r = bob
        .api
        .get(&format!("/api/conversations/{conversation}"))
        .await?;
    anyhow::ensure!(r.status == 200, "{} {}", r.status, r.body);
    let view = r.body;
    let handoff = &view["conversation"]["handoff"];
    assert_eq!(
        (handoff["bot"].as_str(), handoff["reason"].as_str()),
        (Some("faq"), Some("asked_for_person")),
        "{view}"
    );
    assert!(
        handoff["summary"]
            .as_str()
            .is_some_and(|s| s.contains("Track my order")),
        "the summary tells the agent what the customer asked: {view}"
    );
    assert_eq!(
        view["conversation"]["attributes"]["order_number"], "482133",
        "{view}"
    );
    let by_bot = view["messages"]
        .as_array()
        .map(|m| m.iter().filter(|m| m["bot"] == "faq").count())
        .unwrap_or_default();
    assert!(by_bot >= 4, "the bot's turns are in the timeline: {view}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_the_faq_bot_answers_collects_the_order_number_and_hands_off() -> anyhow::Result<()>
{
    let data = tempfile::tempdir()?;
    let config = with_faq_bot(test_config(data.path())?)?;
    let app = TestApp::start_with(data, config).await?;
    the_faq_bot_answers_collects_and_hands_off(&app).await?;
    app.stop().await;
    Ok(())
}

/// `omni bot faq` beside the cluster, stopped when dropped.
struct FaqProcess(Child);

impl Drop for FaqProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_the_faq_bot_answers_collects_the_order_number_and_hands_off()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sample = std::fs::read_to_string(sample_config_path())?;
    let text = sample.replacen(
        "id = \"sales\"\n",
        "id = \"sales\"\nbot = \"faq\"\nbot_fields = [{ name = \"order_number\", prompts = { en = \"What is your order number?\" }, pattern = \"^[0-9]{6}$\" }]\n",
        1,
    ) + &format!(
        "\n[bots.faq]\nfaq_file = {:?}\ndeadline_secs = 60\n",
        config_file("faq.toml").display().to_string()
    );
    let path = dir.path().join("omniroute.toml");
    std::fs::write(&path, text)?;
    let config_path = path.clone();
    let cluster = blocking(move || Cluster::start_with(binary(), &config_path, &[])).await?;
    let _bot = FaqProcess(
        omni()
            .arg("--config")
            .arg(&path)
            .args(["bot", "faq", "--bot", "faq"])
            .env("OMNI_NATS_URL", cluster.nats.url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    the_faq_bot_answers_collects_and_hands_off(&cluster).await?;
    drop(cluster);
    Ok(())
}
