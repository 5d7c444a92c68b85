//! SMS surveys after service (docs/surveys.md), one test body run against
//! the embedded app and against every part in its own process (NATS,
//! Redis, the SMS adapter's own process): a texting customer answers the
//! survey with "5", is thanked by text, and the score lands on the agent
//! and queue that handled them; another answers "great thanks", gets one
//! polite retry, and what they text next is kept as a comment (no thanks,
//! no score), while a new question afterwards reopens the conversation for
//! the same agent.

use std::time::Duration;

use omni::Part;
use omni_core::config::{SurveyConfig, SurveyKind};
use omni_proto::context::ListSurveyAnswersRequest;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_testkit::actors::{Agent, Phone};
use omni_testkit::app::sample_config_path;
use omni_testkit::providers::{
    OUR_NUMBER, SMS_PUBLIC_URL, email_and_sms_config, email_and_sms_env, twilio_account,
};
use omni_testkit::twilio::FakeTwilio;
use omni_testkit::{Deployment, HttpClient, TestApp, grpc};
use omni_testservers::smtp::SmtpSink;

use crate::support::{binary, blocking};

const PROMPT: &str = "How did we do? Reply 1 to 5.";
const THANKS: &str = "Thanks a lot!";
const RETRY: &str = "Sorry, we did not get that. Please reply with a number from 1 to 5.";
const JO: &str = "+14155550123";
const SAM: &str = "+14155550124";

/// The sample configuration as a cluster reads it, with every hour a
/// sending hour, `sales_line` added to Sales (e.g. its survey) and, when
/// `sms_to_sales`, texts going to Sales.
pub(crate) fn sample_with(
    dir: &std::path::Path,
    sales_line: &str,
    sms_to_sales: bool,
) -> anyhow::Result<std::path::PathBuf> {
    let sample = std::fs::read_to_string(sample_config_path())?;
    let (context, sales) = ("[context]\n", "id = \"sales\"\nname = \"Sales\"\n");
    let queues = "default_queue = { chat = \"support\", email = \"support\", sms = \"support\" }";
    anyhow::ensure!(
        sample.contains(context) && sample.contains(sales) && sample.contains(queues),
        "the sample's sections moved"
    );
    let mut text = sample
        .replace(
            context,
            &format!("{context}sending_hours = \"00:00-24:00\"\n"),
        )
        .replace(sales, &format!("{sales}{sales_line}\n"));
    if sms_to_sales {
        text = text.replace(
            queues,
            &queues.replace("sms = \"support\"", "sms = \"sales\""),
        );
    }
    let path = dir.join("omniroute.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The bodies of the texts the fake Twilio took for `number`, once it took
/// `n` of them.
async fn texts_to(twilio: &FakeTwilio, number: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let bodies: Vec<String> = twilio
            .sent()
            .iter()
            .filter(|m| m.field("To") == Some(number))
            .map(|m| m.field("Body").unwrap_or_default().to_owned())
            .collect();
        if bodies.len() >= n {
            return Ok(bodies);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{n} texts to {number} expected, got {bodies:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Today's scored answers, as (conversation, agent, queue, channel, score,
/// comment), from the context service at `context_grpc`.
async fn answers(
    context_grpc: &str,
) -> anyhow::Result<Vec<(String, String, String, String, u32, String)>> {
    let mut context = ContextServiceClient::new(grpc::channel(context_grpc, grpc::SERVICE_TOKEN)?);
    let now = omni_core::time::now_ms();
    let page = context
        .list_survey_answers(ListSurveyAnswersRequest {
            from_ms: now - 86_400_000,
            to_ms: now + 86_400_000,
            page_token: String::new(),
            limit: 0,
        })
        .await?
        .into_inner();
    Ok(page
        .answers
        .into_iter()
        .map(|a| {
            let row = (a.conversation_id, a.agent_id, a.queue, a.channel);
            (row.0, row.1, row.2, row.3, a.score, a.comment)
        })
        .collect())
}

/// Waits until the metrics at `url` show every line of `want`.
async fn metrics_show(url: &str, want: &[&str]) -> anyhow::Result<()> {
    let client = HttpClient::new(url.to_owned());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = match client.get("/metrics").await {
            Ok(r) if r.status == 200 => r.body.as_str().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        let missing: Vec<&&str> = want.iter().filter(|w| !text.contains(**w)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "missing {missing:?} in:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A customer texts Sales; Alice (the agent of Sales with SMS capacity)
/// answers and resolves. Returns the phone and the conversation.
async fn texted_and_resolved(
    app: &impl Deployment,
    alice: &mut Agent,
    twilio: &FakeTwilio,
    number: &str,
) -> anyhow::Result<(Phone, String)> {
    let mut phone = Phone::new(
        &app.sms_url()?,
        SMS_PUBLIC_URL,
        &twilio_account(),
        number,
        OUR_NUMBER,
    );
    phone.text("I would like to buy a bike").await?;
    let conversation = alice.take_next_offer().await?;
    alice
        .reply(&conversation, "Here is the link", &format!("a-{number}"))
        .await?;
    alice.resolve(&conversation).await?;
    alice.events.recv_type("released").await?;
    // The survey goes by text, without buttons: the prompt alone.
    assert_eq!(
        texts_to(twilio, number, 2).await?,
        ["Here is the link", PROMPT],
        "the reply, then the survey"
    );
    Ok((phone, conversation))
}

/// The SMS survey body (see the module doc), against `app` whose context
/// service answers gRPC at `context_grpc` and shows its metrics at
/// `metrics`.
async fn sms_surveys(
    app: &impl Deployment,
    twilio: &FakeTwilio,
    context_grpc: &str,
    metrics: &str,
) -> anyhow::Result<()> {
    let mut alice = Agent::sign_in(app, "alice").await?;

    // "5": kept, thanked by text, counted for Alice and Sales.
    let (mut jo, jo_conversation) = texted_and_resolved(app, &mut alice, twilio, JO).await?;
    jo.text("5").await?;
    assert_eq!(
        texts_to(twilio, JO, 3).await?,
        ["Here is the link", PROMPT, THANKS]
    );
    let jo_answer = (
        jo_conversation.clone(),
        "alice".to_owned(),
        "sales".to_owned(),
        "sms".to_owned(),
        5,
        String::new(),
    );
    assert_eq!(
        answers(context_grpc).await?,
        std::slice::from_ref(&jo_answer)
    );
    metrics_show(
        metrics,
        &[
            "omni_survey_responses_total{queue=\"sales\",agent=\"alice\",kind=\"csat\"} 1",
            "omni_survey_score_sum{queue=\"sales\",agent=\"alice\",kind=\"csat\"} 5",
        ],
    )
    .await?;

    // "great thanks": one retry; the next text is a comment, not thanked.
    let (mut sam, sam_conversation) = texted_and_resolved(app, &mut alice, twilio, SAM).await?;
    sam.text("great thanks").await?;
    assert_eq!(
        texts_to(twilio, SAM, 3).await?,
        ["Here is the link", PROMPT, RETRY]
    );
    sam.text("very nice").await?;
    // A new question afterwards reopens the conversation, for Alice.
    sam.text("can I also get a helmet?").await?;
    let (_, offered) = alice.next_offer().await?;
    assert_eq!(offered, sam_conversation, "the new question reopened it");
    assert_eq!(
        texts_to(twilio, SAM, 3).await?,
        ["Here is the link", PROMPT, RETRY],
        "one retry, no thanks"
    );
    assert_eq!(
        answers(context_grpc).await?,
        [jo_answer],
        "no score for Sam's words"
    );
    // The one response is still Jo's.
    metrics_show(
        metrics,
        &["omni_survey_responses_total{queue=\"sales\",agent=\"alice\",kind=\"csat\"} 1"],
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_sms_surveys_answered_with_5_and_with_words() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let mut config = email_and_sms_config(data.path(), &relay, twilio.api_base())?;
    config.context.sending_hours = "00:00-24:00".into();
    config
        .context
        .default_queue
        .insert(omni_core::Channel::SMS, "sales".into());
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .ok_or_else(|| anyhow::anyhow!("the sample has Sales"))?;
    sales.survey = Some(SurveyConfig {
        kind: SurveyKind::Csat,
        comment: false,
        prompt: [("en".to_owned(), PROMPT.to_owned())].into(),
        thanks: [("en".to_owned(), THANKS.to_owned())].into(),
        min_days_between: 30,
    });
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    sms_surveys(&app, &twilio, &app.grpc_url(), &app.metrics_url()).await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_sms_surveys_answered_with_5_and_with_words() -> anyhow::Result<()> {
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let env = email_and_sms_env(&relay.url(), twilio.api_base());
    let dir = tempfile::tempdir()?;
    let survey = format!(
        "survey = {{ kind = \"csat\", prompt = {{ en = {PROMPT:?} }}, thanks = {{ en = {THANKS:?} }} }}"
    );
    let path = sample_with(dir.path(), &survey, true)?;
    let parts = [
        Part::Context,
        Part::Router,
        Part::Chat,
        Part::Desk,
        Part::Sms,
    ];
    let cluster = blocking(move || env.start(binary(), &path, &parts)).await?;
    let metrics = format!("http://127.0.0.1:{}", cluster.ports(Part::Context).metrics);
    let result = sms_surveys(
        &cluster,
        &twilio,
        &cluster.grpc_url(Part::Context),
        &metrics,
    )
    .await;
    if result.is_err() {
        eprintln!(
            "context log:\n{}\nsms log:\n{}",
            cluster.log_tail(Part::Context),
            cluster.log_tail(Part::Sms)
        );
    }
    drop(cluster);
    result
}
