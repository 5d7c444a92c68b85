//! What every SMS test needs: a bus, an adapter on a free port, signed
//! requests, and readers for what the adapter published.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use hyper::http::{Method, header};
use omni_bus::topology::{CONTEXT_DELIVERY, CONTEXT_INBOUND, subjects};
use omni_bus::{Bus, BusStream, Delivery, EmbeddedBus, Message};
use omni_core::Channel;
use omni_core::config::{Config, SmsProvider};
use omni_proto::common as pb;
use omni_proto::events as ev;
use omni_sms::SmsAdapter;
use omni_sms::http::{HttpClient, HttpResponse};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "twilio-test-auth-token";
pub const OUR_NUMBER: &str = "+14155550100";
pub const CUSTOMER: &str = "+14155552671";
pub const KANNEL_SECRET: &str = "kannel-shared-secret";
/// The trace every reply of [`App::send_reply`] belongs to, as the context
/// service's `traceparent` header gives it.
pub const REPLY_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The trace id of a bus message's `traceparent` header.
pub fn trace_id(message: &Message) -> String {
    message
        .headers
        .get(omni_bus::TRACEPARENT)
        .and_then(|v| omni_core::trace::TraceContext::parse(v))
        .map(|t| t.trace_id_hex())
        .unwrap_or_default()
}

/// An SMS configuration for tests; `public_url` is set by [`App::start`].
pub fn config(provider: SmsProvider) -> Config {
    let mut config = Config::default();
    config.sms.enabled = true;
    config.sms.provider = provider;
    config.sms.from = OUR_NUMBER.into();
    config.sms.twilio.account_sid = ACCOUNT.into();
    config.sms.twilio.auth_token = TOKEN.into();
    config.sms.kannel.username = omni_testservers::kannel::SENDSMS_USER.into();
    config.sms.kannel.password = omni_testservers::kannel::SENDSMS_PASSWORD.into();
    config.sms.kannel.secret = KANNEL_SECRET.into();
    config.sms.request_timeout_secs = 3;
    config
}

/// A running adapter: HTTP server and outbound consumer.
pub struct App {
    pub adapter: Arc<SmsAdapter>,
    pub bus: Arc<dyn Bus>,
    pub base: String,
    pub http: HttpClient,
    shutdown: CancellationToken,
    _dir: Option<tempfile::TempDir>,
}

impl App {
    /// On a fresh embedded bus.
    pub async fn start(config: Config) -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        let bus: Arc<dyn Bus> = EmbeddedBus::open(&dir.path().join("bus")).expect("open bus");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut app = App::serve(listener, bus, config).await;
        app._dir = Some(dir);
        app
    }

    /// On `bus`, serving on `listener`; `public_url` points at it.
    pub async fn serve(listener: TcpListener, bus: Arc<dyn Bus>, mut config: Config) -> App {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        config.sms.public_url = base.clone();
        config.validate_sms();
        let adapter = SmsAdapter::new(bus.clone(), Arc::new(config)).expect("adapter");
        let shutdown = CancellationToken::new();
        tokio::spawn(omni_sms::serve(listener, adapter.clone(), shutdown.clone()));
        tokio::spawn(omni_sms::outbound::run(
            adapter.clone(),
            bus.clone(),
            shutdown.clone(),
        ));
        App {
            adapter,
            bus,
            base,
            http: HttpClient::new(Duration::from_secs(10), "omniroute-test").expect("client"),
            shutdown,
            _dir: None,
        }
    }

    /// POSTs an incoming SMS webhook to `/twilio/sms`, validly signed.
    pub async fn post_sms(&self, params: &[(&str, &str)]) -> HttpResponse {
        self.post_twilio("/twilio/sms", params, Signature::Valid)
            .await
    }

    /// POSTs a form to `path_and_query`, signed as Twilio would when
    /// `signed`.
    pub async fn post_twilio(
        &self,
        path_and_query: &str,
        params: &[(&str, &str)],
        signature: Signature,
    ) -> HttpResponse {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let url = format!("{}{path_and_query}", self.base);
        let mut headers = Vec::new();
        match signature {
            Signature::Valid => headers.push((
                header::HeaderName::from_static("x-twilio-signature"),
                omni_sms::signature::sign(TOKEN, &url, &owned),
            )),
            Signature::Forged => headers.push((
                header::HeaderName::from_static("x-twilio-signature"),
                omni_sms::signature::sign("not-the-token", &url, &owned),
            )),
            Signature::None => {}
        }
        let body = form(params);
        self.http
            .send(
                Method::POST,
                &url,
                &headers,
                Some(("application/x-www-form-urlencoded", body)),
            )
            .await
            .expect("request")
    }

    pub async fn get(&self, path_and_query: &str) -> HttpResponse {
        self.http
            .send(
                Method::GET,
                &format!("{}{path_and_query}", self.base),
                &[],
                None,
            )
            .await
            .expect("request")
    }

    /// Publishes an agent's reply for `to` on `omni.outbound.sms`, in the
    /// trace [`REPLY_TRACE_ID`].
    pub async fn send_reply(&self, message_id: &str, to: &str, text: &str) {
        let outbound = ev::OutboundMessage {
            attachments: Vec::new(),
            message: Some(pb::Message {
                id: message_id.into(),
                conversation_id: format!("conv-{message_id}"),
                seq: 2,
                direction: pb::Direction::Outbound as i32,
                channel: pb::Channel::Sms as i32,
                channel_name: "sms".to_owned(),
                agent_id: "alice".into(),
                text: text.into(),
                at_ms: 1,
                delivery: pb::DeliveryStatus::Queued as i32,
                idempotency_key: format!("reply:{message_id}"),
                ..Default::default()
            }),
            to: Some(pb::Identity {
                kind: Some(pb::identity::Kind::Phone(to.into())),
            }),
            email: None,
        };
        self.bus
            .publish(
                Message::new(subjects::outbound(Channel::SMS), outbound.encode_to_vec())
                    .with_header(
                        omni_bus::TRACEPARENT,
                        format!("00-{REPLY_TRACE_ID}-00f067aa0ba902b7-01"),
                    ),
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

/// How a test request is signed.
#[derive(Clone, Copy)]
pub enum Signature {
    Valid,
    Forged,
    None,
}

pub fn form(params: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The JSON error code of a refusal.
pub fn error_code(response: &HttpResponse) -> String {
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&response.body)
        )
    });
    json["error"].as_str().unwrap_or_default().to_owned()
}

/// Inbound messages published so far (as the context service would get them).
pub struct Inbox {
    deliveries: BusStream<Delivery>,
}

impl Inbox {
    pub async fn inbound(bus: &Arc<dyn Bus>) -> Inbox {
        Inbox {
            deliveries: bus.consume(&CONTEXT_INBOUND).await.expect("consume"),
        }
    }

    pub async fn delivery(bus: &Arc<dyn Bus>) -> Inbox {
        Inbox {
            deliveries: bus.consume(&CONTEXT_DELIVERY).await.expect("consume"),
        }
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

/// Valid Twilio incoming-message parameters.
pub fn incoming<'a>(sid: &'a str, from: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", OUR_NUMBER),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// Config validation as the binary does it, for the SMS part.
trait ValidateSms {
    fn validate_sms(&self);
}

impl ValidateSms for Config {
    fn validate_sms(&self) {
        let mut with_queue = self.clone();
        with_queue.queues = Config::parse("[[queues]]\nid = \"support\"\n")
            .expect("one queue")
            .queues;
        with_queue.validate().expect("valid sms config");
    }
}
