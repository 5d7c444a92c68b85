//! Distributed mode end to end: every part in its own `omni` OS process over
//! a real nats-server and redis-server, started by the test kit.
//!
//! - The foundation scenario (offer by skill, decline, accept, live replies
//!   both ways, resolve and reopen) across processes, with a router killed
//!   mid-conversation and a context service restarted gracefully.
//! - Faults while customer messages flow: kill -9 the context service, then
//!   the router, restart redis-server and nats-server; afterwards every
//!   accepted message is in history exactly once and every conversation has
//!   been offered and taken.
//! - One customer across chat, email and SMS with the email and sms parts
//!   in their own processes too: the test kit's scenario, which the
//!   embedded end-to-end tests run as well.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use omni::Part;
use omni_proto::common as pb;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{FindConversationRequest, ListMessagesRequest};
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{GetAgentRequest, OfferRequest, Presence, SetPresenceRequest};
use omni_testkit::actors::{Agent, Customer, texts};
use omni_testkit::grpc;
use omni_testkit::providers::{email_and_sms_env, twilio_account};
use omni_testkit::scenario::one_customer_across_chat_email_and_sms;
use omni_testkit::twilio::FakeTwilio;
use omni_testkit::{Cluster, Endpoints, JsonSocket};
use omni_testservers::smtp::SmtpSink;
use serde_json::json;

use crate::support::{binary, blocking, omni, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foundation_scenario_across_processes() -> anyhow::Result<()> {
    let cluster = blocking(|| Cluster::start(binary())).await?;
    let cluster = Arc::new(std::sync::Mutex::new(cluster));
    let urls = Urls::of(&cluster.lock().unwrap_or_else(|p| p.into_inner()));

    // Every part answers the gRPC health check a container probe makes.
    for part in Part::CORE {
        let port = cluster
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ports(part)
            .grpc;
        let out = omni()
            .args(["probe", "--grpc", &format!("127.0.0.1:{port}")])
            .output()?;
        assert!(out.status.success(), "{} probe: {out:?}", part.name());
    }
    let nowhere = omni_testservers::free_port()?;
    let out = omni()
        .args(["probe", "--grpc", &format!("127.0.0.1:{nowhere}")])
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(1),
        "probe of nothing fails: {out:?}"
    );

    let mut alice = Agent::sign_in(&urls, "alice").await?;
    let mut bob = Agent::sign_in(&urls, "bob").await?;

    // A sales customer: alice (sales 9) first; she declines, bob accepts.
    let (mut jo, _) = Customer::open(&urls, None, "sales").await?;
    jo.say("Hello from the distributed chat").await?;
    let (offer, conv) = alice.next_offer().await?;
    alice.settle(&offer, "decline").await?;
    let (offer, conv_b) = bob.next_offer().await?;
    assert_eq!(conv_b, conv);
    bob.settle(&offer, "accept").await?;

    // Replies cross the processes both ways.
    bob.reply(&conv, "Bob here, over NATS", "r1").await?;
    let pushed = jo.socket.recv_type("message").await?;
    assert_eq!(pushed["message"]["text"], "Bob here, over NATS");
    jo.say("Thanks Bob").await?;
    let live = bob
        .events
        .recv_until("jo's message", |f| {
            f["type"] == "message" && f["message"]["direction"] == "inbound"
        })
        .await?;
    assert_eq!(live["message"]["text"], "Thanks Bob");

    // A second customer arrives; alice has an offer in hand when the router
    // is killed. After the restart the conversation is offered again, bob's
    // assignment is still his, and nothing was lost.
    let (mut sam, _) = Customer::open(&urls, None, "sales").await?;
    sam.say("Is anyone there?").await?;
    let (_, conv2) = alice.next_offer().await?;
    {
        let cluster = cluster.clone();
        blocking(move || {
            let mut c = cluster.lock().unwrap_or_else(|p| p.into_inner());
            c.kill(Part::Router)?;
            c.start_part(Part::Router)
        })
        .await?;
    }
    // The desk's event sockets closed with the router; agents reconnect.
    let mut alice = Agent::sign_in(&urls, "alice").await?;
    let bob = Agent::sign_in(&urls, "bob").await?;
    let (offer2, conv2_again) = alice.next_offer().await?;
    assert_eq!(
        conv2_again, conv2,
        "the queued conversation is offered again"
    );
    alice.settle(&offer2, "accept").await?;
    let me = bob.api.get("/api/me").await?;
    assert!(
        me.body["assigned"]
            .as_array()
            .is_some_and(|a| a.contains(&json!(conv))),
        "bob keeps his conversation across the router restart: {}",
        me.body
    );

    // The context service stops gracefully and comes back: history is intact.
    {
        let cluster = cluster.clone();
        let code = blocking(move || {
            let mut c = cluster.lock().unwrap_or_else(|p| p.into_inner());
            let code = c.stop(Part::Context)?;
            c.start_part(Part::Context)?;
            Ok(code)
        })
        .await?;
        assert_eq!(code, Some(0), "SIGTERM is a clean exit");
    }
    // Its watch streams were cut: bob's desk reconnects.
    let mut bob = Agent::sign_in(&urls, "bob").await?;
    let r = bob.api.get(&format!("/api/conversations/{conv}")).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        texts(&r.body["messages"]),
        [
            "Hello from the distributed chat",
            "Bob here, over NATS",
            "Thanks Bob"
        ]
    );

    // Resolve, then the customer writes again: the conversation reopens and
    // goes back to bob, who handled it.
    bob.resolve(&conv).await?;
    bob.events.recv_type("released").await?;
    jo.say("One more question").await?;
    let (_, reopened) = bob.next_offer().await?;
    assert_eq!(reopened, conv, "reopened within the window, sticky to bob");
    Ok(())
}

/// The core parts and both channel adapters, each its own process.
const EVERY_PART: [Part; 6] = [
    Part::Context,
    Part::Router,
    Part::Chat,
    Part::Desk,
    Part::Email,
    Part::Sms,
];

/// The test kit's scenario of one customer across chat, email and SMS (also
/// run against the embedded app, `tests/e2e/omnichannel.rs`), with every
/// part in its own process: mail over real SMTP to `omni email`, texts as
/// Twilio's signed webhooks to `omni sms`, replies through `omni email` to
/// a real SMTP relay and through `omni sms` to a fake Twilio Messages API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_customer_across_chat_email_and_sms_processes() -> anyhow::Result<()> {
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let env = email_and_sms_env(&relay.url(), twilio.api_base());
    let cluster = blocking(move || env.start(binary(), &sample(), &EVERY_PART)).await?;

    // The adapters answer the gRPC health check a container probe makes.
    for part in [Part::Email, Part::Sms] {
        let out = omni()
            .args([
                "probe",
                "--grpc",
                &format!("127.0.0.1:{}", cluster.ports(part).grpc),
            ])
            .output()?;
        assert!(out.status.success(), "{} probe: {out:?}", part.name());
    }
    one_customer_across_chat_email_and_sms(&cluster, relay, &twilio).await
}

/// The URLs of a cluster, copied out so tests need no lock to use them.
pub(crate) struct Urls {
    chat_ws: String,
    desk: String,
}

impl Urls {
    pub(crate) fn of(cluster: &Cluster) -> Self {
        Self {
            chat_ws: cluster.chat_ws_url(),
            desk: cluster.desk_url(),
        }
    }
}

impl Endpoints for Urls {
    fn chat_ws_url(&self) -> String {
        self.chat_ws.clone()
    }
    fn desk_url(&self) -> String {
        self.desk.clone()
    }
    fn desk_events_url(&self) -> String {
        format!("{}/api/events", self.desk.replacen("http://", "ws://", 1))
    }
}

const AGENTS: [&str; 5] = ["alice", "bob", "carmen", "dmitri", "emma"];

/// Keeps every agent available and accepts every offer, through the
/// router's gRPC API, riding out router restarts.
async fn accept_everything(router_url: String, stop: Arc<AtomicBool>) {
    let channel = match grpc::channel(&router_url, grpc::SERVICE_TOKEN) {
        Ok(channel) => channel,
        Err(_) => return,
    };
    let mut router = RouterServiceClient::new(channel);
    while !stop.load(Ordering::Relaxed) {
        for agent in AGENTS {
            let Ok(state) = router
                .get_agent(GetAgentRequest {
                    agent_id: agent.into(),
                })
                .await
            else {
                continue;
            };
            let state = state.into_inner();
            if state.presence != Presence::Available as i32 {
                let _ = router
                    .set_presence(SetPresenceRequest {
                        agent_id: agent.into(),
                        presence: Presence::Available as i32,
                        reason: String::new(),
                    })
                    .await;
            }
            for offer in state.offers {
                let _ = router
                    .accept_offer(OfferRequest {
                        agent_id: agent.into(),
                        offer_id: offer.offer_id,
                    })
                    .await;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One chat customer sending numbered messages until told to stop; each is
/// retried with the same client id until the chat acknowledges it. Returns
/// the visitor id and the acknowledged texts.
async fn customer(
    urls: Arc<Urls>,
    n: usize,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(String, Vec<String>)> {
    let mut socket = JsonSocket::connect(&urls.chat_ws_url()).await?;
    socket
        .send(&json!({ "type": "hello", "name": format!("Customer {n}"), "topic": "support" }))
        .await?;
    let welcome = socket.recv_type("welcome").await?;
    let visitor = welcome["visitor"].as_str().unwrap_or_default().to_owned();
    let mut accepted = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let client_id = format!("m{i}");
        let text = format!("customer {n} message {i}");
        loop {
            socket
                .send(&json!({ "type": "message", "client_id": client_id, "text": text }))
                .await?;
            let reply = socket
                .recv_until("ack or error", |f| {
                    (f["type"] == "ack" || f["type"] == "error") && f["client_id"] == client_id
                })
                .await;
            match reply {
                Ok(f) if f["type"] == "ack" => break,
                // Not accepted now (the bus is away): send it again.
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        accepted.push(text);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    Ok((visitor, accepted))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_accepted_is_lost_when_parts_and_servers_restart() -> anyhow::Result<()> {
    let cluster = blocking(|| Cluster::start(binary())).await?;
    let urls = Arc::new(Urls::of(&cluster));
    let (router_url, context_url) = (
        cluster.grpc_url(Part::Router),
        cluster.grpc_url(Part::Context),
    );
    let stop_accepting = Arc::new(AtomicBool::new(false));
    let accepter = tokio::spawn(accept_everything(
        router_url.clone(),
        stop_accepting.clone(),
    ));

    let stop_sending = Arc::new(AtomicBool::new(false));
    let customers: Vec<_> = (1..=8)
        .map(|n| tokio::spawn(customer(urls.clone(), n, stop_sending.clone())))
        .collect();

    // Faults, one after the other, while the customers keep writing.
    let mut cluster = blocking(move || {
        let mut c = cluster;
        let pause = || std::thread::sleep(Duration::from_millis(1500));
        pause();
        c.kill(Part::Context)?;
        pause();
        c.start_part(Part::Context)?;
        pause();
        c.kill(Part::Router)?;
        pause();
        c.start_part(Part::Router)?;
        pause();
        c.redis.restart()?;
        pause();
        c.nats.restart()?;
        pause();
        Ok(c)
    })
    .await?;
    stop_sending.store(true, Ordering::Relaxed);
    let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in customers {
        let (visitor, accepted) = c.await??;
        assert!(accepted.len() > 20, "messages flowed: {}", accepted.len());
        sent.insert(visitor, accepted);
    }

    // Every accepted message is in its customer's history exactly once, in
    // order; every conversation ends up assigned (it was offered and taken).
    let mut context = ContextServiceClient::new(grpc::channel(&context_url, grpc::SERVICE_TOKEN)?);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut pending: Vec<String> = sent.keys().cloned().collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for visitor in pending {
            let settled = match history(&mut context, &visitor).await {
                Ok((status, inbound)) => {
                    let complete = inbound.len() >= sent[&visitor].len();
                    if complete {
                        // Exactly once. Not always in send order: a message
                        // in flight when the context service was killed is
                        // redelivered after the ack wait, behind later ones.
                        let (mut got, mut want) = (inbound.clone(), sent[&visitor].clone());
                        got.sort();
                        want.sort();
                        assert_eq!(
                            got, want,
                            "history of {visitor} is every accepted message exactly once"
                        );
                    }
                    complete && status == pb::ConversationStatus::Assigned as i32
                }
                Err(_) => false,
            };
            if !settled {
                still.push(visitor);
            }
        }
        pending = still;
        if !pending.is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not settled within 60 s: {pending:?}\ncontext log:\n{}\nrouter log:\n{}",
                cluster.log_tail(Part::Context),
                cluster.log_tail(Part::Router)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    stop_accepting.store(true, Ordering::Relaxed);
    accepter.await?;
    for part in Part::CORE {
        assert!(
            cluster.is_running(part),
            "{} survived the server restarts:\n{}",
            part.name(),
            cluster.log_tail(part)
        );
    }
    Ok(())
}

/// The conversation status and inbound texts of a chat visitor.
async fn history(
    context: &mut ContextServiceClient<omni_proto::auth::AuthChannel>,
    visitor: &str,
) -> anyhow::Result<(i32, Vec<String>)> {
    let found = context
        .find_conversation(FindConversationRequest {
            identity: Some(pb::Identity {
                kind: Some(pb::identity::Kind::ChatVisitor(visitor.to_owned())),
            }),
        })
        .await?
        .into_inner();
    let conversation = found
        .conversation
        .ok_or_else(|| anyhow::anyhow!("no conversation for {visitor}"))?;
    let mut texts = Vec::new();
    let mut after_seq = 0;
    loop {
        let page = context
            .list_messages(ListMessagesRequest {
                conversation_id: conversation.id.clone(),
                after_seq,
                limit: 500,
                include_notes: false,
            })
            .await?
            .into_inner();
        texts.extend(
            page.messages
                .into_iter()
                .filter(|m| m.direction == pb::Direction::Inbound as i32)
                .map(|m| m.text),
        );
        if page.next_after_seq == 0 {
            break;
        }
        after_seq = page.next_after_seq;
    }
    Ok((conversation.status, texts))
}

/// Runs `omni <part>` with `env` and returns (exit code, stderr).
fn run_part(part: &str, env: &[(&str, String)]) -> anyhow::Result<(Option<i32>, String)> {
    let mut command = omni();
    command.arg(part);
    command.env("OMNI_CONFIG", sample());
    for (k, v) in env {
        command.env(k, v);
    }
    for (k, port) in [
        ("OMNI_LISTEN_GRPC", omni_testservers::free_port()?),
        ("OMNI_LISTEN_CHAT", omni_testservers::free_port()?),
        ("OMNI_LISTEN_DESK", omni_testservers::free_port()?),
        ("OMNI_LISTEN_METRICS", omni_testservers::free_port()?),
    ] {
        if !env.iter().any(|(name, _)| *name == k) {
            command.env(k, format!("127.0.0.1:{port}"));
        }
    }
    let output = command.output()?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

#[test]
fn unreachable_nats_or_redis_at_start_is_a_clear_exit() -> anyhow::Result<()> {
    let nowhere = format!("nats://127.0.0.1:{}", omni_testservers::free_port()?);
    let (code, stderr) = run_part("context", &[("OMNI_NATS_URL", nowhere.clone())])?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("omni context: cannot reach NATS at {nowhere}"))
            && stderr.contains("OMNI_NATS_URL"),
        "{stderr}"
    );

    let nats = omni_testservers::nats::NatsServer::start()?;
    let no_redis = format!("redis://127.0.0.1:{}", omni_testservers::free_port()?);
    let (code, stderr) = run_part(
        "router",
        &[
            ("OMNI_NATS_URL", nats.url()),
            ("OMNI_REDIS_URL", no_redis.clone()),
        ],
    )?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("omni router: cannot reach Redis at {no_redis}"))
            && stderr.contains("OMNI_REDIS_URL"),
        "{stderr}"
    );

    // A part that calls another part must be told where it is (the desk
    // keeps its accounts in Redis: one is running).
    let redis = omni_testservers::redis::RedisServer::start()?;
    let (code, stderr) = run_part("desk", &[("OMNI_REDIS_URL", redis.url())])?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("set connect.context (or OMNI_CONNECT_CONTEXT)"),
        "{stderr}"
    );
    Ok(())
}
