//! What every webhook test needs: the adapter on a free port over a bus,
//! the app (a real HTTP server that checks the signature of each reply and
//! answers as scripted), signed requests, and readers of what the adapter
//! published.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use futures_util::StreamExt;
use omni_adapter::Backoff;
use omni_bus::topology::{CONTEXT_DELIVERY, CONTEXT_INBOUND, ConsumerSpec, subjects};
use omni_bus::{Bus, BusStream, Delivery, EmbeddedBus, Message};
use omni_core::config::Config;
use omni_core::time::now_ms;
use omni_proto::common as pb;
use omni_proto::events as ev;
use omni_webhook::WebhookAdapter;
use omni_webhook::client::{Answer, AppClient};
use omni_webhook::outbound::AppReply;
use omni_webhook::signature;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const KEY: &str = "current-app-signing-key";
pub const PREVIOUS_KEY: &str = "previous-app-signing-key";
pub const CUSTOMER: &str = "user-42";

/// The retries of the tests: three attempts, a few milliseconds apart.
pub fn quick_backoff() -> Backoff {
    Backoff {
        base: Duration::from_millis(5),
        max: Duration::from_millis(20),
        max_attempts: 3,
    }
}

/// A configuration with channel `app` (identity kind `app`, opaque ids,
/// texts up to 200 characters), the webhook enabled toward `outbound_url`.
pub fn config(outbound_url: &str) -> Config {
    let mut config = Config::parse(
        r#"
[[queues]]
id = "support"

[channels.app]
identity = "app"
max_text_chars = 200
can_start = true

[identities.app]
normalize = "opaque"
"#,
    )
    .expect("config");
    config.webhook.enabled = true;
    config.webhook.outbound_url = outbound_url.to_owned();
    config.webhook.key = KEY.into();
    config.webhook.previous_key = PREVIOUS_KEY.into();
    config.webhook.max_body_bytes = 4096;
    config.webhook.request_timeout_secs = 2;
    config.validate().expect("valid webhook config");
    config
}

/// One request the app received.
#[derive(Debug, Clone)]
pub struct Received {
    pub reply: AppReply,
    /// Whether it carried a fresh signature under [`KEY`].
    pub signed: bool,
}

/// The company's app: receives replies at `/replies`.
pub struct Peer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    shutdown: CancellationToken,
}

#[derive(Clone)]
struct PeerState {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    /// A customer whose replies are refused with 422 `user_blocked`.
    blocked: Option<String>,
}

async fn replies(
    State(state): State<PeerState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let timestamp = header(signature::TIMESTAMP);
    let signed = signature::verify(
        &[KEY.as_bytes()],
        &timestamp,
        &body,
        &header(signature::SIGNATURE),
    ) && signature::stale(&timestamp, now_ms() / 1000, 300).is_none();
    let reply: AppReply = serde_json::from_slice(&body).expect("a reply as documented");
    let blocked = state.blocked.as_deref() == Some(reply.customer_id.as_str());
    let n = {
        let mut received = state.received.lock().expect("lock");
        received.push(Received { reply, signed });
        received.len()
    };
    if blocked {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"error":"user_blocked","message":"the user blocked the contact center"}"#.into(),
        );
    }
    let (status, body) = state
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or((200, format!(r#"{{"app_message_id":"app-{n}"}}"#)));
    (StatusCode::from_u16(status).expect("status"), body)
}

impl Peer {
    pub async fn start() -> Peer {
        Self::start_with(None).await
    }

    /// An app that refuses every reply to `customer` with 422 `user_blocked`.
    pub async fn start_refusing(customer: &str) -> Peer {
        Self::start_with(Some(customer.to_owned())).await
    }

    async fn start_with(blocked: Option<String>) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/replies", listener.local_addr().expect("addr"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let app = Router::new()
            .route("/replies", post(replies))
            .with_state(PeerState {
                received: received.clone(),
                script: script.clone(),
                blocked,
            });
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        Peer {
            url,
            received,
            script,
            shutdown,
        }
    }

    /// The next replies get these answers, in order; then 200.
    pub fn answer(&self, answers: &[(u16, &str)]) {
        self.script
            .lock()
            .expect("lock")
            .extend(answers.iter().map(|(s, b)| (*s, b.to_string())));
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A running adapter: HTTP server and outbound consumer.
pub struct App {
    pub adapter: Arc<WebhookAdapter>,
    pub bus: Arc<dyn Bus>,
    pub base: String,
    pub http: AppClient,
    shutdown: CancellationToken,
    _dir: Option<tempfile::TempDir>,
}

impl App {
    /// On a fresh embedded bus, replies going to `peer`.
    pub async fn start(peer: &Peer) -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("open bus");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut app = App::serve(listener, bus, config(&peer.url)).await;
        app._dir = Some(dir);
        app
    }

    /// On `bus`, serving on `listener`.
    pub async fn serve(listener: TcpListener, bus: Arc<dyn Bus>, config: Config) -> App {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let adapter = WebhookAdapter::new(bus.clone(), Arc::new(config)).expect("adapter");
        omni_webhook::outbound::declare(&adapter, bus.as_ref())
            .await
            .expect("declare the outbound consumer");
        let shutdown = CancellationToken::new();
        tokio::spawn(omni_webhook::serve(
            listener,
            adapter.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(omni_webhook::outbound::run_with(
            adapter.clone(),
            bus.clone(),
            quick_backoff(),
            shutdown.clone(),
        ));
        App {
            adapter,
            bus,
            base,
            http: AppClient::new(Duration::from_secs(10)),
            shutdown,
            _dir: None,
        }
    }

    /// POSTs `body` to `path` signed with `key` at `timestamp`.
    pub async fn post_signed(&self, path: &str, body: &str, key: &str, timestamp: i64) -> Answer {
        let headers = signature::headers(key.as_bytes(), timestamp, body.as_bytes());
        self.post(path, body, &headers).await
    }

    /// POSTs `body` to `path` with `headers` as given.
    pub async fn post(&self, path: &str, body: &str, headers: &[(&str, String)]) -> Answer {
        self.http
            .post_json(
                &format!("{}{path}", self.base),
                headers,
                body.as_bytes().to_vec(),
            )
            .await
            .expect("an answer")
    }

    /// A customer's message, validly signed now with the current key.
    pub async fn customer_writes(&self, message_id: &str, customer: &str, text: &str) -> Answer {
        self.post_signed(
            "/webhook/v1/messages",
            &message(message_id, customer, text),
            KEY,
            now_secs(),
        )
        .await
    }

    /// Publishes an agent's reply to `customer` on `omni.outbound.app`.
    pub async fn send_reply(&self, message_id: &str, customer: &str, text: &str) {
        let channel = self.adapter.channel();
        let outbound = ev::OutboundMessage {
            attachments: Vec::new(),
            message: Some(pb::Message {
                id: message_id.into(),
                conversation_id: format!("conv-{message_id}"),
                seq: 2,
                direction: pb::Direction::Outbound as i32,
                channel_name: channel.to_string(),
                agent_id: "alice".into(),
                text: text.into(),
                at_ms: 1,
                delivery: pb::DeliveryStatus::Queued as i32,
                idempotency_key: format!("reply:{message_id}"),
                ..Default::default()
            }),
            to: Some(app_identity(customer)),
            email: None,
        };
        self.bus
            .publish(
                Message::new(subjects::outbound(channel), outbound.encode_to_vec()),
                Some(message_id),
            )
            .await
            .expect("publish reply");
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn now_secs() -> i64 {
    now_ms() / 1000
}

pub fn app_identity(customer: &str) -> pb::Identity {
    pb::Identity {
        kind: Some(pb::identity::Kind::Declared(pb::DeclaredIdentity {
            kind: "app".into(),
            value: customer.into(),
        })),
    }
}

/// A customer's message as the app posts it.
pub fn message(message_id: &str, customer: &str, text: &str) -> String {
    serde_json::json!({
        "message_id": message_id,
        "customer_id": customer,
        "text": text,
        "display_name": "Ada",
    })
    .to_string()
}

/// The JSON error code of a refusal.
pub fn error_code(answer: &Answer) -> String {
    let json: serde_json::Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&answer.body)));
    json["error"].as_str().unwrap_or_default().to_owned()
}

/// Dead letters, as an operator's consumer reads them.
pub const DEAD_LETTERS: ConsumerSpec = ConsumerSpec {
    name: "test-dead-letters",
    stream: omni_bus::topology::DEADLETTER.name,
    filter: "omni.deadletter.>",
    ack_wait: Duration::from_secs(30),
    max_ack_pending: 16,
};

/// What the adapter published, as a consumer of it would get it.
pub struct Inbox {
    deliveries: BusStream<Delivery>,
}

impl Inbox {
    pub async fn of(bus: &Arc<dyn Bus>, spec: &ConsumerSpec) -> Inbox {
        Inbox {
            deliveries: bus.consume(spec).await.expect("consume"),
        }
    }

    pub async fn inbound(bus: &Arc<dyn Bus>) -> Inbox {
        Self::of(bus, &CONTEXT_INBOUND).await
    }

    pub async fn delivery(bus: &Arc<dyn Bus>) -> Inbox {
        Self::of(bus, &CONTEXT_DELIVERY).await
    }

    /// The next message, acked; panics after 15 s.
    pub async fn next<T: prost::Message + Default>(&mut self) -> (T, Message) {
        let delivery = tokio::time::timeout(Duration::from_secs(15), self.deliveries.next())
            .await
            .expect("a message in time")
            .expect("stream open");
        let message = delivery.message.clone();
        delivery.ack().await.expect("ack");
        (
            T::decode(message.payload.as_ref()).expect("decode"),
            message,
        )
    }

    /// Whether nothing more comes within `wait`.
    pub async fn is_quiet(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.deliveries.next())
            .await
            .is_err()
    }
}
