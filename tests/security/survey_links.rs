//! One-click survey links (docs/surveys.md, "Email links"): the chat's
//! `/survey/{token}/{score}` answers only a token signed under the
//! configured key, not expired, for a conversation that has a survey; a
//! forged, re-signed, expired or unknown one gets a 4xx page and records
//! nothing. The context service's `AnswerSurveyLink`, which records, takes
//! only a service token acting as itself: an agent's, a supervisor's and
//! an admin's token are refused, and so is the desk's service token
//! speaking for a person.

use omni_context::survey_links::LinkKey;
use omni_core::ConversationId;
use omni_core::time::now_ms;
use omni_proto::common::ErrorReason;
use omni_proto::context::AnswerSurveyLinkRequest;
use omni_testkit::app::test_config;
use omni_testkit::grpc::{ADMIN_TOKEN, AGENT_TOKEN, SERVICE_TOKEN, SUPERVISOR_TOKEN};
use omni_testkit::{HttpClient, TestApp};
use tonic::Code;

use crate::support::{context, for_user, refused};

const KEY: &str = "the-security-suite-link-key-32-bytes";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_links_need_a_valid_token_and_the_rpc_a_service_token() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.surveys.public_url = "https://chat.example.com".into();
    config.surveys.link_key = KEY.into();
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let chat = HttpClient::new(app.chat_url());

    let unknown = ConversationId::from("conv_0000000000000000000000000000".to_owned());
    let later = now_ms() + 3_600_000;
    let forged = LinkKey::new(b"not-the-configured-key-but-32-bytes").sign(&unknown, later);
    let expired = LinkKey::new(KEY.as_bytes()).sign(&unknown, now_ms() - 1);
    let no_survey = LinkKey::new(KEY.as_bytes()).sign(&unknown, later);
    for (token, status) in [
        ("nothing".to_owned(), 400),
        ("a.b".to_owned(), 400),
        (forged.clone(), 400),
        (expired, 410),
        (no_survey.clone(), 404),
    ] {
        let path = format!("/survey/{token}/5");
        let r = chat.get(&path).await?;
        assert_eq!(r.status.as_u16(), status, "GET {path}: {}", r.body);
        let r = chat.post_form(&path, &[], &[]).await?;
        assert_eq!(r.status.as_u16(), status, "POST {path}: {}", r.body);
    }

    let request = |token: &str| AnswerSurveyLinkRequest {
        token: token.to_owned(),
        score: 5,
        comment: String::new(),
        record: true,
    };
    for (token, who) in [
        (AGENT_TOKEN, "an agent's token"),
        (SUPERVISOR_TOKEN, "a supervisor's token"),
        (ADMIN_TOKEN, "an admin's token"),
    ] {
        refused(
            context(&app, token)?
                .answer_survey_link(request(&no_survey))
                .await,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            &format!("{who} answers a survey link"),
        );
    }
    refused(
        context(&app, SERVICE_TOKEN)?
            .answer_survey_link(for_user(request(&no_survey), "bob", "admin"))
            .await,
        Code::PermissionDenied,
        ErrorReason::PermissionDenied,
        "the desk's service token speaking for an admin answers a survey link",
    );
    refused(
        context(&app, SERVICE_TOKEN)?
            .answer_survey_link(request(&forged))
            .await,
        Code::InvalidArgument,
        ErrorReason::InvalidArgument,
        "a forged token is taken by the service",
    );
    app.stop().await;
    Ok(())
}
