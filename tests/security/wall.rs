//! The supervisor's wall is for supervisors and admins: nobody signed in is
//! sent to sign in (the page) or gets 401 (its API), an agent gets 403 on
//! the page and every wall route, and the router refuses an agent's token
//! the day in intervals (`QueueDay`) itself, so the desk is not the only
//! gate.

use omni_proto::common::ErrorReason;
use omni_proto::routing::QueueDayRequest;
use omni_testkit::HttpClient;
use omni_testkit::TestApp;
use omni_testkit::actors::{Agent, TEST_PASSWORD};
use omni_testkit::grpc::{AGENT_TOKEN, SUPERVISOR_TOKEN};
use tonic::Code;

use crate::support::{refused, router};

const WALL_API: &[&str] = &[
    "/api/wall",
    "/api/wall/day",
    "/api/wall/events",
    "/api/wall/conversations/c_1/explain",
    "/api/wall/surveys",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_supervisors_and_admins_see_the_wall() -> anyhow::Result<()> {
    let app = TestApp::start().await?;

    let nobody = HttpClient::new(app.desk_url());
    let r = nobody.get("/wall").await?;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.headers["location"], "/");
    for path in WALL_API {
        let r = nobody.get(path).await?;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
    }

    let alice = Agent::sign_in(&app, "alice").await?;
    let r = alice.api.get("/wall").await?;
    assert_eq!(r.status, 403, "{}", r.body);
    for path in WALL_API {
        let r = alice.api.get(path).await?;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }

    let (r, supervisor) = HttpClient::new(app.desk_url())
        .sign_in("supervisor", TEST_PASSWORD)
        .await?;
    let supervisor = supervisor.ok_or_else(|| anyhow::anyhow!("sign-in: {}", r.body))?;
    let r = supervisor.get("/api/wall").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["queues"]
            .as_array()
            .is_some_and(|q| q.iter().any(|q| q["queue"] == "sales")),
        "{}",
        r.body
    );

    // The router checks again.
    refused(
        router(&app, AGENT_TOKEN)?
            .queue_day(QueueDayRequest {})
            .await
            .map(|_| ()),
        Code::PermissionDenied,
        ErrorReason::PermissionDenied,
        "QueueDay with an agent's token",
    );
    router(&app, SUPERVISOR_TOKEN)?
        .queue_day(QueueDayRequest {})
        .await?;
    app.stop().await;
    Ok(())
}
