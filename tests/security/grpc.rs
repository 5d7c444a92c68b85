//! The gRPC API (port 7070): no call but health without a known token; a
//! person's token is held to the method table and cannot name another
//! person; an agent, by their own token or through a service token naming
//! them, can neither read, reply to nor resolve another agent's
//! conversation; a resolved conversation takes no agent message.

use omni_proto::common::ErrorReason;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{
    GetAttachmentRequest, GetConversationRequest, ListMessagesRequest, ResolveConversationRequest,
    SendMessageRequest, SignalConversationRequest, WatchConversationsRequest,
    signal_conversation_request,
};
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{
    AgentSpec, ExplainRequest, GetAgentRequest, ListAgentsRequest, ListQueuesRequest, OfferRequest,
    Presence, QueueSpec, SetPresenceRequest, UpsertAgentRequest, UpsertQueueRequest,
};
use omni_testkit::TestApp;
use omni_testkit::actors::{Agent, Customer};
use omni_testkit::grpc::{AGENT_TOKEN, SERVICE_TOKEN, SUPERVISOR_TOKEN, admin_channel};
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{context, for_user, refused, router};

/// A request from alice: by her own token as is, or naming her through a service token.
fn as_alice<T>(via_service: bool, message: T) -> Request<T> {
    if via_service {
        for_user(message, "alice", "agent")
    } else {
        Request::new(message)
    }
}

fn conversation_request(id: &str) -> GetConversationRequest {
    GetConversationRequest {
        conversation_id: id.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_but_health_refuses_no_token_and_a_wrong_token() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let plain = tonic::transport::Endpoint::from_shared(app.grpc_url())?
        .connect()
        .await?;
    let mut health = HealthClient::new(plain.clone());
    health.check(HealthCheckRequest::default()).await?;

    let mut anonymous_context = ContextServiceClient::new(plain.clone());
    let mut anonymous_router = RouterServiceClient::new(plain);
    let mut wrong_context = context(&app, "not-the-token-0123456789")?;
    let mut wrong_router = router(&app, "not-the-token-0123456789")?;
    for (answer, what) in [
        (
            anonymous_context
                .get_conversation(conversation_request("c"))
                .await
                .map(|_| ()),
            "context without a token",
        ),
        (
            wrong_context
                .get_conversation(conversation_request("c"))
                .await
                .map(|_| ()),
            "context with a wrong token",
        ),
        (
            anonymous_context
                .watch_conversations(WatchConversationsRequest::default())
                .await
                .map(|_| ()),
            "every customer's messages without a token",
        ),
        (
            anonymous_context
                .signal_conversation(SignalConversationRequest {
                    conversation_id: "c".into(),
                    agent_id: "alice".into(),
                    signal: Some(signal_conversation_request::Signal::Typing(true)),
                })
                .await
                .map(|_| ()),
            "typing to a customer without a token",
        ),
        (
            anonymous_router
                .list_agents(ListAgentsRequest {})
                .await
                .map(|_| ()),
            "router without a token",
        ),
        (
            wrong_router
                .upsert_agent(UpsertAgentRequest::default())
                .await
                .map(|_| ()),
            "create an agent with a wrong token",
        ),
    ] {
        refused(
            answer,
            Code::Unauthenticated,
            ErrorReason::Unauthenticated,
            what,
        );
    }
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_calling_supervisor_and_admin_methods_is_refused() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut alice = router(&app, AGENT_TOKEN)?;
    let mut alice_context = context(&app, AGENT_TOKEN)?;
    let denied = |a: Result<(), Status>, what: &str| {
        refused(
            a,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            what,
        )
    };
    denied(
        alice
            .upsert_agent(UpsertAgentRequest {
                agent: Some(AgentSpec {
                    agent_id: "mallory".into(),
                    ..Default::default()
                }),
            })
            .await
            .map(|_| ()),
        "UpsertAgent",
    );
    denied(
        alice
            .upsert_queue(UpsertQueueRequest {
                queue: Some(QueueSpec::default()),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        "UpsertQueue",
    );
    denied(
        alice.list_queues(ListQueuesRequest {}).await.map(|_| ()),
        "ListQueues",
    );
    denied(
        alice.list_agents(ListAgentsRequest {}).await.map(|_| ()),
        "ListAgents",
    );
    denied(
        alice
            .explain_conversation(ExplainRequest {
                conversation_id: "c".into(),
            })
            .await
            .map(|_| ()),
        "ExplainConversation",
    );
    denied(
        alice_context
            .watch_conversations(WatchConversationsRequest::default())
            .await
            .map(|_| ()),
        "WatchConversations",
    );
    // Acting for another agent.
    denied(
        alice
            .set_presence(SetPresenceRequest {
                agent_id: "bob".into(),
                presence: Presence::Offline as i32,
                reason: String::new(),
            })
            .await
            .map(|_| ()),
        "SetPresence of bob",
    );
    denied(
        alice
            .accept_offer(OfferRequest {
                agent_id: "bob".into(),
                offer_id: "off_1".into(),
            })
            .await
            .map(|_| ()),
        "AcceptOffer for bob",
    );
    denied(
        alice
            .get_agent(GetAgentRequest {
                agent_id: "bob".into(),
            })
            .await
            .map(|_| ()),
        "GetAgent of bob",
    );
    // Their own state they may read; a supervisor reads queues but does not provision.
    let own = alice
        .get_agent(GetAgentRequest {
            agent_id: "alice".into(),
        })
        .await?;
    assert_eq!(own.into_inner().agent_id, "alice");
    let mut wallboard = router(&app, SUPERVISOR_TOKEN)?;
    assert!(
        !wallboard
            .list_queues(ListQueuesRequest {})
            .await?
            .into_inner()
            .queues
            .is_empty()
    );
    denied(
        wallboard
            .upsert_queue(UpsertQueueRequest {
                queue: Some(QueueSpec::default()),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        "UpsertQueue by a supervisor",
    );
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_token_cannot_name_another_user() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut alice = router(&app, AGENT_TOKEN)?;
    let posing = alice
        .get_agent(for_user(
            GetAgentRequest {
                agent_id: "bob".into(),
            },
            "bob",
            "admin",
        ))
        .await;
    refused(
        posing.map(|_| ()),
        Code::PermissionDenied,
        ErrorReason::PermissionDenied,
        "alice naming bob",
    );
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_cannot_read_reply_to_signal_or_resolve_anothers_conversation()
-> anyhow::Result<()> {
    let app = TestApp::start().await?;
    // bob is the only agent on: the sales chat is offered to him.
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("my order is late").await?;
    let conversation = bob.take_next_offer().await?;

    let reply = |agent: &str, key: &str| SendMessageRequest {
        attachments: Vec::new(),
        conversation_id: conversation.clone(),
        agent_id: agent.to_owned(),
        text: "this is alice".into(),
        idempotency_key: key.to_owned(),
        channel: 0,
        channel_name: String::new(),
    };
    let denied = |a: Result<(), Status>, what: &str| {
        refused(
            a,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            what,
        )
    };
    // With her own token, and through a service token naming her (the
    // desk's way): the same refusals.
    let mut alice = context(&app, AGENT_TOKEN)?;
    let mut service = context(&app, SERVICE_TOKEN)?;
    for (who, via_service) in [("alice's token", false), ("a service naming alice", true)] {
        let client = if via_service {
            &mut service
        } else {
            &mut alice
        };
        denied(
            client
                .send_message(as_alice(via_service, reply("alice", "a1")))
                .await
                .map(|_| ()),
            &format!("{who}: reply on bob's conversation"),
        );
        denied(
            client
                .send_message(as_alice(via_service, reply("bob", "a2")))
                .await
                .map(|_| ()),
            &format!("{who}: reply as bob"),
        );
        denied(
            client
                .add_note(as_alice(
                    via_service,
                    omni_proto::context::AddNoteRequest {
                        conversation_id: conversation.clone(),
                        agent_id: "alice".into(),
                        text: "a note on bob's".into(),
                        idempotency_key: "an1".into(),
                        transfer_to: String::new(),
                    },
                ))
                .await
                .map(|_| ()),
            &format!("{who}: note on bob's conversation"),
        );
        denied(
            client
                .resolve_conversation(as_alice(
                    via_service,
                    ResolveConversationRequest {
                        conversation_id: conversation.clone(),
                        agent_id: "alice".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(|_| ()),
            &format!("{who}: resolve bob's conversation"),
        );
        denied(
            client
                .get_conversation(as_alice(via_service, conversation_request(&conversation)))
                .await
                .map(|_| ()),
            &format!("{who}: read bob's conversation"),
        );
        denied(
            client
                .signal_conversation(as_alice(
                    via_service,
                    SignalConversationRequest {
                        conversation_id: conversation.clone(),
                        agent_id: "alice".into(),
                        signal: Some(signal_conversation_request::Signal::Typing(true)),
                    },
                ))
                .await
                .map(|_| ()),
            &format!("{who}: type to bob's customer"),
        );
        denied(
            client
                .list_messages(as_alice(
                    via_service,
                    ListMessagesRequest {
                        conversation_id: conversation.clone(),
                        after_seq: 0,
                        limit: 10,
                        include_notes: false,
                    },
                ))
                .await
                .map(|_| ()),
            &format!("{who}: read bob's messages"),
        );
        denied(
            client
                .get_attachment(as_alice(
                    via_service,
                    GetAttachmentRequest {
                        conversation_id: conversation.clone(),
                        seq: 1,
                        index: 1,
                    },
                ))
                .await
                .map(|_| ()),
            &format!("{who}: read bob's attachments"),
        );
    }
    // Nothing of alice's reached the customer's timeline; bob himself may reply.
    let mut admin = ContextServiceClient::new(admin_channel(&app.grpc_url())?);
    let history = admin
        .list_messages(ListMessagesRequest {
            conversation_id: conversation.clone(),
            after_seq: 0,
            limit: 10,
            include_notes: false,
        })
        .await?
        .into_inner()
        .messages;
    assert_eq!(history.len(), 1, "{history:?}");
    service
        .send_message(for_user(reply("bob", "b1"), "bob", "agent"))
        .await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_conversation_takes_no_agent_message() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let mut bob = Agent::sign_in(&app, "bob").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("thanks, that was all").await?;
    let conversation = bob.take_next_offer().await?;
    bob.resolve(&conversation).await?;

    let mut admin = ContextServiceClient::new(admin_channel(&app.grpc_url())?);
    let late = admin
        .send_message(SendMessageRequest {
            attachments: Vec::new(),
            conversation_id: conversation.clone(),
            agent_id: "bob".into(),
            text: "one more thing".into(),
            idempotency_key: "late-1".into(),
            channel: 0,
            channel_name: String::new(),
        })
        .await;
    refused(
        late.map(|_| ()),
        Code::FailedPrecondition,
        ErrorReason::ConversationResolved,
        "a message to a resolved conversation",
    );
    app.stop().await;
    Ok(())
}
