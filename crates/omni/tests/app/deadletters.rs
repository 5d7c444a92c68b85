//! Dead letters visible to operators, in both modes: the company's app
//! keeps answering 503, so the agent's reply is retried, then given up
//! (`webhook.max_attempts`) and published on `omni.deadletter.app`; the
//! context service keeps it and an admin reads it on the desk's
//! `GET /api/admin/deadletters`, while an agent is refused. Embedded: the
//! in-process bus (which keeps a message only for a consumer that wants
//! it) and the embedded store. Distributed: the webhook in its own process,
//! the dead letter crossing NATS to the context service's process, kept in
//! Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use omni::Part;
use omni_proto::common as pb;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{FindConversationRequest, SendMessageRequest};
use omni_testkit::actors::TEST_PASSWORD;
use omni_testkit::app::{sample_config_path, test_config};
use omni_testkit::{Cluster, Endpoints, HttpClient, TestApp, grpc};
use omni_webhook::client::AppClient;
use serde_json::Value;

use crate::support::{binary, blocking};

const KEY: &str = "the-apps-signing-key";
const ATTEMPTS: u32 = 3;
const REPLY: &str = "Your refund is on its way";

/// The company's app, down: every reply gets a 503. Returns its reply URL
/// and how many attempts reached it.
async fn failing_app() -> anyhow::Result<(String, Arc<AtomicU32>)> {
    let tries = Arc::new(AtomicU32::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/replies", listener.local_addr()?);
    let app = Router::new()
        .route(
            "/replies",
            post(|State(tries): State<Arc<AtomicU32>>| async move {
                tries.fetch_add(1, Ordering::SeqCst);
                (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance")
            }),
        )
        .with_state(tries.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, tries))
}

/// A customer writes from the app, a reply is sent to them, the app keeps
/// failing it; then the dead letter is on the desk for an admin only.
async fn a_reply_the_app_keeps_failing_is_shown_to_admins(
    webhook: &str,
    grpc_url: &str,
    desk: &impl Endpoints,
    outbound_url: &str,
    tries: &AtomicU32,
) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "message_id": "app-msg-dl-1",
        "customer_id": "user-dl-1",
        "text": "Where is my refund?",
    })
    .to_string();
    let answer = AppClient::new(Duration::from_secs(10))
        .post_signed(
            &format!("{webhook}/webhook/v1/messages"),
            KEY.as_bytes(),
            body.into_bytes(),
            &[],
        )
        .await?;
    anyhow::ensure!(answer.status.as_u16() == 202, "{}", answer.status);

    // The reply, sent as the desk sends it (the service token acting).
    let mut context = ContextServiceClient::new(grpc::channel(grpc_url, grpc::SERVICE_TOKEN)?);
    let conversation = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let found = context
                .find_conversation(FindConversationRequest {
                    identity: Some(pb::Identity {
                        kind: Some(pb::identity::Kind::Declared(pb::DeclaredIdentity {
                            kind: "app".into(),
                            value: "user-dl-1".into(),
                        })),
                    }),
                })
                .await;
            if let Ok(found) = found
                && let Some(c) = found.into_inner().conversation
            {
                break c.id;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await?;
    let sent = context
        .send_message(SendMessageRequest {
            conversation_id: conversation.clone(),
            agent_id: "alice".into(),
            text: REPLY.into(),
            idempotency_key: "reply-dl-1".into(),
            ..Default::default()
        })
        .await?
        .into_inner();

    let (_, admin) = HttpClient::new(desk.desk_url())
        .sign_in("admin", TEST_PASSWORD)
        .await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("admin sign-in"))?;
    let letters = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let r = admin.get("/api/admin/deadletters?channel=app").await?;
            anyhow::ensure!(r.status == 200, "{} {}", r.status, r.body);
            if let Some(list) = r.body["dead_letters"].as_array()
                && !list.is_empty()
            {
                return Ok(list.clone());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await??;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["channel"], "app", "{letter}");
    assert_eq!(letter["conversation_id"], conversation.as_str(), "{letter}");
    assert_eq!(letter["message_id"], sent.id.as_str(), "{letter}");
    assert_eq!(letter["recipient"], outbound_url, "{letter}");
    assert_eq!(letter["attempts"], ATTEMPTS, "{letter}");
    assert_eq!(letter["text"], REPLY, "{letter}");
    assert!(letter["decode_error"].is_null(), "{letter}");
    let reason = letter["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("503"),
        "the app's answer is the reason: {letter}"
    );
    assert!(letter["at_ms"].as_i64().unwrap_or_default() > 0, "{letter}");
    assert_eq!(
        tries.load(Ordering::SeqCst),
        ATTEMPTS,
        "every attempt reached the app"
    );

    // Another channel's list does not show it; an agent may not look.
    let other = admin.get("/api/admin/deadletters?channel=chat").await?;
    assert_eq!(
        other.body["dead_letters"],
        Value::Array(Vec::new()),
        "{}",
        other.body
    );
    let (_, agent) = HttpClient::new(desk.desk_url())
        .sign_in("bob", TEST_PASSWORD)
        .await?;
    let agent = agent.ok_or_else(|| anyhow::anyhow!("bob sign-in"))?;
    assert_eq!(agent.get("/api/admin/deadletters").await?.status, 403);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_reaches_the_admin_in_embedded_mode() -> anyhow::Result<()> {
    let (outbound_url, tries) = failing_app().await?;
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.webhook.enabled = true;
    config.webhook.key = KEY.into();
    config.webhook.outbound_url = outbound_url.clone();
    config.webhook.max_attempts = ATTEMPTS;
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let webhook = app
        .webhook_url()
        .ok_or_else(|| anyhow::anyhow!("the webhook part runs when enabled"))?;
    a_reply_the_app_keeps_failing_is_shown_to_admins(
        &webhook,
        &app.grpc_url(),
        &app,
        &outbound_url,
        &tries,
    )
    .await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_reaches_the_admin_across_processes() -> anyhow::Result<()> {
    let (outbound_url, tries) = failing_app().await?;
    let port = omni_testservers::free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let attempts = ATTEMPTS.to_string();
    let webhook_env = [
        (Part::Webhook, "OMNI_WEBHOOK_ENABLED", "true"),
        (Part::Webhook, "OMNI_WEBHOOK_KEY", KEY),
        (Part::Webhook, "OMNI_WEBHOOK_LISTEN", listen.as_str()),
        (
            Part::Webhook,
            "OMNI_WEBHOOK_OUTBOUND_URL",
            outbound_url.as_str(),
        ),
        (
            Part::Webhook,
            "OMNI_WEBHOOK_MAX_ATTEMPTS",
            attempts.as_str(),
        ),
    ]
    .map(|(p, k, v)| (p, k.to_owned(), v.to_owned()));
    let cluster = blocking(move || {
        let env: Vec<(Part, &str, &str)> = webhook_env
            .iter()
            .map(|(p, k, v)| (*p, k.as_str(), v.as_str()))
            .collect();
        let mut parts = Part::CORE.to_vec();
        parts.push(Part::Webhook);
        Cluster::start_parts(binary(), &sample_config_path(), &parts, &[], &env)
    })
    .await?;
    a_reply_the_app_keeps_failing_is_shown_to_admins(
        &format!("http://{listen}"),
        &cluster.grpc_url(Part::Context),
        &cluster,
        &outbound_url,
        &tries,
    )
    .await?;
    Ok(())
}
