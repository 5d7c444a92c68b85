//! One customer message is one trace across processes: every part in its
//! own `omni` process (real NATS and Redis), exporting to a real OTLP
//! receiver through the standard `OTEL_*` variables.
//!
//! - A chat message, an email and a text (the email and sms parts in their
//!   own processes too), over OTLP/gRPC (the protocol's own service
//!   definition): each message's trace holds spans of the adapter, context,
//!   router and desk processes (by `service.name`), one root, every span's
//!   parent in the trace; the agent's accept and reply are in it, down to
//!   the adapter's delivery to the provider; the routing decision carries
//!   its explanation; the context's log lines name the trace and span; the
//!   desk's conversation view gives the trace id. Twilio's later status
//!   callback on the text's reply is in the text's trace too, a child of
//!   the delivery, down to the context service storing the report.
//! - The same for a chat message over OTLP/HTTP (protobuf), received by a
//!   small HTTP handler decoding `ExportTraceServiceRequest`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omni::Part;
use omni_testkit::Cluster;
use omni_testkit::actors::{Agent, Customer, MailClient, Phone};
use omni_testkit::providers::{
    DOMAIN, OUR_NUMBER, SMS_PUBLIC_URL, email_and_sms_env, twilio_account,
};
use omni_testkit::twilio::{FakeTwilio, status_callback};
use omni_testservers::smtp::SmtpSink;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;

use crate::support::{binary, blocking, sample};

/// One span as the receiver got it.
#[derive(Debug, Clone)]
struct Got {
    service: String,
    name: String,
    trace: String,
    id: String,
    parent: String,
    attributes: BTreeMap<String, String>,
}

/// Every span received, by either protocol.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Got>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Receiver {
    fn record(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        for resource in request.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .map(|v| text(v.value.as_ref()))
                .unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push(Got {
                        service: service.clone(),
                        name: span.name,
                        trace: hex(&span.trace_id),
                        id: hex(&span.span_id),
                        parent: hex(&span.parent_span_id),
                        attributes: span
                            .attributes
                            .iter()
                            .map(|kv| {
                                let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                                (kv.key.clone(), text(value))
                            })
                            .collect(),
                    });
                }
            }
        }
    }

    fn spans(&self) -> Vec<Got> {
        self.spans.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Serves OTLP/gRPC on a free port; returns its URL.
    async fn serve_grpc(&self) -> anyhow::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(self.clone()))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        Ok(url)
    }

    /// Serves OTLP/HTTP (protobuf bodies at `/v1/traces`) on a free port;
    /// returns its base URL.
    async fn serve_http(&self) -> anyhow::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let receiver = self.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let receiver = receiver.clone();
                async move {
                    match ExportTraceServiceRequest::decode(body) {
                        Ok(request) => {
                            receiver.record(request);
                            let ok = ExportTraceServiceResponse {
                                partial_success: None,
                            };
                            (
                                axum::http::StatusCode::OK,
                                [("content-type", "application/x-protobuf")],
                                ok.encode_to_vec(),
                            )
                        }
                        Err(_) => (
                            axum::http::StatusCode::BAD_REQUEST,
                            [("content-type", "text/plain")],
                            b"not an ExportTraceServiceRequest".to_vec(),
                        ),
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.record(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// The checks on one trace, `None` when they hold.
fn broken(spans: &[Got], trace: &str, needed: &[(&str, &str)]) -> Option<String> {
    let of_trace: Vec<&Got> = spans.iter().filter(|s| s.trace == trace).collect();
    let ids: BTreeSet<&str> = of_trace.iter().map(|s| s.id.as_str()).collect();
    let roots: Vec<&&Got> = of_trace.iter().filter(|s| s.parent.is_empty()).collect();
    if roots.len() != 1 {
        return Some(format!("{} roots: {roots:?}", roots.len()));
    }
    if let Some(orphan) = of_trace
        .iter()
        .find(|s| !s.parent.is_empty() && !ids.contains(s.parent.as_str()))
    {
        return Some(format!(
            "a span whose parent is not in the trace: {orphan:?}"
        ));
    }
    for (service, name) in needed {
        if !of_trace
            .iter()
            .any(|s| s.service == *service && s.name == *name)
        {
            return Some(format!("no {name} span of {service}"));
        }
    }
    None
}

/// Waits until the trace of the one `root_name` span of `root_service`
/// passes the checks (spans arrive in batches, parents after children);
/// returns the trace's spans.
async fn trace_of(
    receiver: &Receiver,
    root_service: &str,
    root_name: &str,
    needed: &[(&str, &str)],
) -> Vec<Got> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        let roots: Vec<&Got> = spans
            .iter()
            .filter(|s| s.service == root_service && s.name == root_name)
            .collect();
        let problem = match roots.as_slice() {
            [root] => match broken(&spans, &root.trace, needed) {
                None => {
                    let trace = root.trace.clone();
                    return spans.into_iter().filter(|s| s.trace == trace).collect();
                }
                Some(problem) => problem,
            },
            other => format!("{} {root_name} spans of {root_service}", other.len()),
        };
        if tokio::time::Instant::now() > deadline {
            let listing: Vec<String> = spans
                .iter()
                .map(|s| {
                    format!(
                        "{} {} {} {}<-{}",
                        s.trace, s.service, s.name, s.id, s.parent
                    )
                })
                .collect();
            panic!("{problem}\nspans received:\n{}", listing.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The variables every part gets: export to `endpoint` over `protocol`,
/// batches sent every 100 ms.
fn otel_env(endpoint: &str, protocol: &str) -> Vec<(String, String)> {
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

/// What an agent's accept and reply add to a customer's trace, besides the
/// adapter's own spans.
const AGENT_AND_ROUTING: [(&str, &str); 8] = [
    ("omni-context", "context.ingest"),
    ("omni-router", "router.intake"),
    ("omni-router", "router.decide"),
    ("omni-desk", "desk.accept"),
    ("omni-router", "omni.routing.v1.RouterService/AcceptOffer"),
    ("omni-context", "context.assignment"),
    ("omni-desk", "desk.reply"),
    ("omni-context", "context.send_message"),
];

/// Alice takes the next offer and replies; returns the conversation id.
async fn accept_and_reply(alice: &mut Agent, text: &str) -> anyhow::Result<String> {
    let (offer, conversation) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    alice.events.recv_type("assigned").await?;
    alice
        .reply(&conversation, text, &format!("r-{conversation}"))
        .await?;
    Ok(conversation)
}

/// The spans of `trace` for the conversation: the routing decision explains
/// itself, and each part names the conversation on its spans.
fn assert_conversation_spans(trace: &[Got], conversation: &str) {
    let decision = trace
        .iter()
        .find(|s| s.name == "router.decide" && s.attributes.contains_key("omni.eligible_count"))
        .unwrap_or_else(|| panic!("a decision with its explanation: {trace:?}"));
    assert_eq!(decision.attributes["omni.conversation_id"], conversation);
    assert_eq!(
        decision.attributes["omni.eligible_count"], "1",
        "{decision:?}"
    );
    assert_eq!(
        decision.attributes["omni.rule"], "only_eligible",
        "{decision:?}"
    );
    assert_eq!(
        decision.attributes["omni.relaxation_step"], "1",
        "{decision:?}"
    );
    assert!(
        decision.attributes.contains_key("omni.score"),
        "{decision:?}"
    );
    for service in ["omni-context", "omni-router", "omni-desk"] {
        assert!(
            trace.iter().any(|s| s.service == service
                && s.attributes.get("omni.conversation_id").map(String::as_str)
                    == Some(conversation)),
            "{service} names the conversation on a span: {trace:?}"
        );
    }
    let ingest = trace
        .iter()
        .find(|s| s.name == "context.ingest")
        .unwrap_or_else(|| panic!("context.ingest: {trace:?}"));
    assert!(
        ingest
            .attributes
            .get("omni.customer_id")
            .is_some_and(|c| c.starts_with("cus_")),
        "the customer on the ingest span: {ingest:?}"
    );
    assert!(
        trace.iter().all(|s| s.service.starts_with("omni-")),
        "each part names its own service: {trace:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_email_and_sms_messages_are_one_trace_each_across_processes() -> anyhow::Result<()> {
    let receiver = Receiver::default();
    let endpoint = receiver.serve_grpc().await?;
    let twilio = FakeTwilio::start(&twilio_account()).await?;
    let relay = blocking(|| Ok(SmtpSink::start()?)).await?;
    let mut env = email_and_sms_env(&relay.url(), twilio.api_base());
    env.shared.extend(otel_env(&endpoint, "grpc"));
    let parts = [
        Part::Context,
        Part::Router,
        Part::Chat,
        Part::Desk,
        Part::Email,
        Part::Sms,
    ];
    let cluster = blocking(move || env.start(binary(), &sample(), &parts)).await?;
    // Only alice is on: every channel's default queue (support) offers to her.
    let mut alice = Agent::sign_in(&cluster, "alice").await?;

    // Chat.
    let (mut jo, _) = Customer::open(&cluster, None, "support").await?;
    jo.say("trace me, please").await?;
    let chat_conversation = accept_and_reply(&mut alice, "traced reply").await?;
    let pushed = jo.socket.recv_type("message").await?;
    assert_eq!(pushed["message"]["text"], "traced reply");
    let mut needed = vec![
        ("omni-chat", "chat.accept"),
        ("omni-chat", "adapter.inbound"),
        ("omni-chat", "adapter.send"),
        ("omni-chat", "adapter.deliver"),
        ("omni-chat", "adapter.report"),
        ("omni-context", "context.delivery"),
    ];
    needed.extend(AGENT_AND_ROUTING);
    let chat = trace_of(&receiver, "omni-chat", "chat.accept", &needed).await;
    assert_conversation_spans(&chat, &chat_conversation);
    // The desk's conversation view names the trace to look for.
    let view = alice
        .api
        .get(&format!("/api/conversations/{chat_conversation}"))
        .await?;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(
        view.body["conversation"]["trace_id"].as_str(),
        chat.first().map(|s| s.trace.as_str()),
        "{}",
        view.body
    );
    // The context's log lines inside the trace name it, and the span.
    let ingest = chat
        .iter()
        .find(|s| s.name == "context.ingest")
        .map(|s| (s.trace.clone(), s.id.clone()))
        .unwrap_or_default();
    let log = std::fs::read_to_string(cluster.log_path(Part::Context))?;
    assert!(
        log.lines().any(|l| l.contains("inbound message stored")
            && l.ends_with(&format!("trace_id={} span_id={}", ingest.0, ingest.1))),
        "the context's log names the trace and span {ingest:?}:\n{log}"
    );
    alice.resolve(&chat_conversation).await?;
    alice.events.recv_type("released").await?;

    // Email: a new customer writes to the support address.
    MailClient::new(cluster.smtp_addr(), "Ann Customer <ann@example.org>")
        .send(
            &format!("help@{DOMAIN}"),
            "<ann-1@example.org>",
            "Where is my parcel?",
            "It was due yesterday.",
        )
        .await?;
    let email_conversation = accept_and_reply(&mut alice, "it ships today").await?;
    let mut needed = vec![
        ("omni-email", "email.accept"),
        ("omni-email", "adapter.inbound"),
        ("omni-email", "adapter.deliver"),
    ];
    needed.extend(AGENT_AND_ROUTING);
    let email = trace_of(&receiver, "omni-email", "email.accept", &needed).await;
    assert_conversation_spans(&email, &email_conversation);
    blocking(move || Ok(relay.wait_for(1, Duration::from_secs(15)).map(|_| ())?)).await?;
    alice.resolve(&email_conversation).await?;
    alice.events.recv_type("released").await?;

    // SMS: a new customer texts, as Twilio's signed webhook.
    let mut phone = Phone::new(
        &cluster.sms_url(),
        SMS_PUBLIC_URL,
        &twilio_account(),
        "+14155550199",
        OUR_NUMBER,
    );
    phone.text("Is the store open on Sunday?").await?;
    let sms_conversation = accept_and_reply(&mut alice, "yes, from ten").await?;
    // Twilio reports the reply delivered, later, on its status callback.
    let sent = twilio.wait_for(1, Duration::from_secs(15)).await?;
    status_callback(
        &cluster.sms_url(),
        SMS_PUBLIC_URL,
        &twilio_account(),
        &sent[0],
        "delivered",
    )
    .await?;
    let mut needed = vec![
        ("omni-sms", "sms.callback"),
        ("omni-sms", "sms.accept"),
        ("omni-sms", "adapter.deliver"),
        ("omni-sms", "sms.status"),
        ("omni-sms", "adapter.report"),
    ];
    needed.extend(AGENT_AND_ROUTING);
    // The delivered report reaches the context service last, after spans
    // of earlier reports: read the trace again until it is there (or the
    // assertions below say what is missing).
    let delivered_in_context = |sms: &[Got]| {
        sms.iter().any(|c| {
            c.name == "context.delivery"
                && sms.iter().any(|r| {
                    r.id == c.parent
                        && r.name == "adapter.report"
                        && r.attributes.get("status").map(String::as_str)
                            == Some("DELIVERY_STATUS_DELIVERED")
                })
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut sms = trace_of(&receiver, "omni-sms", "sms.callback", &needed).await;
    while !delivered_in_context(&sms) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sms = trace_of(&receiver, "omni-sms", "sms.callback", &needed).await;
    }
    assert_conversation_spans(&sms, &sms_conversation);
    // The provider's report is the delivery's child, and reaches the
    // context service in the same trace.
    let deliver = sms
        .iter()
        .find(|s| s.name == "adapter.deliver")
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let status = sms
        .iter()
        .find(|s| s.name == "sms.status")
        .unwrap_or_else(|| panic!("sms.status: {sms:?}"));
    assert_eq!(status.parent, deliver, "{sms:?}");
    assert_eq!(
        status.attributes.get("omni.conversation_id"),
        Some(&sms_conversation),
        "{status:?}"
    );
    let reported = sms
        .iter()
        .filter(|s| {
            s.name == "adapter.report"
                && s.attributes.get("status").map(String::as_str)
                    == Some("DELIVERY_STATUS_DELIVERED")
        })
        .map(|s| s.id.clone())
        .collect::<Vec<_>>();
    assert_eq!(reported.len(), 1, "{sms:?}");
    assert!(
        sms.iter()
            .any(|s| s.name == "context.delivery" && reported.contains(&s.parent)),
        "the context stores the delivered report in the trace: {sms:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_is_one_trace_over_otlp_http() -> anyhow::Result<()> {
    let receiver = Receiver::default();
    let endpoint = receiver.serve_http().await?;
    let mut env = otel_env(&endpoint, "http/protobuf");
    env.push(("OMNI_ROUTING_OFFER_TIMEOUT_SECS".into(), "30".into()));
    let cluster = blocking(move || {
        let shared: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Cluster::start_parts(binary(), &sample(), &Part::CORE, &shared, &[])
    })
    .await?;
    let mut alice = Agent::sign_in(&cluster, "alice").await?;
    let (mut jo, _) = Customer::open(&cluster, None, "support").await?;
    jo.say("over http, please").await?;
    let conversation = accept_and_reply(&mut alice, "received over http").await?;
    let mut needed = vec![
        ("omni-chat", "chat.accept"),
        ("omni-chat", "adapter.deliver"),
    ];
    needed.extend(AGENT_AND_ROUTING);
    let trace = trace_of(&receiver, "omni-chat", "chat.accept", &needed).await;
    assert_conversation_spans(&trace, &conversation);
    Ok(())
}
