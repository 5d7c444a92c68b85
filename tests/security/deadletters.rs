//! Dead letters (replies adapters gave up on, with the customer's text)
//! are an admin's to read, over gRPC and over the desk's HTTP API; an agent
//! and a supervisor are refused both ways.

use std::time::Duration;

use omni_bus::Message;
use omni_bus::topology::subjects;
use omni_core::Channel;
use omni_proto::adapter::DeadLetter;
use omni_proto::common::ErrorReason;
use omni_proto::context::ListDeadLettersRequest;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_testkit::actors::TEST_PASSWORD;
use omni_testkit::grpc::{AGENT_TOKEN, SERVICE_TOKEN, SUPERVISOR_TOKEN, admin_channel, channel};
use omni_testkit::{HttpClient, TestApp};
use prost::Message as _;
use tonic::Code;

use crate::support::{for_user, refused};

const SECRET: &str = "the card ending 4242 is refunded";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_reads_dead_letters() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let letter = DeadLetter {
        message_id: "msg_dead_1".into(),
        conversation_id: "con_dead_1".into(),
        channel: "sms".into(),
        destination: "+14155550123".into(),
        attempts: 5,
        reason: "provider down".into(),
        at_ms: 1_700_000_000_000,
        text: SECRET.into(),
    };
    app.bus()
        .publish(
            Message::new(subjects::deadletter(Channel::SMS), letter.encode_to_vec()),
            Some("deadletter:sms:msg_dead_1"),
        )
        .await?;
    let list = || ListDeadLettersRequest {
        channel: String::new(),
        limit: 10,
    };

    // The admin sees it once the context service has kept it.
    let mut admin = ContextServiceClient::new(admin_channel(&app.grpc_url())?);
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let letters = admin
                .list_dead_letters(list())
                .await?
                .into_inner()
                .dead_letters;
            if !letters.is_empty() {
                return Ok::<_, tonic::Status>(letters);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await??;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].text, SECRET);
    assert_eq!(seen[0].channel, "sms");

    // gRPC: the agent's and the supervisor's own tokens, and the desk's
    // service token acting for an agent or a supervisor.
    for token in [AGENT_TOKEN, SUPERVISOR_TOKEN] {
        let mut client = ContextServiceClient::new(channel(&app.grpc_url(), token)?);
        refused(
            client.list_dead_letters(list()).await,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            &format!("list with token {token}"),
        );
    }
    let mut desk = ContextServiceClient::new(channel(&app.grpc_url(), SERVICE_TOKEN)?);
    for (user, role) in [("bob", "agent"), ("supervisor", "supervisor")] {
        refused(
            desk.list_dead_letters(for_user(list(), user, role)).await,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            &format!("list for {role}"),
        );
    }

    // HTTP: an agent and a supervisor are refused; the admin reads it.
    for user in ["bob", "supervisor"] {
        let (r, api) = HttpClient::new(app.desk_url())
            .sign_in(user, TEST_PASSWORD)
            .await?;
        let api = api.ok_or_else(|| anyhow::anyhow!("sign in {user}: {}", r.status))?;
        let r = api.get("/api/admin/deadletters").await?;
        assert_eq!(r.status, 403, "{user} lists dead letters");
        assert!(!r.body.to_string().contains(SECRET), "{}", r.body);
    }
    let (_, admin) = HttpClient::new(app.desk_url())
        .sign_in("admin", TEST_PASSWORD)
        .await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("admin sign-in"))?;
    let r = admin
        .get("/api/admin/deadletters?channel=sms&limit=5")
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["dead_letters"][0]["text"], SECRET, "{}", r.body);
    assert_eq!(
        r.body["dead_letters"][0]["recipient"], "+14155550123",
        "{}",
        r.body
    );
    app.stop().await;
    Ok(())
}
