//! The router's gRPC API over a real socket, with the embedded store and
//! bus on disk: administration, transfers and explanations, and admin
//! changes surviving a restart; errors and their reasons ([`errors`]);
//! presence following the desk connection ([`presence`]); queue positions
//! on the bus, also after a restart ([`positions`]); the queue bound and
//! its refusals ([`refusals`]); what the supervisor's wall reads ([`wall`]);
//! business hours through the bus ([`hours`]) and set by `UpsertQueue`
//! ([`hours_admin`]).

mod errors;
mod hours;
mod hours_admin;
mod positions;
mod presence;
mod priority;
mod refusals;
mod to_bot;
mod wall;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use omni_bus::embedded::EmbeddedBus;
use omni_core::access::Role;
use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_core::{Channel, ConversationId, CustomerId, QueueId};
use omni_proto::auth::{AuthChannel as GrpcChannel, Gate, GateLayer, TokenKind, WithToken};
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{
    AgentSpec, AgentState, ChannelCapacity, Decision, ExplainRequest, GetAgentRequest,
    ListQueuesRequest, OfferRequest, Presence, QueueSpec, QueueState, QueueStep,
    SetPresenceRequest, TransferRequest, UpsertAgentRequest, UpsertQueueRequest, transfer_request,
};
use omni_router::{RouterApi, RouterShell};
use omni_store::{ContactRecord, EmbeddedStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;

const CONFIG: &str = r#"
    [[queues]]
    id = "support"
    requirement = "support >= 1"

    [[agents]]
    id = "alice"
    skills = { support = 5 }
    capacity = { chat = 1 }
"#;

/// The token of the admin account the test server accepts.
const ADMIN_TOKEN: &str = "router-test-admin-token-0123";

struct Router {
    shell: Arc<RouterShell>,
    client: RouterServiceClient<GrpcChannel>,
    stop: CancellationToken,
    server: JoinHandle<()>,
    timer: JoinHandle<()>,
}

impl Router {
    async fn start(dir: &Path) -> Self {
        Self::start_with(dir, CONFIG).await
    }

    /// A router over `config` (TOML), with its timer running.
    async fn start_with(dir: &Path, config: &str) -> Self {
        let config = Config::parse(config).expect("config parses");
        config.validate().expect("config is valid");
        let store = EmbeddedStore::open(&dir.join("store.redb")).expect("store opens");
        let bus = EmbeddedBus::open(&dir.join("bus.redb")).expect("bus opens");
        let shell = RouterShell::start(&config, store, bus)
            .await
            .expect("router starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let timer = tokio::spawn(shell.clone().run_timer(stop.clone()));
        let server = tokio::spawn({
            let (api, stop) = (RouterApi::new(shell.clone()), stop.clone());
            async move {
                let gate = Gate::new([omni_router::authority::METHODS]).with_account(
                    "admin",
                    TokenKind::Person(Role::Admin),
                    &ADMIN_TOKEN.into(),
                );
                tonic::transport::Server::builder()
                    .layer(GateLayer::new(gate))
                    .add_service(api.into_server())
                    .serve_with_incoming_shutdown(
                        TcpListenerStream::new(listener),
                        stop.cancelled_owned(),
                    )
                    .await
                    .expect("server runs");
            }
        });
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect()
            .await
            .expect("client connects");
        let client =
            RouterServiceClient::new(WithToken::new(channel, &ADMIN_TOKEN.into()).expect("token"));
        Self {
            shell,
            client,
            stop,
            server,
            timer,
        }
    }

    /// Makes `agent` available.
    async fn available(&mut self, agent: &str) {
        self.client
            .set_presence(SetPresenceRequest {
                agent_id: agent.into(),
                presence: Presence::Available as i32,
                reason: String::new(),
            })
            .await
            .expect("presence set");
    }

    /// The agent's state, as `GetAgent` shows it.
    async fn agent(&mut self, agent: &str) -> AgentState {
        self.client
            .get_agent(GetAgentRequest {
                agent_id: agent.into(),
            })
            .await
            .expect("agent")
            .into_inner()
    }

    /// Every queue's state, as `ListQueues` shows it.
    async fn queues(&mut self) -> Vec<QueueState> {
        self.client
            .list_queues(ListQueuesRequest {})
            .await
            .expect("list")
            .into_inner()
            .queues
    }

    /// The routing decisions about `conversation`, as `Explain` shows them.
    async fn explain(&mut self, conversation: &str) -> Vec<Decision> {
        self.client
            .explain_conversation(ExplainRequest {
                conversation_id: conversation.into(),
            })
            .await
            .expect("explain")
            .into_inner()
            .decisions
    }

    /// A contact `id` arrives in `queue`.
    async fn arrive(&self, id: &str, queue: &str) {
        self.shell
            .arrive(contact(id, queue))
            .await
            .expect("contact arrives");
    }

    async fn stop(self) {
        self.stop.cancel();
        drop(self.client);
        self.server.await.expect("server stops");
        self.timer.await.expect("timer stops");
        drop(self.shell);
    }
}

fn contact(id: &str, queue: &str) -> ContactRecord {
    ContactRecord {
        conversation_id: ConversationId::from(id),
        customer_id: CustomerId::from(format!("cus_{id}")),
        queue: QueueId::from(queue),
        channel: Channel::CHAT,
        queued_at_ms: now_ms(),
        preferred_agent: None,
        assigned_agent: None,
        priority: 0,
        reasons: Vec::new(),
        language: None,
    }
}

fn billing() -> QueueSpec {
    QueueSpec {
        queue_id: "billing".into(),
        priority: 4,
        requirement: "billing >= 5 AND lang == \"es\"".into(),
        steps: vec![
            QueueStep {
                after_ms: 30_000,
                requirement: "billing >= 2".into(),
                overflow_queue: String::new(),
            },
            QueueStep {
                after_ms: 180_000,
                requirement: String::new(),
                overflow_queue: "support".into(),
            },
        ],
        ..Default::default()
    }
}

#[tokio::test]
async fn bad_admin_input_is_invalid_argument_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start(dir.path()).await;
    let bad = QueueSpec {
        requirement: "billing >= AND".into(),
        ..billing()
    };
    let err = router
        .client
        .upsert_queue(UpsertQueueRequest {
            queue: Some(bad),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "invalid argument: queue.requirement: column 12: unexpected AND; expected a level 0-10"
    );
    let to_nowhere = QueueSpec {
        steps: vec![QueueStep {
            after_ms: 60_000,
            requirement: String::new(),
            overflow_queue: "nowhere".into(),
        }],
        ..billing()
    };
    let err = router
        .client
        .upsert_queue(UpsertQueueRequest {
            queue: Some(to_nowhere),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("overflow to unknown queue nowhere"),
        "{}",
        err.message()
    );
    let err = router
        .client
        .upsert_agent(UpsertAgentRequest {
            agent: Some(AgentSpec {
                agent_id: "zoe".into(),
                skills: [("billing".to_owned(), 0)].into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = router
        .client
        .transfer_conversation(TransferRequest {
            conversation_id: "nobody".into(),
            target: Some(transfer_request::Target::Queue("support".into())),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    // Nothing was applied or stored.
    let queues = router.queues().await;
    assert_eq!(queues.len(), 1);
    router.stop().await;
}

#[tokio::test]
async fn admin_changes_route_at_once_explain_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start(dir.path()).await;
    let state = router
        .client
        .upsert_queue(UpsertQueueRequest {
            queue: Some(billing()),
            ..Default::default()
        })
        .await
        .expect("queue created")
        .into_inner();
    assert_eq!(state.requirement, "billing >= 5 AND lang == \"es\"");
    assert_eq!(state.overflow_queue, "support");
    assert_eq!(state.steps.len(), 1);
    router
        .client
        .upsert_agent(UpsertAgentRequest {
            agent: Some(AgentSpec {
                agent_id: "zoe".into(),
                name: "Zoe".into(),
                skills: [("billing".to_owned(), 7)].into(),
                languages: vec!["es".into()],
                capacity: vec![ChannelCapacity {
                    channel: omni_proto::common::Channel::Chat as i32,
                    channel_name: "chat".to_owned(),
                    capacity: 2,
                }],
                total: None,
            }),
        })
        .await
        .expect("agent created");
    router.available("zoe").await;

    // Routed through the new queue to the new agent, at once.
    router.arrive("con_1", "billing").await;
    let zoe = router.agent("zoe").await;
    assert_eq!(zoe.offers.len(), 1);
    let decisions = router.explain("con_1").await;
    let offered = &decisions[0];
    assert_eq!(offered.kind, "offered");
    assert_eq!(offered.agent_id, "zoe");
    assert_eq!(
        (
            offered.eligible,
            offered.rule.as_str(),
            offered.step,
            offered.score
        ),
        (Some(1), "only_eligible", Some(1), Some(7))
    );

    // Transferred to support: zoe's offer is rescinded, alice is offline.
    router
        .client
        .transfer_conversation(TransferRequest {
            conversation_id: "con_1".into(),
            target: Some(transfer_request::Target::Queue("support".into())),
        })
        .await
        .expect("transfer");
    let queues = router.queues().await;
    let billing_state = queues
        .iter()
        .find(|q| q.queue == "billing")
        .expect("billing");
    let support = queues
        .iter()
        .find(|q| q.queue == "support")
        .expect("support");
    assert_eq!(support.waiting, 1);
    let stats = billing_state.stats.as_ref().expect("stats");
    assert_eq!((stats.entered, stats.transferred), (1, 1));
    router.stop().await;

    // After a restart the admin changes are still there.
    let mut router = Router::start(dir.path()).await;
    let queues = router.queues().await;
    let billing_state = queues
        .iter()
        .find(|q| q.queue == "billing")
        .expect("billing kept");
    assert_eq!(billing_state.priority, 4);
    assert_eq!(billing_state.steps[0].requirement, "billing >= 2");
    let zoe = router.agent("zoe").await;
    assert_eq!(zoe.skills.get("billing"), Some(&7));
    assert_eq!(zoe.presence, Presence::Available as i32);
    let support = queues
        .iter()
        .find(|q| q.queue == "support")
        .expect("support");
    assert_eq!(
        support.waiting, 1,
        "the transferred contact waits in support"
    );
    router.stop().await;
}

/// (chat, email) room held, as `GetAgent` shows it.
async fn used(router: &mut Router, agent: &str) -> (u32, u32) {
    let state = router.agent(agent).await;
    let on = |channel: omni_proto::common::Channel| {
        state
            .load
            .iter()
            .find(|l| l.channel == channel as i32)
            .map_or(0, |l| l.used)
    };
    (
        on(omni_proto::common::Channel::Chat),
        on(omni_proto::common::Channel::Email),
    )
}

#[tokio::test]
async fn a_channel_change_moves_the_agents_load_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut router = Router::start(dir.path()).await;
    let capacity = |channel: omni_proto::common::Channel| ChannelCapacity {
        channel: channel as i32,
        // An old client: the enum only.
        channel_name: String::new(),
        capacity: 1,
    };
    router
        .client
        .upsert_agent(UpsertAgentRequest {
            agent: Some(AgentSpec {
                agent_id: "yan".into(),
                skills: [("support".to_owned(), 5)].into(),
                capacity: vec![
                    capacity(omni_proto::common::Channel::Chat),
                    capacity(omni_proto::common::Channel::Email),
                ],
                ..Default::default()
            }),
        })
        .await
        .expect("agent created");
    router.available("yan").await;
    router.arrive("con_7", "support").await;
    // The live offer holds yan's chat room, as queue occupancy counts it.
    assert_eq!(used(&mut router, "yan").await, (1, 0));
    let offer_id = router.shell.with_engine(|e| {
        e.agent(&"yan".into()).expect("yan").offers[0]
            .offer_id
            .clone()
    });
    router
        .client
        .accept_offer(OfferRequest {
            agent_id: "yan".into(),
            offer_id,
        })
        .await
        .expect("accepted");
    assert_eq!(used(&mut router, "yan").await, (1, 0));

    // The customer writes by email: the same request on the new channel.
    let by_email = ContactRecord {
        channel: Channel::EMAIL,
        ..contact("con_7", "support")
    };
    router.shell.arrive(by_email.clone()).await.expect("moves");
    assert_eq!(used(&mut router, "yan").await, (0, 1));
    let metrics = omni_telemetry::metrics::render();
    for line in [
        "omni_agent_load{channel=\"chat\"} 0",
        "omni_agent_load{channel=\"email\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    let decisions = router.explain("con_7").await;
    assert_eq!(decisions[0].kind, "channel_changed");
    assert_eq!(decisions[0].agent_id, "yan");
    // A redelivery of it changes nothing.
    router.shell.arrive(by_email).await.expect("redelivery");
    assert_eq!(used(&mut router, "yan").await, (0, 1));
    router.stop().await;

    // Stored with its new channel: restored on email.
    let mut router = Router::start(dir.path()).await;
    assert_eq!(used(&mut router, "yan").await, (0, 1));
    router.stop().await;
}

#[tokio::test]
async fn capacity_on_a_declared_channel_goes_by_name_and_an_undeclared_one_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!("{CONFIG}\n[channels.api-whatsapp]\nidentity = \"phone\"\n");
    let mut router = Router::start_with(dir.path(), &config).await;
    let capacity = |name: &str| ChannelCapacity {
        channel: 0,
        channel_name: name.to_owned(),
        capacity: 2,
    };
    let upsert = |name: &str| UpsertAgentRequest {
        agent: Some(AgentSpec {
            agent_id: "zed".into(),
            skills: [("support".to_owned(), 5)].into(),
            capacity: vec![capacity(name)],
            ..Default::default()
        }),
    };
    router
        .client
        .upsert_agent(upsert("api-whatsapp"))
        .await
        .expect("a declared channel");
    let state = router.agent("zed").await;
    let load: Vec<_> = state
        .load
        .iter()
        .map(|l| (l.channel, l.channel_name.as_str(), l.capacity))
        .collect();
    // A channel that is not built in: the enum is unspecified, the name says.
    assert_eq!(load, [(0, "api-whatsapp", 2)]);

    Channel::parse("api-undeclared").expect("a name this process knows");
    let refused = router
        .client
        .upsert_agent(upsert("api-undeclared"))
        .await
        .expect_err("an undeclared channel");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused
            .message()
            .contains("channel api-undeclared is not declared"),
        "{}",
        refused.message()
    );
    // A name the process never saw is refused as unknown.
    let unknown = router
        .client
        .upsert_agent(upsert("api-never-seen"))
        .await
        .expect_err("an unknown channel");
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);
}
