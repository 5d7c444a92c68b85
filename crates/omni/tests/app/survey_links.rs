//! One-click survey links in email through the whole embedded app
//! (docs/surveys.md, "Email links"): a resolved email conversation's
//! survey reaches the SMTP relay with one signed link per score (kept out
//! of the stored timeline); opening a link records nothing (mail scanners
//! fetch links), the page's form records the score, which lands on the
//! agent and queue that handled the conversation (`ListSurveyAnswers`) and
//! is thanked by mail; a later click changes nothing; a tampered token, a
//! score off the scale and a form from another site are refused and
//! record nothing; `AnswerSurveyLink` refuses a person's token. The same
//! with every part its own process (NATS, Redis). Without a link key the
//! survey asks for a digit only and the route is off.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use omni::Part;
use omni_core::Channel;
use omni_core::config::{Config, SurveyConfig, SurveyKind};
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{AnswerSurveyLinkRequest, ListMessagesRequest, ListSurveyAnswersRequest};
use omni_testkit::actors::{Agent, MailClient};
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::providers::{DOMAIN, email_and_sms_env};
use omni_testkit::{Cluster, Endpoints, HttpClient, TestApp, grpc};
use omni_testservers::smtp::SmtpSink;

use crate::support::{binary, blocking};

const PROMPT: &str = "How did we do? Reply 1 to 5.";
const THANKS: &str = "Thanks a lot!";
const PUBLIC_URL: &str = "https://chat.example.com";
const LINK_KEY: &str = "a-test-survey-link-key-of-32-bytes";

fn config(data: &std::path::Path, relay: &SmtpSink, links: bool) -> anyhow::Result<Config> {
    let mut config = test_config(data)?;
    config.context.sending_hours = "00:00-24:00".into();
    config.context.reply_domain = DOMAIN.into();
    config
        .context
        .default_queue
        .insert(Channel::EMAIL, "sales".into());
    config.email.enabled = true;
    config.email.domains = vec![DOMAIN.into()];
    config.email.relay = relay.url();
    config.email.from = format!("support@{DOMAIN}");
    let sales = config
        .queues
        .iter_mut()
        .find(|q| q.id == "sales")
        .ok_or_else(|| anyhow::anyhow!("the sample has Sales"))?;
    sales.steps.clear();
    sales.survey = Some(SurveyConfig {
        kind: SurveyKind::Csat,
        comment: false,
        prompt: [("en".to_owned(), PROMPT.to_owned())].into(),
        thanks: [("en".to_owned(), THANKS.to_owned())].into(),
        min_days_between: 30,
    });
    if links {
        config.surveys.public_url = PUBLIC_URL.into();
        config.surveys.link_key = LINK_KEY.into();
    }
    config.validate()?;
    Ok(config)
}

/// Where a test reaches an app, embedded or a cluster.
struct Reach {
    chat: String,
    context_grpc: String,
    smtp: std::net::SocketAddr,
}

impl Reach {
    fn embedded(app: &TestApp) -> anyhow::Result<Self> {
        Ok(Self {
            chat: app.chat_url(),
            context_grpc: app.grpc_url(),
            smtp: app
                .smtp_addr()
                .ok_or_else(|| anyhow::anyhow!("email is on"))?,
        })
    }

    fn cluster(cluster: &Cluster) -> Self {
        Self {
            chat: format!("http://127.0.0.1:{}", cluster.ports(Part::Chat).chat),
            context_grpc: cluster.grpc_url(Part::Context),
            smtp: cluster.smtp_addr(),
        }
    }
}

/// Jo mails Sales, Bob answers and resolves; returns Bob and the
/// conversation.
async fn served_and_resolved(
    app: &impl Endpoints,
    reach: &Reach,
) -> anyhow::Result<(Agent, String)> {
    let mut bob = Agent::sign_in(app, "bob").await?;
    MailClient::new(reach.smtp, "Jo <jo@example.org>")
        .send(
            &format!("help@{DOMAIN}"),
            "<jo-1@example.org>",
            "A bike",
            "I would like to buy a bike",
        )
        .await?;
    let conversation = bob.take_next_offer().await?;
    bob.reply(&conversation, "Here is the link", "b1").await?;
    bob.resolve(&conversation).await?;
    Ok((bob, conversation))
}

/// The decoded text of every mail the relay took, once it took `n`.
async fn mails(relay: &Arc<SmtpSink>, n: usize) -> anyhow::Result<Vec<String>> {
    let relay = relay.clone();
    let sunk = blocking(move || Ok(relay.wait_for(n, Duration::from_secs(30))?)).await?;
    sunk.iter()
        .map(|m| Ok(omni_email::mime::parse(&m.raw)?.text))
        .collect()
}

/// The scored answers of today, as (conversation, agent, queue, channel, score).
async fn answers(reach: &Reach) -> anyhow::Result<Vec<(String, String, String, String, u32)>> {
    let mut context =
        ContextServiceClient::new(grpc::channel(&reach.context_grpc, grpc::SERVICE_TOKEN)?);
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
        .map(|a| (a.conversation_id, a.agent_id, a.queue, a.channel, a.score))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_email_survey_link_records_the_score_for_the_agent_once() -> anyhow::Result<()>
{
    let relay = Arc::new(blocking(|| Ok(SmtpSink::start()?)).await?);
    let data = tempfile::tempdir()?;
    let config = config(data.path(), &relay, true)?;
    let app = TestApp::start_with(data, config).await?;
    let reach = Reach::embedded(&app)?;
    let token = answered_by_link(&app, &reach, &relay).await?;
    // The RPC is for Omniroute's own parts: no person's token, any role.
    for token_of in [grpc::AGENT_TOKEN, grpc::SUPERVISOR_TOKEN, grpc::ADMIN_TOKEN] {
        let mut context = ContextServiceClient::new(grpc::channel(&reach.context_grpc, token_of)?);
        let refused = context
            .answer_survey_link(AnswerSurveyLinkRequest {
                token: token.clone(),
                score: 1,
                comment: String::new(),
                record: true,
            })
            .await
            .expect_err("a person's token is refused");
        assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused}");
    }
    assert_eq!(answers(&reach).await?.len(), 1);
    app.stop().await;
    Ok(())
}

/// Distributed: the email, chat, context and router parts each in their
/// own process, over NATS and Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_an_email_survey_link_records_the_score_for_the_agent_once()
-> anyhow::Result<()> {
    let relay = Arc::new(blocking(|| Ok(SmtpSink::start()?)).await?);
    let sample = std::fs::read_to_string(sample_config_path())?;
    let (context, queue, sales) = (
        "[context]\n",
        "email = \"support\"",
        "id = \"sales\"\nname = \"Sales\"\n",
    );
    anyhow::ensure!(
        sample.contains(context) && sample.contains(queue) && sample.contains(sales),
        "the sample's sections moved"
    );
    let text = sample
        .replace(context, &format!("{context}sending_hours = \"00:00-24:00\"\n"))
        .replace(queue, "email = \"sales\"")
        .replace(
            sales,
            &format!("{sales}survey = {{ kind = \"csat\", prompt = {{ en = {PROMPT:?} }}, thanks = {{ en = {THANKS:?} }} }}\n"),
        );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("omniroute.toml");
    std::fs::write(&path, text)?;
    let mut env = email_and_sms_env(&relay.url(), "http://127.0.0.1:9");
    env.shared.extend(
        [
            ("OMNI_SURVEYS_PUBLIC_URL", PUBLIC_URL),
            ("OMNI_SURVEYS_LINK_KEY", LINK_KEY),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let cluster = blocking(move || {
        env.start(
            binary(),
            &path,
            &[
                Part::Context,
                Part::Router,
                Part::Chat,
                Part::Desk,
                Part::Email,
            ],
        )
    })
    .await?;
    let reach = Reach::cluster(&cluster);
    answered_by_link(&cluster, &reach, &relay).await?;
    drop(cluster);
    Ok(())
}

/// The survey mail's links, the page, the refusals and the score that
/// counts; returns the link's token. (Read with the service token: a
/// cluster has no person's token.)
async fn answered_by_link(
    app: &impl Endpoints,
    reach: &Reach,
    relay: &Arc<SmtpSink>,
) -> anyhow::Result<String> {
    let (_bob, conversation) = served_and_resolved(app, reach).await?;

    // Bob's reply, then the survey: the prompt and one link per score.
    let texts = mails(relay, 2).await?;
    let survey = texts
        .iter()
        .find(|t| t.contains(PROMPT))
        .ok_or_else(|| anyhow::anyhow!("no survey mail in {texts:#?}"))?;
    let links: Vec<&str> = survey
        .split_whitespace()
        .filter(|w| w.starts_with(PUBLIC_URL))
        .collect();
    assert_eq!(links.len(), 5, "one link per score: {survey}");
    let token = links[0]
        .trim_start_matches(&format!("{PUBLIC_URL}/survey/"))
        .trim_end_matches("/1")
        .to_owned();
    for (score, link) in (1..=5).zip(&links) {
        assert_eq!(*link, format!("{PUBLIC_URL}/survey/{token}/{score}"));
    }
    // The token names the survey by its conversation's opaque id and an
    // expiry, signed; nothing of the customer's (name, address) is in it.
    let (payload, tag) = token.split_once('.').expect("payload.tag");
    assert!(!tag.is_empty(), "signed: {token}");
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload)?)?;
    let fields: Vec<&str> = payload.split('|').collect();
    assert!(
        matches!(fields.as_slice(), ["v1", expiry, id] if expiry.parse::<i64>().is_ok() && *id == conversation),
        "v1|expiry|conversation: {payload}"
    );
    assert!(!token.contains(&conversation), "not in clear: {token}");

    // The stored timeline has the prompt, not the customer's links.
    let mut context =
        ContextServiceClient::new(grpc::channel(&reach.context_grpc, grpc::SERVICE_TOKEN)?);
    let stored = context
        .list_messages(ListMessagesRequest {
            conversation_id: conversation.clone(),
            after_seq: 0,
            limit: 100,
            include_notes: false,
        })
        .await?
        .into_inner()
        .messages;
    assert!(stored.iter().any(|m| m.text == PROMPT), "{stored:?}");
    assert!(
        !stored.iter().any(|m| m.text.contains(&token)),
        "{stored:?}"
    );

    let chat = HttpClient::new(reach.chat.clone());
    let page =
        |r: &omni_testkit::http::JsonResponse| r.body.as_str().unwrap_or_default().to_owned();
    // Refused, and nothing recorded: a tampered token, scores off the scale.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap_or('A');
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for (path, status, says) in [
        (format!("/survey/{tampered}/4"), 400, "not valid"),
        (format!("/survey/{token}/9"), 400, "scale"),
        (format!("/survey/{token}/0"), 400, "scale"),
        (format!("/survey/{token}/four"), 400, "scale"),
        ("/survey/%3Cscript%3E/4".to_owned(), 400, "not valid"),
    ] {
        let r = chat.get(&path).await?;
        assert_eq!(r.status.as_u16(), status, "GET {path}: {}", page(&r));
        assert!(page(&r).contains(says), "GET {path}: {}", page(&r));
        let r = chat.post_form(&path, &[], &[]).await?;
        assert_eq!(r.status.as_u16(), status, "POST {path}: {}", page(&r));
    }
    // Opening the link shows the choice and records nothing.
    let r = chat.get(&format!("/survey/{token}/4")).await?;
    assert_eq!(r.status.as_u16(), 200, "{}", page(&r));
    assert!(page(&r).contains("You chose 4 out of 5."), "{}", page(&r));
    assert!(
        page(&r).contains(&format!(
            "<form method=\"post\" action=\"/survey/{token}/4\">"
        )),
        "{}",
        page(&r)
    );
    // A form from another site is refused.
    let r = chat
        .post_form(
            &format!("/survey/{token}/4"),
            &[],
            &[("sec-fetch-site", "cross-site".to_owned())],
        )
        .await?;
    assert_eq!(r.status.as_u16(), 403, "{}", page(&r));
    let r = chat
        .post_form(
            &format!("/survey/{token}/4"),
            &[],
            &[("origin", "https://evil.example".to_owned())],
        )
        .await?;
    assert_eq!(r.status.as_u16(), 403, "{}", page(&r));
    assert_eq!(answers(reach).await?, [], "nothing recorded yet");

    // The page's own form records the score.
    let origin = reach.chat.clone();
    let r = chat
        .post_form(
            &format!("/survey/{token}/4"),
            &[("comment".to_owned(), String::new())],
            &[
                ("origin", origin.clone()),
                ("sec-fetch-site", "same-origin".to_owned()),
            ],
        )
        .await?;
    assert_eq!(r.status.as_u16(), 200, "{}", page(&r));
    assert!(page(&r).contains("Thanks, you rated 4."), "{}", page(&r));
    // A later click changes nothing: the first answer counts.
    let r = chat
        .post_form(
            &format!("/survey/{token}/2"),
            &[],
            &[
                ("origin", origin),
                ("sec-fetch-site", "same-origin".to_owned()),
            ],
        )
        .await?;
    assert_eq!(r.status.as_u16(), 200, "{}", page(&r));
    assert!(page(&r).contains("already answered"), "{}", page(&r));
    assert_eq!(
        answers(reach).await?,
        [(
            conversation.clone(),
            "bob".to_owned(),
            "sales".to_owned(),
            "email".to_owned(),
            4
        )]
    );
    // Thanked by mail, as a digit answer is.
    let texts = mails(relay, 3).await?;
    assert!(texts.iter().any(|t| t.contains(THANKS)), "{texts:#?}");

    assert_eq!(answers(reach).await?.len(), 1);
    Ok(token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_without_a_link_key_an_email_survey_asks_for_a_digit_only() -> anyhow::Result<()> {
    let relay = Arc::new(blocking(|| Ok(SmtpSink::start()?)).await?);
    let data = tempfile::tempdir()?;
    let config = config(data.path(), &relay, false)?;
    let app = TestApp::start_with(data, config).await?;
    served_and_resolved(&app, &Reach::embedded(&app)?).await?;
    let texts = mails(&relay, 2).await?;
    let survey = texts
        .iter()
        .find(|t| t.contains(PROMPT))
        .ok_or_else(|| anyhow::anyhow!("no survey mail in {texts:#?}"))?;
    assert!(!survey.contains("/survey/"), "{survey}");
    let r = HttpClient::new(app.chat_url())
        .get("/survey/abc.def/4")
        .await?;
    assert_eq!(r.status.as_u16(), 404);
    app.stop().await;
    Ok(())
}
