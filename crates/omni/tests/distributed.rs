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
//!   in their own processes too: mail over real SMTP to `omni email`, texts
//!   as Twilio's signed webhooks to `omni sms`, both routed and offered on
//!   the desk; replies leave through `omni email` to a real SMTP relay
//!   (aiosmtpd) and through `omni sms` to a fake Twilio Messages API.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use omni::Part;
use omni_proto::common as pb;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{FindConversationRequest, ListMessagesRequest};
use omni_proto::routing::router_service_client::RouterServiceClient;
use omni_proto::routing::{GetAgentRequest, OfferRequest, Presence, SetPresenceRequest};
use omni_testkit::actors::{Agent, Customer, MailClient, Phone, assert_threaded_reply, texts};
use omni_testkit::twilio::{FakeTwilio, TwilioAccount};
use omni_testkit::{Cluster, Endpoints, JsonSocket};
use omni_testservers::smtp::SmtpSink;
use serde_json::json;
use tonic::transport::Channel;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_omni"))
}

/// Runs blocking cluster operations (process spawns, waits) off the runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

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
        let out = std::process::Command::new(binary())
            .args(["probe", "--grpc", &format!("127.0.0.1:{port}")])
            .output()?;
        assert!(out.status.success(), "{} probe: {out:?}", part.name());
    }
    let nowhere = omni_testservers::free_port()?;
    let out = std::process::Command::new(binary())
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

const DOMAIN: &str = "support.example.com";
const SMS_PUBLIC_URL: &str = "http://sms.omniroute.test";
const OUR_NUMBER: &str = "+15005550006";
const JO_PHONE: &str = "+14155550123";

/// The core parts and both channel adapters, each its own process.
const EVERY_PART: [Part; 6] = [
    Part::Context,
    Part::Router,
    Part::Chat,
    Part::Desk,
    Part::Email,
    Part::Sms,
];

/// The scenario of `tests/e2e/omnichannel.rs`, with every part in its own
/// process: the customer starts on chat, the agent links their email address
/// and phone number; mail to the conversation's reply address and a text
/// from the phone each reopen the one conversation and are offered to the
/// agent who handled it; the agent's replies leave by SMS and by email, the
/// email threaded under the customer's mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_customer_across_chat_email_and_sms_processes() -> anyhow::Result<()> {
    let account = TwilioAccount {
        sid: "AC00000000000000000000000000000001".into(),
        auth_token: "twilio-auth-token".into(),
    };
    let twilio = FakeTwilio::start(&account).await?;
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let (relay_url, api_base) = (relay.url(), twilio.api_base().to_owned());
    let (sid, token) = (account.sid.clone(), account.auth_token.clone());
    let cluster = blocking(move || {
        // Shared by every part; each adapter's switch, settings and secrets
        // reach its own process only, as in deploy/.
        let shared = [
            ("OMNI_ROUTING_OFFER_TIMEOUT_SECS", "2"),
            ("OMNI_ROUTING_DECLINE_COOLDOWN_SECS", "1"),
            ("OMNI_CONTEXT_REPLY_DOMAIN", DOMAIN),
            ("OMNI_CONTEXT_DEFAULT_REGION", "US"),
        ];
        let from = format!("support@{DOMAIN}");
        let own = [
            (Part::Email, "OMNI_EMAIL_ENABLED", "true"),
            (Part::Email, "OMNI_EMAIL_DOMAINS", DOMAIN),
            (Part::Email, "OMNI_EMAIL_RELAY", relay_url.as_str()),
            (Part::Email, "OMNI_EMAIL_FROM", from.as_str()),
            (Part::Sms, "OMNI_SMS_ENABLED", "true"),
            (Part::Sms, "OMNI_SMS_PROVIDER", "twilio"),
            (Part::Sms, "OMNI_SMS_FROM", OUR_NUMBER),
            (Part::Sms, "OMNI_SMS_PUBLIC_URL", SMS_PUBLIC_URL),
            (Part::Sms, "OMNI_SMS_TWILIO_ACCOUNT_SID", sid.as_str()),
            (Part::Sms, "OMNI_SMS_TWILIO_AUTH_TOKEN", token.as_str()),
            (Part::Sms, "OMNI_SMS_TWILIO_API_BASE", api_base.as_str()),
        ];
        Cluster::start_parts(
            binary(),
            &omni_testkit::app::sample_config_path(),
            &EVERY_PART,
            &shared,
            &own,
        )
    })
    .await?;
    let urls = Urls::of(&cluster);

    // The adapters answer the gRPC health check a container probe makes.
    for part in [Part::Email, Part::Sms] {
        let out = std::process::Command::new(binary())
            .args([
                "probe",
                "--grpc",
                &format!("127.0.0.1:{}", cluster.ports(part).grpc),
            ])
            .output()?;
        assert!(out.status.success(), "{} probe: {out:?}", part.name());
    }

    // Chat: alice is the only agent on; she takes it and links what the
    // customer gives.
    let mut alice = Agent::sign_in(&urls, "alice").await?;
    let (mut jo, _) = Customer::open(&urls, None, "support").await?;
    jo.say("Hi, my order 1042 is late").await?;
    let (offer, conv) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    jo.say("You can reach me at jo@example.org or +1 415 555 0123")
        .await?;
    for (kind, value) in [("email", "jo@Example.ORG"), ("phone", "(415) 555-0123")] {
        alice
            .link_identity(&conv, kind, value, "given by the customer in chat")
            .await?;
    }

    // A more proficient colleague comes on (support 8 to alice's 4): what
    // the customer sends next still goes to alice, who handled them.
    let mut carmen = Agent::sign_in(&urls, "carmen").await?;
    let same_conversation = |what: &str, offer: (String, String)| {
        assert_eq!(offer.1, conv, "{what} reopens the same conversation");
        offer.0
    };

    // Email: resolved, then mail to the reply address over SMTP to the
    // email process; the context service reopens it, the router offers it.
    alice.resolve(&conv).await?;
    alice.events.recv_type("released").await?;
    let reply_address = format!("reply+{conv}@{DOMAIN}");
    MailClient::new(cluster.smtp_addr(), "Jo Customer <jo@example.org>")
        .send(
            &reply_address,
            "<jo-1@example.org>",
            "Order 1042",
            "It still has not arrived.\n\n-- \nJo",
        )
        .await?;
    let offer = same_conversation("the mail", alice.next_offer().await?);
    alice.settle(&offer, "accept").await?;

    // SMS: resolved again, then a text as Twilio's signed webhook to the
    // sms process, from the linked phone.
    alice.resolve(&conv).await?;
    alice.events.recv_type("released").await?;
    let mut phone = Phone::new(
        &cluster.sms_url(),
        SMS_PUBLIC_URL,
        &account,
        JO_PHONE,
        OUR_NUMBER,
    );
    phone.text("Texting from my phone now").await?;
    let offer = same_conversation("the text", alice.next_offer().await?);
    alice.settle(&offer, "accept").await?;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), carmen.next_offer())
            .await
            .is_err(),
        "carmen is not offered the returning customer"
    );

    // Replies by SMS and by email, each through its adapter's process.
    for (channel, text) in [
        ("sms", "It ships today, tracking follows."),
        ("email", "Tracking number: 1Z999."),
    ] {
        let r = alice
            .api
            .post(
                &format!("/api/conversations/{conv}/messages"),
                &json!({ "text": text, "client_id": format!("r-{channel}"), "channel": channel }),
            )
            .await?;
        assert_eq!(r.status, 200, "{channel} reply: {}", r.body);
    }
    let sent = twilio.wait_for(1, Duration::from_secs(15)).await?;
    let sms = &sent[0];
    assert_eq!(sms.field("To"), Some(JO_PHONE), "{sms:?}");
    assert_eq!(sms.field("From"), Some(OUR_NUMBER), "{sms:?}");
    assert_eq!(
        sms.field("Body"),
        Some("It ships today, tracking follows."),
        "{sms:?}"
    );
    assert!(
        sms.field("StatusCallback")
            .is_some_and(|url| url.starts_with(&format!("{SMS_PUBLIC_URL}/twilio/status"))),
        "{sms:?}"
    );
    let mail = blocking(move || Ok(relay.wait_for(1, Duration::from_secs(15))?)).await?;
    let mail = &mail[0];
    assert_threaded_reply(
        mail,
        "jo@example.org",
        "jo-1@example.org",
        &reply_address,
        "Tracking number: 1Z999.",
    );

    // One timeline, every channel, in order; the relay's 250 came back
    // from the email process as the reply's delivery status.
    let t = alice.timeline_of(&conv, 6).await?;
    assert_eq!(
        t.iter()
            .map(|(c, d, x)| (c.as_str(), d.as_str(), x.as_str()))
            .collect::<Vec<_>>(),
        [
            ("chat", "inbound", "Hi, my order 1042 is late"),
            (
                "chat",
                "inbound",
                "You can reach me at jo@example.org or +1 415 555 0123"
            ),
            ("email", "inbound", "It still has not arrived."),
            ("sms", "inbound", "Texting from my phone now"),
            ("sms", "outbound", "It ships today, tracking follows."),
            ("email", "outbound", "Tracking number: 1Z999."),
        ],
        "one conversation across three processes' channels"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = alice.api.get(&format!("/api/conversations/{conv}")).await?;
        let delivery = r.body["messages"][5]["delivery"].clone();
        if delivery == "sent" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the email reply is reported sent, not {delivery}\nemail log:\n{}",
            cluster.log_tail(Part::Email)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The URLs of a cluster, copied out so tests need no lock to use them.
struct Urls {
    chat_ws: String,
    desk: String,
}

impl Urls {
    fn of(cluster: &Cluster) -> Self {
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
    fn desk_events_url(&self, token: &str) -> String {
        format!(
            "{}/api/events?token={token}",
            self.desk.replacen("http://", "ws://", 1)
        )
    }
}

const AGENTS: [&str; 5] = ["alice", "bob", "carmen", "dmitri", "emma"];

/// Keeps every agent available and accepts every offer, through the
/// router's gRPC API, riding out router restarts.
async fn accept_everything(router_url: String, stop: Arc<AtomicBool>) {
    let channel = match Channel::from_shared(router_url) {
        Ok(endpoint) => endpoint.connect_lazy(),
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
    let mut context = ContextServiceClient::new(Channel::from_shared(context_url)?.connect_lazy());
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
    context: &mut ContextServiceClient<Channel>,
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
    let mut command = std::process::Command::new(binary());
    command.arg(part);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OMNI_")) {
        command.env_remove(k);
    }
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/omniroute.toml");
    command.env("OMNI_CONFIG", config);
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

    // A part that calls another part must be told where it is.
    let (code, stderr) = run_part("desk", &[])?;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("set connect.context (or OMNI_CONNECT_CONTEXT)"),
        "{stderr}"
    );
    Ok(())
}
