//! The webhook channel in the assembled app: a customer who writes on the
//! web chat and then, once a supervisor has linked their app user id, in
//! the company's app keeps one conversation, and the agent's reply reaches
//! the app's webhook, signed; the app's status on it is taken, one on a
//! conversation or message that is not ours is refused with a 404.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use omni_core::Channel;
use omni_proto::common as pb;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{GetConversationRequest, LinkIdentityRequest};
use omni_testkit::TestApp;
use omni_testkit::actors::{Agent, Customer, set_role};
use omni_testkit::app::test_config;
use omni_testkit::grpc;
use omni_webhook::client::AppClient;
use omni_webhook::signature;

const KEY: &str = "the-apps-signing-key";

type Replies = Arc<Mutex<Vec<(bool, serde_json::Value)>>>;

async fn replies(State(seen): State<Replies>, headers: HeaderMap, body: Bytes) -> &'static str {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let signed = signature::verify(
        &[KEY.as_bytes()],
        &header(signature::TIMESTAMP),
        &body,
        &header(signature::SIGNATURE),
    );
    let json = serde_json::from_slice(&body).unwrap_or_default();
    seen.lock().expect("lock").push((signed, json));
    r#"{"app_message_id":"app-1"}"#
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_moving_from_chat_to_the_app_keeps_one_conversation() -> anyhow::Result<()> {
    // The company's app, receiving replies.
    let seen: Replies = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let outbound_url = format!("http://{}/replies", listener.local_addr()?);
    let peer = Router::new()
        .route("/replies", post(replies))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, peer).await });

    // The sample declares channel `app` (identity kind `app`, opaque ids).
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config.webhook.enabled = true;
    config.webhook.key = KEY.into();
    config.webhook.outbound_url = outbound_url;
    let app_channel = Channel::known("app")?;
    for agent in &mut config.agents {
        if agent.id == "alice" {
            agent.capacity.insert(app_channel, 2);
        }
    }
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let webhook = app
        .webhook_url()
        .ok_or_else(|| anyhow::anyhow!("the webhook part runs when enabled"))?;

    // Chat first: alice takes it.
    set_role(&app, "alice", "supervisor").await?;
    let mut alice = Agent::sign_in(&app, "alice").await?;
    let (mut jo, _) = Customer::open(&app, None, "support").await?;
    jo.say("Hi, I am on your website").await?;
    let (offer, conv) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;

    // A supervisor links the customer's app user id, verified.
    let mut context =
        ContextServiceClient::new(grpc::channel(&app.grpc_url(), grpc::SUPERVISOR_TOKEN)?);
    let customer_id = context
        .get_conversation(GetConversationRequest {
            conversation_id: conv.clone(),
        })
        .await?
        .into_inner()
        .conversation
        .map(|c| c.customer_id)
        .unwrap_or_default();
    context
        .link_identity(LinkIdentityRequest {
            customer_id,
            identity: Some(pb::Identity {
                kind: Some(pb::identity::Kind::Declared(pb::DeclaredIdentity {
                    kind: "app".into(),
                    value: "user-42".into(),
                })),
            }),
            agent_id: "supervisor".into(),
            evidence: "signed in to the app with the same account".into(),
            verified: true,
        })
        .await?;

    // Then the app: the same conversation continues.
    let body = serde_json::json!({
        "message_id": "app-msg-1",
        "customer_id": "user-42",
        "text": "Now I am in your app",
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
    anyhow::ensure!(
        answer.status.as_u16() == 202,
        "{} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    let timeline = alice.timeline_of(&conv, 2).await?;
    assert_eq!(
        timeline
            .iter()
            .map(|(channel, direction, _)| (channel.as_str(), direction.as_str()))
            .collect::<Vec<_>>(),
        [("chat", "inbound"), ("app", "inbound")],
        "{timeline:?}"
    );
    assert_eq!(timeline[1].2, "Now I am in your app");

    // Her reply goes where the customer wrote last: the app's webhook.
    alice
        .reply(&conv, "Welcome to the app", "reply-app-1")
        .await?;
    let timeline = alice.timeline_of(&conv, 3).await?;
    assert_eq!(timeline[2].0, "app", "{timeline:?}");
    let reply = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Some(reply) = seen.lock().expect("lock").first().cloned() {
                break reply;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await?;
    assert!(reply.0, "the reply is signed with the app's key");
    assert_eq!(reply.1["customer_id"], "user-42", "{}", reply.1);
    assert_eq!(reply.1["conversation_id"], conv.as_str(), "{}", reply.1);
    assert_eq!(reply.1["text"], "Welcome to the app", "{}", reply.1);

    // The app reports on it: taken. A status for a conversation or a
    // message that is not ours is a precise 404, not a silent drop.
    let reply_id = reply.1["message_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let status = |conversation: &str, message: &str| {
        serde_json::json!({
            "message_id": message,
            "conversation_id": conversation,
            "status": "delivered",
        })
        .to_string()
    };
    let post_status = |body: String| {
        let url = format!("{webhook}/webhook/v1/status");
        async move {
            AppClient::new(Duration::from_secs(10))
                .post_signed(&url, KEY.as_bytes(), body.into_bytes(), &[])
                .await
        }
    };
    let answer = |a: &omni_webhook::client::Answer| {
        let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
        (
            a.status.as_u16(),
            body["error"].as_str().unwrap_or_default().to_owned(),
            body["message"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let known = post_status(status(&conv, &reply_id)).await?;
    assert_eq!(known.status.as_u16(), 202, "{:?}", answer(&known));
    let unknown = post_status(status("no-such-conversation", &reply_id)).await?;
    assert_eq!(
        answer(&unknown),
        (
            404,
            "unknown_conversation".to_owned(),
            "conversation \"no-such-conversation\" does not exist".to_owned()
        )
    );
    let unknown = post_status(status(&conv, "no-such-message")).await?;
    assert_eq!(
        answer(&unknown),
        (
            404,
            "unknown_message".to_owned(),
            format!("message \"no-such-message\" is not in conversation {conv:?}")
        )
    );
    app.stop().await;
    Ok(())
}
