//! Survey answers (scores and the customers' comments) are for supervisors
//! and admins: nobody signed in gets 401 from the CSV export, an agent 403,
//! and the context service refuses an agent's token `ListSurveyAnswers`
//! itself, so the desk is not the only gate.

use omni_proto::common::ErrorReason;
use omni_proto::context::ListSurveyAnswersRequest;
use omni_testkit::actors::{Agent, TEST_PASSWORD};
use omni_testkit::grpc::{AGENT_TOKEN, SUPERVISOR_TOKEN};
use omni_testkit::{HttpClient, TestApp};
use tonic::Code;

use crate::support::{context, refused};

const EXPORT: &str = "/api/surveys.csv?from=2026-01-01&to=2026-01-31";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_supervisors_and_admins_read_survey_answers() -> anyhow::Result<()> {
    let app = TestApp::start().await?;

    let r = HttpClient::new(app.desk_url()).get(EXPORT).await?;
    assert_eq!(r.status, 401, "{}", r.body);
    let alice = Agent::sign_in(&app, "alice").await?;
    let r = alice.api.get(EXPORT).await?;
    assert_eq!(r.status, 403, "{}", r.body);

    let (r, supervisor) = HttpClient::new(app.desk_url())
        .sign_in("supervisor", TEST_PASSWORD)
        .await?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
    let r = supervisor.get(EXPORT).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = supervisor
        .get("/api/surveys.csv?from=2026-01-01&to=2027-01-31")
        .await?;
    assert_eq!(r.status, 400, "a too-long period: {}", r.body);

    let request = || ListSurveyAnswersRequest {
        from_ms: 0,
        to_ms: i64::MAX,
        page_token: String::new(),
        limit: 10,
    };
    refused(
        context(&app, AGENT_TOKEN)?
            .list_survey_answers(request())
            .await,
        Code::PermissionDenied,
        ErrorReason::PermissionDenied,
        "an agent's token lists survey answers",
    );
    context(&app, SUPERVISOR_TOKEN)?
        .list_survey_answers(request())
        .await?;
    Ok(())
}
