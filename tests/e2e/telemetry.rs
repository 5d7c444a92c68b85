//! One customer message is one trace across parts (embedded mode): the
//! spans of the chat adapter, the context service, the router and the
//! agent's accept on the desk reach an OTLP collector with one trace id. The collector here is a real OTLP/gRPC endpoint
//! (the protocol's own service definition), recording what it receives.

use std::sync::{Arc, Mutex};

use omni_testkit::TestApp;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::{Request, Response, Status};

use crate::support::{Agent, Customer};

/// Span name and trace id, as received.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[derive(Clone, Default)]
struct Collector {
    spans: Received,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((span.name, span.trace_id));
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test]
async fn one_customer_message_is_one_trace_across_parts() -> anyhow::Result<()> {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    // nextest runs each test in its own process, so this test owns the global subscriber.
    let telemetry = omni_telemetry::init(&omni_telemetry::TelemetryOptions::grpc(endpoint))?;
    anyhow::ensure!(
        telemetry.exporting(),
        "run with cargo nextest: another test installed the subscriber"
    );

    let app = TestApp::start().await?;
    let mut alice = Agent::sign_in(&app, "alice").await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("trace me, please").await?;
    let (offer, _) = alice.next_offer().await?;
    alice.settle(&offer, "accept").await?;
    app.stop().await;
    telemetry.shutdown().await;
    server.abort();

    let spans = collector
        .spans
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let trace_of = |name: &str| -> Vec<Vec<u8>> {
        spans
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .collect()
    };
    let chat = trace_of("chat.accept");
    assert_eq!(chat.len(), 1, "one chat.accept span: {spans:?}");
    let trace = &chat[0];
    assert_eq!(trace.len(), 16);
    assert!(
        trace_of("context.ingest").contains(trace),
        "context.ingest in the customer's trace: {spans:?}"
    );
    assert!(
        trace_of("router.intake").contains(trace),
        "router.intake in the customer's trace: {spans:?}"
    );
    assert!(
        trace_of("desk.accept").contains(trace),
        "the agent's accept continues the customer's trace: {spans:?}"
    );
    Ok(())
}
